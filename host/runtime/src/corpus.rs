//! The host side of the WIT `corpus` import over the maintner corpus: each call takes
//! the read lock for one query, runs it over the corpus's indexes, and converts the
//! owned records into WIT records.

use crate::bindings::{corpus as w, types};
use crate::host::{Answer, CorpusQueries};
use maintner::notedb::ClStatus;
use maintner::query as q;
use maintner::time::Time;
use maintner::Corpus;
use std::sync::{Arc, RwLock};

/// The corpus as the host shares it (maintnerd's `SharedCorpus`).
pub struct MaintnerCorpus(pub Arc<RwLock<Corpus>>);

impl MaintnerCorpus {
    fn read<T>(&self, f: impl FnOnce(&Corpus) -> Result<T, q::QueryError>) -> Answer<T> {
        let corpus = self
            .0
            .read()
            .map_err(|_| "corpus lock poisoned".to_string())?;
        f(&corpus).map_err(|e| e.to_string())
    }
}

fn split_repo(repo: &str) -> Answer<(&str, &str)> {
    repo.split_once('/')
        .ok_or_else(|| format!("repo {repo:?} is not \"owner/name\""))
}

fn number(n: u32) -> Answer<i32> {
    i32::try_from(n).map_err(|_| format!("number {n} out of range"))
}

fn unix(t: Option<Time>) -> types::Timestamp {
    t.map(|t| t.unix()).unwrap_or(0)
}

fn login(u: Option<q::UserRecord>) -> String {
    u.map(|u| u.login).unwrap_or_default()
}

