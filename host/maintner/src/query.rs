//! Corpus queries for plugins (the host side of the WIT `corpus` import).
//!
//! Filters run here, in the host, over the indexes the corpus maintains (issues by open
//! state, label, milestone, updated time and title; changes by status, branch, owner,
//! hashtag and current vote); the smallest matching index drives the scan and the other
//! filters are checked per item. Results are owned plain structs (serde-serializable),
//! ready to be copied across a Wasm boundary, one page at a time: pass the returned
//! `next_cursor` back to continue; `None` means there is no more.

use std::collections::BTreeSet;
use std::ops::Bound;

use serde::{Deserialize, Serialize};

use crate::gerrit::{GerritCL, GerritProject, ProjectId};
use crate::git::{person_email, CommitId, GitCommit, GitHash};
use crate::github::{GitHubIssue, GitHubRepo, MilestoneRef, UserId};
use crate::notedb::ClStatus;
use crate::time::Time;
use crate::Corpus;

/// Page size when a query says 0.
pub const DEFAULT_LIMIT: u32 = 100;
/// Largest page a query gets.
pub const MAX_LIMIT: u32 = 1000;

fn page_size(limit: u32) -> usize {
    (if limit == 0 {
        DEFAULT_LIMIT
    } else {
        limit.min(MAX_LIMIT)
    }) as usize
}

/// One page of results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass back as `cursor` for the next page; `None` at the end.
    pub next_cursor: Option<String>,
}

