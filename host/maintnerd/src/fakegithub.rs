//! A fake GitHub REST API on loopback, for tests and for recording the corpus: GitHub
//! cannot be reached from here, so this serves GitHub's wire format — real responses from
//! `testdata/github/` verbatim where we have them, generated issues and comments in the
//! same JSON shape otherwise — with `Link` pagination, ETags (`304 Not Modified`), `Date`
//! and `X-RateLimit-*` headers.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The events of one issue: real pages served verbatim, or items paginated by the fake.
#[derive(Debug, Clone)]
pub enum EventPages {
    Raw(Vec<String>),
    Items(Vec<Value>),
}

#[derive(Debug, Default)]
struct FakeRepo {
    issues: BTreeMap<i32, Value>,
    comments: HashMap<i32, Vec<Value>>,
    events: HashMap<i32, EventPages>,
    labels: Vec<Value>,
    milestones: Vec<Value>,
}

/// One request the fake saw.
#[derive(Debug, Clone)]
pub struct SeenRequest {
    pub path_and_query: String,
    pub if_none_match: Option<String>,
    pub status: u16,
    pub at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug)]
struct FakeState {
    repos: HashMap<(String, String), FakeRepo>,
    seen: Vec<SeenRequest>,
    garbage: Vec<String>,
    max_per_page: usize,
    rate_limit: i64,
    rate_remaining: i64,
    rate_reset: i64,
    clock: Option<i64>,
    writes: Vec<WriteRequest>,
    /// What a write must carry, once set.
    token: Option<String>,
}

/// A request that changes something (POST, PATCH, PUT, DELETE), as the fake checked it.
#[derive(Debug, Clone)]
pub struct WriteRequest {
    pub method: String,
    pub path: String,
    pub body: Value,
    pub status: u16,
    pub at: std::time::Instant,
}

/// Handle on a running fake. Clones share state.
#[derive(Clone)]
pub struct FakeGitHub {
    state: Arc<Mutex<FakeState>>,
    pub addr: SocketAddr,
}

