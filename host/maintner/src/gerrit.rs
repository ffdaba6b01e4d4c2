//! The Gerrit part of the corpus (Go's maintner/gerrit.go): projects, their refs, and
//! changes (CLs) built from `refs/changes/*` refs and the NoteDB meta history.
//!
//! A CL's meta branch is applied incrementally: when its `meta` ref moves, only the meta
//! commits between the last applied one and the new head are parsed, oldest first. If
//! the new head does not descend from what was applied (a rewritten or rewound meta ref),
//! the CL's NoteDB state is rebuilt from the root. A meta ref logged before its commits
//! (older logs did this; Go's maintner/gerrit.go defers such CLs to
//! `finishProcessing`) waits for them instead of losing messages and status.

use std::collections::{BTreeMap, BTreeSet};

use crate::fxhash::{FxHashMap, FxHashSet};
use crate::git::{
    CommitError, CommitId, FileChange, Git, GitCommit, GitHash, MessageFacts, ParsedCommit,
};
use crate::intern::{Interner, Sym};
use crate::maintpb::GerritMutation;
use crate::notedb::{self, account_id, ClStatus, Footer, MetaMessage, ParsedMeta};
use crate::time::Time;
use crate::votes::VoteConfig;

/// A Gerrit account id (the number before `@` in NoteDB identities).
pub type AccountId = i64;

/// One vote on one patch set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Vote {
    pub label: Sym,
    pub account: AccountId,
    pub value: i8,
}

/// A patch set as NoteDB describes it, with its current votes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatchSet {
    pub number: i32,
    /// From the `Commit:` footer of the meta commit that created it.
    pub commit: Option<GitHash>,
    pub uploader: Option<AccountId>,
    pub created: Time,
    /// Sorted by (label, account).
    pub votes: Vec<Vote>,
}

/// A change message (Go's `getGerritMessage` in maintner/gerrit.go).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GerritMessage {
    pub version: i32,
    /// `Name <id@server>` of the meta commit's author, interned.
    pub author: Sym,
    pub date: Time,
    pub text: Box<str>,
}

/// A Gerrit change.
#[derive(Clone, Debug, Default)]
pub struct GerritCL {
    pub number: i32,
    pub status: ClStatus,
    /// Without `refs/heads/`.
    pub branch: Sym,
    pub topic: Sym,
    pub change_id: Sym,
    /// The latest `Subject:` footer (the commit's first line when it was uploaded).
    pub subject: Sym,
    pub private: bool,
    pub wip: bool,
    pub hashtags: Vec<Sym>,
    pub reviewers: Vec<AccountId>,
    pub ccs: Vec<AccountId>,
    /// Author of the root meta commit (Go's `OwnerID`).
    pub owner: Option<AccountId>,
    /// As Go's maintner loads it: the earliest commit time among the meta heads seen.
    pub created: Option<Time>,
    /// Head of the NoteDB meta branch.
    pub meta: Option<CommitId>,
    /// The last meta commit applied to this state.
    applied: Option<CommitId>,
    /// Meta commits applied.
    pub meta_count: u32,
    /// `refs/changes/NN/N/V` refs: (version, commit), sorted by version.
    pub ref_versions: Vec<(i32, CommitId)>,
    /// Patch sets from NoteDB, sorted by number.
    pub patch_sets: Vec<PatchSet>,
    pub messages: Vec<GerritMessage>,
    /// Footers the parser did not know: (key, value). Kept, not fatal.
    pub unknown_footers: Vec<(Sym, Sym)>,
}

impl GerritCL {
    /// The latest patch set number, from refs or NoteDB (0 if none).
    pub fn version(&self) -> i32 {
        let r = self.ref_versions.last().map_or(0, |v| v.0);
        let m = self.patch_sets.last().map_or(0, |p| p.number);
        r.max(m)
    }

