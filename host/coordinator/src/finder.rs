//! Which builds are wanted now, from the corpus: post-submit work is the newest `window`
//! commits of each watched branch (a corpus with years of history must not flood the
//! queue), try work is the corpus's try work; each goes to every builder whose plugin
//! says it builds it. The caller removes what is recorded, queued or running.

use crate::builders::{BuilderSet, BuildsCache};
use crate::model::{BuildSpec, Work, WorkKind};
use maintner::query::CommitQuery;
use maintner::Corpus;
use std::collections::HashSet;

/// A repository the coordinator builds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoWatch {
    /// Short name: `go`, `net`, `demo`; where its tree goes on the buildlet.
    pub name: String,
    /// Its Gerrit project in the corpus (`go.googlesource.com/net`).
    pub project: String,
    /// Where the mirror fetches it from (URL or path).
    pub remote: String,
    pub branches: Vec<String>,
}

/// What the finder wants built, and the try sets that are current.
#[derive(Default)]
pub struct Found {
    pub builds: Vec<BuildSpec>,
    /// (change, patch set) of every current try set: queued try work not in it is obsolete.
    pub try_sets: HashSet<(i32, i32)>,
}

pub fn find(
    corpus: &Corpus,
    set: &BuilderSet,
    cache: &mut BuildsCache,
    repos: &[RepoWatch],
    window: u32,
    trybots: bool,
) -> Found {
    let mut found = Found::default();
    let go_head = repos
        .iter()
        .find(|r| r.name == "go")
        .and_then(|go| newest(corpus, &go.project, "master", 1).into_iter().next());
    for repo in repos {
        for branch in &repo.branches {
            for c in newest(corpus, &repo.project, branch, window) {
                let (go_branch, go_commit) = match (&go_head, repo.name == "go") {
                    (Some(head), false) => (Some("master".to_string()), Some(head.hash.clone())),
                    _ => (None, None),
                };
                let work = Work {
                    kind: WorkKind::PostSubmit,
                    repo: repo.name.clone(),
                    branch: branch.clone(),
                    commit: c.hash,
                    go_branch,
                    go_commit,
                    commit_time: c.commit_time,
                };
                add_builds(&mut found.builds, set, cache, work);
            }
        }
    }
    if !trybots {
        return found;
    }
    for tw in corpus.try_work() {
        let Some(repo) = repos.iter().find(|r| r.name == tw.project) else {
            continue;
        };
        found.try_sets.insert((tw.cl, tw.version));
        let work = Work {
            kind: WorkKind::Try {
                change: tw.cl,
                patch_set: tw.version,
            },
            repo: repo.name.clone(),
            branch: tw.branch.clone(),
            commit_time: corpus
                .commit(&tw.commit)
                .map(|c| c.commit_time)
                .unwrap_or_default(),
            commit: tw.commit,
            go_branch: tw.go_branch.first().cloned(),
            go_commit: tw.go_commit.first().cloned(),
        };
        add_builds(&mut found.builds, set, cache, work);
    }
    found
}

fn add_builds(out: &mut Vec<BuildSpec>, set: &BuilderSet, cache: &mut BuildsCache, work: Work) {
    for d in set.builders.values() {
        let b = &d.builder;
        let eligible = match work.kind {
            WorkKind::PostSubmit => !b.try_only,
            WorkKind::Try { .. } => b.trybot,
        };
        if eligible && cache.builds(d, &work) {
            out.push(BuildSpec {
                builder: b.name.clone(),
                host_type: b.host_type.clone(),
                work: work.clone(),
            });
        }
    }
}

/// The newest `n` commits of a branch (first-parent history); none if unknown.
fn newest(
    corpus: &Corpus,
    project: &str,
    branch: &str,
    n: u32,
) -> Vec<maintner::query::CommitRecord> {
    let q = CommitQuery {
        repo: project.into(),
        branch: Some(branch.into()),
        limit: n,
        cursor: None,
    };
    corpus.commits(&q).map(|p| p.items).unwrap_or_default()
}
