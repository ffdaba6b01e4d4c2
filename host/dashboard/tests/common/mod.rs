//! A dashboard over a small corpus, served on loopback.

#![allow(dead_code)]

use dashboard::corpus::SharedCorpus;
use dashboard::{Dashboard, MasterKey, Store};
use maintner::synth::{GerritSim, Hasher};
use maintner::{Corpus, VoteConfig};
use std::sync::{Arc, RwLock};

pub const MASTER: &str = "gophers rule";
pub const AUTHOR: &str = "Gopher <gopher@golang.org>";
pub const BUILDERS: &[&str] = &[
    "linux-amd64",
    "linux-386",
    "darwin-amd64",
    "plan9-amd64-mischief",
];

/// What the corpus holds: Go's master (oldest first), one release-branch commit on top,
/// and x/net's master.
pub struct World {
    pub go: Vec<String>,
    pub release: String,
    pub net: Vec<String>,
    pub corpus: SharedCorpus,
}

/// `go` with `n` master commits, then `release-branch.go1.9` with one more; `net` with
/// three commits.
pub fn world(n: usize) -> World {
    let mut corpus = Corpus::new(VoteConfig::default());
    let mut go = GerritSim::new(
        "go.googlesource.com/go",
        1_500_000_000,
        Hasher::with_salt(1),
    );
    let mut go_commits = Vec::new();
    for i in 0..n {
        let m = go.branch_commit(
            "master",
            AUTHOR,
            &format!("cmd/go: change {i}\n\nA longer description of change {i}.\n"),
            &[("src/cmd/go/main.go", 1, 0)],
        );
        corpus.apply(&m);
        go_commits.push(go.base.clone());
    }
    let m = go.branch_commit(
        "release-branch.go1.9",
        AUTHOR,
        "[release-branch.go1.9] runtime: a fix\n",
        &[],
    );
    corpus.apply(&m);
    let release = go.base.clone();

    let mut net = GerritSim::new(
        "go.googlesource.com/net",
        1_500_000_000,
        Hasher::with_salt(2),
    );
    let mut net_commits = Vec::new();
    for i in 0..3 {
        corpus.apply(&net.branch_commit("master", AUTHOR, &format!("http2: change {i}\n"), &[]));
        net_commits.push(net.base.clone());
    }
    World {
        go: go_commits,
        release,
        net: net_commits,
        corpus: Arc::new(RwLock::new(corpus)),
    }
}

pub struct Server {
    pub url: String,
    pub dashboard: Arc<Dashboard>,
    pub world: World,
    _dir: tempfile::TempDir,
}

impl Server {
    pub fn store(&self) -> &Store {
        &self.dashboard.store
    }

    pub fn key(&self, builder: &str) -> String {
        self.dashboard.key.builder_key(builder)
    }
}

/// A dashboard with master key "gophers rule" (Go's dev key) over [`world`], listening on
/// 127.0.0.1.
pub async fn serve(n: usize) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let world = world(n);
    let dashboard = Arc::new(Dashboard {
        store: Store::open(&dir.path().join("dashboard.db")).unwrap(),
        key: MasterKey::new(MASTER),
        builders: Arc::new(|b: &str| BUILDERS.contains(&b)),
        corpus: world.corpus.clone(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = dashboard.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Server {
        url,
        dashboard,
        world,
        _dir: dir,
    }
}

/// An answer: status, content type, body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

pub async fn send(method: reqwest::Method, url: &str, body: impl Into<reqwest::Body>) -> Reply {
    let resp = reqwest::Client::new()
        .request(method, url)
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    Reply {
        status,
        content_type,
        body: resp.text().await.unwrap(),
    }
}

pub async fn post(url: &str, body: impl Into<reqwest::Body>) -> Reply {
    send(reqwest::Method::POST, url, body).await
}

pub async fn get(url: &str) -> Reply {
    send(reqwest::Method::GET, url, "").await
}

/// Asserts a machine API answer: HTTP 200, JSON, exactly these bytes.
pub fn assert_go(reply: &Reply, body: &str) {
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.content_type, "application/json", "{reply:?}");
    assert_eq!(reply.body, body);
}

/// Go's answer carrying only an error.
pub fn go_error(msg: &str) -> String {
    format!(
        "{{\"Response\":null,\"Error\":{}}}\n",
        serde_json::to_string(msg).unwrap()
    )
}

pub const GO_OK: &str = "{\"Response\":null,\"Error\":\"\"}\n";