    /// The commit of the latest patch set: its ref if known, else NoteDB's `Commit:`.
    pub fn current_commit(&self, git: &Git) -> Option<GitHash> {
        let v = self.version();
        if let Some((_, id)) = self.ref_versions.iter().find(|(n, _)| *n == v) {
            return Some(git.get(*id).hash);
        }
        self.patch_set(v).and_then(|p| p.commit)
    }

    pub fn patch_set(&self, n: i32) -> Option<&PatchSet> {
        self.patch_sets
            .binary_search_by_key(&n, |p| p.number)
            .ok()
            .map(|i| &self.patch_sets[i])
    }

    /// Votes on the latest patch set (empty if NoteDB has not described it yet).
    pub fn current_votes(&self) -> &[Vote] {
        self.patch_set(self.version())
            .map_or(&[], |p| p.votes.as_slice())
    }

    /// Has NoteDB state and a patch set commit (Go HEAD's `complete()`).
    pub fn complete(&self) -> bool {
        self.meta_count > 0 && self.version() > 0
    }

    fn reset_notedb(&mut self) {
        *self = GerritCL {
            number: self.number,
            created: self.created,
            meta: self.meta,
            ref_versions: std::mem::take(&mut self.ref_versions),
            ..Default::default()
        };
    }
}

/// What a CL is indexed under; stored to diff on the next change.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ClKeys {
    status: ClStatus,
    branch: Sym,
    owner: Option<AccountId>,
    hashtags: Vec<Sym>,
    votes: Vec<(Sym, i8)>,
}

/// Per-project CL indexes; sets hold CL numbers.
#[derive(Default, Debug, PartialEq, Eq)]
pub struct ClIndex {
    pub all: BTreeSet<i32>,
    pub by_status: FxHashMap<ClStatus, BTreeSet<i32>>,
    pub by_branch: FxHashMap<Sym, BTreeSet<i32>>,
    pub by_owner: FxHashMap<AccountId, BTreeSet<i32>>,
    pub by_hashtag: FxHashMap<Sym, BTreeSet<i32>>,
    /// (label, value) of a vote on the current patch set.
    pub by_vote: FxHashMap<(Sym, i8), BTreeSet<i32>>,
    keys: FxHashMap<i32, ClKeys>,
}

fn take<K: std::hash::Hash + Eq>(m: &mut FxHashMap<K, BTreeSet<i32>>, k: &K, n: i32) {
    if let Some(s) = m.get_mut(k) {
        s.remove(&n);
        if s.is_empty() {
            m.remove(k);
        }
    }
}

impl ClIndex {
    /// The indexes of `cls`, built at once: in number order, every insert is an append.
    fn build(cls: &BTreeMap<i32, GerritCL>) -> ClIndex {
        let mut ix = ClIndex::default();
        for cl in cls.values() {
            ix.update(cl);
        }
        ix
    }

    fn update(&mut self, cl: &GerritCL) {
        let n = cl.number;
        let new = cl.complete().then(|| {
            let mut votes: Vec<_> = cl
                .current_votes()
                .iter()
                .map(|v| (v.label, v.value))
                .collect();
            votes.dedup();
            ClKeys {
                status: cl.status,
                branch: cl.branch,
                owner: cl.owner,
                hashtags: cl.hashtags.clone(),
                votes,
            }
        });
        if self.keys.get(&n) == new.as_ref() {
            return;
        }
        if let Some(k) = self.keys.remove(&n) {
            self.all.remove(&n);
            take(&mut self.by_status, &k.status, n);
            take(&mut self.by_branch, &k.branch, n);
            if let Some(o) = k.owner {
                take(&mut self.by_owner, &o, n);
            }
            for h in &k.hashtags {
                take(&mut self.by_hashtag, h, n);
            }
            for v in &k.votes {
                take(&mut self.by_vote, v, n);
            }
        }
        if let Some(k) = new {
            self.all.insert(n);
            self.by_status.entry(k.status).or_default().insert(n);
            self.by_branch.entry(k.branch).or_default().insert(n);
            if let Some(o) = k.owner {
                self.by_owner.entry(o).or_default().insert(n);
            }
            for h in &k.hashtags {
                self.by_hashtag.entry(*h).or_default().insert(n);
            }
            for v in &k.votes {
                self.by_vote.entry(*v).or_default().insert(n);
            }
            self.keys.insert(n, k);
        }
    }
}

