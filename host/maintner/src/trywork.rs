//! Try work (what Go's maintnerd `GoFindTryWork` returns), computed from the corpus alone:
//! open changes whose current patch set has `Run-TryBot=+1` and no `TryBot-Result` vote.
//!
//! Go's maintnerd could not do this from its NoteDB mirror and asked Gerrit
//! (maintner/maintnerd/maintapi/api.go); here the votes per patch set are known
//! ([`crate::votes`]), so the set of waiting changes is kept up to date as mutations
//! arrive: only the changes a mutation touched are re-evaluated. Reading the list costs one
//! lookup per waiting change.

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

/// A Go release that is supported: both its newest tag and its release branch exist.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GoRelease {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
    /// `go1.11.1`
    pub tag_name: String,
    pub tag_commit: String,
    /// `release-branch.go1.11`
    pub branch_name: String,
    pub branch_commit: String,
}

/// `go1.11` → (1, 11, 0), `go1.11.1` → (1, 11, 1); betas, rcs and non-canonical numbers are
/// not releases (HEAD's `version.ParseTag`).
fn parse_go_tag(tag: &str) -> Option<(u32, u32, u32)> {
    let v = tag.strip_prefix("go")?;
    let mut parts = v.split('.');
    let num = |s: Option<&str>| -> Option<u32> {
        let s = s?;
        let canonical = !s.is_empty()
            && (s == "0" || !s.starts_with('0'))
            && s.bytes().all(|b| b.is_ascii_digit());
        canonical
            .then(|| s.parse().ok())
            .flatten()
            .filter(|n| *n <= 999)
    };
    let major = num(parts.next())?;
    let minor = match parts.next() {
        Some(p) => num(Some(p))?,
        None => 0,
    };
    let patch = match parts.next() {
        Some(p) => num(Some(p))?,
        None => 0,
    };
    parts.next().is_none().then_some((major, minor, patch))
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
    /// Re-evaluates one change. Returns true if the list may read differently: the change
    /// entered or left it, or it is (still) waiting and its details may have moved.
    pub(crate) fn update(&mut self, pid: ProjectId, cl: &GerritCL, strings: &Interner) -> bool {
        let key = (pid, cl.number);
        if wants_trybots(cl, strings) {
            self.waiting.insert(key);
            true
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
    /// The two newest supported Go releases on `server`'s `go` project, newest first
    /// (HEAD's `ListGoReleases`): a release needs a `refs/tags/goX.Y[.Z]` tag and a
    /// `refs/heads/release-branch.goX.Y` branch; the highest patch of each X.Y counts.
    pub fn go_releases(&self, server: &str) -> Vec<GoRelease> {
        let st = &self.strings;
        let Some(pid) = self.gerrit.find(st, &format!("{server}/go")) else {
            return vec![];
        };
        let p = self.gerrit.project(pid);
        let mut tags: std::collections::BTreeMap<(u32, u32), (u32, String, String)> =
            Default::default();
        for (name, hash) in &p.refs {
            let Some(tag) = st.resolve(*name).strip_prefix("refs/tags/") else {
                continue;
            };
            if let Some((ma, mi, pa)) = parse_go_tag(tag) {
                let e = tags
                    .entry((ma, mi))
                    .or_insert((pa, tag.to_owned(), hash.hex()));
                if pa >= e.0 {
                    *e = (pa, tag.to_owned(), hash.hex());
                }
            }
        }
        let mut out: Vec<GoRelease> = tags
            .into_iter()
            .rev()
            .filter_map(|((major, minor), (patch, tag_name, tag_commit))| {
                let branch_name = format!("release-branch.go{major}.{minor}");
                let branch = p.git_ref(st, &format!("refs/heads/{branch_name}"))?;
                Some(GoRelease {
                    major,
                    minor,
                    patch,
                    tag_name,
                    tag_commit,
                    branch_name,
                    branch_commit: branch.hex(),
                })
            })
            .collect();
        out.truncate(2);
        out
    }

    /// The Go branches (and their head commits) a subrepo change on `branch` is tested
    /// against (HEAD's rule): from master, Go master plus the supported releases; from
    /// `internal-branch.goX.Y-…`, only `release-branch.goX.Y`; otherwise Go master.
    fn go_branches_for(
        &self,
        server: &str,
        branch: &str,
        releases: &mut std::collections::HashMap<String, Vec<GoRelease>>,
    ) -> Vec<(String, String)> {
        let st = &self.strings;
        let Some(go) = self
            .gerrit
            .find(st, &format!("{server}/go"))
            .map(|g| self.gerrit.project(g))
        else {
            return vec![];
        };
        let head = |b: &str| {
            go.git_ref(st, &format!("refs/heads/{b}"))
                .map(|h| (h.hex(), b.to_owned()))
        };
        if let Some(rest) = branch.strip_prefix("internal-branch.go") {
            let version = rest.split('-').next().unwrap_or(rest);
            return head(&format!("release-branch.go{version}"))
                .into_iter()
                .collect();
        }
        let mut out: Vec<(String, String)> = head("master").into_iter().collect();
        if branch == "master" || branch.starts_with("gopls-release-branch.") {
            let rel = releases
                .entry(server.to_owned())
                .or_insert_with(|| self.go_releases(server));
            out.extend(
                rel.iter()
                    .map(|r| (r.branch_commit.clone(), r.branch_name.clone())),
            );
        }
        out
    }

    /// The changes waiting for trybots, sorted by commit (as Go's `GoFindTryWork`).
    /// Reads the incrementally maintained set; nothing is rescanned.
    pub fn try_work(&self) -> Vec<TryWork> {
        let (st, git) = (&self.strings, &self.git);
        // Supported releases, computed once per server per call.
        let mut releases = std::collections::HashMap::new();
        let mut out: Vec<TryWork> = self
            .try_work
            .iter()
            .filter_map(|(pid, n)| {
                let p = self.gerrit.project(pid);
                let cl = p.cls.get(&n)?;
                let commit = cl.current_commit(git)?;
                let project = p.short_name(st).to_owned();
                let server = p.server(st).to_owned();
                let branch = st.resolve(cl.branch);
                let (go_commit, go_branch) = if project == "go" {
                    (vec![], vec![])
                } else {
                    self.go_branches_for(&server, branch, &mut releases)
                        .into_iter()
                        .unzip()
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
                    branch: branch.to_owned(),
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

#[cfg(test)]
mod tests {
    use super::parse_go_tag;

    #[test]
    fn go_tags() {
        assert_eq!(parse_go_tag("go1"), Some((1, 0, 0)));
        assert_eq!(parse_go_tag("go1.11"), Some((1, 11, 0)));
        assert_eq!(parse_go_tag("go1.11.1"), Some((1, 11, 1)));
        assert_eq!(parse_go_tag("go2.0.0"), Some((2, 0, 0)));
        for bad in [
            "go1.11beta1",
            "go1.11rc2",
            "go1.011",
            "go1.1000",
            "go1.1.1.1",
            "weekly.2011",
            "go",
        ] {
            assert_eq!(parse_go_tag(bad), None, "{bad}");
        }
    }
}
