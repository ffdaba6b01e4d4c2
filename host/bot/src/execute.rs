//! The action executor: carries out a pass's decisions through GitHub's and Gerrit's
//! REST APIs, or only says what it would do (dry-run, the default).
//!
//! Before each action: the journal (taken before? never again), then the current
//! corpus (already so? nothing to do: someone or an earlier pass did it). Then the
//! journal row `started` is made durable, the API is called under the API's rate
//! limit, and the row becomes `done` or `failed` (a failed action is tried again on
//! the next pass).
//!
//! A crash between the API call and the `done` write leaves the row `started`. The
//! next run does not trust the journal either way: it asks the API whether the effect
//! is there (the label, the comment, the closed state, the Gerrit message) and only
//! calls again if it is not. The API's state wins; the journal only says where to
//! look, so a crash neither repeats an action nor loses one.

use crate::journal::{Journal, State};
use crate::pass::{parse_change_target, parse_issue_target, Decision, Pass};
use runtime::{ChangeRef, CorpusQueries, IssueRef};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// One REST API: where it is, the `Authorization` header, and the least time between
/// two requests.
#[derive(Debug, Clone)]
pub struct Api {
    pub base: String,
    pub authorization: Option<String>,
    pub interval: Duration,
}

#[derive(Debug, Clone)]
pub enum Mode {
    DryRun,
    Live { github: Api, gerrit: Api },
}

/// What became of each decision of a pass.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Carried out now.
    pub taken: Vec<Decision>,
    /// Dry-run: would be carried out.
    pub would: Vec<Decision>,
    /// Taken before, by the journal (or settled after a crash: the API shows it).
    pub journaled: Vec<Decision>,
    /// Already so in the corpus: nothing to do.
    pub already: Vec<Decision>,
    pub failed: Vec<(Decision, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("journal: {0}")]
    Journal(#[from] rusqlite::Error),
    /// The test hook's simulated crash, right after an API call.
    #[error("crashed after API call {0}, before writing the journal")]
    Crashed(usize),
}

pub struct Executor {
    mode: Mode,
    journal: Journal,
    corpus: Arc<dyn CorpusQueries>,
    http: reqwest::Client,
    next: HashMap<&'static str, Instant>,
    milestones: Option<HashMap<String, i64>>,
    calls: usize,
    /// For tests: stop as a crash would, right after this many API calls and before
    /// the journal records the last one.
    pub crash_after_calls: Option<usize>,
}