/// Index of a project in [`Gerrit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProjectId(pub(crate) u32);

pub struct GerritProject {
    /// `go.googlesource.com/go`.
    pub name: Sym,
    pub cls: BTreeMap<i32, GerritCL>,
    /// Non-change refs (`HEAD`, `refs/heads/*`, `refs/tags/*`, …).
    pub refs: BTreeMap<Sym, GitHash>,
    /// Commits logged for this project.
    pub commits: FxHashSet<CommitId>,
    /// Meta commits carrying a `Label:` line (a cheap "votes changed" counter).
    pub num_label_changes: u64,
    pub index: ClIndex,
    /// Refs that named a commit not yet in the corpus, by that commit.
    pending_refs: FxHashMap<GitHash, Vec<String>>,
}

impl GerritProject {
    /// `go.googlesource.com` of `go.googlesource.com/go`.
    pub fn server<'a>(&self, strings: &'a Interner) -> &'a str {
        let name = strings.resolve(self.name);
        name.split_once('/').map_or(name, |(s, _)| s)
    }

    /// `go` of `go.googlesource.com/go`.
    pub fn short_name<'a>(&self, strings: &'a Interner) -> &'a str {
        let name = strings.resolve(self.name);
        name.split_once('/').map_or(name, |(_, p)| p)
    }

    pub fn git_ref(&self, strings: &Interner, name: &str) -> Option<GitHash> {
        strings.get(name).and_then(|s| self.refs.get(&s)).copied()
    }
}

/// Everything applying one Gerrit mutation changed, for the corpus's derived state.
#[derive(Default, Debug)]
pub(crate) struct GerritChanges {
    /// The commits added, with their message's facts when the mutation carried them.
    pub commits: Vec<(CommitId, Option<MessageFacts>)>,
    pub cls: Vec<i32>,
    pub refs_changed: bool,
    /// Commits that could not be indexed (bad sha1, …).
    pub rejected: u64,
}

#[derive(Default)]
pub struct Gerrit {
    projects: Vec<GerritProject>,
    by_name: FxHashMap<Sym, ProjectId>,
    /// CLs whose meta walk stopped at a commit not yet in the corpus.
    waiting: FxHashMap<GitHash, Vec<(ProjectId, i32)>>,
    /// The project of the previous mutation.
    last: Option<ProjectId>,
    /// NoteDB messages of meta commits parsed while loading, until their CL applies them.
    parsed_meta: FxHashMap<CommitId, ParsedMeta>,
    /// CL indexes are left stale until [`Gerrit::build_indexes`] (while loading).
    indexes_deferred: bool,
}

/// A `refs/changes/NN/N/V` ref: CL number and version (0 for `meta`).
fn parse_change_ref(r: &str) -> Option<(i32, i32)> {
    let rest = r.strip_prefix("refs/changes/")?;
    let mut parts = rest.split('/');
    let shard = parts.next()?;
    if shard.len() != 2 || !shard.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let cl: i32 = parts.next()?.parse().ok()?;
    let ver = match parts.next()? {
        "meta" => 0,
        v => v.parse().ok()?,
    };
    parts.next().is_none().then_some((cl, ver))
}

/// The `Change-Id:` of a commit message (Go's `ChangeID`): only an `I` followed by 40 hex
/// digits counts.
pub fn change_id_from_msg(msg: &str) -> Option<&str> {
    msg.lines().rev().find_map(|l| {
        let id = l.strip_prefix("Change-Id: ")?.trim();
        (id.len() == 41 && id.starts_with('I')).then_some(id)
    })
}

