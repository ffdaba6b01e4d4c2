//! Polls one GitHub repository (Go's `githubRepoPoller` in maintner/github.go) and records
//! what changed as mutations.
//!
//! Each round does issues, then comments, then events:
//! - issues are listed by `updated` descending; paging stops at the first page with no
//!   change (everything older is known). Page 1 is a conditional request: `304` means
//!   nothing changed. After a failed round (and on the first round of a process) every
//!   page is read instead, and page 1's ETag is dropped, so an error on a later page cannot
//!   hide changes from the next round (Go's equivalent is its check for missing issue
//!   numbers);
//! - issue numbers missing below the highest known one are looked up one by one; a 404
//!   becomes `not_exist`;
//! - on the first changed issue, labels and milestones are synced first (one
//!   `GithubMutation`), so the issue mutations can name them;
//! - comments and events are fetched for issues the corpus has not synced since their last
//!   update; each page becomes one mutation, the last one carrying the `Date` header as
//!   `server_date` ("synced as of").
//!
//! A page that fails (HTTP error, garbage JSON) ends the round with an error; everything
//! recorded before it stays, and the next round starts over from what the corpus holds.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use maintner::maintpb::{
    BoolChange, GithubCommit, GithubIssueCommentMutation, GithubIssueEvent, GithubIssueMutation,
    GithubIssueSyncStatus, GithubLabel, GithubMilestone, GithubMutation, GithubUser, Mutation,
    StringChange, Timestamp,
};

use super::api::{Comment, GitHubClient, GitHubError, Issue, Label, Milestone, Page, User};
use super::events::{parse_events, IssueEvent};
use crate::ingest::Ingest;
use crate::view::{IssueSnapshot, PollerView};
use crate::webhook::Wakers;
use maintner::github::MilestoneRef;

/// First re-poll delay after a wake-up that found nothing new.
pub const WAKE_BACKOFF: Duration = Duration::from_secs(1);

/// After a round: how long to sleep, and the backoff of the round after it (`None`: not
/// expecting changes). `expecting` is the backoff this round ran under.
pub fn next_wait(
    expecting: Option<Duration>,
    changed: bool,
    interval: Duration,
) -> (Duration, Option<Duration>) {
    match expecting {
        Some(b) if !changed && b < interval => (b, Some(b * 2)),
        _ => (interval, None),
    }
}

/// Missing issue numbers looked up one by one per round (Go: fewer than 100).
pub const MAX_MISSING_PER_ROUND: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    #[error("writing the log: {0}")]
    Log(#[from] maintner::LogError),
}

/// What one round recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundStats {
    pub requests: usize,
    pub issues_changed: usize,
    pub comment_mutations: usize,
    pub events_added: usize,
    /// Page 1 of the issue list answered `304 Not Modified`.
    pub issues_not_modified: bool,
}

/// The poller of one repository.
pub struct GitHubRepoPoller {
    pub owner: String,
    pub repo: String,
    client: Arc<GitHubClient>,
    ingest: Ingest,
    /// Read every issue page in the next round (first round, or the last one failed).
    full_scan: AtomicBool,
}

fn ts(t: DateTime<Utc>) -> Option<Timestamp> {
    Some(Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    })
}

fn pb_user(u: &User) -> GithubUser {
    GithubUser {
        id: u.id,
        login: u.login.clone(),
    }
}

impl GitHubRepoPoller {
    pub fn new(owner: &str, repo: &str, client: Arc<GitHubClient>, ingest: Ingest) -> Self {
        GitHubRepoPoller {
            owner: owner.to_string(),
            repo: repo.to_string(),
            client,
            ingest,
            full_scan: AtomicBool::new(true),
        }
    }

    /// The wake-up topic of this repository.
    pub fn topic(&self) -> String {
        format!("github:{}/{}", self.owner, self.repo).to_lowercase()
    }

