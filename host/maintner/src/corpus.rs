//! The in-memory corpus: what you get by applying every mutation of the log in order.
//! Nothing edits it but [`Corpus::apply`].

use std::collections::BTreeSet;
use std::path::Path;

use crate::disklog::{DiskLog, LogError, RecordPos};
use crate::fxhash::FxHashMap;
use crate::gerrit::{Gerrit, ProjectId};
use crate::git::{is_meta_commit, CommitError, CommitId, Git, MessageFacts, ParsedCommit};
use crate::github::{GitHub, RepoId};
use crate::intern::{Interner, Sym};
use crate::issuerefs::parse_github_refs;
use crate::maintpb::{self, Mutation};
use crate::pipeline::{parse_commits, ParsedCommits};
use crate::reclog;
use crate::time::Time;
use crate::trywork::TryWorkIndex;
use crate::votes::VoteConfig;

/// Something that mentions a GitHub issue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Referrer {
    Commit(CommitId),
    Cl(ProjectId, i32),
}

/// How many mutations of each kind were applied (a mutation may count in several).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MutationCounts {
    pub total: u64,
    pub github_issue: u64,
    pub github: u64,
    pub git: u64,
    pub gerrit: u64,
    /// Mutations that carried fields this schema does not know.
    pub with_unknown_fields: u64,
    /// Git commits in mutations that could not be indexed (logged and skipped).
    pub rejected_commits: u64,
}

/// What one [`Corpus::apply`] touched.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub issues: Vec<(RepoId, i32)>,
    pub cls: Vec<(ProjectId, i32)>,
    pub commits: usize,
    /// [`Corpus::try_work`] may read differently now: a change entered or left the list,
    /// a waiting change moved, or a Go branch head that subrepo entries name moved.
    pub try_work_changed: bool,
}

impl Applied {
    /// Empties it, keeping the vectors' room.
    fn clear(&mut self) {
        self.issues.clear();
        self.cls.clear();
        self.commits = 0;
        self.try_work_changed = false;
    }
}

pub struct Corpus {
    pub(crate) strings: Interner,
    pub(crate) git: Git,
    pub(crate) github: GitHub,
    pub(crate) gerrit: Gerrit,
    /// Non-meta commits of each repo (Gerrit project name or plain git repo), by time.
    pub(crate) repo_commits: FxHashMap<Sym, BTreeSet<(Time, CommitId)>>,
    pub(crate) issue_refs: FxHashMap<(RepoId, i32), Vec<Referrer>>,
    cl_refs: FxHashMap<(ProjectId, i32), Vec<(RepoId, i32)>>,
    pub(crate) votes: VoteConfig,
    pub(crate) try_work: TryWorkIndex,
    pub(crate) counts: MutationCounts,
    next_pos: Option<RecordPos>,
}

impl Default for Corpus {
    fn default() -> Self {
        Corpus::new(VoteConfig::default())
    }
}

impl Corpus {
    /// An empty corpus with the given vote copy rules.
    pub fn new(votes: VoteConfig) -> Corpus {
        Corpus {
            strings: Interner::default(),
            git: Git::default(),
            github: GitHub::default(),
            gerrit: Gerrit::default(),
            repo_commits: FxHashMap::default(),
            issue_refs: FxHashMap::default(),
            cl_refs: FxHashMap::default(),
            votes,
            try_work: TryWorkIndex::default(),
            counts: MutationCounts::default(),
            next_pos: None,
        }
    }

    /// Loads every mutation of a disk log.
    pub fn load(log: &DiskLog) -> Result<Corpus, LogError> {
        Self::load_with(log, VoteConfig::default())
    }

    pub fn load_with(log: &DiskLog, votes: VoteConfig) -> Result<Corpus, LogError> {
        let mut c = Corpus::new(votes);
        c.catch_up(log)?;
        Ok(c)
    }

    /// Applies the records appended to `log` since the last load or catch-up. Returns how
    /// many were applied. On a bad record, everything before it is applied and the error
    /// names the file and offset.
    ///
    /// Reading, checking, decoding and commit parsing run on other threads, ahead of this
    /// one, which applies the mutations in log order (see [`crate::pipeline`]).
    pub fn catch_up(&mut self, log: &DiskLog) -> Result<u64, LogError> {
        let from = self.next_pos.unwrap_or_default();
        // From an empty corpus, the issue and CL indexes are built once at the end.
        if self.counts.total == 0 {
            self.github.defer_indexes();
            self.gerrit.defer_indexes();
        }
        // What each mutation touched is not needed here: one buffer, cleared, serves all.
        let mut touched = Applied::default();
        let applied = crate::pipeline::for_each_prepared(log, from, |p| {
            touched.clear();
            self.apply_parsed(&mut p.mutation, &mut p.commits, &mut touched);
            self.next_pos = Some(p.end);
        });
        self.gerrit.forget_parsed_meta();
        self.github.build_indexes();
        self.gerrit.build_indexes();
        applied
    }

