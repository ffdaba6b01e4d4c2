//! What the pollers read from the corpus to compute their diffs.
//!
//! Pollers never edit the model: they compare what a source says with the corpus through
//! [`PollerView`] and log the difference as mutations ([`crate::ingest::Ingest::record`]);
//! the mutations are then applied to the corpus, exactly as a replay of the log would.
//! [`PollerView`] is implemented for [`maintner::Corpus`], so the pollers read the same
//! corpus everything else reads.

use std::collections::{BTreeSet, HashMap, HashSet};

use maintner::gerrit::GerritProject;
use maintner::git::GitHash;
use maintner::github::{GitHubRepo, MilestoneRef};
use maintner::Corpus;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommentSnapshot {
    /// Unix seconds.
    pub updated: i64,
    pub body: String,
}

/// The fields of an issue the GitHub poller diffs against (times in unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IssueSnapshot {
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
    pub comments: HashMap<i64, CommentSnapshot>,
    pub event_ids: HashSet<i64>,
    pub comments_synced_as_of: Option<i64>,
    pub events_synced_as_of: Option<i64>,
}

impl IssueSnapshot {
    /// Go's `commentsSynced`: nothing to fetch if we synced after the last update.
    pub fn comments_synced(&self) -> bool {
        self.not_exist || self.comments_synced_as_of > self.updated
    }

    pub fn events_synced(&self) -> bool {
        self.not_exist || self.events_synced_as_of > self.updated
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MilestoneSnapshot {
    pub title: String,
    pub number: i64,
    pub closed: bool,
}

/// Read access the pollers need.
pub trait PollerView {
    /// The commit is in the corpus (not just a placeholder parent).
    fn has_git_commit(&self, sha1: &str) -> bool;
    /// The commit was logged for this Gerrit project.
    fn gerrit_has_commit(&self, project: &str, sha1: &str) -> bool;
    /// The refs of a Gerrit project the corpus tracks, name → hash: branches, tags, and
    /// `refs/changes/NN/N/V` / `…/meta` of every change.
    fn gerrit_refs(&self, project: &str) -> HashMap<String, String>;
    fn github_issue(&self, owner: &str, repo: &str, number: i32) -> Option<IssueSnapshot>;
    /// Issue numbers of a repo, ascending.
    fn github_issue_numbers(&self, owner: &str, repo: &str) -> Vec<i32>;
    /// Issues whose comments (or, with `events`, events) were not synced since their last
    /// update (Go's `commentsSynced` / `eventsSynced`), ascending. Copies no issue.
    fn github_unsynced(&self, owner: &str, repo: &str, events: bool) -> Vec<i32>;
    fn github_labels(&self, owner: &str, repo: &str) -> HashMap<i64, String>;
    fn github_milestones(&self, owner: &str, repo: &str) -> HashMap<i64, MilestoneSnapshot>;
}

/// Is `name` a ref the corpus tracks for a Gerrit project? Change refs other than patch
/// sets and `meta` (robot comments, drafts, …) and `refs/meta/*` are not.
pub fn is_tracked_gerrit_ref(name: &str) -> bool {
    if name.starts_with("refs/meta/") {
        return false;
    }
    let Some(rest) = name.strip_prefix("refs/changes/") else {
        return true;
    };
    let parts: Vec<&str> = rest.split('/').collect();
    matches!(parts.as_slice(), [shard, n, v]
        if shard.len() == 2
            && n.parse::<i32>().is_ok()
            && (*v == "meta" || v.parse::<i32>().is_ok_and(|v| v > 0)))
}

fn secs(t: Option<maintner::time::Time>) -> Option<i64> {
    t.map(|t| t.unix())
}

fn project<'a>(c: &'a Corpus, name: &str) -> Option<&'a GerritProject> {
    let pid = c.gerrit().find(c.strings(), name)?;
    Some(c.gerrit().project(pid))
}

fn repo<'a>(c: &'a Corpus, owner: &str, name: &str) -> Option<&'a GitHubRepo> {
    let rid = c.github().find_repo(c.strings(), owner, name)?;
    Some(c.github().repo(rid))
}

impl PollerView for Corpus {
    fn has_git_commit(&self, sha1: &str) -> bool {
        GitHash::parse(sha1).is_some_and(|h| self.git().commit(&h).is_some())
    }