    /// Polls every `interval`, or at once when woken (then without the ETag shortcut).
    /// GitHub sends webhooks before its caches see the change, so after a wake-up that
    /// found nothing new the poller looks again after 1 s, 2 s, 4 s, … up to `interval`
    /// (Go's `expectChanges`, commit 91697f13).
    pub async fn run(self, wakers: Wakers, interval: Duration) {
        let wake = wakers.topic(&self.topic());
        let mut expecting: Option<Duration> = None;
        loop {
            let changed = match self.sync_round(expecting.is_some()).await {
                Ok(s) => {
                    tracing::info!(repo = %self.topic(), ?s, "GitHub sync round");
                    s.issues_changed > 0
                }
                Err(e) => {
                    tracing::warn!(repo = %self.topic(), error = %e, "GitHub sync round failed");
                    false
                }
            };
            let (wait, next) = next_wait(expecting, changed, interval);
            expecting = tokio::select! {
                _ = tokio::time::sleep(wait) => next,
                _ = wake.notified() => Some(WAKE_BACKOFF),
            };
        }
    }

    /// One round: issues, comments, events.
    pub async fn sync_round(&self, expect_changes: bool) -> Result<RoundStats, PollError> {
        let mut stats = RoundStats::default();
        let first = self.client.url(&format!(
            "/repos/{}/{}/issues?state=all&sort=updated&direction=desc&per_page=100&page=1",
            self.owner, self.repo
        ));
        let full = self.full_scan.load(Ordering::Relaxed);
        let result = async {
            self.sync_issues(&first, !expect_changes && !full, full, &mut stats)
                .await?;
            self.sync_missing(&mut stats).await?;
            self.sync_comments(&mut stats).await?;
            self.sync_events(&mut stats).await
        }
        .await;
        if result.is_err() {
            self.client.forget(&first);
        }
        self.full_scan.store(result.is_err(), Ordering::Relaxed);
        result.map(|_| stats)
    }

    async fn sync_issues(
        &self,
        first: &str,
        conditional: bool,
        full: bool,
        stats: &mut RoundStats,
    ) -> Result<(), PollError> {
        let mut url = first.to_string();
        let mut seen = HashSet::new();
        let mut synced_meta = false;
        loop {
            let page: Page<Vec<Issue>> = self.client.get(&url, conditional && url == first).await?;
            stats.requests += 1;
            if page.not_modified {
                stats.issues_not_modified = true;
                return Ok(());
            }
            let ms: Vec<Mutation> = {
                let view = self.ingest.view();
                page.items
                    .iter()
                    .filter(|is| seen.insert(is.id))
                    .filter_map(|is| self.diff_issue(&*view, is))
                    .map(|m| Mutation {
                        github_issue: Some(m),
                        ..Default::default()
                    })
                    .collect()
            };
            if ms.is_empty() && !full {
                return Ok(());
            }
            if !synced_meta && !ms.is_empty() {
                self.sync_labels_and_milestones(stats).await?;
                synced_meta = true;
            }
            stats.issues_changed += ms.len();
            self.ingest.record(ms).await?;
            match page.next {
                Some(next) => url = next,
                None => return Ok(()),
            }
        }
    }

    /// Issue numbers below the highest known one that the listing never returned are
    /// fetched one by one (Go's hole check); a 404 or 410 is logged as `not_exist`, so the
    /// number is not asked for again. At most [`MAX_MISSING_PER_ROUND`] per round.
    async fn sync_missing(&self, stats: &mut RoundStats) -> Result<(), PollError> {
        let missing: Vec<i32> = {
            let known = self
                .ingest
                .view()
                .github_issue_numbers(&self.owner, &self.repo);
            let max = known.last().copied().unwrap_or(0);
            let known: HashSet<i32> = known.into_iter().collect();
            (1..max)
                .filter(|n| !known.contains(n))
                .take(MAX_MISSING_PER_ROUND)
                .collect()
        };
        for n in missing {
            let url = self
                .client
                .url(&format!("/repos/{}/{}/issues/{n}", self.owner, self.repo));
            stats.requests += 1;
            let m = match self.client.get::<Issue>(&url, false).await {
                Ok(page) => {
                    let view = self.ingest.view();
                    self.diff_issue(&*view, &page.items)
                }
                Err(GitHubError::Status {
                    status: 404 | 410, ..
                }) => Some(GithubIssueMutation {
                    not_exist: true,
                    ..self.issue_mutation(n)
                }),
                Err(e) => return Err(e.into()),
            };
            if let Some(m) = m {
                stats.issues_changed += 1;
                self.record_issue(m).await?;
            }
        }
        Ok(())
    }