    /// Applies every record of a reclog file's bytes (e.g. a day file of Go's
    /// `DiskMutationLogger`). `path` is only for error messages.
    pub fn apply_reclog(&mut self, bytes: &[u8], path: &Path) -> Result<u64, LogError> {
        let mut n = 0;
        for rec in reclog::records(bytes, 0) {
            let rec = rec.map_err(|source| LogError::Record {
                path: path.to_owned(),
                source,
            })?;
            let m = prost::Message::decode(rec.data).map_err(|source| LogError::Decode {
                path: path.to_owned(),
                offset: rec.offset,
                source,
            })?;
            self.apply_owned(m);
            n += 1;
        }
        Ok(n)
    }

    /// Applies one mutation: its github_issue, github, git and gerrit parts, in that order
    /// (Go's `processMutationLocked`).
    pub fn apply(&mut self, m: &Mutation) -> Applied {
        self.apply_owned(m.clone())
    }

    fn apply_owned(&mut self, mut m: Mutation) -> Applied {
        let mut applied = Applied::default();
        let mut commits = parse_commits(&m);
        self.apply_parsed(&mut m, &mut commits, &mut applied);
        self.gerrit.forget_parsed_meta();
        applied
    }

    /// [`Corpus::apply`] with the mutation's commits already parsed. Takes the long
    /// strings the model keeps (bodies) out of `m` instead of copying them.
    fn apply_parsed(&mut self, m: &mut Mutation, commits: &mut ParsedCommits, out: &mut Applied) {
        let (git_commit, gerrit_commits) = match &m.git {
            Some(gm) if gm.commit.is_some() => commits.split_at_mut(1),
            _ => commits.split_at_mut(0),
        };
        self.count(m);
        if let Some(im) = &mut m.github_issue {
            out.issues
                .extend(self.github.apply_issue(&mut self.strings, im));
        }
        if let Some(gm) = &m.github {
            self.github.apply_repo(&mut self.strings, gm);
        }
        if let (Some(gm), [parsed]) = (&m.git, git_commit) {
            self.apply_git(gm, parsed, out);
        }
        if let Some(gm) = &m.gerrit {
            self.apply_gerrit(gm, gerrit_commits, out);
        }
    }

    fn count(&mut self, m: &Mutation) {
        let c = &mut self.counts;
        c.total += 1;
        c.github_issue += u64::from(m.github_issue.is_some());
        c.github += u64::from(m.github.is_some());
        c.git += u64::from(m.git.is_some());
        c.gerrit += u64::from(m.gerrit.is_some());
        c.with_unknown_fields += u64::from(!m.unknown.is_empty());
    }

    fn apply_git(
        &mut self,
        gm: &maintpb::GitMutation,
        parsed: &mut Result<ParsedCommit, CommitError>,
        out: &mut Applied,
    ) {
        let Some(pb) = &gm.commit else { return };
        let repo = gm.repo.as_ref().map_or("", |r| r.go_repo.as_str());
        match parsed {
            Ok(parsed) => {
                let facts = parsed.take_facts();
                let id = self.git.add_parsed(pb, parsed, &mut self.strings);
                out.commits += 1;
                let sym = self.strings.intern(repo);
                self.index_commit(sym, id, facts);
                let hash = self.git.get(id).hash;
                let cls =
                    self.gerrit
                        .commit_arrived(hash, &self.git, &mut self.strings, &self.votes);
                for (pid, n) in cls {
                    self.cl_changed(pid, n, out);
                }
            }
            Err(e) => {
                tracing::warn!(repo, error = %e, "skipping git commit");
                self.counts.rejected_commits += 1;
            }
        }
    }

