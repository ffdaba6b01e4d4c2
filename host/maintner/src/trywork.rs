//! Try work (spec §5), computed from the corpus alone: open changes whose current patch
//! set has `Run-TryBot=+1` and no `TryBot-Result` vote.
//!
//! Go's maintnerd could not do this from its NoteDB mirror and asked Gerrit (spec §9.1);
//! here the votes per patch set are known ([`crate::votes`]), so the set of waiting
//! changes is kept up to date as mutations arrive: only the changes a mutation touched are
//! re-evaluated. Reading the list costs one lookup per waiting change.

use std::collections::BTreeSet;

use crate::gerrit::{GerritCL, ProjectId};
use crate::intern::Interner;
use crate::notedb::ClStatus;
use crate::votes::{RUN_TRYBOT, TRYBOT_RESULT};

/// One change waiting for trybots — the shape of Go's `apipb.GerritTryWorkItem`, with
/// HEAD's `version` and `author_email`, and the CL number.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TryWork {
    /// `go.googlesource.com`.
    pub server: String,
    /// Gerrit project without the server: `go`, `net`.
    pub project: String,
    /// Without `refs/heads/`: `master`.
    pub branch: String,
    /// `I…` (41 characters).
    pub change_id: String,
    pub cl: i32,
    /// Patch set number of `commit`.
    pub version: i32,
    /// Hex commit of the current patch set.
    pub commit: String,
    /// For subrepos: the Go commits to test against (Go's `refs/heads/master`); empty for
    /// the go project itself.
    pub go_commit: Vec<String>,
    /// The Go branches of `go_commit`, index for index.
    pub go_branch: Vec<String>,
    /// Email of the author of patch set 1's commit.
    pub author_email: String,
}

/// Does this change wait for trybots?
pub fn wants_trybots(cl: &GerritCL, strings: &Interner) -> bool {
    if cl.status != ClStatus::New || cl.private || !cl.complete() {
        return false;
    }
    let (Some(run), result) = (strings.get(RUN_TRYBOT), strings.get(TRYBOT_RESULT)) else {
        return false;
    };
    let votes = cl.current_votes();
    let requested = votes.iter().any(|v| v.label == run && v.value == 1);
    let has_result = result.is_some_and(|r| votes.iter().any(|v| v.label == r));
    requested && !has_result
}

/// The changes currently waiting, maintained incrementally.
#[derive(Default)]
pub struct TryWorkIndex {
    waiting: BTreeSet<(ProjectId, i32)>,
}

impl TryWorkIndex {
    /// Re-evaluates one change. Returns true if its membership changed.
    pub(crate) fn update(&mut self, pid: ProjectId, cl: &GerritCL, strings: &Interner) -> bool {
        let key = (pid, cl.number);
        if wants_trybots(cl, strings) {
            self.waiting.insert(key)
        } else {
            self.waiting.remove(&key)
        }
    }

    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (ProjectId, i32)> + '_ {
        self.waiting.iter().copied()
    }
}

impl crate::Corpus {
    /// The changes waiting for trybots, sorted by commit (as Go's `GoFindTryWork`).
    /// Reads the incrementally maintained set; nothing is rescanned.
    pub fn try_work(&self) -> Vec<TryWork> {
        let (st, git) = (&self.strings, &self.git);
        let mut out: Vec<TryWork> = self
            .try_work
            .iter()
            .filter_map(|(pid, n)| {
                let p = self.gerrit.project(pid);
                let cl = p.cls.get(&n)?;
                let commit = cl.current_commit(git)?;
                let project = p.short_name(st).to_owned();
                let server = p.server(st).to_owned();
                let (go_commit, go_branch) = if project == "go" {
                    (vec![], vec![])
                } else {
                    // Subrepos test against Go's master (Go's TODO for release branches
                    // stays a TODO: the supported releases come from the Go repo's refs).
                    self.gerrit
                        .find(st, &format!("{server}/go"))
                        .and_then(|g| self.gerrit.project(g).git_ref(st, "refs/heads/master"))
                        .map_or((vec![], vec![]), |h| {
                            (vec![h.hex()], vec!["master".to_owned()])
                        })
                };
                let author_email = cl
                    .ref_versions
                    .first()
                    .filter(|v| v.0 == 1)
                    .map(|v| git.get(v.1))
                    .or_else(|| cl.patch_set(1).and_then(|p| git.commit(&p.commit?)))
                    .map(|c| crate::git::person_email(st.resolve(c.author)).to_owned())
                    .unwrap_or_default();
                Some(TryWork {
                    server,
                    project,
                    branch: st.resolve(cl.branch).to_owned(),
                    change_id: match st.resolve(cl.change_id) {
                        "" => git
                            .commit(&commit)
                            .and_then(|c| crate::gerrit::change_id_from_msg(&c.msg))
                            .unwrap_or_default()
                            .to_owned(),
                        id => id.to_owned(),
                    },
                    cl: cl.number,
                    version: cl.version(),
                    commit: commit.hex(),
                    go_commit,
                    go_branch,
                    author_email,
                })
            })
            .collect();
        out.sort_by(|a, b| a.commit.cmp(&b.commit));
        out
    }
}