    /// The mutation that brings the corpus's issue `is.number` up to GitHub's, if any.
    fn diff_issue(&self, view: &impl PollerView, is: &Issue) -> Option<GithubIssueMutation> {
        let old = view
            .github_issue(&self.owner, &self.repo, is.number)
            .filter(|o| !o.not_exist);
        let blank = IssueSnapshot::default();
        let o = old.as_ref().unwrap_or(&blank);
        let is_new = old.is_none();
        let mut m = GithubIssueMutation {
            owner: self.owner.clone(),
            repo: self.repo.clone(),
            number: is.number,
            ..Default::default()
        };
        let mut changed = is_new;
        if is_new || o.id != is.id {
            m.id = is.id;
            changed = true;
        }
        if is_new {
            m.created = ts(is.created_at);
            m.assignees = is.assignees.iter().map(pb_user).collect();
        }
        if let Some(u) = is.user.as_ref().filter(|u| o.user != Some(u.id)) {
            m.user = Some(pb_user(u));
            changed = true;
        }
        if o.title != is.title {
            m.title = is.title.clone();
            changed = true;
        }
        let body = is.body.clone().unwrap_or_default();
        if o.body != body {
            // body_change (HEAD) can also clear a body; a reader of Go's 2017 schema skips
            // it and reads only `body`, so a non-empty body is written there too.
            if !body.is_empty() {
                m.body = body.clone();
            }
            m.body_change = Some(StringChange { val: body });
            changed = true;
        }
        let closed = is.state == "closed";
        if o.closed != closed {
            m.closed = Some(BoolChange { val: closed });
            changed = true;
        }
        if o.locked != is.locked {
            m.locked = Some(BoolChange { val: is.locked });
            changed = true;
        }
        if is.pull_request.is_some() && !o.pull_request {
            m.pull_request = true;
            changed = true;
        }
        if let Some(t) = is.closed_at.filter(|t| o.closed_at != Some(t.timestamp())) {
            m.closed_at = ts(t);
            changed = true;
        }
        if let Some(u) = is.closed_by.as_ref().filter(|u| o.closed_by != Some(u.id)) {
            m.closed_by = Some(pb_user(u));
            changed = true;
        }
        changed |= diff_milestone(o.milestone, is.milestone.as_ref(), &mut m);
        changed |= diff_labels(o, &is.labels, &mut m);
        if !is_new {
            changed |= diff_assignees(o, &is.assignees, &mut m);
        }
        if o.updated != Some(is.updated_at.timestamp()) {
            m.updated = ts(is.updated_at);
            changed = true;
        }
        changed.then_some(m)
    }

    async fn sync_labels_and_milestones(&self, stats: &mut RoundStats) -> Result<(), PollError> {
        let labels: Vec<Label> = self
            .all_pages(
                &format!(
                    "/repos/{}/{}/labels?per_page=100&page=1",
                    self.owner, self.repo
                ),
                stats,
            )
            .await?;
        let milestones: Vec<Milestone> = self
            .all_pages(
                &format!(
                    "/repos/{}/{}/milestones?state=all&per_page=100&page=1",
                    self.owner, self.repo
                ),
                stats,
            )
            .await?;
        let gm = {
            let view = self.ingest.view();
            let known_labels = view.github_labels(&self.owner, &self.repo);
            let known_ms = view.github_milestones(&self.owner, &self.repo);
            GithubMutation {
                owner: self.owner.clone(),
                repo: self.repo.clone(),
                labels: labels
                    .into_iter()
                    .filter(|l| known_labels.get(&l.id) != Some(&l.name))
                    .map(|l| GithubLabel {
                        id: l.id,
                        name: l.name,
                    })
                    .collect(),
                milestones: milestones
                    .into_iter()
                    .filter(|ms| {
                        known_ms.get(&ms.id).is_none_or(|k| {
                            k.title != ms.title
                                || k.number != ms.number
                                || k.closed != (ms.state == "closed")
                        })
                    })
                    .map(|ms| GithubMilestone {
                        id: ms.id,
                        title: ms.title,
                        number: ms.number,
                        closed: Some(BoolChange {
                            val: ms.state == "closed",
                        }),
                    })
                    .collect(),
            }
        };
        if gm.labels.is_empty() && gm.milestones.is_empty() {
            return Ok(());
        }
        self.ingest
            .record(vec![Mutation {
                github: Some(gm),
                ..Default::default()
            }])
            .await?;
        Ok(())
    }