impl FakeGitHub {
    /// Starts the fake on an ephemeral 127.0.0.1 port.
    pub async fn start() -> std::io::Result<FakeGitHub> {
        let state = Arc::new(Mutex::new(FakeState {
            repos: HashMap::new(),
            seen: Vec::new(),
            garbage: Vec::new(),
            max_per_page: 100,
            rate_limit: 5000,
            rate_remaining: 5000,
            rate_reset: chrono::Utc::now().timestamp() + 3600,
            clock: None,
            writes: Vec::new(),
            token: None,
        }));
        let app = Router::new()
            .route(
                "/repos/{owner}/{repo}/issues",
                get(list_issues).post(writes::create_issue),
            )
            .route(
                "/repos/{owner}/{repo}/issues/{n}",
                get(one_issue).patch(writes::edit_issue),
            )
            .route(
                "/repos/{owner}/{repo}/issues/{n}/comments",
                get(list_comments).post(writes::create_comment),
            )
            .route(
                "/repos/{owner}/{repo}/issues/{n}/labels",
                get(writes::issue_labels).post(writes::add_labels),
            )
            .route(
                "/repos/{owner}/{repo}/issues/{n}/labels/{name}",
                axum::routing::delete(writes::remove_label),
            )
            .route(
                "/repos/{owner}/{repo}/issues/{n}/lock",
                axum::routing::put(writes::lock_issue),
            )
            .route("/repos/{owner}/{repo}/issues/{n}/events", get(list_events))
            .route("/repos/{owner}/{repo}/labels", get(list_labels))
            .route("/repos/{owner}/{repo}/milestones", get(list_milestones))
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                writes::authenticated,
            ))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "fake GitHub server stopped");
            }
        });
        Ok(FakeGitHub { state, addr })
    }

    /// From now on a write needs `Authorization: token TOKEN` (or `Bearer TOKEN`), as
    /// GitHub's do; without it the fake answers 401 as GitHub does.
    pub fn require_token(&self, token: &str) {
        self.state.lock().unwrap().token = Some(token.into());
    }

    /// API base URL, e.g. `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn with_repo<R>(&self, owner: &str, repo: &str, f: impl FnOnce(&mut FakeRepo) -> R) -> R {
        let mut st = self.state.lock().unwrap();
        f(st.repos.entry((owner.into(), repo.into())).or_default())
    }

    /// Adds or replaces an issue (GitHub issue JSON; keyed by its `number`).
    pub fn put_issue(&self, owner: &str, repo: &str, issue: Value) {
        let n = issue["number"].as_i64().unwrap_or_default() as i32;
        self.with_repo(owner, repo, |r| r.issues.insert(n, issue));
    }

    /// Removes an issue (GitHub answers 404 for it from now on).
    pub fn delete_issue(&self, owner: &str, repo: &str, number: i32) {
        self.with_repo(owner, repo, |r| r.issues.remove(&number));
    }

    pub fn put_comments(&self, owner: &str, repo: &str, number: i32, comments: Vec<Value>) {
        self.with_repo(owner, repo, |r| r.comments.insert(number, comments));
    }

    pub fn put_events(&self, owner: &str, repo: &str, number: i32, events: EventPages) {
        self.with_repo(owner, repo, |r| r.events.insert(number, events));
    }

    pub fn put_labels(&self, owner: &str, repo: &str, labels: Vec<Value>) {
        self.with_repo(owner, repo, |r| r.labels = labels);
    }

    pub fn put_milestones(&self, owner: &str, repo: &str, milestones: Vec<Value>) {
        self.with_repo(owner, repo, |r| r.milestones = milestones);
    }

    /// The next request whose path and query contain `pattern` gets a body that is not JSON.
    pub fn inject_garbage(&self, pattern: &str) {
        self.state.lock().unwrap().garbage.push(pattern.to_string());
    }

    /// Fixes the `Date` header to `unix` seconds (deterministic recordings), or back to
    /// the wall clock with `None`.
    pub fn set_clock(&self, unix: Option<i64>) {
        self.state.lock().unwrap().clock = unix;
    }

    /// Page size cap (GitHub's is 100); smaller values exercise pagination.
    pub fn set_max_per_page(&self, n: usize) {
        self.state.lock().unwrap().max_per_page = n.max(1);
    }

    /// Sets the rate-limit window the next responses report.
    pub fn set_rate_limit(&self, remaining: i64, reset_unix: i64) {
        let mut st = self.state.lock().unwrap();
        st.rate_remaining = remaining;
        st.rate_reset = reset_unix;
    }

    /// Every write request so far, in order, with the status the fake answered.
    pub fn writes(&self) -> Vec<WriteRequest> {
        self.state.lock().unwrap().writes.clone()
    }

    /// An issue as the fake holds it now.
    pub fn issue(&self, owner: &str, repo: &str, number: i32) -> Option<Value> {
        self.with_repo(owner, repo, |r| r.issues.get(&number).cloned())
    }

    /// An issue's comments as the fake holds them now.
    pub fn comments(&self, owner: &str, repo: &str, number: i32) -> Vec<Value> {
        self.with_repo(owner, repo, |r| r.comments.get(&number).cloned())
            .unwrap_or_default()
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.state.lock().unwrap().seen.clone()
    }
}

type Shared = State<Arc<Mutex<FakeState>>>;
type Params = Query<HashMap<String, String>>;

/// Builds a response for a JSON list page, with pagination, ETag and rate headers.
fn page_response(
    st: &mut FakeState,
    uri: &Uri,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
    items: &[Value],
) -> Response {
    let per_page = q
        .get("per_page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(30usize)
        .min(st.max_per_page);
    let page = q
        .get("page")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1usize)
        .max(1);
    let last = items.len().div_ceil(per_page).max(1);
    let chunk: Vec<&Value> = items
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let body = serde_json::to_string(&chunk).expect("json");
    let link = (page < last).then(|| link_header(headers, uri, q, page + 1, last));
    respond(st, uri, headers, body, link)
}

fn link_header(
    headers: &HeaderMap,
    uri: &Uri,
    q: &HashMap<String, String>,
    next: usize,
    last: usize,
) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let with_page = |p: usize| {
        let mut q: BTreeMap<&str, String> =
            q.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        q.insert("page", p.to_string());
        let mut s = format!("http://{host}{}?", uri.path());
        for (i, (k, v)) in q.iter().enumerate() {
            let _ = write!(s, "{}{k}={v}", if i > 0 { "&" } else { "" });
        }
        s
    };
    format!(
        "<{}>; rel=\"next\", <{}>; rel=\"last\"",
        with_page(next),
        with_page(last)
    )
}