/// Go's `Gerrit.Project` normalisation: drop a scheme, `X-review.googlesource.com` →
/// `X.googlesource.com`.
pub fn normalize_server(server: &str) -> String {
    let host = server
        .split_once("://")
        .map_or(server, |(_, rest)| rest.split('/').next().unwrap_or(rest));
    match host.strip_suffix("-review.googlesource.com") {
        Some(x) => format!("{x}.googlesource.com"),
        None => host.to_owned(),
    }
}

impl Gerrit {
    /// Stops maintaining the CL indexes until [`Gerrit::build_indexes`]: loading a whole
    /// log builds them once at the end instead of once per change to a CL.
    pub(crate) fn defer_indexes(&mut self) {
        self.indexes_deferred = true;
    }

    /// Builds every project's CL indexes afresh and maintains them again from here on.
    pub(crate) fn build_indexes(&mut self) {
        if std::mem::take(&mut self.indexes_deferred) {
            for p in &mut self.projects {
                p.index = ClIndex::build(&p.cls);
            }
        }
    }

    pub fn project(&self, id: ProjectId) -> &GerritProject {
        &self.projects[id.0 as usize]
    }

    pub fn project_count(&self) -> usize {
        self.projects.len()
    }

    pub fn project_ids(&self) -> impl Iterator<Item = ProjectId> {
        (0..self.projects.len() as u32).map(ProjectId)
    }

    /// Finds `server/project` (e.g. `go-review.googlesource.com`, `build`).
    pub fn find_project(
        &self,
        strings: &Interner,
        server: &str,
        project: &str,
    ) -> Option<ProjectId> {
        self.find(strings, &format!("{}/{project}", normalize_server(server)))
    }

    /// Finds a project by its full name `go.googlesource.com/build`.
    pub fn find(&self, strings: &Interner, name: &str) -> Option<ProjectId> {
        strings
            .get(name)
            .and_then(|s| self.by_name.get(&s))
            .copied()
    }

    fn project_id(&mut self, strings: &mut Interner, name: &str) -> ProjectId {
        // Mutations come in runs for one project.
        if let Some(last) = self.last {
            if strings.resolve(self.projects[last.0 as usize].name) == name {
                return last;
            }
        }
        let id = self.intern_project(strings, name);
        self.last = Some(id);
        id
    }

    fn intern_project(&mut self, strings: &mut Interner, name: &str) -> ProjectId {
        let sym = strings.intern(name);
        *self.by_name.entry(sym).or_insert_with(|| {
            self.projects.push(GerritProject {
                name: sym,
                cls: BTreeMap::new(),
                refs: BTreeMap::new(),
                commits: FxHashSet::default(),
                num_label_changes: 0,
                index: ClIndex::default(),
                pending_refs: FxHashMap::default(),
            });
            ProjectId(self.projects.len() as u32 - 1)
        })
    }