    async fn all_pages<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        stats: &mut RoundStats,
    ) -> Result<Vec<T>, PollError> {
        let mut url = self.client.url(path);
        let mut all = Vec::new();
        loop {
            let page: Page<Vec<T>> = self.client.get(&url, false).await?;
            stats.requests += 1;
            all.extend(page.items);
            match page.next {
                Some(next) => url = next,
                None => return Ok(all),
            }
        }
    }

    /// Issues whose comments (or events) are not synced since their last update.
    fn unsynced(&self, events: bool) -> Vec<i32> {
        self.ingest
            .view()
            .github_unsynced(&self.owner, &self.repo, events)
    }

    async fn sync_comments(&self, stats: &mut RoundStats) -> Result<(), PollError> {
        for n in self.unsynced(false) {
            let mut url = self.client.url(&format!(
                "/repos/{}/{}/issues/{n}/comments?per_page=100&page=1",
                self.owner, self.repo
            ));
            loop {
                let page: Page<Vec<Comment>> = self.client.get(&url, false).await?;
                stats.requests += 1;
                let mut m = self.issue_mutation(n);
                {
                    let view = self.ingest.view();
                    let known = view.github_issue(&self.owner, &self.repo, n);
                    m.comment = page
                        .items
                        .iter()
                        .filter_map(|c| diff_comment(known.as_ref(), c))
                        .collect();
                }
                if page.next.is_none() {
                    m.comment_status = Some(GithubIssueSyncStatus {
                        server_date: ts(page.date.unwrap_or_else(Utc::now)),
                    });
                }
                stats.comment_mutations += 1;
                self.record_issue(m).await?;
                match page.next {
                    Some(next) => url = next,
                    None => break,
                }
            }
        }
        Ok(())
    }

    async fn sync_events(&self, stats: &mut RoundStats) -> Result<(), PollError> {
        for n in self.unsynced(true) {
            let known = {
                let view = self.ingest.view();
                view.github_issue(&self.owner, &self.repo, n)
                    .map(|is| is.event_ids.clone())
                    .unwrap_or_default()
            };
            // Events are immutable and listed oldest first: skip the full pages we have.
            let first_page = known.len() / 100 + 1;
            let mut url = self.client.url(&format!(
                "/repos/{}/{}/issues/{n}/events?per_page=100&page={first_page}",
                self.owner, self.repo
            ));
            loop {
                let resp: Page<serde_json::Value> = self.client.get(&url, false).await?;
                stats.requests += 1;
                let body = serde_json::to_vec(&resp.items).unwrap_or_default();
                let events = parse_events(&url, &body)?;
                let mut m = self.issue_mutation(n);
                m.event = events
                    .iter()
                    .filter(|e| !known.contains(&e.id))
                    .map(|e| self.event_proto(e))
                    .collect();
                stats.events_added += m.event.len();
                if resp.next.is_none() {
                    m.event_status = Some(GithubIssueSyncStatus {
                        server_date: ts(resp.date.unwrap_or_else(Utc::now)),
                    });
                }
                self.record_issue(m).await?;
                match resp.next {
                    Some(next) => url = next,
                    None => break,
                }
            }
        }
        Ok(())
    }

    fn issue_mutation(&self, number: i32) -> GithubIssueMutation {
        GithubIssueMutation {
            owner: self.owner.clone(),
            repo: self.repo.clone(),
            number,
            ..Default::default()
        }
    }

    async fn record_issue(&self, m: GithubIssueMutation) -> Result<(), PollError> {
        self.ingest
            .record(vec![Mutation {
                github_issue: Some(m),
                ..Default::default()
            }])
            .await?;
        Ok(())
    }

    fn event_proto(&self, e: &IssueEvent) -> GithubIssueEvent {
        let id_of = |u: &Option<User>| u.as_ref().map_or(0, |u| u.id);
        GithubIssueEvent {
            id: e.id,
            event_type: e.event_type.clone(),
            actor_id: id_of(&e.actor),
            created: e.created.and_then(ts),
            label: e.label.as_ref().map(|name| GithubLabel {
                id: 0,
                name: name.clone(),
            }),
            milestone: e.milestone.as_ref().map(|title| GithubMilestone {
                title: title.clone(),
                ..Default::default()
            }),
            assignee_id: id_of(&e.assignee),
            assigner_id: id_of(&e.assigner),
            commit: e.commit_id.as_ref().map(|id| {
                let (owner, repo) = e
                    .commit_url
                    .as_deref()
                    .and_then(commit_url_repo)
                    .unwrap_or_else(|| (self.owner.clone(), self.repo.clone()));
                GithubCommit {
                    owner,
                    repo,
                    commit_id: id.clone(),
                }
            }),
            other_json: e.other_json.clone(),
            rename_from: e.rename_from.clone().unwrap_or_default(),
            rename_to: e.rename_to.clone().unwrap_or_default(),
            reviewer_id: id_of(&e.reviewer),
            review_requester_id: id_of(&e.review_requester),
            ..Default::default()
        }
    }
}

