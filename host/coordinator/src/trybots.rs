//! Trybot results back to the code review (Go's `trySet`: `notifyStarting`,
//! `noteBuildComplete`): "TryBots beginning" when a try set starts, one early notice on
//! its first failure, and at the end `TryBot-Result` +1 or -1 with the failing logs.
//!
//! What to post is derived from the recorded results, so a restart neither forgets nor
//! repeats a post: each post is journaled in sqlite under (change, patch set, kind)
//! before it is sent, and a post is sent only if the change does not already carry its
//! message. A crash between Gerrit accepting a post and the journal noting it is
//! resolved in Gerrit's favour: the message found on the change marks the post done.

use crate::model::{BuildSpec, WorkKind};
use dashboard::store::Store;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Where reviews go and how results are linked.
#[derive(Clone, Debug)]
pub struct GerritConfig {
    /// Gerrit's base URL (`https://go-review.googlesource.com`).
    pub url: String,
    /// HTTP basic credentials (the `.gitcookies` user and password); `None`: anonymous.
    pub auth: Option<(String, String)>,
    /// This server's public URL, for links to logs and status.
    pub public_url: String,
    /// The journal (sqlite).
    pub journal: std::path::PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PostKind {
    Begin,
    FirstFailure,
    Result,
}

impl PostKind {
    fn name(self) -> &'static str {
        match self {
            PostKind::Begin => "begin",
            PostKind::FirstFailure => "first-failure",
            PostKind::Result => "result",
        }
    }

    fn parse(s: &str) -> Option<PostKind> {
        [PostKind::Begin, PostKind::FirstFailure, PostKind::Result]
            .into_iter()
            .find(|k| k.name() == s)
    }
}

/// One review to post on a patch set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Post {
    pub change: i32,
    pub patch_set: i32,
    pub revision: String,
    pub kind: PostKind,
    pub message: String,
    /// `TryBot-Result` vote, for the final post.
    pub vote: Option<i32>,
}

/// A journaled post and where it stands.
#[derive(Clone, Debug, Serialize)]
pub struct Journaled {
    pub id: i64,
    pub post: Post,
    /// `pending`, `done`, `failed`.
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// The sqlite journal of posts.
pub struct Journal {
    db: Mutex<Connection>,
}

impl Journal {
    pub fn open(path: &Path) -> anyhow::Result<Journal> {
        let db = Connection::open(path)?;
        db.execute_batch(
            "PRAGMA journal_mode=WAL;
             CREATE TABLE IF NOT EXISTS posts (
               id INTEGER PRIMARY KEY,
               change INTEGER NOT NULL, patch_set INTEGER NOT NULL, kind TEXT NOT NULL,
               revision TEXT NOT NULL, message TEXT NOT NULL, vote INTEGER,
               state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
               next_at INTEGER NOT NULL DEFAULT 0, last_error TEXT,
               UNIQUE (change, patch_set, kind));",
        )?;
        Ok(Journal { db: Mutex::new(db) })
    }

    /// Journals `p` unless a post of its kind on its patch set already is; true if new.
    pub fn add(&self, p: &Post) -> anyhow::Result<bool> {
        let n = self.db.lock().unwrap().execute(
            "INSERT OR IGNORE INTO posts (change, patch_set, kind, revision, message, vote)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                p.change,
                p.patch_set,
                p.kind.name(),
                p.revision,
                p.message,
                p.vote
            ],
        )?;
        Ok(n == 1)
    }

    pub fn has(&self, change: i32, patch_set: i32, kind: PostKind) -> anyhow::Result<bool> {
        let found = self
            .db
            .lock()
            .unwrap()
            .query_row(
                "SELECT 1 FROM posts WHERE change = ?1 AND patch_set = ?2 AND kind = ?3",
                params![change, patch_set, kind.name()],
                |_| Ok(()),
            )
            .optional()?;
        Ok(found.is_some())
    }

