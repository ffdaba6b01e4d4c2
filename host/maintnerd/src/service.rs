//! The maintnerd service `xb serve` runs: the log in a data directory, the corpus loaded
//! from it, the pollers as tokio tasks, and one axum [`Router`] with the log server, the
//! try-work endpoint and the webhook.
//!
//! # Reading the corpus
//!
//! [`Maintnerd::corpus`] returns a [`SharedCorpus`] (`Arc<RwLock<maintner::Corpus>>`).
//! Take the read lock for as long as one query takes, never across an `.await`:
//!
//! ```no_run
//! # fn f(maintnerd: &maintnerd::Maintnerd) {
//! let work = maintnerd.corpus().read().unwrap().try_work();
//! # }
//! ```
//!
//! Pollers read the same corpus to compute their diffs and write only to the log; every
//! batch, once durable, is applied to the corpus under the write lock (short: one batch of
//! mutations), so readers see whole batches. Do not call `Corpus::catch_up` on this corpus:
//! the service already applies every batch it logs.
//!
//! A read-only replica (no pollers) follows another server instead:
//! [`crate::follower::follow_into`] keeps a [`SharedCorpus`] current from `/maintner/logs`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use maintner::{DiskLog, LogError, TryWork, VoteConfig};
use serde::Serialize;
use tokio::task::JoinHandle;

use crate::github::api::GitHubClient;
use crate::github::poller::GitHubRepoPoller;
use crate::gitpoll::{GerritPoller, GitRepoPoller};
use crate::ingest::Ingest;
use crate::logserver::{self, LogServerOptions};
use crate::store::SharedLog;
use crate::webhook::{self, Wakers};

pub use crate::ingest::SharedCorpus;

/// A GitHub repository to poll.
#[derive(Debug, Clone)]
pub struct GitHubRepoConfig {
    pub owner: String,
    pub repo: String,
}

/// A Gerrit project to poll over git: `project` like `go.googlesource.com/build`,
/// `remote` the git URL (or path) to fetch from.
#[derive(Debug, Clone)]
pub struct GerritConfig {
    pub project: String,
    pub remote: String,
}

/// A plain git repository to watch: `name` (Go's `go_repo`) and where to fetch it.
#[derive(Debug, Clone)]
pub struct GitRepoConfig {
    pub name: String,
    pub remote: String,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    /// GitHub API root (`https://api.github.com`, or a local fake).
    pub github_api: String,
    pub github_token: Option<String>,
    pub github: Vec<GitHubRepoConfig>,
    pub gerrit: Vec<GerritConfig>,
    pub git: Vec<GitRepoConfig>,
    /// Secret of the GitHub webhook; no webhook route without one.
    pub webhook_secret: Option<Vec<u8>>,
    /// GitHub poll interval (Go: 15 min).
    pub github_interval: Duration,
    /// Gerrit and git poll interval (Go HEAD: 5 min).
    pub git_interval: Duration,
    pub votes: VoteConfig,
    pub long_poll: Duration,
    /// Scheme and host of the log's absolute segment URLs (default: the request's Host).
    pub public_url: Option<String>,
}

impl Config {
    /// Nothing polled; the intervals of Go's maintnerd.
    pub fn new(data_dir: &Path) -> Self {
        Config {
            data_dir: data_dir.to_path_buf(),
            github_api: "https://api.github.com".into(),
            github_token: None,
            github: Vec::new(),
            gerrit: Vec::new(),
            git: Vec::new(),
            webhook_secret: None,
            github_interval: Duration::from_secs(15 * 60),
            git_interval: Duration::from_secs(5 * 60),
            votes: VoteConfig::default(),
            long_poll: Duration::from_secs(55),
            public_url: None,
        }
    }
}

/// The log directory inside a data directory.
pub fn log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("log")
}

/// The running service.
pub struct Maintnerd {
    config: Config,
    corpus: SharedCorpus,
    ingest: Ingest,
    wakers: Wakers,
    tasks: Vec<JoinHandle<()>>,
}

