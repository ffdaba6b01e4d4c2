//! What the pollers need to know about the corpus to compute their diffs, and the state
//! they read it from.
//!
//! Pollers never edit a model: they compare what a source says with [`CorpusView`] and
//! write the difference to the log as mutations ([`crate::ingest::Ingest::record`]); the
//! mutations are then applied to the in-memory state, exactly as a replay of the log would.
//!
//! [`IngestState`] is the projection of the log the pollers diff against (git commits,
//! Gerrit refs, GitHub issue fields, comments, event ids, labels, milestones), built only by
//! applying mutations. It is rebuilt from the log on start, so it is never out of step with
//! what the log says.

use std::collections::{BTreeSet, HashMap, HashSet};

use maintner::maintpb::{GerritMutation, GithubIssueMutation, GithubMutation, Mutation, Timestamp};

/// The milestone of an issue as far as the corpus knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MilestoneRef {
    #[default]
    Unknown,
    None,
    Id(i64),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommentState {
    pub updated: i64,
    pub body: String,
}

/// The fields of an issue the GitHub poller diffs against.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IssueState {
    pub id: i64,
    pub not_exist: bool,
    pub user: Option<i64>,
    pub title: String,
    pub body: String,
    pub closed: bool,
    pub locked: bool,
    pub pull_request: bool,
    pub created: Option<i64>,
    pub updated: Option<i64>,
    pub closed_at: Option<i64>,
    pub closed_by: Option<i64>,
    pub labels: BTreeSet<i64>,
    pub milestone: MilestoneRef,
    pub assignees: BTreeSet<i64>,
    pub comments: HashMap<i64, CommentState>,
    pub event_ids: HashSet<i64>,
    pub comments_synced_as_of: Option<i64>,
    pub events_synced_as_of: Option<i64>,
}

impl IssueState {
    /// Go's `commentsSynced`: nothing to fetch if we synced after the last update.
    pub fn comments_synced(&self) -> bool {
        self.not_exist || self.comments_synced_as_of > self.updated
    }