    /// Pending posts due at `now` (unix ms), oldest first; a post waits while an older
    /// one on its patch set is pending, so a change reads its posts in order.
    fn due(&self, now: i64) -> anyhow::Result<Vec<Journaled>> {
        self.select(
            "WHERE state = 'pending' AND next_at <= ?1 AND NOT EXISTS (
               SELECT 1 FROM posts o WHERE o.change = posts.change
               AND o.patch_set = posts.patch_set AND o.state = 'pending' AND o.id < posts.id)
             ORDER BY id",
            now,
        )
    }

    /// Every post, oldest first.
    pub fn all(&self) -> anyhow::Result<Vec<Journaled>> {
        self.select("WHERE ?1 = ?1 ORDER BY id", 0)
    }

    fn select(&self, filter: &str, arg: i64) -> anyhow::Result<Vec<Journaled>> {
        let db = self.db.lock().unwrap();
        let mut st = db.prepare(&format!(
            "SELECT id, change, patch_set, kind, revision, message, vote, state, attempts, last_error
             FROM posts {filter}"
        ))?;
        let rows = st.query_map([arg], |r| {
            Ok(Journaled {
                id: r.get(0)?,
                post: Post {
                    change: r.get(1)?,
                    patch_set: r.get(2)?,
                    kind: PostKind::parse(&r.get::<_, String>(3)?).unwrap_or(PostKind::Begin),
                    revision: r.get(4)?,
                    message: r.get(5)?,
                    vote: r.get(6)?,
                },
                state: r.get(7)?,
                attempts: r.get(8)?,
                last_error: r.get(9)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn mark(&self, id: i64, state: &str, next_at: i64, err: Option<&str>) -> anyhow::Result<()> {
        self.db.lock().unwrap().execute(
            "UPDATE posts SET state = ?2, attempts = attempts + 1, next_at = ?3, last_error = ?4
             WHERE id = ?1",
            params![id, state, next_at, err],
        )?;
        Ok(())
    }
}

/// The posts a try set calls for now. `specs`: its builds; `started`: whether any of
/// them runs or ran; `result(spec)`: its recorded result (ok, log URL).
pub fn posts_for(
    specs: &[BuildSpec],
    started: bool,
    result: impl Fn(&BuildSpec) -> Option<(bool, String)>,
    public_url: &str,
) -> Vec<Post> {
    let Some(first) = specs.first() else {
        return vec![];
    };
    let WorkKind::Try { change, patch_set } = first.work.kind else {
        return vec![];
    };
    let revision = first.work.commit.clone();
    let post = |kind, message: String, vote| Post {
        change,
        patch_set,
        revision: revision.clone(),
        kind,
        message,
        vote,
    };
    let results: Vec<(&BuildSpec, Option<(bool, String)>)> =
        specs.iter().map(|s| (s, result(s))).collect();
    let done = results.iter().filter(|(_, r)| r.is_some()).count();
    let failed: Vec<(&str, &str)> = results
        .iter()
        .filter_map(|(s, r)| match r {
            Some((false, url)) => Some((s.builder.as_str(), url.as_str())),
            _ => None,
        })
        .collect();
    let mut out = vec![];
    if started || done > 0 {
        out.push(post(
            PostKind::Begin,
            format!(
                "TryBots beginning. Status page: {public_url}/status?commit={}",
                &revision[..revision.len().min(8)]
            ),
            None,
        ));
    }
    if done == specs.len() {
        let (vote, message) = if failed.is_empty() {
            (1, "TryBots are happy.".to_string())
        } else {
            let lines: Vec<String> = failed
                .iter()
                .map(|(b, url)| format!("Failed on {b}: {url}"))
                .collect();
            (
                -1,
                format!(
                    "{} of {} TryBots failed:\n{}\n\nConsult {public_url}/ to see whether they are new failures.",
                    failed.len(),
                    specs.len(),
                    lines.join("\n")
                ),
            )
        };
        out.push(post(PostKind::Result, message, Some(vote)));
    } else if let Some((b, url)) = failed.first() {
        out.push(post(
            PostKind::FirstFailure,
            format!(
                "Build is still in progress...\nThis change failed on {b}:\nSee {url}\n\n\
                 Consult {public_url}/ to see whether it's a new failure. Other builds still in \
                 progress; subsequent failure notices suppressed until final report."
            ),
            None,
        ));
    }
    out
}

/// Journals what each try set calls for and wakes the poster when something is new.
pub struct Reviews {
    pub cfg: GerritConfig,
    pub journal: Arc<Journal>,
    pub wake: Arc<Notify>,
}

impl Reviews {
    pub fn open(cfg: GerritConfig) -> anyhow::Result<Reviews> {
        let journal = Arc::new(Journal::open(&cfg.journal)?);
        Ok(Reviews {
            cfg,
            journal,
            wake: Arc::new(Notify::new()),
        })
    }

    /// Journals the posts of one try set (blocking: sqlite).
    pub fn note(&self, specs: &[BuildSpec], started: bool, store: &Store) {
        let link = |hash: &str| format!("{}/log/{hash}", self.cfg.public_url);
        let result = |s: &BuildSpec| {
            store
                .result(&s.key())
                .ok()
                .flatten()
                .map(|r| (r.ok, link(&r.log_hash)))
        };
        for p in posts_for(specs, started, result, &self.cfg.public_url) {
            match self.journal.add(&p) {
                Ok(true) => {
                    tracing::info!(change = p.change, patch_set = p.patch_set, kind = ?p.kind, "trybot post journaled");
                    self.wake.notify_one();
                }
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, "journaling a trybot post failed"),
            }
        }
    }

    /// Sends journaled posts until dropped: at once when woken, failed ones again
    /// with exponential backoff (1 s doubling to 5 min) while Gerrit answers 5xx or
    /// cannot be reached; a 4xx is final.
    pub async fn post_loop(self: Arc<Self>) {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .expect("HTTP client");
        loop {
            let j = self.journal.clone();
            let due = tokio::task::spawn_blocking(move || j.due(unix_ms()))
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default();
            for p in due {
                let outcome = self.send(&http, &p.post).await;
                let j = self.journal.clone();
                let _ = tokio::task::spawn_blocking(move || match outcome {
                    Sent::Done => j.mark(p.id, "done", 0, None),
                    Sent::Final(e) => j.mark(p.id, "failed", 0, Some(&e)),
                    Sent::Retry(e) => {
                        let wait = 1000i64 << p.attempts.min(9);
                        j.mark(p.id, "pending", unix_ms() + wait.min(300_000), Some(&e))
                    }
                })
                .await;
            }
            tokio::select! {
                _ = self.wake.notified() => {},
                _ = tokio::time::sleep(Duration::from_millis(500)) => {},
            }
        }
    }

    async fn send(&self, http: &reqwest::Client, p: &Post) -> Sent {
        match self.already_posted(http, p).await {
            Ok(true) => return Sent::Done,
            Ok(false) => {}
            Err(e) => return e,
        }
        let mut body = serde_json::json!({
            "message": p.message,
            "tag": "autogenerated:trybots",
        });
        if let Some(v) = p.vote {
            body["labels"] = serde_json::json!({ "TryBot-Result": v });
        }
        let url = format!(
            "{}/a/changes/{}/revisions/{}/review",
            self.cfg.url, p.change, p.revision
        );
        let req = self
            .auth(http.post(&url))
            .header("content-type", "application/json")
            .body(body.to_string());
        match req.send().await {
            Ok(r) if r.status().is_success() => {
                tracing::info!(change = p.change, kind = ?p.kind, "trybot post sent");
                Sent::Done
            }
            Ok(r) if r.status().is_server_error() => Sent::Retry(format!("{url}: {}", r.status())),
            Ok(r) => Sent::Final(format!("{url}: {}", r.status())),
            Err(e) => Sent::Retry(format!("{url}: {e}")),
        }
    }

    /// Whether the change already carries this post's message on its patch set (Go's
    /// `notifyStarting` checks the same way before posting).
    async fn already_posted(&self, http: &reqwest::Client, p: &Post) -> Result<bool, Sent> {
        let url = format!("{}/a/changes/{}/detail", self.cfg.url, p.change);
        let r = self
            .auth(http.get(&url))
            .send()
            .await
            .map_err(|e| Sent::Retry(format!("{url}: {e}")))?;
        if r.status().is_server_error() {
            return Err(Sent::Retry(format!("{url}: {}", r.status())));
        }
        if !r.status().is_success() {
            return Err(Sent::Final(format!("{url}: {}", r.status())));
        }
        let text = read_bounded(r, MAX_DETAIL).await?;
        let detail: ChangeDetail = serde_json::from_str(text.trim_start_matches(")]}'"))
            .map_err(|e| Sent::Final(format!("{url}: bad JSON: {e}")))?;
        Ok(detail
            .messages
            .iter()
            .any(|m| m.revision_number == Some(p.patch_set) && m.message.contains(&p.message)))
    }

    fn auth(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.cfg.auth {
            Some((u, p)) => r.basic_auth(u, Some(p)),
            None => r,
        }
    }
}

/// The most of a change's detail read: a bigger answer is refused, not buffered.
const MAX_DETAIL: usize = 16 << 20;

/// The body of `r`, up to `max` bytes (the client's timeouts bound the time).
async fn read_bounded(mut r: reqwest::Response, max: usize) -> Result<String, Sent> {
    let url = r.url().to_string();
    let mut body = Vec::new();
    while let Some(chunk) = r
        .chunk()
        .await
        .map_err(|e| Sent::Retry(format!("{url}: {e}")))?
    {
        if body.len() + chunk.len() > max {
            return Err(Sent::Retry(format!("{url}: answer over {max} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

enum Sent {
    Done,
    Retry(String),
    Final(String),
}

/// The part of Gerrit's `ChangeInfo` (with messages) read here.
#[derive(Deserialize)]
struct ChangeDetail {
    #[serde(default)]
    messages: Vec<ChangeMessage>,
}

#[derive(Deserialize)]
struct ChangeMessage {
    #[serde(default)]
    message: String,
    #[serde(rename = "_revision_number")]
    revision_number: Option<i32>,
}

fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Work;

    fn spec(builder: &str) -> BuildSpec {
        BuildSpec {
            builder: builder.into(),
            host_type: "h".into(),
            work: Work {
                kind: WorkKind::Try {
                    change: 7,
                    patch_set: 2,
                },
                repo: "demo".into(),
                branch: "master".into(),
                commit: "0123456789abcdef".into(),
                go_branch: None,
                go_commit: None,
                commit_time: Default::default(),
            },
        }
    }

    #[test]
    fn posts_follow_the_try_set() {
        let specs = [spec("a"), spec("b"), spec("c")];
        let kinds = |r: &dyn Fn(&BuildSpec) -> Option<(bool, String)>, started| {
            posts_for(&specs, started, r, "http://x")
                .into_iter()
                .map(|p| (p.kind, p.vote))
                .collect::<Vec<_>>()
        };
        assert!(kinds(&|_| None, false).is_empty());
        assert_eq!(kinds(&|_| None, true), [(PostKind::Begin, None)]);
        let b_fails = |s: &BuildSpec| (s.builder == "b").then(|| (false, "http://x/log/1".into()));
        assert_eq!(
            kinds(&b_fails, true),
            [(PostKind::Begin, None), (PostKind::FirstFailure, None)]
        );
        let all_done =
            |s: &BuildSpec| Some((s.builder != "b", format!("http://x/log/{}", s.builder)));
        let posts = posts_for(&specs, true, all_done, "http://x");
        assert_eq!(posts[1].vote, Some(-1));
        assert!(posts[1]
            .message
            .starts_with("1 of 3 TryBots failed:\nFailed on b: http://x/log/b"));
        let happy = posts_for(&specs, true, |_| Some((true, String::new())), "http://x");
        assert_eq!(
            (happy[1].vote, happy[1].message.as_str()),
            (Some(1), "TryBots are happy.")
        );
        assert!(happy[0].message.contains("status?commit=01234567"));
    }
}