    /// Applies a Gerrit mutation: its commits, then its refs, then the NoteDB history of
    /// every CL whose refs moved (so commits logged with their refs are found).
    /// `commits` are `m.commits` parsed, in order.
    pub(crate) fn apply(
        &mut self,
        m: &GerritMutation,
        commits: &mut [Result<ParsedCommit, CommitError>],
        git: &mut Git,
        strings: &mut Interner,
        votes: &VoteConfig,
    ) -> (ProjectId, GerritChanges) {
        let pid = self.project_id(strings, &m.project);
        let mut ch = GerritChanges::default();
        let mut dirty: BTreeSet<i32> = BTreeSet::new();
        for (c, parsed) in m.commits.iter().zip(commits) {
            match parsed {
                Ok(parsed) => {
                    let mut facts = parsed.take_facts();
                    let id = git.add_parsed(c, parsed, strings);
                    if let Some(meta) = facts.as_mut().and_then(|f| f.notedb.take()) {
                        self.parsed_meta.insert(id, meta);
                    }
                    self.projects[pid.0 as usize].commits.insert(id);
                    ch.commits.push((id, facts));
                    let hash = git.get(id).hash;
                    // Refs and CLs that were waiting for this commit.
                    if let Some(refs) = self.projects[pid.0 as usize].pending_refs.remove(&hash) {
                        for r in refs {
                            self.apply_ref(pid, &r, hash, git, strings, &mut dirty, &mut ch);
                        }
                    }
                    if let Some(cls) = self.waiting.remove(&hash) {
                        for (p, n) in cls {
                            if p == pid {
                                dirty.insert(n);
                            } else {
                                self.waiting.entry(hash).or_default().push((p, n));
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(project = %m.project, error = %e, "skipping commit");
                    ch.rejected += 1;
                }
            }
        }
        for r in &m.refs {
            match GitHash::parse(&r.sha1) {
                Some(h) => self.apply_ref(pid, &r.r#ref, h, git, strings, &mut dirty, &mut ch),
                None => {
                    tracing::warn!(project = %m.project, r#ref = %r.r#ref, sha1 = %r.sha1, "bad ref hash")
                }
            }
        }
        for r in &m.deleted_refs {
            self.delete_ref(pid, r, strings, &mut dirty, &mut ch);
        }
        for n in dirty {
            self.sync_cl(pid, n, git, strings, votes);
            ch.cls.push(n);
        }
        (pid, ch)
    }

    /// A commit arrived through a git mutation: applies refs that named it and re-walks
    /// CLs whose meta history waited for it. Returns the CLs touched.
    pub(crate) fn commit_arrived(
        &mut self,
        hash: GitHash,
        git: &Git,
        strings: &mut Interner,
        votes: &VoteConfig,
    ) -> Vec<(ProjectId, i32)> {
        let nothing_waits =
            self.waiting.is_empty() && self.projects.iter().all(|p| p.pending_refs.is_empty());
        if nothing_waits {
            return Vec::new();
        }
        let mut touched = Vec::new();
        for pid in self.project_ids().collect::<Vec<_>>() {
            let mut dirty = BTreeSet::new();
            let mut ch = GerritChanges::default();
            if let Some(refs) = self.projects[pid.0 as usize].pending_refs.remove(&hash) {
                for r in refs {
                    self.apply_ref(pid, &r, hash, git, strings, &mut dirty, &mut ch);
                }
            }
            touched.extend(dirty.into_iter().map(|n| (pid, n)));
        }
        touched.extend(self.waiting.remove(&hash).unwrap_or_default());
        touched.sort();
        touched.dedup();
        for &(p, n) in &touched {
            self.sync_cl(p, n, git, strings, votes);
        }
        touched
    }

    #[allow(clippy::too_many_arguments)]
    fn apply_ref(
        &mut self,
        pid: ProjectId,
        name: &str,
        hash: GitHash,
        git: &Git,
        strings: &mut Interner,
        dirty: &mut BTreeSet<i32>,
        ch: &mut GerritChanges,
    ) {
        let proj = &mut self.projects[pid.0 as usize];
        let Some(id) = git.lookup(&hash).filter(|&id| !git.get(id).placeholder) else {
            tracing::debug!(r#ref = name, %hash, "ref names a commit not yet in the corpus; waiting");
            proj.pending_refs
                .entry(hash)
                .or_default()
                .push(name.to_owned());
            return;
        };
        if let Some((n, ver)) = parse_change_ref(name) {
            let cl = proj.cls.entry(n).or_insert_with(|| GerritCL {
                number: n,
                ..Default::default()
            });
            if ver == 0 {
                cl.meta = Some(id);
                let t = git.get(id).commit_time;
                cl.created = Some(cl.created.map_or(t, |c| c.min(t)));
            } else {
                match cl.ref_versions.binary_search_by_key(&ver, |v| v.0) {
                    Ok(i) => cl.ref_versions[i].1 = id,
                    Err(i) => {
                        crate::grow::reserve_one(&mut cl.ref_versions);
                        cl.ref_versions.insert(i, (ver, id))
                    }
                }
            }
            dirty.insert(n);
        } else if name.starts_with("refs/changes/") || name.starts_with("refs/meta/") {
            // Other per-change refs (robot-comments, …) and refs/meta/* are not tracked.
        } else {
            proj.refs.insert(strings.intern(name), hash);
            ch.refs_changed = true;
        }
    }

    fn delete_ref(
        &mut self,
        pid: ProjectId,
        name: &str,
        strings: &Interner,
        dirty: &mut BTreeSet<i32>,
        ch: &mut GerritChanges,
    ) {
        let proj = &mut self.projects[pid.0 as usize];
        match parse_change_ref(name) {
            Some((n, ver)) if ver > 0 => {
                if let Some(cl) = proj.cls.get_mut(&n) {
                    cl.ref_versions.retain(|v| v.0 != ver);
                    dirty.insert(n);
                }
            }
            Some(_) => {} // A deleted meta ref: the change's history stays as it was.
            None => {
                if let Some(s) = strings.get(name) {
                    if proj.refs.remove(&s).is_some() {
                        ch.refs_changed = true;
                    }
                }
            }
        }
    }

    /// Brings a CL's NoteDB state up to its meta head, and re-indexes it.
    fn sync_cl(
        &mut self,
        pid: ProjectId,
        n: i32,
        git: &Git,
        strings: &mut Interner,
        votes: &VoteConfig,
    ) {
        let proj = &mut self.projects[pid.0 as usize];
        let Some(cl) = proj.cls.get_mut(&n) else {
            return;
        };
        if let Some(head) = cl.meta {
            match new_metas(cl, head, git) {
                Ok((chain, rewound)) => {
                    if rewound {
                        tracing::info!(
                            cl = n,
                            "meta history does not extend what was applied; rebuilding"
                        );
                        cl.reset_notedb();
                    }
                    for id in chain.into_iter().rev() {
                        let c = git.get(id);
                        let (meta, has_label) = match self.parsed_meta.remove(&id) {
                            Some(p) => (p.spans.in_text(&c.msg), p.has_label),
                            None => (notedb::parse_meta(&c.msg), notedb::has_label_line(&c.msg)),
                        };
                        if has_label {
                            proj.num_label_changes += 1;
                        }
                        apply_meta(cl, c, meta, git, strings, votes);
                    }
                    cl.applied = Some(head);
                }
                Err(missing) => {
                    tracing::debug!(cl = n, %missing, "meta history reaches a commit not yet in the corpus");
                    self.waiting.entry(missing).or_default().push((pid, n));
                }
            }
        }
        if !self.indexes_deferred {
            proj.index.update(&proj.cls[&n]);
        }
    }

    /// Drops the NoteDB messages parsed ahead that no CL has applied (their meta commits
    /// are kept; a CL reaching one later parses it then).
    pub(crate) fn forget_parsed_meta(&mut self) {
        self.parsed_meta = FxHashMap::default();
    }

    /// Checks the invariants Go's `GerritProject.check` checks (nothing still needed, no
    /// placeholders, keys equal hashes, every parent present); returns the problems found.
    pub fn check(&self, git: &Git, strings: &Interner) -> Vec<String> {
        let mut problems = Vec::new();
        for p in &self.projects {
            let name = strings.resolve(p.name);
            for &id in &p.commits {
                let c = git.get(id);
                if c.placeholder {
                    problems.push(format!("{name}: commit {} is a placeholder", c.hash));
                }
                for par in c.parents.iter() {
                    if !p.commits.contains(par) {
                        problems.push(format!(
                            "{name}: commit {} has parent {} not in the project",
                            c.hash,
                            git.get(*par).hash
                        ));
                    }
                }
            }
            for (hash, refs) in &p.pending_refs {
                problems.push(format!("{name}: refs {refs:?} name unknown commit {hash}"));
            }
        }
        for (hash, cls) in &self.waiting {
            problems.push(format!("CLs {cls:?} wait for meta commit {hash}"));
        }
        problems
    }
}

/// The meta commits from `head` back to the last applied one (newest first), and whether
/// the walk went past the root without meeting it (history rewritten). `Err` names a
/// commit the corpus does not have yet.
fn new_metas(cl: &GerritCL, head: CommitId, git: &Git) -> Result<(Vec<CommitId>, bool), GitHash> {
    let mut chain = Vec::new();
    let mut cur = Some(head);
    while let Some(id) = cur {
        if Some(id) == cl.applied {
            return Ok((chain, false));
        }
        let c = git.get(id);
        if c.placeholder {
            return Err(c.hash);
        }
        if c.parents.len() > 1 {
            tracing::warn!(cl = cl.number, commit = %c.hash, "meta commit with several parents; following the first");
        }
        chain.push(id);
        cur = c.parents.first().copied();
    }
    Ok((chain, cl.applied.is_some()))
}

fn same_diff_stat(git: &Git, a: Option<GitHash>, b: Option<GitHash>) -> bool {
    let files = |h: Option<GitHash>| -> Option<Vec<FileChange>> {
        let mut f = git.commit(&h?)?.files.to_vec();
        f.sort_by_key(|f| f.path);
        Some(f)
    };
    match (files(a), files(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// Applies one meta commit to a CL (oldest first).
fn apply_meta(
    cl: &mut GerritCL,
    c: &GitCommit,
    meta: MetaMessage<'_>,
    git: &Git,
    strings: &mut Interner,
    votes: &VoteConfig,
) {
    let author = account_id(strings.resolve(c.author));
    if cl.meta_count == 0 {
        cl.owner = author;
    }
    cl.meta_count += 1;
    let ps = meta.patch_set();
    let ps_commit = meta.footers.iter().find_map(|f| match f {
        Footer::Commit(h) => Some(*h),
        _ => None,
    });
    if let Some(n) = ps {
        ensure_patch_set(cl, n, ps_commit, c, author, git, strings, votes);
    } else {
        tracing::debug!(cl = cl.number, commit = %c.hash, "meta commit without Patch-set footer");
    }
    for f in &meta.footers {
        match f {
            Footer::Status(s) => cl.status = *s,
            Footer::Branch(b) => {
                cl.branch = strings.intern(b.strip_prefix("refs/heads/").unwrap_or(b))
            }
            Footer::Topic(t) => cl.topic = strings.intern(t),
            Footer::ChangeId(id) => cl.change_id = strings.intern(id),
            Footer::Subject(sub) => cl.subject = strings.intern(sub),
            Footer::Private(p) => cl.private = *p,
            Footer::WorkInProgress(w) => cl.wip = *w,
            Footer::Hashtags(tags) => {
                cl.hashtags = tags.iter().map(|t| strings.intern(t)).collect()
            }
            Footer::Reviewer(a) => {
                cl.ccs.retain(|x| x != a);
                if !cl.reviewers.contains(a) {
                    crate::grow::reserve_one(&mut cl.reviewers);
                    cl.reviewers.push(*a);
                }
            }
            Footer::Cc(a) => {
                cl.reviewers.retain(|x| x != a);
                if !cl.ccs.contains(a) {
                    crate::grow::reserve_one(&mut cl.ccs);
                    cl.ccs.push(*a);
                }
            }
            Footer::Removed(a) => {
                cl.reviewers.retain(|x| x != a);
                cl.ccs.retain(|x| x != a);
            }
            Footer::Label(l) => {
                let (Some(n), Some(voter)) = (ps, l.on_behalf_of.or(author)) else {
                    tracing::warn!(cl = cl.number, commit = %c.hash, "vote without patch set or voter");
                    continue;
                };
                let label = strings.intern(l.label);
                set_vote(cl, n, label, voter, l.value.unwrap_or(0));
            }
            Footer::Unknown { key, value } => {
                tracing::warn!(cl = cl.number, commit = %c.hash, key, value, "unknown NoteDB footer; kept");
                cl.unknown_footers
                    .push((strings.intern(key), strings.intern(value)));
            }
            Footer::PatchSet { .. } | Footer::Commit(_) | Footer::Tag(_) | Footer::Ignored => {}
        }
    }
    if let Some((version, text)) = meta.message {
        crate::grow::reserve_one(&mut cl.messages);
        cl.messages.push(GerritMessage {
            version,
            author: c.author,
            date: c.commit_time,
            text: text.into(),
        });
    }
}

/// Makes sure patch set `n` exists; a new one starts with the votes of the previous patch
/// set that its labels' copy rules keep.
#[allow(clippy::too_many_arguments)]
fn ensure_patch_set(
    cl: &mut GerritCL,
    n: i32,
    commit: Option<GitHash>,
    meta: &GitCommit,
    uploader: Option<AccountId>,
    git: &Git,
    strings: &Interner,
    votes: &VoteConfig,
) {
    let i = match cl.patch_sets.binary_search_by_key(&n, |p| p.number) {
        Ok(i) => {
            if commit.is_some() {
                cl.patch_sets[i].commit = commit;
            }
            return;
        }
        Err(i) => i,
    };
    let commit = commit.or_else(|| {
        cl.ref_versions
            .iter()
            .find(|v| v.0 == n)
            .map(|v| git.get(v.1).hash)
    });
    let copied = match i.checked_sub(1).map(|p| &cl.patch_sets[p]) {
        Some(prev) => {
            let same = same_diff_stat(git, prev.commit, commit);
            prev.votes
                .iter()
                .filter(|v| votes.copies(strings.resolve(v.label), same))
                .copied()
                .collect()
        }
        None => Vec::new(),
    };
    crate::grow::reserve_one(&mut cl.patch_sets);
    cl.patch_sets.insert(
        i,
        PatchSet {
            number: n,
            commit,
            uploader,
            created: meta.commit_time,
            votes: copied,
        },
    );
}

fn set_vote(cl: &mut GerritCL, ps: i32, label: Sym, account: AccountId, value: i8) {
    let Ok(i) = cl.patch_sets.binary_search_by_key(&ps, |p| p.number) else {
        return;
    };
    let votes = &mut cl.patch_sets[i].votes;
    let pos = votes.binary_search_by_key(&(label, account), |v| (v.label, v.account));
    match (pos, value) {
        (Ok(j), 0) => {
            votes.remove(j);
        }
        (Ok(j), v) => votes[j].value = v,
        (Err(_), 0) => {}
        (Err(j), v) => {
            crate::grow::reserve_one(votes);
            votes.insert(
                j,
                Vote {
                    label,
                    account,
                    value: v,
                },
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_refs() {
        assert_eq!(
            parse_change_ref("refs/changes/00/14700/1"),
            Some((14700, 1))
        );
        assert_eq!(
            parse_change_ref("refs/changes/00/14700/meta"),
            Some((14700, 0))
        );
        assert_eq!(
            parse_change_ref("refs/changes/00/14700/robot-comments"),
            None
        );
        assert_eq!(parse_change_ref("refs/heads/master"), None);
    }

    #[test]
    fn change_id_like_go() {
        let msg = "x: y\n\nChange-Id: I7d38f34bd4b2ef2ad8a6e6a0bc0fb5d2c4f0a8b1\n";
        assert_eq!(
            change_id_from_msg(msg),
            Some("I7d38f34bd4b2ef2ad8a6e6a0bc0fb5d2c4f0a8b1")
        );
        assert_eq!(change_id_from_msg("x: y\n\nChange-Id: Ishort\n"), None);
        assert_eq!(change_id_from_msg("no id"), None);
    }

    #[test]
    fn normalize_server_like_go() {
        assert_eq!(normalize_server("foo"), "foo");
        assert_eq!(normalize_server("http://foo"), "foo");
        assert_eq!(
            normalize_server("upspin-review.googlesource.com"),
            "upspin.googlesource.com"
        );
        assert_eq!(
            normalize_server("go-review.googlesource.com"),
            "go.googlesource.com"
        );
    }
}
