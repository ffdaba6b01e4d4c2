//! The GitHub part of the corpus (Go's maintner/github.go): repos with their labels and
//! milestones, issues (pull requests included) with comments, events and reviews, and
//! users.
//!
//! Each repo keeps indexes over its issues (open, label, milestone, updated, title) that
//! are maintained as mutations apply, so queries filter without scanning.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::fxhash::FxHashMap;
use crate::intern::{Interner, Sym};
use crate::maintpb::{self, GithubIssueMutation, GithubMutation};
use crate::time::Time;

/// A GitHub user id. Logins live in [`GitHub::login`]. GitHub's ids are never 0 (the
/// log's 0 is "no user"), and a non-zero type makes an `Option<UserId>` 8 bytes instead
/// of 16: a comment, an event and an issue each hold one or two.
pub type UserId = std::num::NonZeroI64;

/// Which milestone an issue has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MilestoneRef {
    /// Never said.
    #[default]
    Unknown,
    /// Explicitly none.
    None,
    Id(i64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Milestone {
    pub id: i64,
    pub title: Sym,
    pub number: i32,
    pub closed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitHubComment {
    pub id: i64,
    pub user: Option<UserId>,
    pub created: Option<Time>,
    pub updated: Option<Time>,
    pub body: Box<str>,
}

/// Rarely set event fields, boxed to keep the common event small.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventExtra {
    pub commit: Option<(Sym, Sym, Sym)>,
    pub rename_from: Box<str>,
    pub rename_to: Box<str>,
    pub other_json: Box<[u8]>,
    pub reviewer: Option<UserId>,
    pub review_requester: Option<UserId>,
    /// For (un)assigned.
    pub assignee: Option<UserId>,
    pub assigner: Option<UserId>,
    pub team: Option<(i64, Sym)>,
    pub dismissed_review: Option<(i64, Box<str>, Sym)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitHubIssueEvent {
    pub id: i64,
    pub event_type: Sym,
    pub actor: Option<UserId>,
    pub created: Option<Time>,
    /// Label name, for (un)labeled.
    pub label: Sym,
    /// Milestone title, for (de)milestoned.
    pub milestone: Sym,
    pub extra: Option<Box<EventExtra>>,
}

impl GitHubIssueEvent {
    /// Who was (un)assigned.
    pub fn assignee(&self) -> Option<UserId> {
        self.extra.as_ref().and_then(|x| x.assignee)
    }

    /// Who (un)assigned them.
    pub fn assigner(&self) -> Option<UserId> {
        self.extra.as_ref().and_then(|x| x.assigner)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitHubReview {
    pub id: i64,
    pub actor: Option<UserId>,
    pub created: Option<Time>,
    pub body: Box<str>,
    pub state: Sym,
    pub commit_id: Sym,
    pub actor_association: Sym,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GitHubIssue {
    pub id: i64,
    pub number: i32,
    pub not_exist: bool,
    pub closed: bool,
    pub locked: bool,
    pub pull_request: bool,
    pub user: Option<UserId>,
    pub assignees: Vec<UserId>,
    pub created: Option<Time>,
    pub updated: Option<Time>,
    pub closed_at: Option<Time>,
    pub closed_by: Option<UserId>,
    pub title: Arc<str>,
    pub body: Box<str>,
    pub milestone: MilestoneRef,
    /// Label ids, in the order they were added.
    pub labels: Vec<i64>,
    /// Sorted by id.
    pub comments: Vec<GitHubComment>,
    /// Sorted by id.
    pub events: Vec<GitHubIssueEvent>,
    /// Sorted by id.
    pub reviews: Vec<GitHubReview>,
    pub comments_synced_as_of: Option<Time>,
    pub events_synced_as_of: Option<Time>,
    pub reviews_synced_as_of: Option<Time>,
    pub event_max_time: Option<Time>,
}

impl GitHubIssue {
    /// Comments sorted by created time, then id (Go's `ForeachComment`).
    pub fn comments_by_time(&self) -> Vec<&GitHubComment> {
        let mut v: Vec<_> = self.comments.iter().collect();
        v.sort_by_key(|c| (c.created, c.id));
        v
    }

    /// Events sorted by created time, then id (Go's `ForeachEvent`).
    pub fn events_by_time(&self) -> Vec<&GitHubIssueEvent> {
        let mut v: Vec<_> = self.events.iter().collect();
        v.sort_by_key(|e| (e.created, e.id));
        v
    }

    /// The latest of updated and the newest event (Go's `LastModified`).
    pub fn last_modified(&self) -> Option<Time> {
        self.updated.max(self.event_max_time)
    }
}

/// The indexed facts of an issue; diffed before/after a mutation to update the indexes.
#[derive(Clone, PartialEq, Eq)]
struct IssueKeys {
    open: bool,
    labels: Vec<i64>,
    milestone: i64,
    updated: Time,
    title: Arc<str>,
}

fn keys(issue: &GitHubIssue) -> Option<IssueKeys> {
    (!issue.not_exist).then(|| IssueKeys {
        open: !issue.closed,
        labels: issue.labels.clone(),
        milestone: match issue.milestone {
            MilestoneRef::Id(id) => id,
            _ => 0,
        },
        updated: issue.updated.unwrap_or_default(),
        title: issue.title.clone(),
    })
}

/// Per-repo issue indexes. Sets hold issue numbers, so they iterate in number order.
#[derive(Default, Debug, PartialEq, Eq)]
pub struct IssueIndex {
    /// Every existing issue.
    pub all: BTreeSet<i32>,
    pub open: BTreeSet<i32>,
    pub by_label: FxHashMap<i64, BTreeSet<i32>>,
    /// Milestone id (0 for none or unknown).
    pub by_milestone: FxHashMap<i64, BTreeSet<i32>>,
    pub by_updated: BTreeSet<(Time, i32)>,
    pub by_title: BTreeSet<(Arc<str>, i32)>,
}

impl IssueIndex {
    /// The indexes of `issues`, built at once: sorted runs make B-trees far faster than
    /// one insert at a time.
    fn build(issues: &BTreeMap<i32, Box<GitHubIssue>>) -> IssueIndex {
        let mut all = Vec::with_capacity(issues.len());
        let mut open = Vec::new();
        let mut by_label: FxHashMap<i64, Vec<i32>> = FxHashMap::default();
        let mut by_milestone: FxHashMap<i64, Vec<i32>> = FxHashMap::default();
        let mut by_updated = Vec::with_capacity(issues.len());
        let mut by_title = Vec::with_capacity(issues.len());
        for (n, k) in issues.iter().filter_map(|(&n, i)| Some((n, keys(i)?))) {
            all.push(n);
            if k.open {
                open.push(n);
            }
            for l in k.labels {
                by_label.entry(l).or_default().push(n);
            }
            by_milestone.entry(k.milestone).or_default().push(n);
            by_updated.push((k.updated, n));
            by_title.push((k.title, n));
        }
        let sets = |m: FxHashMap<i64, Vec<i32>>| {
            m.into_iter()
                .map(|(k, v)| (k, v.into_iter().collect()))
                .collect()
        };
        IssueIndex {
            all: all.into_iter().collect(),
            open: open.into_iter().collect(),
            by_label: sets(by_label),
            by_milestone: sets(by_milestone),
            by_updated: by_updated.into_iter().collect(),
            by_title: by_title.into_iter().collect(),
        }
    }

    fn update(&mut self, n: i32, old: Option<IssueKeys>, new: Option<IssueKeys>) {
        if old == new {
            return;
        }
        if let Some(k) = old {
            self.all.remove(&n);
            self.open.remove(&n);
            for l in &k.labels {
                remove_from(&mut self.by_label, l, n);
            }
            remove_from(&mut self.by_milestone, &k.milestone, n);
            self.by_updated.remove(&(k.updated, n));
            self.by_title.remove(&(k.title, n));
        }
        if let Some(k) = new {
            self.all.insert(n);
            if k.open {
                self.open.insert(n);
            }
            for l in &k.labels {
                self.by_label.entry(*l).or_default().insert(n);
            }
            self.by_milestone.entry(k.milestone).or_default().insert(n);
            self.by_updated.insert((k.updated, n));
            self.by_title.insert((k.title, n));
        }
    }
}

fn remove_from<K: std::hash::Hash + Eq>(m: &mut FxHashMap<K, BTreeSet<i32>>, k: &K, n: i32) {
    if let Some(s) = m.get_mut(k) {
        s.remove(&n);
        if s.is_empty() {
            m.remove(k);
        }
    }
}

pub struct GitHubRepo {
    /// Lowercased.
    pub owner: Sym,
    pub name: Sym,
    /// Boxed: a B-tree node holds 11 values and is often half full, so inline issues
    /// would waste several hundred bytes per slot.
    pub issues: BTreeMap<i32, Box<GitHubIssue>>,
    pub labels: BTreeMap<i64, Sym>,
    pub milestones: BTreeMap<i64, Milestone>,
    pub index: IssueIndex,
    /// A mutation of its own named this repo. A repo only mentioned (`golang/crypto#12`
    /// in a commit message) is kept for its references but is not one of the corpus's
    /// repos, as in Go.
    pub mutated: bool,
}

/// Index of a repo in [`GitHub`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoId(pub(crate) u32);

#[derive(Default)]
pub struct GitHub {
    pub(crate) users: FxHashMap<UserId, Sym>,
    repos: Vec<GitHubRepo>,
    by_name: FxHashMap<(Sym, Sym), RepoId>,
    /// The repo of the previous lookup.
    last: Option<RepoId>,
    /// Issue indexes are left stale until [`GitHub::build_indexes`] (while loading).
    indexes_deferred: bool,
}

impl GitHub {
    /// Stops maintaining the issue indexes until [`GitHub::build_indexes`]: loading a
    /// whole log builds them once at the end instead.
    pub(crate) fn defer_indexes(&mut self) {
        self.indexes_deferred = true;
    }

    /// Builds every repo's issue indexes afresh and maintains them again from here on.
    pub(crate) fn build_indexes(&mut self) {
        if std::mem::take(&mut self.indexes_deferred) {
            for r in &mut self.repos {
                r.index = IssueIndex::build(&r.issues);
            }
        }
    }

    pub fn repo(&self, id: RepoId) -> &GitHubRepo {
        &self.repos[id.0 as usize]
    }

    /// Looks a repo up by owner and name (case-insensitive).
    pub fn find_repo(&self, strings: &Interner, owner: &str, repo: &str) -> Option<RepoId> {
        let owner = strings.get(&owner.to_ascii_lowercase())?;
        let repo = strings.get(&repo.to_ascii_lowercase())?;
        self.by_name.get(&(owner, repo)).copied()
    }

    /// The corpus's repos (those with mutations of their own), sorted by owner/name.
    pub fn repos_sorted(&self, strings: &Interner) -> Vec<RepoId> {
        let mut v: Vec<RepoId> = (0..self.repos.len() as u32)
            .map(RepoId)
            .filter(|&id| self.repo(id).mutated)
            .collect();
        v.sort_by_key(|&id| {
            let r = self.repo(id);
            (
                strings.resolve(r.owner).to_owned(),
                strings.resolve(r.name).to_owned(),
            )
        });
        v
    }

    /// How many repos have mutations of their own.
    pub fn repo_count(&self) -> usize {
        self.repos.iter().filter(|r| r.mutated).count()
    }

    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    pub fn login(&self, strings: &Interner, user: UserId) -> Option<String> {
        self.users
            .get(&user)
            .map(|s| strings.resolve(*s).to_owned())
    }

    /// Gets or creates the repo `owner/repo` (lowercased); `None` if either is empty.
    pub(crate) fn repo_id(
        &mut self,
        strings: &mut Interner,
        owner: &str,
        repo: &str,
    ) -> Option<RepoId> {
        if owner.is_empty() || repo.is_empty() {
            return None;
        }
        // Mutations come in runs for one repo.
        if let Some(last) = self.last {
            let r = &self.repos[last.0 as usize];
            if strings.resolve(r.owner).eq_ignore_ascii_case(owner)
                && strings.resolve(r.name).eq_ignore_ascii_case(repo)
            {
                return Some(last);
            }
        }
        let key = (intern_lower(strings, owner), intern_lower(strings, repo));
        let id = *self.by_name.entry(key).or_insert_with(|| {
            self.repos.push(GitHubRepo {
                owner: key.0,
                name: key.1,
                issues: BTreeMap::new(),
                labels: BTreeMap::new(),
                milestones: BTreeMap::new(),
                index: IssueIndex::default(),
                mutated: false,
            });
            RepoId(self.repos.len() as u32 - 1)
        });
        self.last = Some(id);
        Some(id)
    }

    /// Applies a repo-level mutation: labels and milestones.
    pub(crate) fn apply_repo(&mut self, strings: &mut Interner, m: &GithubMutation) {
        let Some(id) = self.repo_id(strings, &m.owner, &m.repo) else {
            tracing::warn!(owner = %m.owner, repo = %m.repo, "github mutation with an invalid repo");
            return;
        };
        self.repos[id.0 as usize].mutated = true;
        for l in &m.labels {
            apply_label(&mut self.repos[id.0 as usize], strings, l);
        }
        for ms in &m.milestones {
            apply_milestone(&mut self.repos[id.0 as usize], strings, ms);
        }
    }

    /// Applies an issue mutation (as Go's `processGithubIssueMutation`). Returns the
    /// repo and issue number it touched. Bodies are taken out of `m`, not copied.
    pub(crate) fn apply_issue(
        &mut self,
        strings: &mut Interner,
        m: &mut GithubIssueMutation,
    ) -> Option<(RepoId, i32)> {
        let Some(rid) = self.repo_id(strings, &m.owner, &m.repo) else {
            tracing::warn!(owner = %m.owner, repo = %m.repo, "issue mutation with an invalid repo");
            return None;
        };
        self.repos[rid.0 as usize].mutated = true;
        if m.number == 0 {
            return None;
        }
        let GitHub {
            users,
            repos,
            indexes_deferred,
            ..
        } = self;
        let repo = &mut repos[rid.0 as usize];
        let (issue, is_new) = match repo.issues.entry(m.number) {
            Entry::Occupied(e) => (e.into_mut(), false),
            Entry::Vacant(e) => {
                let issue = GitHubIssue {
                    number: m.number,
                    ..Default::default()
                };
                (e.insert(Box::new(issue)), true)
            }
        };
        // Most mutations are pages of comments or events: they leave the indexes alone,
        // unless they revive a hidden issue (any mutation clears `not_exist`).
        let reindex = !*indexes_deferred && (is_new || issue.not_exist || moves_keys(m));
        let old_keys = if is_new || !reindex {
            None
        } else {
            keys(issue)
        };
        if is_new {
            issue.id = m.id;
            if !m.not_exist && m.created.is_none() {
                tracing::warn!(owner = %m.owner, repo = %m.repo, number = m.number,
                    "new issue without a created time");
            }
        }
        issue.not_exist = m.not_exist;
        if !issue.not_exist {
            apply_issue_fields(issue, m, strings, users);
        }
        // Labels and milestones named by the issue also exist at repo level.
        if !issue.not_exist {
            for l in &m.add_label {
                apply_label(repo, strings, l);
            }
            if !m.no_milestone {
                upsert_milestone(
                    repo,
                    strings,
                    m.milestone_id,
                    &m.milestone_title,
                    m.milestone_num,
                );
            }
        }
        if reindex {
            let new_keys = repo.issues.get(&m.number).and_then(|i| keys(i));
            repo.index.update(m.number, old_keys, new_keys);
        }
        Some((rid, m.number))
    }
}

/// Can `m` change what an existing issue is indexed under ([`IssueKeys`])?
fn moves_keys(m: &GithubIssueMutation) -> bool {
    m.not_exist
        || m.closed.is_some()
        || !m.add_label.is_empty()
        || !m.remove_label.is_empty()
        || m.no_milestone
        || m.milestone_id != 0
        || m.updated.is_some()
        || !m.title.is_empty()
}

/// Records `u`'s login; `None` for no user (id 0).
fn user_id(
    users: &mut FxHashMap<UserId, Sym>,
    strings: &mut Interner,
    u: &maintpb::GithubUser,
) -> Option<UserId> {
    let id = UserId::new(u.id)?;
    let login = users.entry(id).or_insert(Sym::EMPTY);
    if !u.login.is_empty() && strings.resolve(*login) != u.login {
        *login = strings.intern(&u.login);
    }
    Some(id)
}

/// Interns `s` lowercased, without allocating when it already is.
fn intern_lower(strings: &mut Interner, s: &str) -> Sym {
    if s.bytes().any(|b| b.is_ascii_uppercase()) {
        strings.intern(&s.to_ascii_lowercase())
    } else {
        strings.intern(s)
    }
}

fn apply_label(repo: &mut GitHubRepo, strings: &mut Interner, l: &maintpb::GithubLabel) {
    if l.id == 0 {
        return;
    }
    let name = repo.labels.entry(l.id).or_insert(Sym::EMPTY);
    if !l.name.is_empty() {
        *name = strings.intern(&l.name);
    }
}

fn apply_milestone(repo: &mut GitHubRepo, strings: &mut Interner, m: &maintpb::GithubMilestone) {
    if let (Some(ms), Some(c)) = (
        upsert_milestone(repo, strings, m.id, &m.title, m.number),
        m.closed,
    ) {
        ms.closed = c.val;
    }
}

/// The repo's milestone `id` (0 means none), created if new; a non-empty title and a
/// non-zero number update it.
fn upsert_milestone<'r>(
    repo: &'r mut GitHubRepo,
    strings: &mut Interner,
    id: i64,
    title: &str,
    number: i64,
) -> Option<&'r mut Milestone> {
    if id == 0 {
        return None;
    }
    let ms = repo.milestones.entry(id).or_insert(Milestone {
        id,
        title: Sym::EMPTY,
        number: 0,
        closed: false,
    });
    if !title.is_empty() {
        ms.title = strings.intern(title);
    }
    if number != 0 {
        ms.number = number as i32;
    }
    Some(ms)
}

fn time(ts: &Option<maintpb::Timestamp>) -> Option<Time> {
    ts.as_ref().map(Time::from_timestamp)
}

fn apply_issue_fields(
    issue: &mut GitHubIssue,
    m: &mut GithubIssueMutation,
    strings: &mut Interner,
    users: &mut FxHashMap<UserId, Sym>,
) {
    let user = m.user.as_ref().and_then(|u| user_id(users, strings, u));
    let closed_by = m
        .closed_by
        .as_ref()
        .and_then(|u| user_id(users, strings, u));
    if let Some(t) = time(&m.created) {
        issue.created = Some(t);
    }
    if let Some(t) = time(&m.updated) {
        issue.updated = Some(t);
    }
    if let Some(t) = time(&m.closed_at) {
        issue.closed_at = Some(t);
    }
    if user.is_some() {
        issue.user = user;
    }
    if m.no_milestone {
        issue.milestone = MilestoneRef::None;
    } else if m.milestone_id != 0 {
        issue.milestone = MilestoneRef::Id(m.milestone_id);
    }
    if closed_by.is_some() {
        issue.closed_by = closed_by;
    }
    if let Some(c) = m.closed {
        issue.closed = c.val;
    }
    if let Some(l) = m.locked {
        issue.locked = l.val;
    }
    if m.pull_request {
        issue.pull_request = true;
    }
    for a in m
        .assignees
        .iter()
        .filter_map(|u| user_id(users, strings, u))
    {
        if !issue.assignees.contains(&a) {
            crate::grow::reserve_one(&mut issue.assignees);
            issue.assignees.push(a);
        }
    }
    issue
        .assignees
        .retain(|a| !m.deleted_assignees.contains(&a.get()));
    if let Some(b) = &m.body_change {
        issue.body = b.val.as_str().into();
    } else if !m.body.is_empty() {
        issue.body = std::mem::take(&mut m.body).into_boxed_str();
    }
    if !m.title.is_empty() {
        issue.title = Arc::from(m.title.as_str());
    }
    issue.labels.retain(|l| !m.remove_label.contains(l));
    for l in &m.add_label {
        if l.id != 0 && !issue.labels.contains(&l.id) {
            crate::grow::reserve_one(&mut issue.labels);
            issue.labels.push(l.id);
        }
    }
    // Pages of comments arrive whole: grow to fit, not to the next power of two.
    issue.comments.reserve_exact(m.comment.len());
    for c in &mut m.comment {
        let u = c.user.as_ref().and_then(|u| user_id(users, strings, u));
        apply_comment(issue, c, u);
    }
    if let Some(s) = &m.comment_status {
        issue.comments_synced_as_of = time(&s.server_date);
    }
    issue.events.reserve_exact(m.event.len());
    for e in &m.event {
        apply_event(issue, e, strings);
    }
    if let Some(s) = &m.event_status {
        issue.events_synced_as_of = time(&s.server_date);
    }
    for r in &m.review {
        apply_review(issue, r, strings);
    }
    if let Some(s) = &m.review_status {
        issue.reviews_synced_as_of = time(&s.server_date);
    }
}

/// Finds the slot for `id` in a vector sorted by id, inserting `make()` if absent.
fn upsert<T>(v: &mut Vec<T>, id: i64, key: impl Fn(&T) -> i64, make: impl FnOnce() -> T) -> &mut T {
    // Ids mostly arrive in increasing order: check the end first.
    let i = match v.last().map(&key) {
        Some(last) if last < id => v.len(),
        _ => match v.binary_search_by_key(&id, &key) {
            Ok(i) => return &mut v[i],
            Err(i) => i,
        },
    };
    v.insert(i, make());
    &mut v[i]
}

/// Inserts `item` into a vector sorted by id, replacing an item with the same id.
fn put<T>(v: &mut Vec<T>, item: T, key: impl Fn(&T) -> i64) {
    let id = key(&item);
    match v.binary_search_by_key(&id, key) {
        Ok(i) => v[i] = item,
        Err(i) => v.insert(i, item),
    }
}

fn apply_comment(
    issue: &mut GitHubIssue,
    c: &mut maintpb::GithubIssueCommentMutation,
    user: Option<UserId>,
) {
    if c.id == 0 {
        return;
    }
    let slot = upsert(
        &mut issue.comments,
        c.id,
        |c| c.id,
        || GitHubComment {
            id: c.id,
            user: None,
            created: None,
            updated: None,
            body: "".into(),
        },
    );
    if user.is_some() {
        slot.user = user;
    }
    if let Some(t) = time(&c.created) {
        slot.created = Some(t);
    }
    if let Some(t) = time(&c.updated) {
        slot.updated = Some(t);
    }
    if !c.body.is_empty() {
        slot.body = std::mem::take(&mut c.body).into_boxed_str();
    }
}

fn apply_event(issue: &mut GitHubIssue, e: &maintpb::GithubIssueEvent, strings: &mut Interner) {
    if e.id == 0 {
        return;
    }
    let created = time(&e.created);
    let extra = EventExtra {
        commit: e.commit.as_ref().map(|c| {
            (
                strings.intern(&c.owner),
                strings.intern(&c.repo),
                strings.intern(&c.commit_id),
            )
        }),
        rename_from: e.rename_from.as_str().into(),
        rename_to: e.rename_to.as_str().into(),
        other_json: e.other_json.as_slice().into(),
        reviewer: UserId::new(e.reviewer_id),
        review_requester: UserId::new(e.review_requester_id),
        assignee: UserId::new(e.assignee_id),
        assigner: UserId::new(e.assigner_id),
        team: e
            .team_reviewer
            .as_ref()
            .map(|t| (t.id, strings.intern(&t.slug))),
        dismissed_review: e.dismissed_review.as_ref().map(|d| {
            (
                d.review_id,
                d.dismissal_message.as_str().into(),
                strings.intern(&d.state),
            )
        }),
    };
    let ev = GitHubIssueEvent {
        id: e.id,
        event_type: strings.intern(&e.event_type),
        actor: UserId::new(e.actor_id),
        created,
        label: e
            .label
            .as_ref()
            .map_or(Sym::EMPTY, |l| strings.intern(&l.name)),
        milestone: e
            .milestone
            .as_ref()
            .map_or(Sym::EMPTY, |m| strings.intern(&m.title)),
        extra: (extra != EventExtra::default()).then(|| Box::new(extra)),
    };
    put(&mut issue.events, ev, |e| e.id);
    if created > issue.event_max_time {
        issue.event_max_time = created;
    }
}

fn apply_review(issue: &mut GitHubIssue, r: &maintpb::GithubReview, strings: &mut Interner) {
    if r.id == 0 {
        return;
    }
    let rev = GitHubReview {
        id: r.id,
        actor: UserId::new(r.actor_id),
        created: time(&r.created),
        body: r.body.as_str().into(),
        state: strings.intern(&r.state),
        commit_id: strings.intern(&r.commit_id),
        actor_association: strings.intern(&r.actor_association),
    };
    put(&mut issue.reviews, rev, |r| r.id);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A corpus holds hundreds of thousands of these: a word more in each is megabytes,
    /// and an issue past 256 bytes falls in the allocator's next size class, 320.
    #[test]
    fn the_most_numerous_records_stay_small() {
        use std::mem::size_of;
        assert_eq!(size_of::<Option<UserId>>(), 8);
        assert!(
            size_of::<GitHubIssue>() <= 256,
            "{}",
            size_of::<GitHubIssue>()
        );
        assert!(
            size_of::<GitHubComment>() <= 48,
            "{}",
            size_of::<GitHubComment>()
        );
        assert!(
            size_of::<GitHubIssueEvent>() <= 48,
            "{}",
            size_of::<GitHubIssueEvent>()
        );
    }
}