impl Executor {
    pub fn new(mode: Mode, journal: Journal, corpus: Arc<dyn CorpusQueries>) -> Executor {
        Executor {
            mode,
            journal,
            corpus,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("reqwest client"),
            next: HashMap::new(),
            milestones: None,
            calls: 0,
            crash_after_calls: None,
        }
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Carries out (or, dry, lists) every decision of `pass`, in order.
    pub async fn execute(&mut self, pass: &Pass) -> Result<Report, ExecError> {
        let mut report = Report::default();
        for (rule, d) in pass.decisions() {
            if let Some(e) = self.journal.get(d)? {
                match e.state {
                    State::Done => {
                        report.journaled.push(d.clone());
                        continue;
                    }
                    State::Started if self.is_live() => match self.took_effect(d).await {
                        Ok(true) => {
                            let why = "settled after a crash: the API shows it done";
                            self.journal.set(rule, d, State::Done, why)?;
                            report.journaled.push(d.clone());
                            continue;
                        }
                        Ok(false) => {}
                        Err(e) => {
                            report.failed.push((d.clone(), e));
                            continue;
                        }
                    },
                    State::Started | State::Failed => {}
                }
            }
            if already_so(d, self.corpus.as_ref()) {
                report.already.push(d.clone());
                continue;
            }
            if !self.is_live() {
                report.would.push(d.clone());
                continue;
            }
            self.journal.set(rule, d, State::Started, "")?;
            let result = self.call(d).await;
            self.calls += 1;
            if self.crash_after_calls == Some(self.calls) {
                return Err(ExecError::Crashed(self.calls));
            }
            match result {
                Ok(()) => {
                    self.journal.set(rule, d, State::Done, "")?;
                    report.taken.push(d.clone());
                }
                Err(e) => {
                    self.journal.set(rule, d, State::Failed, &e)?;
                    report.failed.push((d.clone(), e));
                }
            }
        }
        Ok(report)
    }

    fn is_live(&self) -> bool {
        matches!(self.mode, Mode::Live { .. })
    }

    fn api(&self, which: &'static str) -> Result<Api, String> {
        match &self.mode {
            Mode::Live { github, .. } if which == "github" => Ok(github.clone()),
            Mode::Live { gerrit, .. } => Ok(gerrit.clone()),
            Mode::DryRun => Err("dry-run: no API".into()),
        }
    }

    /// One request, no sooner than the API's interval after the previous one.
    async fn request(
        &mut self,
        which: &'static str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, String), String> {
        let api = self.api(which)?;
        let now = Instant::now();
        let at = self.next.get(which).copied().unwrap_or(now).max(now);
        tokio::time::sleep_until(at).await;
        self.next.insert(which, at + api.interval);
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", api.base))
            .header("Accept", "application/json")
            .header("User-Agent", "xbuild-gopherbot");
        if let Some(a) = &api.authorization {
            req = req.header("Authorization", a);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let status = resp.status().as_u16();
        let text = read_capped(resp, MAX_ANSWER)
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        Ok((status, text))
    }

    async fn ok(
        &mut self,
        which: &'static str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        also_fine: &[u16],
    ) -> Result<String, String> {
        let (status, text) = self.request(which, method.clone(), path, body).await?;
        if (200..300).contains(&status) || also_fine.contains(&status) {
            return Ok(text);
        }
        Err(format!("{method} {path}: {status} {}", text.trim()))
    }

    async fn get_json(&mut self, which: &'static str, path: &str) -> Result<Value, String> {
        let text = self
            .ok(which, reqwest::Method::GET, path, None, &[])
            .await?;
        // Gerrit prefixes JSON with )]}' against cross-site script inclusion.
        let text = text.strip_prefix(")]}'").unwrap_or(&text);
        serde_json::from_str(text).map_err(|e| format!("GET {path}: {e}"))
    }

    async fn milestone_number(&mut self, repo: &str, title: &str) -> Result<i64, String> {
        if self.milestones.is_none() {
            let list = self
                .get_json(
                    "github",
                    &format!("/repos/{repo}/milestones?state=all&per_page=100"),
                )
                .await?;
            let map = list
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| Some((m["title"].as_str()?.to_string(), m["number"].as_i64()?)))
                .collect();
            self.milestones = Some(map);
        }
        self.milestones
            .as_ref()
            .and_then(|m| m.get(title).copied())
            .ok_or_else(|| format!("{repo} has no milestone {title:?}"))
    }

    /// The API call that carries `d` out.
    async fn call(&mut self, d: &Decision) -> Result<(), String> {
        use reqwest::Method as M;
        let value = d.value.clone().unwrap_or_default();
        if let Some(c) = parse_change_target(&d.target) {
            let id = gerrit_id(&c);
            let (path, body) = match d.action.as_str() {
                "gerrit-message" => (
                    format!("/a/changes/{id}/revisions/current/review"),
                    json!({"message": value}),
                ),
                "gerrit-vote" => {
                    let (label, v) = value.split_once('=').ok_or("bad vote")?;
                    let v: i64 = v.parse().map_err(|_| "bad vote value")?;
                    (
                        format!("/a/changes/{id}/revisions/current/review"),
                        json!({"labels": {label: v}}),
                    )
                }
                "add-hashtag" => (format!("/a/changes/{id}/hashtags"), json!({"add": [value]})),
                "remove-hashtag" => (
                    format!("/a/changes/{id}/hashtags"),
                    json!({"remove": [value]}),
                ),
                "abandon" => (
                    format!("/a/changes/{id}/abandon"),
                    json!({"message": value}),
                ),
                "submit" => (format!("/a/changes/{id}/submit"), json!({})),
                other => return Err(format!("{other} is not a Gerrit action")),
            };
            return self
                .ok("gerrit", M::POST, &path, Some(body), &[])
                .await
                .map(drop);
        }
        if d.action == "create-issue" {
            let path = format!("/repos/{}/issues", d.target);
            let body = json!({"title": value});
            return self
                .ok("github", M::POST, &path, Some(body), &[])
                .await
                .map(drop);
        }
        let i = parse_issue_target(&d.target).ok_or_else(|| format!("bad target {}", d.target))?;
        let base = format!("/repos/{}/issues/{}", i.repo, i.number);
        let (method, path, body, also_fine): (M, String, Option<Value>, &[u16]) =
            match d.action.as_str() {
                "add-label" => (
                    M::POST,
                    format!("{base}/labels"),
                    Some(json!({"labels": [value]})),
                    &[],
                ),
                // Gone already is what was wanted (Go's removeLabel treats 404 as success).
                "remove-label" => (
                    M::DELETE,
                    format!("{base}/labels/{}", encode(&value)),
                    None,
                    &[404],
                ),
                "set-milestone" => {
                    let n = self.milestone_number(&i.repo, &value).await?;
                    (M::PATCH, base, Some(json!({"milestone": n})), &[])
                }
                "remove-milestone" => (M::PATCH, base, Some(json!({"milestone": null})), &[]),
                "comment" => (
                    M::POST,
                    format!("{base}/comments"),
                    Some(json!({"body": value})),
                    &[],
                ),
                "close" => (
                    M::PATCH,
                    base,
                    Some(json!({"state": "closed", "state_reason": value})),
                    &[],
                ),
                "lock" => (M::PUT, format!("{base}/lock"), None, &[]),
                other => return Err(format!("{other} is not a GitHub issue action")),
            };
        self.ok("github", method, &path, body, also_fine)
            .await
            .map(drop)
    }

    /// Whether the API shows `d` done: settles a row a crash left `started`. Actions
    /// that do the same thing when repeated (hashtags, votes, submit) answer false.
    async fn took_effect(&mut self, d: &Decision) -> Result<bool, String> {
        let value = d.value.clone().unwrap_or_default();
        if let Some(c) = parse_change_target(&d.target) {
            let id = gerrit_id(&c);
            return Ok(match d.action.as_str() {
                "gerrit-message" => {
                    let msgs = self
                        .get_json("gerrit", &format!("/a/changes/{id}/messages"))
                        .await?;
                    msgs.as_array()
                        .into_iter()
                        .flatten()
                        .any(|m| m["message"].as_str().is_some_and(|b| b.contains(&value)))
                }
                "abandon" => {
                    let ch = self.get_json("gerrit", &format!("/a/changes/{id}")).await?;
                    ch["status"] == "ABANDONED"
                }
                _ => false,
            });
        }
        let Some(i) = parse_issue_target(&d.target) else {
            return Ok(false);
        };
        let base = format!("/repos/{}/issues/{}", i.repo, i.number);
        let has_label = |issue: &Value| {
            issue["labels"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|l| l["name"] == value.as_str())
        };
        Ok(match d.action.as_str() {
            "add-label" => has_label(&self.get_json("github", &base).await?),
            "remove-label" => !has_label(&self.get_json("github", &base).await?),
            "set-milestone" => {
                self.get_json("github", &base).await?["milestone"]["title"] == value.as_str()
            }
            "close" => self.get_json("github", &base).await?["state"] == "closed",
            "lock" => self.get_json("github", &base).await?["locked"] == true,
            "comment" => {
                let mut page = 1;
                loop {
                    let cs = self
                        .get_json(
                            "github",
                            &format!("{base}/comments?per_page=100&page={page}"),
                        )
                        .await?;
                    let cs = cs.as_array().cloned().unwrap_or_default();
                    if cs.iter().any(|c| c["body"] == value.as_str()) {
                        break true;
                    }
                    if cs.len() < 100 {
                        break false;
                    }
                    page += 1;
                }
            }
            _ => false,
        })
    }
}

/// Gerrit's change id for REST: `project~number`, the project without its host.
fn gerrit_id(c: &ChangeRef) -> String {
    let project = c
        .project
        .rsplit_once(".googlesource.com/")
        .map_or(c.project.as_str(), |(_, p)| p);
    format!("{}~{}", encode(project), c.number)
}

/// Percent-encodes a path segment (labels have spaces, projects slashes).
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether the corpus already shows `d` done (by a person, or an earlier pass the
/// corpus has caught up with).
fn already_so(d: &Decision, corpus: &dyn CorpusQueries) -> bool {
    let value = d.value.as_deref().unwrap_or("");
    if let Some(c) = parse_change_target(&d.target) {
        let Ok(change) = corpus.change(&c) else {
            return false;
        };
        return match d.action.as_str() {
            "add-hashtag" => change.hashtags.iter().any(|h| h == value),
            "remove-hashtag" => !change.hashtags.iter().any(|h| h == value),
            "abandon" => change.status == runtime::bindings::corpus::ChangeStatus::Abandoned,
            "gerrit-message" => corpus
                .change_messages(&c, 1000, None)
                .is_ok_and(|p| p.items.iter().any(|m| m.body.contains(value))),
            _ => false,
        };
    }
    let Some(id) = parse_issue_target(&d.target) else {
        return false;
    };
    let Ok(issue) = corpus.issue(&id) else {
        return false;
    };
    match d.action.as_str() {
        "add-label" => issue.labels.iter().any(|l| l == value),
        "remove-label" => !issue.labels.iter().any(|l| l == value),
        "set-milestone" => issue.milestone.as_deref() == Some(value),
        "remove-milestone" => issue.milestone.is_none(),
        "close" => issue.closed,
        "lock" => issue.locked,
        "comment" => has_comment(corpus, &id, value),
        _ => false,
    }
}

fn has_comment(corpus: &dyn CorpusQueries, id: &IssueRef, body: &str) -> bool {
    let mut cursor = None;
    loop {
        let Ok(page) = corpus.issue_comments(id, 1000, cursor) else {
            return false;
        };
        if page.items.iter().any(|c| c.body == body) {
            return true;
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return false,
        }
    }
}

/// The most of an answer read: GitHub's and Gerrit's answers to these calls are small,
/// and a bigger one is refused rather than buffered.
pub const MAX_ANSWER: usize = 16 << 20;

/// The body of `r`, up to `max` bytes (the client's timeout bounds the time).
async fn read_capped(mut r: reqwest::Response, max: usize) -> Result<String, String> {
    let mut body = Vec::new();
    while let Some(chunk) = r.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > max {
            return Err(format!("answer over {max} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}