/// Common response path: garbage injection, conditional GET, rate and date headers.
fn respond(
    st: &mut FakeState,
    uri: &Uri,
    headers: &HeaderMap,
    mut body: String,
    link: Option<String>,
) -> Response {
    let pq = uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("")
        .to_string();
    if let Some(i) = st.garbage.iter().position(|p| pq.contains(p.as_str())) {
        st.garbage.remove(i);
        body = "[{\"id\": 1, \"number\": <html>Bad Gateway</html>".to_string();
    }
    let etag = format!(
        "W/\"{}\"",
        &hex::encode(Sha256::digest(body.as_bytes()))[..32]
    );
    let inm = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let not_modified = inm.as_deref() == Some(etag.as_str());
    if !not_modified {
        st.rate_remaining = (st.rate_remaining - 1).max(0);
    }
    let status = if not_modified {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    st.seen.push(SeenRequest {
        path_and_query: pq,
        if_none_match: inm,
        status: status.as_u16(),
        at: chrono::Utc::now(),
    });
    let mut resp = if not_modified {
        status.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            body,
        )
            .into_response()
    };
    let h = resp.headers_mut();
    let now = st
        .clock
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .unwrap_or_else(chrono::Utc::now);
    let date = now.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let hv = |s: String| HeaderValue::from_str(&s).expect("ascii header");
    h.insert(header::DATE, hv(date));
    h.insert(header::ETAG, hv(etag));
    h.insert("x-ratelimit-limit", hv(st.rate_limit.to_string()));
    h.insert("x-ratelimit-remaining", hv(st.rate_remaining.to_string()));
    h.insert("x-ratelimit-reset", hv(st.rate_reset.to_string()));
    if let Some(link) = link {
        h.insert(header::LINK, hv(link));
    }
    resp
}