/// `https://api.github.com/repos/O/R/commits/ID` → (O, R).
fn commit_url_repo(url: &str) -> Option<(String, String)> {
    let rest = url.split("/repos/").nth(1)?;
    let mut parts = rest.split('/');
    let (owner, repo, kind) = (parts.next()?, parts.next()?, parts.next()?);
    (kind == "commits").then(|| (owner.to_string(), repo.to_string()))
}

fn diff_milestone(old: MilestoneRef, new: Option<&Milestone>, m: &mut GithubIssueMutation) -> bool {
    match (old, new) {
        (MilestoneRef::Id(id), Some(ms)) if id == ms.id => false,
        (_, Some(ms)) => {
            m.milestone_id = ms.id;
            m.milestone_num = ms.number;
            m.milestone_title = ms.title.clone();
            true
        }
        (MilestoneRef::None, None) => false,
        (_, None) => {
            m.no_milestone = true;
            true
        }
    }
}

fn diff_labels(o: &IssueSnapshot, labels: &[Label], m: &mut GithubIssueMutation) -> bool {
    let now: HashSet<i64> = labels.iter().map(|l| l.id).collect();
    m.add_label = labels
        .iter()
        .filter(|l| !o.labels.contains(&l.id))
        .map(|l| GithubLabel {
            id: l.id,
            name: l.name.clone(),
        })
        .collect();
    m.remove_label = o
        .labels
        .iter()
        .filter(|id| !now.contains(id))
        .copied()
        .collect();
    !m.add_label.is_empty() || !m.remove_label.is_empty()
}

fn diff_assignees(o: &IssueSnapshot, assignees: &[User], m: &mut GithubIssueMutation) -> bool {
    let now: HashSet<i64> = assignees.iter().map(|u| u.id).collect();
    m.assignees = assignees
        .iter()
        .filter(|u| !o.assignees.contains(&u.id))
        .map(pb_user)
        .collect();
    m.deleted_assignees = o
        .assignees
        .iter()
        .filter(|id| !now.contains(id))
        .copied()
        .collect();
    !m.assignees.is_empty() || !m.deleted_assignees.is_empty()
}

