//! A fake Gerrit REST API on loopback that closes the loop with the corpus: a review
//! posted to it (`POST /a/changes/{id}/revisions/{revision}/review`) is recorded and
//! written as a NoteDB meta commit into the local Gerrit remote the corpus polls, so the
//! next poll sees the vote. `GET /a/changes/{id}/detail` lists the messages posted.
//! Responses carry Gerrit's `)]}'` prefix. Gerrit itself cannot run here.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The account reviews are written as.
pub const BOT: (&str, &str) = ("Gopher Robot", "gobot@golang.org");

/// One review the fake accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    pub change: i32,
    pub patch_set: i32,
    pub revision: String,
    pub message: String,
    pub labels: BTreeMap<String, i32>,
    pub tag: Option<String>,
}

#[derive(Default)]
struct FakeState {
    reviews: Vec<Review>,
    /// Answer 500 to this many review posts before accepting.
    fail_next: u32,
    refused: u32,
}

/// Handle on a running fake; clones share state.
#[derive(Clone)]
pub struct FakeGerrit {
    pub url: String,
    remote: PathBuf,
    state: Arc<Mutex<FakeState>>,
}

#[derive(Deserialize)]
struct ReviewInput {
    #[serde(default)]
    message: String,
    #[serde(default)]
    labels: BTreeMap<String, i32>,
    tag: Option<String>,
}

impl FakeGerrit {
    /// Serves on 127.0.0.1 over the bare Gerrit remote `remote` (NoteDB refs).
    pub async fn start(remote: PathBuf) -> std::io::Result<FakeGerrit> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr: SocketAddr = listener.local_addr()?;
        let fake = FakeGerrit {
            url: format!("http://{addr}"),
            remote,
            state: Arc::default(),
        };
        let app = Router::new()
            .route("/a/changes/{id}/detail", get(detail))
            .route("/a/changes/{id}/revisions/{rev}/review", post(review))
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(fake)
    }

    /// The next `n` review posts get `500 Internal Server Error`.
    pub fn fail_next(&self, n: u32) {
        self.state.lock().unwrap().fail_next = n;
    }

    /// Reviews accepted so far, in order.
    pub fn reviews(&self) -> Vec<Review> {
        self.state.lock().unwrap().reviews.clone()
    }

    /// Posts answered with 500.
    pub fn refused(&self) -> u32 {
        self.state.lock().unwrap().refused
    }

    /// The patch set of `change` whose commit is `revision`, from the remote's refs.
    fn patch_set(&self, change: i32, revision: &str) -> Option<i32> {
        let prefix = crate::fixture::change_ref(change, "");
        let out = crate::git::run(
            &self.remote,
            &["for-each-ref", "--format=%(objectname) %(refname)", &prefix],
            None,
            &[],
        )
        .ok()?;
        String::from_utf8_lossy(&out).lines().find_map(|l| {
            let (sha, name) = l.split_once(' ')?;
            (sha == revision)
                .then(|| name.rsplit('/').next()?.parse().ok())
                .flatten()
        })
    }
}

fn gerrit_json(status: StatusCode, v: Value) -> Response {
    (
        status,
        [("content-type", "application/json; charset=utf-8")],
        format!(")]}}'\n{v}"),
    )
        .into_response()
}

async fn detail(State(f): State<FakeGerrit>, Path(id): Path<String>) -> Response {
    let Ok(change) = id.parse::<i32>() else {
        return (StatusCode::NOT_FOUND, format!("Not found: {id}")).into_response();
    };
    let messages: Vec<Value> = f
        .reviews()
        .iter()
        .filter(|r| r.change == change)
        .enumerate()
        .map(|(i, r)| {
            json!({
                "id": format!("m{i}"),
                "message": format!("Patch Set {}:\n\n{}", r.patch_set, r.message),
                "_revision_number": r.patch_set,
                "tag": r.tag,
            })
        })
        .collect();
    gerrit_json(
        StatusCode::OK,
        json!({ "_number": change, "messages": messages }),
    )
}

async fn review(
    State(f): State<FakeGerrit>,
    Path((id, rev)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    {
        let mut st = f.state.lock().unwrap();
        if st.fail_next > 0 {
            st.fail_next -= 1;
            st.refused += 1;
            return (StatusCode::INTERNAL_SERVER_ERROR, "Internal server error").into_response();
        }
    }
    let Ok(input) = serde_json::from_slice::<ReviewInput>(&body) else {
        return (StatusCode::BAD_REQUEST, "Invalid JSON").into_response();
    };
    let Ok(change) = id.parse::<i32>() else {
        return (StatusCode::NOT_FOUND, format!("Not found: {id}")).into_response();
    };
    let (remote, f2, rev2) = (f.remote.clone(), f.clone(), rev.clone());
    let found = tokio::task::spawn_blocking(move || f2.patch_set(change, &rev2)).await;
    let Ok(Some(patch_set)) = found else {
        return (StatusCode::NOT_FOUND, format!("Not found: {id}/{rev}")).into_response();
    };
    let label = input
        .labels
        .iter()
        .next()
        .map(|(name, v)| format!("{name}={v:+}"));
    let message = input.message.clone();
    let time = chrono::Utc::now().timestamp();
    let written = tokio::task::spawn_blocking(move || {
        crate::fixture::add_review(
            &remote,
            change,
            patch_set,
            time,
            BOT,
            label.as_deref(),
            &message,
        )
    })
    .await;
    if !matches!(written, Ok(Ok(()))) {
        return (StatusCode::INTERNAL_SERVER_ERROR, "writing NoteDB failed").into_response();
    }
    let labels = input.labels.clone();
    f.state.lock().unwrap().reviews.push(Review {
        change,
        patch_set,
        revision: rev,
        message: input.message,
        labels: input.labels,
        tag: input.tag,
    });
    gerrit_json(StatusCode::OK, json!({ "labels": labels }))
}