fn not_found(st: &mut FakeState, uri: &Uri) -> Response {
    st.seen.push(SeenRequest {
        path_and_query: uri.to_string(),
        if_none_match: None,
        status: 404,
        at: chrono::Utc::now(),
    });
    let body = json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"});
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

async fn list_issues(
    State(st): Shared,
    Path((owner, repo)): Path<(String, String)>,
    Query(q): Params,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let mut st = st.lock().unwrap();
    let mut items: Vec<Value> = st
        .repos
        .get(&(owner, repo))
        .map(|r| r.issues.values().cloned().collect())
        .unwrap_or_default();
    // sort=updated&direction=desc is what the poller asks for; ties by number.
    items.sort_by(|a, b| {
        let key = |v: &Value| {
            (
                v["updated_at"].as_str().unwrap_or("").to_string(),
                v["number"].as_i64(),
            )
        };
        key(b).cmp(&key(a))
    });
    page_response(&mut st, &uri, &headers, &q, &items)
}

async fn one_issue(
    State(st): Shared,
    Path((owner, repo, n)): Path<(String, String, i32)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let mut st = st.lock().unwrap();
    let issue = st
        .repos
        .get(&(owner, repo))
        .and_then(|r| r.issues.get(&n))
        .cloned();
    match issue {
        Some(v) => respond(&mut st, &uri, &headers, v.to_string(), None),
        None => not_found(&mut st, &uri),
    }
}

async fn list_comments(
    State(st): Shared,
    Path((owner, repo, n)): Path<(String, String, i32)>,
    Query(q): Params,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let mut st = st.lock().unwrap();
    let since = q.get("since").cloned().unwrap_or_default();
    let mut items: Vec<Value> = st
        .repos
        .get(&(owner, repo))
        .and_then(|r| r.comments.get(&n))
        .map(|c| {
            c.iter()
                .filter(|v| v["updated_at"].as_str().unwrap_or("") >= since.as_str())
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    items.sort_by_key(|v| {
        (
            v["updated_at"].as_str().unwrap_or("").to_string(),
            v["id"].as_i64(),
        )
    });
    page_response(&mut st, &uri, &headers, &q, &items)
}

async fn list_events(
    State(st): Shared,
    Path((owner, repo, n)): Path<(String, String, i32)>,
    Query(q): Params,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let mut st = st.lock().unwrap();
    let events = st
        .repos
        .get(&(owner, repo))
        .and_then(|r| r.events.get(&n))
        .cloned();
    match events {
        Some(EventPages::Raw(pages)) => {
            let page = q
                .get("page")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1usize)
                .max(1);
            let body = pages.get(page - 1).cloned().unwrap_or_else(|| "[]".into());
            let link = (page < pages.len())
                .then(|| link_header(&headers, &uri, &q, page + 1, pages.len()));
            respond(&mut st, &uri, &headers, body, link)
        }
        Some(EventPages::Items(items)) => page_response(&mut st, &uri, &headers, &q, &items),
        None => page_response(&mut st, &uri, &headers, &q, &[]),
    }
}

async fn list_labels(
    st: Shared,
    path: Path<(String, String)>,
    q: Params,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    repo_list(st, path, q, uri, headers, |r| &r.labels)
}

async fn list_milestones(
    st: Shared,
    path: Path<(String, String)>,
    q: Params,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    repo_list(st, path, q, uri, headers, |r| &r.milestones)
}

/// A paged list held per repo (labels, milestones); an unknown repo lists nothing.
fn repo_list(
    State(st): Shared,
    Path((owner, repo)): Path<(String, String)>,
    Query(q): Params,
    uri: Uri,
    headers: HeaderMap,
    items: impl Fn(&FakeRepo) -> &Vec<Value>,
) -> Response {
    let mut st = st.lock().unwrap();
    let items = st
        .repos
        .get(&(owner, repo))
        .map(|r| items(r).clone())
        .unwrap_or_default();
    page_response(&mut st, &uri, &headers, &q, &items)
}

/// The write side of the issues API, as gopherbot uses it. Each request is checked as
/// GitHub checks it: a token (401 without), a JSON body of the documented shape (422
/// otherwise), an issue that exists (404), a milestone number the repo has (422).
mod writes {
    use super::*;
    use axum::body::Bytes;

    type IssuePath = Path<(String, String, i32)>;

    /// GitHub's answer to a write without valid credentials.
    pub(super) async fn authenticated(
        state: Shared,
        req: axum::extract::Request,
        next: axum::middleware::Next,
    ) -> Response {
        let want = state.0.lock().unwrap().token.clone();
        if let (Some(token), false) = (want, req.method() == axum::http::Method::GET) {
            let given = req
                .headers()
                .get(axum::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if given != format!("token {token}") && given != format!("Bearer {token}") {
                return answer(
                    StatusCode::UNAUTHORIZED,
                    serde_json::json!({
                        "message": "Requires authentication",
                        "documentation_url": "https://docs.github.com/rest"
                    }),
                );
            }
        }
        next.run(req).await
    }

    fn record(st: &mut FakeState, method: &str, uri: &Uri, body: &Value, status: StatusCode) {
        st.writes.push(WriteRequest {
            method: method.into(),
            path: uri.path().to_string(),
            body: body.clone(),
            status: status.as_u16(),
            at: std::time::Instant::now(),
        });
    }

    fn answer(status: StatusCode, body: Value) -> Response {
        (status, axum::Json(body)).into_response()
    }

    /// The answer to a request [`check`] refused.
    fn refused(status: StatusCode) -> Response {
        let msg = if status == StatusCode::UNAUTHORIZED {
            "Requires authentication"
        } else {
            "Problems parsing JSON"
        };
        answer(status, json!({"message": msg}))
    }

    /// Checks the token and parses the body; the error is the status to answer with.
    fn check(
        st: &mut FakeState,
        method: &str,
        uri: &Uri,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<Value, StatusCode> {
        let authed = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("token ") || v.starts_with("Bearer "));
        let parsed = if body.is_empty() {
            Ok(Value::Null)
        } else {
            serde_json::from_slice::<Value>(body)
        };
        let status = match (&parsed, authed) {
            (_, false) => StatusCode::UNAUTHORIZED,
            (Err(_), _) => StatusCode::BAD_REQUEST,
            (Ok(_), true) => StatusCode::OK,
        };
        let v = parsed.unwrap_or(Value::Null);
        record(st, method, uri, &v, status);
        if status == StatusCode::OK {
            Ok(v)
        } else {
            Err(status)
        }
    }

    /// The last write's status, once the handler knows it.
    fn status(st: &mut FakeState, status: StatusCode) {
        if let Some(w) = st.writes.last_mut() {
            w.status = status.as_u16();
        }
    }

    fn invalid(st: &mut FakeState, what: &str) -> Response {
        status(st, StatusCode::UNPROCESSABLE_ENTITY);
        answer(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"message": "Validation Failed", "errors": [{"message": what}]}),
        )
    }

    fn gone(st: &mut FakeState) -> Response {
        status(st, StatusCode::NOT_FOUND);
        answer(StatusCode::NOT_FOUND, json!({"message": "Not Found"}))
    }

    fn now(st: &FakeState) -> String {
        let t = st
            .clock
            .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
            .unwrap_or_else(chrono::Utc::now);
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }

    /// Runs `f` on the issue, or answers 404.
    fn with_issue(
        st: &mut FakeState,
        (owner, repo, n): (String, String, i32),
        f: impl FnOnce(&mut Value, &mut FakeRepo, &str) -> Result<Value, String>,
    ) -> Response {
        let now = now(st);
        let Some(r) = st.repos.get_mut(&(owner, repo)) else {
            return gone(st);
        };
        let Some(mut issue) = r.issues.get(&n).cloned() else {
            return gone(st);
        };
        match f(&mut issue, r, &now) {
            Ok(out) => {
                issue["updated_at"] = json!(now);
                r.issues.insert(n, issue);
                answer(StatusCode::OK, out)
            }
            Err(what) => invalid(st, &what),
        }
    }

    fn label_names(issue: &Value) -> Vec<Value> {
        issue["labels"].as_array().cloned().unwrap_or_default()
    }

    pub async fn issue_labels(State(st): Shared, Path(p): IssuePath) -> Response {
        let mut st = st.lock().unwrap();
        let (owner, repo, n) = p;
        match st.repos.get(&(owner, repo)).and_then(|r| r.issues.get(&n)) {
            Some(i) => answer(StatusCode::OK, Value::Array(label_names(i))),
            None => not_found(&mut st, &Uri::from_static("/labels")),
        }
    }

    pub async fn add_labels(
        State(st): Shared,
        Path(p): IssuePath,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Response {
        let mut st = st.lock().unwrap();
        let v = match check(&mut st, "POST", &uri, &headers, &body) {
            Ok(v) => v,
            Err(status) => return refused(status),
        };
        with_issue(&mut st, p, |issue, _, _| {
            let names = v["labels"]
                .as_array()
                .filter(|a| {
                    !a.is_empty() && a.iter().all(|l| l.as_str().is_some_and(|s| !s.is_empty()))
                })
                .ok_or("labels must be a non-empty array of names")?;
            let labels = issue["labels"]
                .as_array_mut()
                .ok_or("issue has no labels")?;
            for name in names {
                if !labels.iter().any(|l| l["name"] == *name) {
                    labels.push(json!({"name": name, "color": "ededed", "default": false}));
                }
            }
            Ok(Value::Array(labels.clone()))
        })
    }

    pub async fn remove_label(
        State(st): Shared,
        Path((owner, repo, n, name)): Path<(String, String, i32, String)>,
        uri: Uri,
        headers: HeaderMap,
    ) -> Response {
        let mut st = st.lock().unwrap();
        if let Err(status) = check(&mut st, "DELETE", &uri, &headers, &Bytes::new()) {
            return refused(status);
        }
        let present = st
            .repos
            .get(&(owner.clone(), repo.clone()))
            .and_then(|r| r.issues.get(&n))
            .is_some_and(|i| label_names(i).iter().any(|l| l["name"] == name.as_str()));
        if !present {
            // GitHub: 404 "Label does not exist" for a label the issue lacks.
            return gone(&mut st);
        }
        with_issue(&mut st, (owner, repo, n), |issue, _, _| {
            let labels = issue["labels"]
                .as_array_mut()
                .ok_or("issue has no labels")?;
            labels.retain(|l| l["name"] != name.as_str());
            Ok(Value::Array(labels.clone()))
        })
    }

    pub async fn edit_issue(
        State(st): Shared,
        Path(p): IssuePath,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Response {
        let mut st = st.lock().unwrap();
        let v = match check(&mut st, "PATCH", &uri, &headers, &body) {
            Ok(v) => v,
            Err(status) => return refused(status),
        };
        with_issue(&mut st, p, |issue, repo, now| {
            let edit = v
                .as_object()
                .filter(|o| !o.is_empty())
                .ok_or("an empty edit")?;
            for (k, val) in edit {
                match k.as_str() {
                    "state" => {
                        let s = val.as_str().filter(|s| *s == "open" || *s == "closed");
                        let s = s.ok_or("state must be open or closed")?;
                        issue["state"] = json!(s);
                        issue["closed_at"] = if s == "closed" {
                            json!(now)
                        } else {
                            Value::Null
                        };
                    }
                    "state_reason" => {
                        let ok = ["completed", "not_planned", "reopened"];
                        if !val.as_str().is_some_and(|r| ok.contains(&r)) {
                            return Err(
                                "state_reason must be completed, not_planned or reopened".into()
                            );
                        }
                        issue["state_reason"] = val.clone();
                    }
                    "milestone" if val.is_null() => issue["milestone"] = Value::Null,
                    "milestone" => {
                        let m = repo
                            .milestones
                            .iter()
                            .find(|m| m["number"] == *val)
                            .ok_or("milestone number is not one of the repo's")?;
                        issue["milestone"] = m.clone();
                    }
                    "title" | "body" if val.is_string() => issue[k.as_str()] = val.clone(),
                    other => return Err(format!("field {other:?} is not editable here")),
                }
            }
            Ok(issue.clone())
        })
    }

    pub async fn lock_issue(
        State(st): Shared,
        Path(p): IssuePath,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Response {
        let mut st = st.lock().unwrap();
        if let Err(status) = check(&mut st, "PUT", &uri, &headers, &body) {
            return refused(status);
        }
        let r = with_issue(&mut st, p, |issue, _, _| {
            issue["locked"] = json!(true);
            Ok(Value::Null)
        });
        // GitHub answers a lock with 204 No Content.
        if r.status() == StatusCode::OK {
            return StatusCode::NO_CONTENT.into_response();
        }
        r
    }

    pub async fn create_comment(
        State(st): Shared,
        Path(p): IssuePath,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Response {
        let mut st = st.lock().unwrap();
        let v = match check(&mut st, "POST", &uri, &headers, &body) {
            Ok(v) => v,
            Err(status) => return refused(status),
        };
        let n = p.2;
        let resp = with_issue(&mut st, p.clone(), |issue, repo, now| {
            let body = v["body"].as_str().filter(|b| !b.trim().is_empty());
            let body = body.ok_or("body must be a non-empty string")?;
            if body.chars().count() > 65_536 {
                return Err("body is too long (maximum is 65536 characters)".into());
            }
            let cs = repo.comments.entry(n).or_default();
            let c = json!({
                "id": 900_000_000 + n as i64 * 1000 + cs.len() as i64,
                "user": {"login": "gopherbot", "id": 8_566_911, "type": "User", "site_admin": false},
                "created_at": now, "updated_at": now,
                "author_association": "CONTRIBUTOR",
                "body": body,
            });
            cs.push(c.clone());
            issue["comments"] = json!(cs.len());
            Ok(c)
        });
        if resp.status() == StatusCode::OK {
            status(&mut st, StatusCode::CREATED);
            let (mut parts, body) = resp.into_parts();
            parts.status = StatusCode::CREATED;
            return Response::from_parts(parts, body);
        }
        resp
    }

    pub async fn create_issue(
        State(st): Shared,
        Path((owner, repo)): Path<(String, String)>,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Response {
        let mut st = st.lock().unwrap();
        let v = match check(&mut st, "POST", &uri, &headers, &body) {
            Ok(v) => v,
            Err(status) => return refused(status),
        };
        let Some(title) = v["title"].as_str().filter(|t| !t.trim().is_empty()) else {
            return invalid(&mut st, "title must be a non-empty string");
        };
        let now = now(&st);
        let Some(r) = st.repos.get_mut(&(owner, repo)) else {
            return gone(&mut st);
        };
        let n = r.issues.keys().max().copied().unwrap_or(0) + 1;
        let labels: Vec<Value> = v["labels"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| json!({"name": l, "color": "ededed", "default": false}))
            .collect();
        let issue = json!({
            "id": 700_000_000 + n as i64, "number": n, "title": title,
            "body": v["body"].as_str().unwrap_or(""),
            "user": {"login": "gopherbot", "id": 8_566_911, "type": "User", "site_admin": false},
            "labels": labels, "state": "open", "locked": false, "assignees": [],
            "milestone": null, "comments": 0,
            "created_at": now, "updated_at": now, "closed_at": null,
        });
        r.issues.insert(n, issue.clone());
        status(&mut st, StatusCode::CREATED);
        answer(StatusCode::CREATED, issue)
    }
}

/// Generates GitHub-shaped issues, comments, labels and milestones, deterministically.
pub mod generate {
    use serde_json::{json, Value};

    /// Labels of golang/go (names real; ids made up but stable).
    pub const LABELS: &[&str] = &[
        "NeedsInvestigation",
        "NeedsFix",
        "NeedsDecision",
        "Documentation",
        "Testing",
        "WaitingForInfo",
        "FrozenDueToAge",
        "release-blocker",
        "OS-Windows",
        "OS-Linux",
        "help wanted",
        "Proposal",
        "Builders",
        "Performance",
        "compiler/runtime",
    ];

    /// (title, number, open) of the milestones.
    pub const MILESTONES: &[(&str, i64, bool)] = &[
        ("Go1.21", 288, false),
        ("Go1.22", 298, false),
        ("Go1.23", 305, true),
        ("Backlog", 1, true),
        ("Unplanned", 98, true),
    ];

    /// A small deterministic PRNG (splitmix64): the same seed gives the same corpus.
    pub struct Rng(u64);
    impl Rng {
        pub fn new(seed: u64) -> Self {
            Rng(seed)
        }
        pub fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
            z ^ (z >> 31)
        }
        pub fn below(&mut self, n: u64) -> u64 {
            self.next_u64() % n.max(1)
        }
    }

    pub fn label(i: usize) -> Value {
        json!({"id": 150_000_000 + i as i64, "name": LABELS[i], "color": "ededed", "default": false})
    }

    pub fn labels() -> Vec<Value> {
        (0..LABELS.len()).map(label).collect()
    }

    pub fn milestone(i: usize) -> Value {
        let (title, number, open) = MILESTONES[i];
        json!({"id": 9_000_000 + number, "number": number, "title": title,
               "state": if open { "open" } else { "closed" }})
    }

    pub fn milestones() -> Vec<Value> {
        (0..MILESTONES.len()).map(milestone).collect()
    }

    pub fn user(i: u64) -> Value {
        json!({"login": format!("gopher{i}"), "id": 1_000_000 + i as i64, "type": "User", "site_admin": false})
    }

    fn time(t: i64) -> String {
        chrono::DateTime::from_timestamp(t, 0)
            .unwrap_or_default()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    }

    /// Issue `number` created at `created` (unix seconds), in GitHub's JSON shape.
    pub fn issue(rng: &mut Rng, owner: &str, repo: &str, number: i32, created: i64) -> Value {
        let closed = rng.below(3) == 0;
        let updated = created + rng.below(90 * 86400) as i64;
        let nlabels = rng.below(3) as usize;
        let labels: Vec<Value> = (0..nlabels)
            .map(|_| label(rng.below(LABELS.len() as u64) as usize))
            .collect();
        let mut uniq: Vec<Value> = Vec::new();
        for l in labels {
            if !uniq.iter().any(|u| u["id"] == l["id"]) {
                uniq.push(l);
            }
        }
        let milestone =
            (rng.below(2) == 0).then(|| milestone(rng.below(MILESTONES.len() as u64) as usize));
        let assignees: Vec<Value> = (0..rng.below(2)).map(|_| user(rng.below(50))).collect();
        let is_pr = rng.below(5) == 0;
        let mut v = json!({
            "url": format!("https://api.github.com/repos/{owner}/{repo}/issues/{number}"),
            "id": 200_000_000 + number as i64,
            "number": number,
            "title": format!("{repo}: generated issue {number}"),
            "user": user(rng.below(200)),
            "labels": uniq,
            "state": if closed { "closed" } else { "open" },
            "locked": rng.below(20) == 0,
            "assignee": assignees.first().cloned().unwrap_or(Value::Null),
            "assignees": assignees,
            "milestone": milestone.unwrap_or(Value::Null),
            "comments": 0,
            "created_at": time(created),
            "updated_at": time(updated),
            "closed_at": if closed { Value::String(time(updated)) } else { Value::Null },
            "author_association": "CONTRIBUTOR",
            "body": format!("What did you do?\n\nGenerated issue {number} of {owner}/{repo}.\n"),
        });
        if is_pr {
            v["pull_request"] = json!({"url": format!("https://api.github.com/repos/{owner}/{repo}/pulls/{number}")});
        }
        v
    }

    /// `n` comments on issue `number`, between its creation and update times.
    pub fn comments(rng: &mut Rng, issue: &Value, n: usize) -> Vec<Value> {
        let number = issue["number"].as_i64().unwrap_or(0);
        let created = parse(&issue["created_at"]);
        let updated = parse(&issue["updated_at"]).max(created + 1);
        (0..n)
            .map(|k| {
                let t = created + (updated - created) * (k as i64 + 1) / (n as i64 + 1);
                json!({
                    "id": 300_000_000 + number * 100 + k as i64,
                    "user": user(rng.below(200)),
                    "created_at": time(t),
                    "updated_at": time(t),
                    "author_association": "MEMBER",
                    "body": format!("Comment {k} on #{number}."),
                })
            })
            .collect()
    }

    fn parse(v: &Value) -> i64 {
        v.as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.timestamp())
            .unwrap_or(0)
    }
}

/// Issue numbers that [`populate`] gives the real event pages of `testdata/github/`.
pub const ISSUE_WITH_SPLIT_EVENTS: i32 = 1;
pub const ISSUE_WITH_MILESTONE_EVENTS: i32 = 2;

/// Start of the generated issues' timeline (2018-01-01T00:00:00Z) and the fixed clock the
/// fake answers with after [`populate`] (2019-07-01T00:00:00Z), after every generated time.
pub const GENERATED_START: i64 = 1_514_764_800;
pub const GENERATED_CLOCK: i64 = 1_561_939_200;

/// Fills `owner/repo` with `issues` generated issues (numbers 1..=issues), their comments,
/// the labels and milestones, and the real event pages from `github_data`
/// (`testdata/github/`): the 4-page split of `TestParseMultipleGithubEvents` on
/// [`ISSUE_WITH_SPLIT_EVENTS`] and `TestMissingMilestoneEvents` on
/// [`ISSUE_WITH_MILESTONE_EVENTS`]. Fixes the clock to [`GENERATED_CLOCK`].
pub fn populate(
    fake: &FakeGitHub,
    owner: &str,
    repo: &str,
    issues: i32,
    seed: u64,
    github_data: &std::path::Path,
) -> std::io::Result<()> {
    let mut rng = generate::Rng::new(seed);
    fake.put_labels(owner, repo, generate::labels());
    fake.put_milestones(owner, repo, generate::milestones());
    for n in 1..=issues {
        let created = GENERATED_START + n as i64 * 3 * 3600;
        let issue = generate::issue(&mut rng, owner, repo, n, created);
        let ncomments = rng.below(4) as usize;
        fake.put_comments(
            owner,
            repo,
            n,
            generate::comments(&mut rng, &issue, ncomments),
        );
        fake.put_issue(owner, repo, issue);
    }
    put_real_event_pages(fake, owner, repo, github_data)?;
    fake.set_clock(Some(GENERATED_CLOCK));
    Ok(())
}

/// Gives [`ISSUE_WITH_SPLIT_EVENTS`] and [`ISSUE_WITH_MILESTONE_EVENTS`] the real event
/// pages of `github_data` (`testdata/github/`).
pub fn put_real_event_pages(
    fake: &FakeGitHub,
    owner: &str,
    repo: &str,
    github_data: &std::path::Path,
) -> std::io::Result<()> {
    let read = |name: &str| std::fs::read_to_string(github_data.join(name));
    let split = (1..=4)
        .map(|p| read(&format!("TestParseMultipleGithubEvents_p{p}.json")))
        .collect::<std::io::Result<Vec<_>>>()?;
    fake.put_events(owner, repo, ISSUE_WITH_SPLIT_EVENTS, EventPages::Raw(split));
    let missing = read("TestMissingMilestoneEvents.json")?;
    fake.put_events(
        owner,
        repo,
        ISSUE_WITH_MILESTONE_EVENTS,
        EventPages::Raw(vec![missing]),
    );
    Ok(())
}