/// Why a query could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("unknown GitHub repo {0}")]
    UnknownRepo(String),
    #[error("unknown Gerrit project {0}")]
    UnknownProject(String),
    #[error("unknown {0}")]
    NotFound(String),
    #[error("bad cursor {0:?}")]
    BadCursor(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IssueState {
    Open,
    Closed,
}

/// Issues of one repo. Every filter set must match. Results in issue-number order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IssueQuery {
    pub owner: String,
    pub repo: String,
    pub state: Option<IssueState>,
    /// Label names; an issue must have all of them.
    pub labels: Vec<String>,
    /// Milestone title.
    pub milestone: Option<String>,
    /// Only issues with no milestone.
    pub no_milestone: bool,
    pub title_prefix: Option<String>,
    /// Only issues updated at or after this time.
    pub updated_since: Option<Time>,
    /// `Some(true)`: only pull requests; `Some(false)`: only issues.
    pub pull_request: Option<bool>,
    pub limit: u32,
    pub cursor: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    pub id: i64,
    pub login: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MilestoneRecord {
    pub id: i64,
    pub title: String,
    pub number: i32,
    pub closed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueRecord {
    pub owner: String,
    pub repo: String,
    pub number: i32,
    pub id: i64,
    pub pull_request: bool,
    pub closed: bool,
    pub locked: bool,
    pub title: String,
    pub body: String,
    pub user: Option<UserRecord>,
    pub assignees: Vec<UserRecord>,
    pub labels: Vec<String>,
    pub milestone: Option<MilestoneRecord>,
    /// The issue has no milestone for certain: GitHub said so, or it was removed (Go's
    /// `IsNone`). When false and `milestone` is `None`, its milestone was never seen (Go's
    /// `IsUnknown`), which is not the same: a bot must not act on what it does not know.
    pub no_milestone: bool,
    pub created: Option<Time>,
    pub updated: Option<Time>,
    pub closed_at: Option<Time>,
    pub closed_by: Option<UserRecord>,
    pub comments: u32,
    pub events: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentRecord {
    pub id: i64,
    pub user: Option<UserRecord>,
    pub created: Option<Time>,
    pub updated: Option<Time>,
    pub body: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    pub id: i64,
    pub event_type: String,
    pub actor: Option<UserRecord>,
    pub created: Option<Time>,
    pub label: String,
    pub milestone: String,
    pub assignee: Option<UserRecord>,
    pub assigner: Option<UserRecord>,
    /// `owner/repo@commit` for referenced and closed events.
    pub commit: Option<String>,
    pub rename_from: String,
    pub rename_to: String,
}

/// Changes of one Gerrit project. Every filter set must match. Results in CL-number order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChangeQuery {
    /// `go.googlesource.com/go`, or just `go` when one server is tracked.
    pub project: String,
    pub status: Option<ClStatus>,
    /// Without `refs/heads/`.
    pub branch: Option<String>,
    /// Gerrit account id of the owner.
    pub owner: Option<i64>,
    pub hashtag: Option<String>,
    /// A vote on the current patch set: this label with this value (from anyone).
    pub label_vote: Option<LabelVote>,
    /// Private changes are left out unless asked for.
    pub include_private: bool,
    pub limit: u32,
    pub cursor: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelVote {
    pub label: String,
    pub value: i8,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoteRecord {
    pub label: String,
    pub account: i64,
    pub value: i8,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRecord {
    pub project: String,
    pub number: i32,
    pub status: ClStatus,
    pub branch: String,
    pub topic: String,
    pub change_id: String,
    pub subject: String,
    pub owner: Option<i64>,
    pub created: Option<Time>,
    /// When it was merged or abandoned; `None` while open.
    #[serde(default)]
    pub closed: Option<Time>,
    /// Current patch set.
    pub version: i32,
    pub commit: Option<String>,
    pub private: bool,
    pub wip: bool,
    pub hashtags: Vec<String>,
    pub reviewers: Vec<i64>,
    pub ccs: Vec<i64>,
    /// Votes on the current patch set.
    pub votes: Vec<VoteRecord>,
    pub messages: u32,
    /// `owner/repo#N` mentioned by the current commit message.
    pub issue_refs: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    pub version: i32,
    /// `Name <id@server>`.
    pub author: String,
    pub author_account: Option<i64>,
    pub date: Time,
    pub text: String,
}

/// Commits of a repo: on `branch`, the first-parent history from its head (like
/// `git log --first-parent`); without a branch, every commit, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CommitQuery {
    /// A Gerrit project (`go.googlesource.com/go` or `go`) or a plain git repo name.
    pub repo: String,
    pub branch: Option<String>,
    pub limit: u32,
    pub cursor: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub path: String,
    pub added: u32,
    pub deleted: u32,
    pub binary: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitRecord {
    pub hash: String,
    pub parents: Vec<String>,
    pub author: String,
    pub author_email: String,
    pub author_time: Time,
    pub committer: String,
    pub commit_time: Time,
    pub message: String,
    pub files: Vec<FileRecord>,
}

fn parse_cursor<T: std::str::FromStr>(c: &Option<String>) -> Result<Option<T>, QueryError> {
    c.as_ref()
        .map(|s| s.parse().map_err(|_| QueryError::BadCursor(s.clone())))
        .transpose()
}

/// Takes up to `limit` items in order, and says where to continue.
fn paginate<K: ToString, T>(
    keys: impl Iterator<Item = K>,
    limit: usize,
    mut pick: impl FnMut(&K) -> Option<T>,
) -> Page<T> {
    let mut items = Vec::new();
    let mut last: Option<String> = None;
    for k in keys {
        if let Some(item) = pick(&k) {
            if items.len() == limit {
                return Page {
                    items,
                    next_cursor: last,
                };
            }
            items.push(item);
            last = Some(k.to_string());
        }
    }
    Page {
        items,
        next_cursor: None,
    }
}

/// Offset-based paging over an already ordered list.
fn paginate_slice<T, R>(
    v: &[T],
    limit: u32,
    cursor: &Option<String>,
    f: impl Fn(&T) -> R,
) -> Result<Page<R>, QueryError> {
    let start: usize = parse_cursor(cursor)?.unwrap_or(0);
    let end = (start + page_size(limit)).min(v.len());
    let items = v.get(start..end).unwrap_or(&[]).iter().map(f).collect();
    Ok(Page {
        items,
        next_cursor: (end < v.len()).then(|| end.to_string()),
    })
}

impl Corpus {
    fn user_record(&self, id: Option<UserId>) -> Option<UserRecord> {
        id.map(|id| UserRecord {
            id: id.get(),
            login: self.github.login(&self.strings, id).unwrap_or_default(),
        })
    }

    fn repo_of(&self, owner: &str, repo: &str) -> Result<&GitHubRepo, QueryError> {
        self.github
            .find_repo(&self.strings, owner, repo)
            .map(|id| self.github.repo(id))
            .ok_or_else(|| QueryError::UnknownRepo(format!("{owner}/{repo}")))
    }

    fn issue_record(&self, repo: &GitHubRepo, i: &GitHubIssue) -> IssueRecord {
        let st = &self.strings;
        IssueRecord {
            owner: st.resolve(repo.owner).to_owned(),
            repo: st.resolve(repo.name).to_owned(),
            number: i.number,
            id: i.id,
            pull_request: i.pull_request,
            closed: i.closed,
            locked: i.locked,
            title: i.title.to_string(),
            body: i.body.to_string(),
            user: self.user_record(i.user),
            assignees: i
                .assignees
                .iter()
                .filter_map(|a| self.user_record(Some(*a)))
                .collect(),
            labels: i
                .labels
                .iter()
                .filter_map(|l| repo.labels.get(l))
                .map(|s| st.resolve(*s).to_owned())
                .collect(),
            milestone: match i.milestone {
                MilestoneRef::Id(id) => repo.milestones.get(&id).map(|m| MilestoneRecord {
                    id,
                    title: st.resolve(m.title).to_owned(),
                    number: m.number,
                    closed: m.closed,
                }),
                _ => None,
            },
            no_milestone: i.milestone == MilestoneRef::None,
            created: i.created,
            updated: i.updated,
            closed_at: i.closed_at,
            closed_by: self.user_record(i.closed_by),
            comments: i.comments.len() as u32,
            events: i.events.len() as u32,
        }
    }

    /// One issue.
    pub fn issue(&self, owner: &str, repo: &str, number: i32) -> Result<IssueRecord, QueryError> {
        let r = self.repo_of(owner, repo)?;
        let i = r
            .issues
            .get(&number)
            .filter(|i| !i.not_exist)
            .ok_or_else(|| QueryError::NotFound(format!("issue {owner}/{repo}#{number}")))?;
        Ok(self.issue_record(r, i))
    }

    /// Issues matching `q`, in number order.
    pub fn issues(&self, q: &IssueQuery) -> Result<Page<IssueRecord>, QueryError> {
        let repo = self.repo_of(&q.owner, &q.repo)?;
        let after: Option<i32> = parse_cursor(&q.cursor)?;
        let ix = &repo.index;
        let empty = BTreeSet::new();
        // Number-ordered candidate sets; the smallest drives.
        let mut sets: Vec<BTreeSet<i32>> = Vec::new();
        let mut driver: &BTreeSet<i32> = if q.state == Some(IssueState::Open) {
            &ix.open
        } else {
            &ix.all
        };
        let mut label_ids: Vec<Vec<i64>> = Vec::new();
        for name in &q.labels {
            let ids: Vec<i64> = repo
                .labels
                .iter()
                .filter(|(_, s)| self.strings.resolve(**s) == name)
                .map(|(id, _)| *id)
                .collect();
            let mut union = BTreeSet::new();
            for id in &ids {
                union.extend(ix.by_label.get(id).into_iter().flatten());
            }
            sets.push(union);
            label_ids.push(ids);
        }
        let milestone_ids: Option<Vec<i64>> = if q.no_milestone {
            Some(vec![0])
        } else {
            q.milestone.as_ref().map(|t| {
                repo.milestones
                    .values()
                    .filter(|m| self.strings.resolve(m.title) == t)
                    .map(|m| m.id)
                    .collect()
            })
        };
        if let Some(ids) = &milestone_ids {
            let mut union = BTreeSet::new();
            for id in ids {
                union.extend(ix.by_milestone.get(id).unwrap_or(&empty));
            }
            sets.push(union);
        }
        for s in &sets {
            if s.len() < driver.len() {
                driver = s;
            }
        }
        // Range indexes (updated, title) drive when they are smaller still.
        let mut ranged: Option<BTreeSet<i32>> = None;
        let limit = driver.len();
        if let Some(prefix) = &q.title_prefix {
            let start: std::sync::Arc<str> = prefix.as_str().into();
            let hits: Vec<i32> = ix
                .by_title
                .range((Bound::Included((start, i32::MIN)), Bound::Unbounded))
                .take_while(|(t, _)| t.starts_with(prefix.as_str()))
                .take(limit + 1)
                .map(|(_, n)| *n)
                .collect();
            if hits.len() <= limit {
                ranged = Some(hits.into_iter().collect());
            }
        }
        if let (None, Some(since)) = (&ranged, q.updated_since) {
            let hits: Vec<i32> = ix
                .by_updated
                .range((since, i32::MIN)..)
                .take(limit + 1)
                .map(|(_, n)| *n)
                .collect();
            if hits.len() <= limit {
                ranged = Some(hits.into_iter().collect());
            }
        }
        let driver = ranged.as_ref().unwrap_or(driver);
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        let keys = driver.range((start, Bound::Unbounded)).copied();
        Ok(paginate(keys, page_size(q.limit), |n| {
            let i = repo.issues.get(n)?;
            let ok = !i.not_exist
                && match q.state {
                    Some(IssueState::Open) => !i.closed,
                    Some(IssueState::Closed) => i.closed,
                    None => true,
                }
                && label_ids
                    .iter()
                    .all(|ids| ids.iter().any(|id| i.labels.contains(id)))
                && milestone_ids.as_ref().is_none_or(|ids| match i.milestone {
                    MilestoneRef::Id(id) => ids.contains(&id),
                    _ => ids.contains(&0),
                })
                && q.title_prefix
                    .as_ref()
                    .is_none_or(|p| i.title.starts_with(p.as_str()))
                && q.updated_since
                    .is_none_or(|t| i.updated.unwrap_or_default() >= t)
                && q.pull_request.is_none_or(|pr| i.pull_request == pr);
            ok.then(|| self.issue_record(repo, i))
        }))
    }

    fn issue_of(&self, owner: &str, repo: &str, number: i32) -> Result<&GitHubIssue, QueryError> {
        self.repo_of(owner, repo)?
            .issues
            .get(&number)
            .map(|i| &**i)
            .ok_or_else(|| QueryError::NotFound(format!("issue {owner}/{repo}#{number}")))
    }

    /// An issue's comments, oldest first.
    pub fn issue_comments(
        &self,
        owner: &str,
        repo: &str,
        number: i32,
        limit: u32,
        cursor: &Option<String>,
    ) -> Result<Page<CommentRecord>, QueryError> {
        let i = self.issue_of(owner, repo, number)?;
        paginate_slice(&i.comments_by_time(), limit, cursor, |c| CommentRecord {
            id: c.id,
            user: self.user_record(c.user),
            created: c.created,
            updated: c.updated,
            body: c.body.to_string(),
        })
    }

    /// An issue's events, oldest first.
    pub fn issue_events(
        &self,
        owner: &str,
        repo: &str,
        number: i32,
        limit: u32,
        cursor: &Option<String>,
    ) -> Result<Page<EventRecord>, QueryError> {
        let st = &self.strings;
        let i = self.issue_of(owner, repo, number)?;
        paginate_slice(&i.events_by_time(), limit, cursor, |e| {
            let x = e.extra.as_deref();
            EventRecord {
                id: e.id,
                event_type: st.resolve(e.event_type).to_owned(),
                actor: self.user_record(e.actor),
                created: e.created,
                label: st.resolve(e.label).to_owned(),
                milestone: st.resolve(e.milestone).to_owned(),
                assignee: self.user_record(e.assignee()),
                assigner: self.user_record(e.assigner()),
                commit: x.and_then(|x| x.commit).map(|(o, r, c)| {
                    format!("{}/{}@{}", st.resolve(o), st.resolve(r), st.resolve(c))
                }),
                rename_from: x.map_or(String::new(), |x| x.rename_from.to_string()),
                rename_to: x.map_or(String::new(), |x| x.rename_to.to_string()),
            }
        })
    }

    /// Resolves `go.googlesource.com/go`, or a short name like `go` if exactly one
    /// project has it.
    pub fn find_project(&self, name: &str) -> Result<ProjectId, QueryError> {
        let g = &self.gerrit;
        if let Some(id) = g.find(&self.strings, name) {
            return Ok(id);
        }
        let mut short = g
            .project_ids()
            .filter(|&p| g.project(p).short_name(&self.strings) == name);
        match (short.next(), short.next()) {
            (Some(id), None) => Ok(id),
            _ => Err(QueryError::UnknownProject(name.to_owned())),
        }
    }

    fn change_record(&self, p: &GerritProject, pid: ProjectId, cl: &GerritCL) -> ChangeRecord {
        let st = &self.strings;
        let commit = cl.current_commit(&self.git);
        let gc = commit.and_then(|h| self.git.commit(&h));
        ChangeRecord {
            project: st.resolve(p.name).to_owned(),
            number: cl.number,
            status: cl.status,
            branch: st.resolve(cl.branch).to_owned(),
            topic: st.resolve(cl.topic).to_owned(),
            change_id: st.resolve(cl.change_id).to_owned(),
            subject: gc.map_or_else(
                || st.resolve(cl.subject).to_owned(),
                |c| c.summary().to_owned(),
            ),
            owner: cl.owner,
            created: cl.created,
            closed: cl.closed,
            version: cl.version(),
            commit: commit.map(|h| h.hex()),
            private: cl.private,
            wip: cl.wip,
            hashtags: cl
                .hashtags
                .iter()
                .map(|h| st.resolve(*h).to_owned())
                .collect(),
            reviewers: cl.reviewers.clone(),
            ccs: cl.ccs.clone(),
            votes: self.vote_records(cl.current_votes()),
            messages: cl.messages.len() as u32,
            issue_refs: self
                .cl_issue_refs(pid, cl.number)
                .iter()
                .map(|(rid, n)| {
                    let r = self.github.repo(*rid);
                    format!("{}/{}#{n}", st.resolve(r.owner), st.resolve(r.name))
                })
                .collect(),
        }
    }

    fn vote_records(&self, votes: &[crate::gerrit::Vote]) -> Vec<VoteRecord> {
        votes
            .iter()
            .map(|v| VoteRecord {
                label: self.strings.resolve(v.label).to_owned(),
                account: v.account,
                value: v.value,
            })
            .collect()
    }

    fn cl_of(&self, project: &str, number: i32) -> Result<(ProjectId, &GerritCL), QueryError> {
        let pid = self.find_project(project)?;
        self.gerrit
            .project(pid)
            .cls
            .get(&number)
            .map(|cl| (pid, cl))
            .ok_or_else(|| QueryError::NotFound(format!("change {project}/{number}")))
    }

    /// One change.
    pub fn change(&self, project: &str, number: i32) -> Result<ChangeRecord, QueryError> {
        let (pid, cl) = self.cl_of(project, number)?;
        Ok(self.change_record(self.gerrit.project(pid), pid, cl))
    }

    /// Changes matching `q`, in number order. Only changes with NoteDB state are listed.
    pub fn changes(&self, q: &ChangeQuery) -> Result<Page<ChangeRecord>, QueryError> {
        let pid = self.find_project(&q.project)?;
        let p = self.gerrit.project(pid);
        let st = &self.strings;
        let ix = &p.index;
        let empty = BTreeSet::new();
        let branch = q.branch.as_ref().map(|b| st.get(b));
        let hashtag = q.hashtag.as_ref().map(|h| st.get(h));
        let vote = q
            .label_vote
            .as_ref()
            .map(|v| st.get(&v.label).map(|l| (l, v.value)));
        // Each filter's index set (empty when the value is unknown); the smallest drives.
        let mut sets: Vec<&BTreeSet<i32>> = vec![&ix.all];
        if let Some(s) = q.status {
            sets.push(ix.by_status.get(&s).unwrap_or(&empty));
        }
        if let Some(b) = branch {
            sets.push(b.and_then(|b| ix.by_branch.get(&b)).unwrap_or(&empty));
        }
        if let Some(o) = q.owner {
            sets.push(ix.by_owner.get(&o).unwrap_or(&empty));
        }
        if let Some(h) = hashtag {
            sets.push(h.and_then(|h| ix.by_hashtag.get(&h)).unwrap_or(&empty));
        }
        if let Some(v) = vote {
            sets.push(v.and_then(|v| ix.by_vote.get(&v)).unwrap_or(&empty));
        }
        let driver = sets.into_iter().min_by_key(|s| s.len()).unwrap_or(&empty);
        let after: Option<i32> = parse_cursor(&q.cursor)?;
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        let keys = driver.range((start, Bound::Unbounded)).copied();
        Ok(paginate(keys, page_size(q.limit), |n| {
            let cl = p.cls.get(n)?;
            let ok = cl.complete()
                && (q.include_private || !cl.private)
                && q.status.is_none_or(|s| cl.status == s)
                && branch.is_none_or(|b| b == Some(cl.branch))
                && q.owner.is_none_or(|o| cl.owner == Some(o))
                && hashtag.is_none_or(|h| h.is_some_and(|h| cl.hashtags.contains(&h)))
                && vote.is_none_or(|v| {
                    v.is_some_and(|(l, val)| {
                        cl.current_votes()
                            .iter()
                            .any(|x| x.label == l && x.value == val)
                    })
                });
            ok.then(|| self.change_record(p, pid, cl))
        }))
    }

    /// A change's messages, oldest first.
    pub fn change_messages(
        &self,
        project: &str,
        number: i32,
        limit: u32,
        cursor: &Option<String>,
    ) -> Result<Page<MessageRecord>, QueryError> {
        let (_, cl) = self.cl_of(project, number)?;
        paginate_slice(&cl.messages, limit, cursor, |m| {
            let author = self.strings.resolve(m.author);
            MessageRecord {
                version: m.version,
                author: author.to_owned(),
                author_account: crate::notedb::account_id(author),
                date: m.date,
                text: m.text.to_string(),
            }
        })
    }

    /// Votes on a patch set of a change (the current one when `patch_set` is `None`).
    pub fn change_votes(
        &self,
        project: &str,
        number: i32,
        patch_set: Option<i32>,
    ) -> Result<Vec<VoteRecord>, QueryError> {
        let (_, cl) = self.cl_of(project, number)?;
        let ps = patch_set.unwrap_or_else(|| cl.version());
        Ok(cl
            .patch_set(ps)
            .map_or_else(Vec::new, |p| self.vote_records(&p.votes)))
    }

    fn commit_record(&self, c: &GitCommit) -> CommitRecord {
        let st = &self.strings;
        let author = st.resolve(c.author);
        CommitRecord {
            hash: c.hash.hex(),
            parents: c
                .parents
                .iter()
                .map(|p| self.git.get(*p).hash.hex())
                .collect(),
            author: author.to_owned(),
            author_email: person_email(author).to_owned(),
            author_time: c.author_time,
            committer: st.resolve(c.committer).to_owned(),
            commit_time: c.commit_time,
            message: c.msg.to_string(),
            files: c
                .files
                .iter()
                .map(|f| FileRecord {
                    path: st.resolve(f.path).to_owned(),
                    added: f.added,
                    deleted: f.deleted,
                    binary: f.binary,
                })
                .collect(),
        }
    }

    /// One commit by hex hash.
    pub fn commit(&self, hex40: &str) -> Option<CommitRecord> {
        let h = GitHash::parse(hex40)?;
        self.git.commit(&h).map(|c| self.commit_record(c))
    }

    /// The Gerrit projects tracked, by full name ("go.googlesource.com/go"), sorted.
    pub fn projects(&self) -> Vec<String> {
        let g = &self.gerrit;
        let mut v: Vec<String> = g
            .project_ids()
            .map(|p| self.strings.resolve(g.project(p).name).to_owned())
            .collect();
        v.sort();
        v
    }

    /// The branches of a Gerrit project (`refs/heads/*` without the prefix), sorted.
    pub fn branches(&self, project: &str) -> Result<Vec<String>, QueryError> {
        let p = self.gerrit.project(self.find_project(project)?);
        Ok(p.refs
            .keys()
            .filter_map(|&r| self.strings.resolve(r).strip_prefix("refs/heads/"))
            .map(str::to_owned)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect())
    }

    /// Commits of a repo (see [`CommitQuery`]).
    pub fn commits(&self, q: &CommitQuery) -> Result<Page<CommitRecord>, QueryError> {
        let limit = page_size(q.limit);
        let Some(branch) = &q.branch else {
            return self.commits_by_time(q, limit);
        };
        let pid = self.find_project(&q.repo)?;
        let p = self.gerrit.project(pid);
        let start = match &q.cursor {
            Some(c) => Some(GitHash::parse(c).ok_or_else(|| QueryError::BadCursor(c.clone()))?),
            None => Some(
                p.git_ref(&self.strings, &format!("refs/heads/{branch}"))
                    .ok_or_else(|| {
                        QueryError::NotFound(format!("branch {branch} of {}", q.repo))
                    })?,
            ),
        };
        let mut items = Vec::new();
        let mut cur = start.and_then(|h| self.git.lookup(&h));
        while let Some(id) = cur {
            let c = self.git.get(id);
            if c.placeholder {
                break;
            }
            if items.len() == limit {
                return Ok(Page {
                    items,
                    next_cursor: Some(c.hash.hex()),
                });
            }
            items.push(self.commit_record(c));
            cur = c.parents.first().copied();
        }
        Ok(Page {
            items,
            next_cursor: None,
        })
    }

    fn commits_by_time(
        &self,
        q: &CommitQuery,
        limit: usize,
    ) -> Result<Page<CommitRecord>, QueryError> {
        let name = match self.find_project(&q.repo) {
            Ok(pid) => self.gerrit.project(pid).name,
            Err(_) => self
                .strings
                .get(&q.repo)
                .ok_or_else(|| QueryError::UnknownRepo(q.repo.clone()))?,
        };
        let set = self
            .repo_commits
            .get(&name)
            .ok_or_else(|| QueryError::UnknownRepo(q.repo.clone()))?;
        // Cursor: "<time ns>-<hash>" of the last commit returned.
        let before: Option<(Time, CommitId)> = match &q.cursor {
            Some(c) => {
                let bad = || QueryError::BadCursor(c.clone());
                let (t, h) = c.split_once('-').ok_or_else(bad)?;
                let t = Time::from_nanos(t.parse().map_err(|_| bad())?);
                let id = GitHash::parse(h)
                    .and_then(|h| self.git.lookup(&h))
                    .ok_or_else(bad)?;
                Some((t, id))
            }
            None => None,
        };
        let end = before.map_or(Bound::Unbounded, Bound::Excluded);
        let keys = set
            .range((Bound::Unbounded, end))
            .rev()
            .map(|&(t, id)| CommitKey(t, self.git.get(id).hash));
        Ok(paginate(keys, limit, |k| {
            self.git.commit(&k.1).map(|c| self.commit_record(c))
        }))
    }
}

/// Answer of [`Corpus::has_ancestor`] (Go's `HasAncestorResponse`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AncestorAnswer {
    pub has_ancestor: bool,
    pub unknown_commit: bool,
}

impl Corpus {
    /// Go's `GetRef`: the hex commit a ref of `server/project` points at, `None` for an
    /// unknown ref; an unknown project is an error ("unknown gerrit project").
    pub fn get_ref(
        &self,
        server: &str,
        project: &str,
        name: &str,
    ) -> Result<Option<String>, QueryError> {
        let pid = self
            .gerrit
            .find_project(&self.strings, server, project)
            .ok_or_else(|| QueryError::UnknownProject(format!("{server}/{project}")))?;
        Ok(self
            .gerrit
            .project(pid)
            .git_ref(&self.strings, name)
            .map(|h| h.hex()))
    }

    /// Go's `HasAncestor`: is `ancestor` reachable from `commit` (a commit is not its own
    /// ancestor)? Both must be 40 hex digits. An unknown commit says so; an unknown
    /// ancestor is simply not an ancestor.
    pub fn has_ancestor(&self, commit: &str, ancestor: &str) -> Result<AncestorAnswer, QueryError> {
        let c = GitHash::parse(commit)
            .ok_or_else(|| QueryError::NotFound(format!("invalid Commit {commit:?}")))?;
        let a = GitHash::parse(ancestor)
            .ok_or_else(|| QueryError::NotFound(format!("invalid Ancestor {ancestor:?}")))?;
        let Some(cid) = self
            .git
            .lookup(&c)
            .filter(|&id| !self.git.get(id).placeholder)
        else {
            return Ok(AncestorAnswer {
                has_ancestor: false,
                unknown_commit: true,
            });
        };
        let has_ancestor = self
            .git
            .lookup(&a)
            .is_some_and(|aid| self.git.has_ancestor(cid, aid));
        Ok(AncestorAnswer {
            has_ancestor,
            unknown_commit: false,
        })
    }
}

/// A commit's place in time order, printed as a cursor.
struct CommitKey(Time, GitHash);

impl std::fmt::Display for CommitKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.0.nanos(), self.1)
    }
}