/// A new comment in full; a changed one as id + what changed; `None` if known as is.
fn diff_comment(issue: Option<&IssueSnapshot>, c: &Comment) -> Option<GithubIssueCommentMutation> {
    let body = c.body.clone().unwrap_or_default();
    let known = issue.and_then(|is| is.comments.get(&c.id));
    match known {
        None => Some(GithubIssueCommentMutation {
            id: c.id,
            user: c.user.as_ref().map(pb_user),
            body,
            created: ts(c.created_at),
            updated: ts(c.updated_at),
        }),
        Some(k) if k.updated != c.updated_at.timestamp() || k.body != body => {
            Some(GithubIssueCommentMutation {
                id: c.id,
                updated: ts(c.updated_at),
                body: if k.body != body { body } else { String::new() },
                ..Default::default()
            })
        }
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go's `TestNewMutationsFromIssue`: a new closed issue becomes exactly owner, repo,
    /// number, body, created, updated, (empty) assignees, no_milestone and closed — in
    /// particular no `locked` when it is false. The body goes in both `body` (what Go's
    /// 2017 reader reads) and `body_change` (which can also clear it).
    #[test]
    fn new_issue_mutation_has_exactly_the_set_fields() {
        let dir = tempfile::tempdir().unwrap();
        let ingest = Ingest::new(crate::store::SharedLog::open(dir.path()).unwrap()).unwrap();
        let client = Arc::new(GitHubClient::new("http://127.0.0.1:9", None));
        let poller = GitHubRepoPoller::new("golang", "go", client, ingest.clone());
        let issue: Issue = serde_json::from_value(serde_json::json!({
            "id": 0, "number": 5, "title": "", "body": "body of the issue",
            "user": null, "state": "closed", "locked": false, "labels": [], "assignees": [],
            "milestone": null, "created_at": "2017-06-01T12:00:00Z",
            "updated_at": "2017-06-02T12:00:00Z", "closed_at": null
        }))
        .unwrap();
        let m = poller.diff_issue(&*ingest.view(), &issue).unwrap();
        let want = GithubIssueMutation {
            owner: "golang".into(),
            repo: "go".into(),
            number: 5,
            body: "body of the issue".into(),
            body_change: Some(StringChange {
                val: "body of the issue".into(),
            }),
            created: Some(Timestamp {
                seconds: 1_496_318_400,
                nanos: 0,
            }),
            updated: Some(Timestamp {
                seconds: 1_496_404_800,
                nanos: 0,
            }),
            no_milestone: true,
            closed: Some(BoolChange { val: true }),
            ..Default::default()
        };
        assert_eq!(m, want);

        // Once recorded, the same issue is no change at all.
        ingest.record_now(m);
        assert_eq!(poller.diff_issue(&*ingest.view(), &issue), None);

        // A cleared body can only be said by body_change.
        let mut cleared = issue.clone();
        cleared.body = None;
        let m = poller.diff_issue(&*ingest.view(), &cleared).unwrap();
        assert_eq!(
            (m.body.as_str(), m.body_change),
            ("", Some(StringChange::default()))
        );
    }

    #[test]
    fn wake_backoff_doubles_until_a_change_or_the_interval() {
        let interval = Duration::from_secs(15 * 60);
        let mut expecting = Some(WAKE_BACKOFF);
        let mut waits = Vec::new();
        while expecting.is_some() {
            let (wait, next) = next_wait(expecting, false, interval);
            waits.push(wait.as_secs());
            expecting = next;
        }
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900]);
        // A round that found the change ends the fast re-polling.
        assert_eq!(
            next_wait(Some(WAKE_BACKOFF), true, interval),
            (interval, None)
        );
        // Not woken: the plain interval.
        assert_eq!(next_wait(None, false, interval), (interval, None));
    }

    #[test]
    fn commit_urls_name_their_repo() {
        assert_eq!(
            commit_url_repo("https://api.github.com/repos/golang/go/commits/abc"),
            Some(("golang".into(), "go".into()))
        );
        assert_eq!(
            commit_url_repo("https://api.github.com/repos/golang/go/issues/1"),
            None
        );
    }
}