    pub fn events_synced(&self) -> bool {
        self.not_exist || self.events_synced_as_of > self.updated
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MilestoneState {
    pub title: String,
    pub number: i64,
    pub closed: bool,
}

/// Read access the pollers need.
pub trait CorpusView {
    fn has_git_commit(&self, sha1: &str) -> bool;
    fn gerrit_has_commit(&self, project: &str, sha1: &str) -> bool;
    /// Refs of a Gerrit project (`refs/changes/…` included), name → hash.
    fn gerrit_refs(&self, project: &str) -> HashMap<String, String>;
    fn github_issue(&self, owner: &str, repo: &str, number: i32) -> Option<&IssueState>;
    fn github_issue_numbers(&self, owner: &str, repo: &str) -> Vec<i32>;
    fn github_labels(&self, owner: &str, repo: &str) -> HashMap<i64, String>;
    fn github_milestones(&self, owner: &str, repo: &str) -> HashMap<i64, MilestoneState>;
}

#[derive(Debug, Default)]
struct RepoState {
    issues: HashMap<i32, IssueState>,
    labels: HashMap<i64, String>,
    milestones: HashMap<i64, MilestoneState>,
}

#[derive(Debug, Default)]
struct ProjectState {
    commits: HashSet<String>,
    refs: HashMap<String, String>,
}

/// The projection of the log the pollers read. Build it with [`IngestState::apply`].
#[derive(Debug, Default)]
pub struct IngestState {
    git_commits: HashSet<String>,
    gerrit: HashMap<String, ProjectState>,
    github: HashMap<(String, String), RepoState>,
    mutations: u64,
}

fn secs(t: &Option<Timestamp>) -> Option<i64> {
    t.as_ref().map(|t| t.seconds)
}

fn repo_key(owner: &str, repo: &str) -> (String, String) {
    (owner.to_lowercase(), repo.to_lowercase())
}

impl IngestState {
    /// How many mutations were applied.
    pub fn mutations(&self) -> u64 {
        self.mutations
    }

    /// Applies one mutation (in the corpus order: github_issue, github, git, gerrit).
    pub fn apply(&mut self, m: &Mutation) {
        self.mutations += 1;
        if let Some(im) = &m.github_issue {
            self.apply_issue(im);
        }
        if let Some(gm) = &m.github {
            self.apply_github(gm);
        }
        if let Some(c) = m.git.as_ref().and_then(|g| g.commit.as_ref()) {
            self.git_commits.insert(c.sha1.clone());
        }
        if let Some(gm) = &m.gerrit {
            self.apply_gerrit(gm);
        }
    }

    fn apply_github(&mut self, gm: &GithubMutation) {
        let repo = self
            .github
            .entry(repo_key(&gm.owner, &gm.repo))
            .or_default();
        for l in &gm.labels {
            let e = repo.labels.entry(l.id).or_default();
            if !l.name.is_empty() {
                *e = l.name.clone();
            }
        }
        for ms in &gm.milestones {
            let e = repo.milestones.entry(ms.id).or_default();
            if !ms.title.is_empty() {
                e.title = ms.title.clone();
            }
            if ms.number != 0 {
                e.number = ms.number;
            }
            if let Some(c) = &ms.closed {
                e.closed = c.val;
            }
        }
    }

    fn apply_issue(&mut self, im: &GithubIssueMutation) {
        if im.number == 0 || im.owner.is_empty() || im.repo.is_empty() {
            return;
        }
        let repo = self
            .github
            .entry(repo_key(&im.owner, &im.repo))
            .or_default();
        let is = repo.issues.entry(im.number).or_default();
        if im.id != 0 {
            is.id = im.id;
        }
        is.not_exist = im.not_exist;
        if is.not_exist {
            return;
        }
        is.created = secs(&im.created).or(is.created);
        is.updated = secs(&im.updated).or(is.updated);
        is.closed_at = secs(&im.closed_at).or(is.closed_at);
        if let Some(u) = &im.user {
            is.user = Some(u.id);
        }
        if im.no_milestone {
            is.milestone = MilestoneRef::None;
        } else if im.milestone_id != 0 {
            is.milestone = MilestoneRef::Id(im.milestone_id);
            let e = repo.milestones.entry(im.milestone_id).or_default();
            if !im.milestone_title.is_empty() {
                e.title = im.milestone_title.clone();
            }
            if im.milestone_num != 0 {
                e.number = im.milestone_num;
            }
        }
        if let Some(u) = &im.closed_by {
            is.closed_by = Some(u.id);
        }
        if let Some(c) = &im.closed {
            is.closed = c.val;
        }
        if let Some(l) = &im.locked {
            is.locked = l.val;
        }
        is.pull_request |= im.pull_request;
        for a in &im.assignees {
            is.assignees.insert(a.id);
        }
        for id in &im.deleted_assignees {
            is.assignees.remove(id);
        }
        if let Some(b) = &im.body_change {
            is.body = b.val.clone();
        } else if !im.body.is_empty() {
            is.body = im.body.clone();
        }
        if !im.title.is_empty() {
            is.title = im.title.clone();
        }
        for id in &im.remove_label {
            is.labels.remove(id);
        }
        for l in &im.add_label {
            is.labels.insert(l.id);
            if !l.name.is_empty() {
                repo.labels.insert(l.id, l.name.clone());
            }
        }
        for c in im.comment.iter().filter(|c| c.id != 0) {
            let e = is.comments.entry(c.id).or_default();
            if let Some(t) = secs(&c.updated) {
                e.updated = t;
            }
            if !c.body.is_empty() {
                e.body = c.body.clone();
            }
        }
        if let Some(s) = im
            .comment_status
            .as_ref()
            .and_then(|s| secs(&s.server_date))
        {
            is.comments_synced_as_of = Some(s);
        }
        for e in im.event.iter().filter(|e| e.id != 0) {
            is.event_ids.insert(e.id);
        }
        if let Some(s) = im.event_status.as_ref().and_then(|s| secs(&s.server_date)) {
            is.events_synced_as_of = Some(s);
        }
    }

    fn apply_gerrit(&mut self, gm: &GerritMutation) {
        let p = self.gerrit.entry(gm.project.clone()).or_default();
        for c in &gm.commits {
            p.commits.insert(c.sha1.clone());
            self.git_commits.insert(c.sha1.clone());
        }
        for r in &gm.refs {
            p.refs.insert(r.r#ref.clone(), r.sha1.clone());
        }
        for r in &gm.deleted_refs {
            p.refs.remove(r);
        }
    }
}

impl CorpusView for IngestState {
    fn has_git_commit(&self, sha1: &str) -> bool {
        self.git_commits.contains(sha1)
    }

    fn gerrit_has_commit(&self, project: &str, sha1: &str) -> bool {
        self.gerrit
            .get(project)
            .is_some_and(|p| p.commits.contains(sha1))
    }

    fn gerrit_refs(&self, project: &str) -> HashMap<String, String> {
        self.gerrit
            .get(project)
            .map(|p| p.refs.clone())
            .unwrap_or_default()
    }

    fn github_issue(&self, owner: &str, repo: &str, number: i32) -> Option<&IssueState> {
        self.github.get(&repo_key(owner, repo))?.issues.get(&number)
    }

    fn github_issue_numbers(&self, owner: &str, repo: &str) -> Vec<i32> {
        let mut v: Vec<i32> = self
            .github
            .get(&repo_key(owner, repo))
            .map(|r| r.issues.keys().copied().collect())
            .unwrap_or_default();
        v.sort_unstable();
        v
    }

    fn github_labels(&self, owner: &str, repo: &str) -> HashMap<i64, String> {
        self.github
            .get(&repo_key(owner, repo))
            .map(|r| r.labels.clone())
            .unwrap_or_default()
    }

    fn github_milestones(&self, owner: &str, repo: &str) -> HashMap<i64, MilestoneState> {
        self.github
            .get(&repo_key(owner, repo))
            .map(|r| r.milestones.clone())
            .unwrap_or_default()
    }
}
