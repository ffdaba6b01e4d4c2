//! Pinning a rule's trap on what it was deciding on. A rule tells the host, through the
//! `progress` import, which issue or change it decides on now; when it traps, the pass
//! runs it again over a corpus view whose lists leave that subject out, so one issue
//! the rule cannot handle costs the rule that issue, not the whole pass.

use crate::pass::{change_target, issue_target};
use runtime::bindings::{corpus as c, types};
use runtime::{Answer, CorpusQueries, Subject};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// A rule is run again without the subject it trapped on at most this many times in a
/// pass; past that the rule is reported as faulted.
pub const MAX_SKIPPED: usize = 16;

/// The corpus a rule reads, minus the subjects it trapped on before, remembering what
/// the rule said it was deciding on last.
pub struct Pinned {
    inner: Arc<dyn CorpusQueries>,
    skip: BTreeSet<String>,
    deciding: Mutex<Option<String>>,
}

/// `golang/go#7` or `go.googlesource.com/build/+/791861`, as decisions name them.
pub fn subject_target(s: &Subject) -> String {
    match s {
        Subject::Issue(id) => issue_target(id),
        Subject::Change(id) => change_target(id),
    }
}

impl Pinned {
    pub fn new(inner: Arc<dyn CorpusQueries>, skip: BTreeSet<String>) -> Self {
        Pinned {
            inner,
            skip,
            deciding: Mutex::new(None),
        }
    }

    /// The subject the rule said it was deciding on last, if any.
    pub fn deciding(&self) -> Option<String> {
        self.deciding
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl CorpusQueries for Pinned {
    fn generation(&self) -> u64 {
        self.inner.generation()
    }
    fn issues(&self, q: &c::IssueQuery) -> Answer<c::IssuePage> {
        let mut page = self.inner.issues(q)?;
        if !self.skip.is_empty() {
            page.items
                .retain(|i| !self.skip.contains(&issue_target(&i.id)));
        }
        Ok(page)
    }
    fn issue(&self, id: &types::IssueRef) -> Answer<c::Issue> {
        self.inner.issue(id)
    }
    fn issue_comments(
        &self,
        id: &types::IssueRef,
        limit: u32,
        cursor: Option<String>,
    ) -> Answer<c::CommentPage> {
        self.inner.issue_comments(id, limit, cursor)
    }
    fn issue_events(
        &self,
        id: &types::IssueRef,
        limit: u32,
        cursor: Option<String>,
    ) -> Answer<c::EventPage> {
        self.inner.issue_events(id, limit, cursor)
    }
    fn changes(&self, q: &c::ChangeQuery) -> Answer<c::ChangePage> {
        let mut page = self.inner.changes(q)?;
        if !self.skip.is_empty() {
            page.items
                .retain(|ch| !self.skip.contains(&change_target(&ch.id)));
        }
        Ok(page)
    }
    fn change(&self, id: &types::ChangeRef) -> Answer<c::Change> {
        self.inner.change(id)
    }
    fn change_closed(&self, id: &types::ChangeRef) -> Answer<Option<types::Timestamp>> {
        self.inner.change_closed(id)
    }
    fn change_messages(
        &self,
        id: &types::ChangeRef,
        limit: u32,
        cursor: Option<String>,
    ) -> Answer<c::MessagePage> {
        self.inner.change_messages(id, limit, cursor)
    }
    fn change_votes(&self, id: &types::ChangeRef, patch_set: Option<u32>) -> Answer<Vec<c::Vote>> {
        self.inner.change_votes(id, patch_set)
    }
    fn commits(&self, q: &c::CommitQuery) -> Answer<c::CommitPage> {
        self.inner.commits(q)
    }
    fn commit(&self, hash: &str) -> Answer<c::Commit> {
        self.inner.commit(hash)
    }
    fn projects(&self) -> Vec<String> {
        self.inner.projects()
    }
    fn branches(&self, repo: &str) -> Answer<Vec<String>> {
        self.inner.branches(repo)
    }
    fn deciding(&self, s: Subject) {
        *self.deciding.lock().unwrap_or_else(|e| e.into_inner()) = Some(subject_target(&s));
    }
}