    fn apply_gerrit(
        &mut self,
        gm: &maintpb::GerritMutation,
        commits: &mut [Result<ParsedCommit, CommitError>],
        out: &mut Applied,
    ) {
        let (pid, ch) =
            self.gerrit
                .apply(gm, commits, &mut self.git, &mut self.strings, &self.votes);
        out.commits += ch.commits.len();
        self.counts.rejected_commits += ch.rejected;
        if ch.refs_changed && !self.try_work.is_empty() {
            let p = self.gerrit.project(pid);
            out.try_work_changed |= p.short_name(&self.strings) == "go";
        }
        let name = self.gerrit.project(pid).name;
        for (id, facts) in ch.commits {
            self.index_commit(name, id, facts);
        }
        for n in ch.cls {
            self.cl_changed(pid, n, out);
        }
    }

    /// Adds a non-meta commit to its repo's list and records the issues it mentions.
    /// `facts` are its message's, when they were found while parsing it.
    fn index_commit(&mut self, repo: Sym, id: CommitId, facts: Option<MessageFacts>) {
        let c = self.git.get(id);
        if c.placeholder {
            return;
        }
        let refs = match facts {
            Some(f) if f.meta => return,
            Some(f) => f.refs,
            None if is_meta_commit(&c.msg) => return,
            None => parse_github_refs(self.strings.resolve(repo), &c.msg),
        };
        let key = (c.commit_time, id);
        if repo != Sym::EMPTY {
            self.repo_commits.entry(repo).or_default().insert(key);
        }
        for r in refs {
            if let Some(rid) = self.github.repo_id(&mut self.strings, &r.owner, &r.repo) {
                let v = self.issue_refs.entry((rid, r.number)).or_default();
                if !v.contains(&Referrer::Commit(id)) {
                    crate::grow::reserve_one(v);
                    v.push(Referrer::Commit(id));
                }
            }
        }
    }

    /// Updates what derives from a CL: its issue references and the try-work set.
    fn cl_changed(&mut self, pid: ProjectId, n: i32, out: &mut Applied) {
        let proj = self.gerrit.project(pid);
        let Some(cl) = proj.cls.get(&n) else { return };
        out.cls.push((pid, n));
        out.try_work_changed |= self.try_work.update(pid, cl, &self.strings);
        // Issue references of the current patch set's commit message.
        let refs = cl
            .current_commit(&self.git)
            .and_then(|h| self.git.commit(&h))
            .map(|c| parse_github_refs(self.strings.resolve(proj.name), &c.msg))
            .unwrap_or_default();
        let mut new = Vec::new();
        for r in refs {
            if let Some(rid) = self.github.repo_id(&mut self.strings, &r.owner, &r.repo) {
                new.push((rid, r.number));
            }
        }
        let old = self.cl_refs.remove(&(pid, n)).unwrap_or_default();
        let me = Referrer::Cl(pid, n);
        for k in old.iter().filter(|k| !new.contains(k)) {
            if let Some(v) = self.issue_refs.get_mut(k) {
                v.retain(|r| *r != me);
            }
        }
        for k in new.iter().filter(|k| !old.contains(k)) {
            let v = self.issue_refs.entry(*k).or_default();
            crate::grow::reserve_one(v);
            v.push(me);
        }
        if !new.is_empty() {
            self.cl_refs.insert((pid, n), new);
        }
    }

    /// Gerrit invariants (as Go's `Corpus.Check`). Empty when all hold.
    pub fn check(&self) -> Vec<String> {
        self.gerrit.check(&self.git, &self.strings)
    }

    pub fn strings(&self) -> &Interner {
        &self.strings
    }

    pub fn git(&self) -> &Git {
        &self.git
    }

    pub fn github(&self) -> &GitHub {
        &self.github
    }

    pub fn gerrit(&self) -> &Gerrit {
        &self.gerrit
    }

    pub fn vote_config(&self) -> &VoteConfig {
        &self.votes
    }

    pub fn mutation_counts(&self) -> MutationCounts {
        self.counts
    }

    /// Who mentions `owner/repo#number`: commits and CLs.
    pub fn referrers(&self, owner: &str, repo: &str, number: i32) -> &[Referrer] {
        self.github
            .find_repo(&self.strings, owner, repo)
            .and_then(|rid| self.issue_refs.get(&(rid, number)))
            .map_or(&[], |v| v.as_slice())
    }

    /// The issues a CL's current commit message mentions.
    pub fn cl_issue_refs(&self, pid: ProjectId, n: i32) -> &[(RepoId, i32)] {
        self.cl_refs.get(&(pid, n)).map_or(&[], |v| v.as_slice())
    }
}