impl Maintnerd {
    /// Opens the data directory's log (repairing a torn tail), loads the corpus from it.
    /// Blocking: call it from `spawn_blocking` or before the runtime is busy.
    pub fn open(config: Config) -> Result<Self, LogError> {
        let dir = log_dir(&config.data_dir);
        std::fs::create_dir_all(&dir).map_err(|source| LogError::Io {
            path: dir.clone(),
            source,
        })?;
        let log = DiskLog::open(&dir)?;
        if let Some(t) = &log.open_report().truncated {
            tracing::warn!(file = %t.path.display(), offset = t.offset, dropped = t.dropped,
                reason = %t.reason, "truncated a torn log tail");
        }
        let started = std::time::Instant::now();
        let ingest = Ingest::with_votes(SharedLog::new(log), config.votes.clone())?;
        let corpus = ingest.corpus().clone();
        tracing::info!(elapsed = ?started.elapsed(),
            mutations = corpus.read().unwrap().mutation_counts().total, "loaded corpus");
        Ok(Maintnerd {
            config,
            corpus,
            ingest,
            wakers: Wakers::default(),
            tasks: Vec::new(),
        })
    }

    pub fn corpus(&self) -> SharedCorpus {
        self.corpus.clone()
    }

    pub fn ingest(&self) -> &Ingest {
        &self.ingest
    }

    /// The data directory the log and the pollers' clones live in.
    pub fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }

    pub fn wakers(&self) -> &Wakers {
        &self.wakers
    }

    /// Starts one task per configured poller. Call from within a tokio runtime.
    pub fn start_pollers(&mut self) {
        let c = &self.config;
        let client = Arc::new(GitHubClient::new(&c.github_api, c.github_token.clone()));
        for r in &c.github {
            let p = GitHubRepoPoller::new(&r.owner, &r.repo, client.clone(), self.ingest.clone());
            let w = self.wakers.clone();
            self.tasks.push(tokio::spawn(p.run(w, c.github_interval)));
        }
        for g in &c.gerrit {
            let p = GerritPoller::new(&g.project, &g.remote, &c.data_dir, self.ingest.clone());
            let w = self.wakers.clone();
            self.tasks.push(tokio::spawn(p.run(w, c.git_interval)));
        }
        for g in &c.git {
            let p = GitRepoPoller::new(&g.name, &g.remote, &c.data_dir, self.ingest.clone());
            let w = self.wakers.clone();
            self.tasks.push(tokio::spawn(p.run(w, c.git_interval)));
        }
    }

    /// `/maintner/logs…`, `/maintner/trywork`, and `/maintner/webhook/github` if a secret
    /// is configured.
    pub fn router(&self) -> Router {
        let opts = LogServerOptions {
            long_poll: self.config.long_poll,
            public_url: self.config.public_url.clone(),
        };
        let mut r = logserver::router(self.ingest.log().clone(), opts)
            .merge(try_work_router(self.corpus.clone()));
        if let Some(secret) = &self.config.webhook_secret {
            r = r.merge(webhook::router(secret, self.wakers.clone()));
        }
        r
    }

    /// Stops the pollers.
    pub fn shutdown(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }

    /// Stops the pollers and waits until none runs, so the log holds still.
    pub async fn stop(&mut self) {
        let tasks = std::mem::take(&mut self.tasks);
        tasks.iter().for_each(|t| t.abort());
        for t in tasks {
            let _ = t.await;
        }
    }
}

impl Drop for Maintnerd {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The body of `GET /maintner/trywork` (Go's `GoFindTryWorkResponse`).
#[derive(Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct TryWorkResponse {
    pub waiting: Vec<TryWork>,
}

/// `GET /maintner/trywork`: the changes waiting for trybots, from the corpus alone.
pub fn try_work_router(corpus: SharedCorpus) -> Router {
    Router::new()
        .route("/maintner/trywork", get(serve_try_work))
        .with_state(corpus)
}

async fn serve_try_work(State(corpus): State<SharedCorpus>) -> Json<TryWorkResponse> {
    let waiting = corpus.read().unwrap().try_work();
    Json(TryWorkResponse { waiting })
}