    fn gerrit_has_commit(&self, name: &str, sha1: &str) -> bool {
        let (Some(p), Some(h)) = (project(self, name), GitHash::parse(sha1)) else {
            return false;
        };
        self.git()
            .lookup(&h)
            .is_some_and(|id| p.commits.contains(&id))
    }

    fn gerrit_refs(&self, name: &str) -> HashMap<String, String> {
        let Some(p) = project(self, name) else {
            return HashMap::new();
        };
        let (st, git) = (self.strings(), self.git());
        let mut refs: HashMap<String, String> = p
            .refs
            .iter()
            .map(|(n, h)| (st.resolve(*n).to_string(), h.hex()))
            .collect();
        for cl in p.cls.values() {
            let n = cl.number;
            for (v, id) in &cl.ref_versions {
                let r = format!("refs/changes/{:02}/{n}/{v}", n % 100);
                refs.insert(r, git.get(*id).hash.hex());
            }
            if let Some(meta) = cl.meta {
                let r = format!("refs/changes/{:02}/{n}/meta", n % 100);
                refs.insert(r, git.get(meta).hash.hex());
            }
        }
        refs
    }

    fn github_issue(&self, owner: &str, name: &str, number: i32) -> Option<IssueSnapshot> {
        let is = repo(self, owner, name)?.issues.get(&number)?;
        Some(IssueSnapshot {
            id: is.id,
            not_exist: is.not_exist,
            user: is.user.map(|u| u.get()),
            title: is.title.to_string(),
            body: is.body.to_string(),
            closed: is.closed,
            locked: is.locked,
            pull_request: is.pull_request,
            created: secs(is.created),
            updated: secs(is.updated),
            closed_at: secs(is.closed_at),
            closed_by: is.closed_by.map(|u| u.get()),
            labels: is.labels.iter().copied().collect(),
            milestone: is.milestone,
            assignees: is.assignees.iter().map(|u| u.get()).collect(),
            comments: is
                .comments
                .iter()
                .map(|c| {
                    let state = CommentSnapshot {
                        updated: secs(c.updated).unwrap_or(0),
                        body: c.body.to_string(),
                    };
                    (c.id, state)
                })
                .collect(),
            event_ids: is.events.iter().map(|e| e.id).collect(),
            comments_synced_as_of: secs(is.comments_synced_as_of),
            events_synced_as_of: secs(is.events_synced_as_of),
        })
    }

    fn github_issue_numbers(&self, owner: &str, name: &str) -> Vec<i32> {
        repo(self, owner, name)
            .map(|r| r.issues.keys().copied().collect())
            .unwrap_or_default()
    }

    fn github_unsynced(&self, owner: &str, name: &str, events: bool) -> Vec<i32> {
        let Some(r) = repo(self, owner, name) else {
            return Vec::new();
        };
        r.issues
            .values()
            .filter(|is| {
                let synced = if events {
                    is.events_synced_as_of
                } else {
                    is.comments_synced_as_of
                };
                !is.not_exist && secs(synced) <= secs(is.updated)
            })
            .map(|is| is.number)
            .collect()
    }

    fn github_labels(&self, owner: &str, name: &str) -> HashMap<i64, String> {
        let st = self.strings();
        repo(self, owner, name)
            .map(|r| {
                r.labels
                    .iter()
                    .map(|(id, s)| (*id, st.resolve(*s).to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn github_milestones(&self, owner: &str, name: &str) -> HashMap<i64, MilestoneSnapshot> {
        let st = self.strings();
        repo(self, owner, name)
            .map(|r| {
                r.milestones
                    .iter()
                    .map(|(id, m)| {
                        let state = MilestoneSnapshot {
                            title: st.resolve(m.title).to_string(),
                            number: m.number as i64,
                            closed: m.closed,
                        };
                        (*id, state)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::is_tracked_gerrit_ref;

    #[test]
    fn tracked_refs() {
        assert!(is_tracked_gerrit_ref("refs/heads/master"));
        assert!(is_tracked_gerrit_ref("refs/tags/v1"));
        assert!(is_tracked_gerrit_ref("refs/changes/00/14700/1"));
        assert!(is_tracked_gerrit_ref("refs/changes/00/14700/meta"));
        assert!(!is_tracked_gerrit_ref(
            "refs/changes/00/14700/robot-comments"
        ));
        assert!(!is_tracked_gerrit_ref("refs/meta/config"));
    }
}
