//! The commits and packages Go's dashboard listed, answered from the maintner corpus
//! instead of commits registered by a watcher (as Go's HEAD dashboard takes its commit
//! lists from maintner). Go's repos are the Gerrit projects of `go.googlesource.com`:
//! `go` is the main repo, every other one is the subrepo `golang.org/x/<name>`.

use crate::model::package_path_of_repo;
use maintner::git::{CommitId, GitHash};
use maintner::query::CommitQuery;
use maintner::Corpus;
use serde::Serialize;
use std::sync::{Arc, RwLock};

/// The corpus as `maintnerd` shares it.
pub type SharedCorpus = Arc<RwLock<Corpus>>;

/// The Gerrit server whose projects are Go's repos.
pub const GO_SERVER: &str = "go.googlesource.com";

/// Go's dashboard stored descriptions cut to this many bytes (`maxDatastoreStringLen`).
const MAX_DESC: usize = 500;

/// Go's `Commit`, as `GET /commit` answers it (ResultData and PerfResults stripped).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Commit {
    pub package_path: String,
    pub hash: String,
    pub parent_hash: String,
    /// Position along first parents, the root being 1 (Go's per-package counter).
    pub num: i64,
    pub user: String,
    pub desc: String,
    /// RFC 3339, UTC.
    pub time: String,
    pub needs_benchmarking: bool,
    pub try_patch: bool,
    pub branch: String,
    pub result_data: Option<Vec<String>>,
    pub perf_results: Option<Vec<String>>,
    pub fail_notification_sent: bool,
}

/// Go's `Package`, as `GET /packages` lists it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Package {
    pub kind: String,
    pub name: String,
    pub path: String,
    pub next_num: i64,
}

/// A commit of `repo` that is on one of its branches, or `None` (Go's "Commit not
/// found"). `Branch` is the first branch — master, then the others by name — whose
/// first-parent history holds it.
pub fn find_commit(corpus: &Corpus, repo: &str, hash: &str) -> Option<Commit> {
    let git = corpus.git();
    let target = git.lookup(&GitHash::parse(hash)?)?;
    let c = git.get(target);
    if c.placeholder {
        return None;
    }
    let branch = branches(corpus, repo)
        .into_iter()
        .find(|(_, head)| first_parents(corpus, *head).any(|id| id == target))?
        .0;
    Some(Commit {
        package_path: package_path_of_repo(repo),
        hash: c.hash.hex(),
        parent_hash: c
            .parents
            .first()
            .map_or_else(String::new, |p| git.get(*p).hash.hex()),
        num: first_parents(corpus, target).count() as i64,
        user: corpus.strings().resolve(c.author).to_string(),
        desc: limit_len(&c.msg, MAX_DESC).to_string(),
        time: c.commit_time.rfc3339(),
        needs_benchmarking: false,
        try_patch: false,
        branch,
        result_data: None,
        perf_results: None,
        fail_notification_sent: false,
    })
}

/// Projects of the Go server that are not Go packages (x/build's `repos` gives them no
/// import path), so never subrepos.
const NOT_PACKAGES: &[&str] = &["scratch", "proposal", "review", "gofrontend", "gollvm"];

/// Go's subrepos: every project of the Go server but `go` and [`NOT_PACKAGES`], by path.
pub fn subrepos(corpus: &Corpus) -> Vec<Package> {
    let g = corpus.gerrit();
    let st = corpus.strings();
    let mut out: Vec<Package> = g
        .project_ids()
        .map(|id| g.project(id))
        .filter(|p| {
            let name = p.short_name(st);
            p.server(st) == GO_SERVER && name != "go" && !NOT_PACKAGES.contains(&name)
        })
        .map(|p| {
            let name = p.short_name(st);
            let head = p
                .git_ref(st, "refs/heads/master")
                .and_then(|h| corpus.git().lookup(&h));
            Package {
                kind: "subrepo".into(),
                name: name.to_string(),
                path: package_path_of_repo(name),
                next_num: head.map_or(0, |h| first_parents(corpus, h).count() as i64) + 1,
            }
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// The newest `n` commits of Go's master, newest first (Go's "last 30 commits" of
/// `/clear-results`). Empty when the corpus does not have the go repo.
pub fn last_go_commits(corpus: &Corpus, n: u32) -> Vec<String> {
    let q = CommitQuery {
        repo: format!("{GO_SERVER}/go"),
        branch: Some("master".into()),
        limit: n,
        cursor: None,
    };
    corpus
        .commits(&q)
        .map(|page| page.items.into_iter().map(|c| c.hash).collect())
        .unwrap_or_default()
}

/// The Go repo a commit belongs to, if the corpus knows it.
pub fn repo_of_commit(corpus: &Corpus, hash: &str) -> Option<String> {
    let id = corpus.git().lookup(&GitHash::parse(hash)?)?;
    let g = corpus.gerrit();
    let st = corpus.strings();
    g.project_ids()
        .map(|p| g.project(p))
        .find(|p| p.server(st) == GO_SERVER && p.commits.contains(&id))
        .map(|p| p.short_name(st).to_string())
}

/// The branch heads of a Go repo: master first, then the others by name.
fn branches(corpus: &Corpus, repo: &str) -> Vec<(String, CommitId)> {
    let st = corpus.strings();
    let g = corpus.gerrit();
    let Some(pid) = g.find(st, &format!("{GO_SERVER}/{repo}")) else {
        return vec![];
    };
    let mut heads: Vec<(String, CommitId)> = g
        .project(pid)
        .refs
        .iter()
        .filter_map(|(name, hash)| {
            let branch = st.resolve(*name).strip_prefix("refs/heads/")?;
            Some((branch.to_string(), corpus.git().lookup(hash)?))
        })
        .collect();
    heads.sort_by(|a, b| (a.0 != "master", &a.0).cmp(&(b.0 != "master", &b.0)));
    heads
}

/// A commit and its first parents, down to the root (or the first commit the corpus
/// only knows by name).
fn first_parents(corpus: &Corpus, from: CommitId) -> impl Iterator<Item = CommitId> + '_ {
    let git = corpus.git();
    std::iter::successors(Some(from), move |&id| git.get(id).parents.first().copied())
        .take_while(move |&id| !git.get(id).placeholder)
}

/// `s` cut to at most `max` bytes on a character boundary (Go's `limitStringLength`).
fn limit_len(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_on_a_character_boundary() {
        assert_eq!(limit_len("abc", 500), "abc");
        assert_eq!(limit_len("héllo", 2), "h");
        assert_eq!(limit_len("héllo", 3), "hé");
        assert_eq!(limit_len(&"x".repeat(600), 500).len(), 500);
    }
}