fn some(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

fn status_to(s: ClStatus) -> w::ChangeStatus {
    match s {
        ClStatus::New => w::ChangeStatus::New,
        ClStatus::Merged => w::ChangeStatus::Merged,
        ClStatus::Abandoned => w::ChangeStatus::Abandoned,
        ClStatus::Draft => w::ChangeStatus::Draft,
    }
}

fn status_from(s: w::ChangeStatus) -> Option<ClStatus> {
    match s {
        w::ChangeStatus::New => Some(ClStatus::New),
        w::ChangeStatus::Merged => Some(ClStatus::Merged),
        w::ChangeStatus::Abandoned => Some(ClStatus::Abandoned),
        w::ChangeStatus::Draft => Some(ClStatus::Draft),
        w::ChangeStatus::Any => None,
    }
}

fn issue(r: q::IssueRecord) -> w::Issue {
    w::Issue {
        id: types::IssueRef {
            repo: format!("{}/{}", r.owner, r.repo),
            number: r.number as u32,
        },
        title: r.title,
        body: r.body,
        closed: r.closed,
        is_pull_request: r.pull_request,
        locked: r.locked,
        author: login(r.user),
        assignees: r.assignees.into_iter().map(|u| u.login).collect(),
        labels: r.labels,
        milestone: r.milestone.map(|m| m.title),
        created: unix(r.created),
        updated: unix(r.updated),
        closed_at: r.closed_at.map(|t| t.unix()),
        comment_count: r.comments,
    }
}

fn vote(v: q::VoteRecord) -> w::Vote {
    w::Vote {
        label: v.label,
        account: v.account,
        value: v.value,
    }
}

fn change(r: q::ChangeRecord) -> w::Change {
    w::Change {
        id: types::ChangeRef {
            project: r.project,
            number: r.number as u32,
        },
        change_id: r.change_id,
        branch: r.branch,
        topic: r.topic,
        status: status_to(r.status),
        owner: r.owner,
        subject: r.subject,
        current_patch_set: r.version.max(0) as u32,
        current_commit: r.commit,
        hashtags: r.hashtags,
        reviewers: r.reviewers,
        ccs: r.ccs,
        votes: r.votes.into_iter().map(vote).collect(),
        work_in_progress: r.wip,
        private: r.private,
        created: unix(r.created),
        message_count: r.messages,
        issue_refs: r.issue_refs,
    }
}

fn commit(c: q::CommitRecord) -> w::Commit {
    w::Commit {
        hash: c.hash,
        parents: c.parents,
        author: c.author,
        author_email: c.author_email,
        author_time: c.author_time.unix(),
        committer: c.committer,
        commit_time: c.commit_time.unix(),
        message: c.message,
        files: c
            .files
            .into_iter()
            .map(|f| w::FileChange {
                path: f.path,
                added: f.added,
                deleted: f.deleted,
                binary: f.binary,
            })
            .collect(),
    }
}

impl CorpusQueries for MaintnerCorpus {
    fn generation(&self) -> u64 {
        self.0
            .read()
            .map(|c| c.mutation_counts().total)
            .unwrap_or(0)
    }

    fn issues(&self, query: &w::IssueQuery) -> Answer<w::IssuePage> {
        let (owner, repo) = split_repo(&query.repo)?;
        let mq = q::IssueQuery {
            owner: owner.into(),
            repo: repo.into(),
            state: match query.state {
                w::StateFilter::Open => Some(q::IssueState::Open),
                w::StateFilter::Closed => Some(q::IssueState::Closed),
                w::StateFilter::Any => None,
            },
            labels: query.labels.clone(),
            milestone: query.milestone.clone(),
            no_milestone: query.no_milestone,
            title_prefix: query.title_prefix.clone(),
            updated_since: query.updated_since.map(Time::from_unix),
            pull_request: query.pull_requests,
            limit: query.limit,
            cursor: query.cursor.clone(),
        };
        let page = self.read(|c| c.issues(&mq))?;
        Ok(w::IssuePage {
            items: page.items.into_iter().map(issue).collect(),
            next_cursor: page.next_cursor,
        })
    }

    fn issue(&self, id: &types::IssueRef) -> Answer<w::Issue> {
        let (owner, repo) = split_repo(&id.repo)?;
        let n = number(id.number)?;
        self.read(|c| c.issue(owner, repo, n)).map(issue)
    }

    fn issue_comments(
        &self,
        id: &types::IssueRef,
        limit: u32,
        cursor: Option<String>,
    ) -> Answer<w::CommentPage> {
        let (owner, repo) = split_repo(&id.repo)?;
        let n = number(id.number)?;
        let page = self.read(|c| c.issue_comments(owner, repo, n, limit, &cursor))?;
        Ok(w::CommentPage {
            items: page
                .items
                .into_iter()
                .map(|c| w::IssueComment {
                    id: c.id,
                    author: login(c.user),
                    body: c.body,
                    created: unix(c.created),
                    updated: unix(c.updated),
                })
                .collect(),
            next_cursor: page.next_cursor,
        })
    }

    fn issue_events(
        &self,
        id: &types::IssueRef,
        limit: u32,
        cursor: Option<String>,
    ) -> Answer<w::EventPage> {
        let (owner, repo) = split_repo(&id.repo)?;
        let n = number(id.number)?;
        let page = self.read(|c| c.issue_events(owner, repo, n, limit, &cursor))?;
        Ok(w::EventPage {
            items: page
                .items
                .into_iter()
                .map(|e| w::IssueEvent {
                    id: e.id,
                    kind: e.event_type,
                    actor: login(e.actor),
                    created: unix(e.created),
                    label: some(e.label),
                    milestone: some(e.milestone),
                })
                .collect(),
            next_cursor: page.next_cursor,
        })
    }

    fn changes(&self, query: &w::ChangeQuery) -> Answer<w::ChangePage> {
        let mq = q::ChangeQuery {
            project: query.project.clone(),
            status: status_from(query.status),
            branch: query.branch.clone(),
            owner: query.owner,
            hashtag: query.hashtag.clone(),
            label_vote: query.vote.as_ref().map(|v| q::LabelVote {
                label: v.label.clone(),
                value: v.value,
            }),
            include_private: query.include_private,
            limit: query.limit,
            cursor: query.cursor.clone(),
        };
        let page = self.read(|c| c.changes(&mq))?;
        Ok(w::ChangePage {
            items: page.items.into_iter().map(change).collect(),
            next_cursor: page.next_cursor,
        })
    }

    fn change(&self, id: &types::ChangeRef) -> Answer<w::Change> {
        let n = number(id.number)?;
        self.read(|c| c.change(&id.project, n)).map(change)
    }

    fn change_closed(&self, id: &types::ChangeRef) -> Answer<Option<types::Timestamp>> {
        let n = number(id.number)?;
        self.read(|c| c.change(&id.project, n))
            .map(|r| r.closed.map(|t| t.unix()))
    }

    fn change_messages(
        &self,
        id: &types::ChangeRef,
        limit: u32,
        cursor: Option<String>,
    ) -> Answer<w::MessagePage> {
        let n = number(id.number)?;
        let page = self.read(|c| c.change_messages(&id.project, n, limit, &cursor))?;
        Ok(w::MessagePage {
            items: page
                .items
                .into_iter()
                .map(|m| w::ChangeMessage {
                    patch_set: m.version.max(0) as u32,
                    author: m.author,
                    author_account: m.author_account,
                    body: m.text,
                    created: m.date.unix(),
                })
                .collect(),
            next_cursor: page.next_cursor,
        })
    }

    fn change_votes(&self, id: &types::ChangeRef, patch_set: Option<u32>) -> Answer<Vec<w::Vote>> {
        let n = number(id.number)?;
        let ps = patch_set.map(number).transpose()?;
        Ok(self
            .read(|c| c.change_votes(&id.project, n, ps))?
            .into_iter()
            .map(vote)
            .collect())
    }

    fn commits(&self, query: &w::CommitQuery) -> Answer<w::CommitPage> {
        let mq = q::CommitQuery {
            repo: query.repo.clone(),
            branch: query.branch.clone(),
            limit: query.limit,
            cursor: query.cursor.clone(),
        };
        let page = self.read(|c| c.commits(&mq))?;
        Ok(w::CommitPage {
            items: page.items.into_iter().map(commit).collect(),
            next_cursor: page.next_cursor,
        })
    }

    fn commit(&self, hash: &str) -> Answer<w::Commit> {
        let found = self.read(|c| Ok(c.commit(hash)))?;
        found
            .map(commit)
            .ok_or_else(|| format!("no commit {hash:?} in the corpus"))
    }

    fn projects(&self) -> Vec<String> {
        self.0.read().map(|c| c.projects()).unwrap_or_default()
    }

    fn branches(&self, repo: &str) -> Answer<Vec<String>> {
        self.read(|c| c.branches(repo))
    }
}
