//! A made-up grid for the page benchmark and tests: a `go` repo of commits (with the
//! subjects and authors given), optionally sub-repositories of one commit each built
//! against Go's newest, and a result for every commit on every builder, served through
//! the same `corpus` and `results` imports the host gives plugins.

use runtime::bindings::{corpus as c, results as r, types};
use runtime::{Answer, CorpusQueries, ResultsView};

pub struct Grid {
    pub commits: Vec<c::Commit>,
    pub builders: Vec<String>,
    /// Sub-repositories: (name, its newest master commit).
    pub subrepos: Vec<(String, c::Commit)>,
}

impl Grid {
    /// `n` commits of `go` master, newest first, each with `subject` and `author`
    /// (markup welcome), and `builders` builders across OSes.
    pub fn new(n: usize, builders: usize, subject: &str, author: &str) -> Grid {
        let hash = |i: usize| format!("{:040x}", 0xc0ffee_u64 + i as u64);
        let commits = (0..n)
            .map(|i| commit(hash(i), hash(i + 1), i as i64, subject, author))
            .collect();
        let os = [
            "linux", "windows", "darwin", "freebsd", "openbsd", "netbsd", "plan9", "android",
        ];
        let arch = [
            "amd64", "386", "arm64", "arm", "riscv64", "ppc64le", "s390x", "mips",
        ];
        let builders = (0..builders)
            .map(|i| format!("{}-{}", os[i % os.len()], arch[(i / os.len()) % arch.len()]))
            .collect();
        Grid {
            commits,
            builders,
            subrepos: vec![],
        }
    }

    /// The same, with sub-repositories `names`, one commit each.
    pub fn with_subrepos(mut self, names: &[&str]) -> Grid {
        self.subrepos = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let hash = format!("{:040x}", 0x5ab_u64 + i as u64);
                let c = commit(
                    hash,
                    String::new(),
                    i as i64,
                    &format!("{name}: tip"),
                    "Gopher",
                );
                (name.to_string(), c)
            })
            .collect();
        self
    }

    /// The commits of `repo`, newest first.
    fn repo_commits(&self, repo: &str) -> Option<Vec<c::Commit>> {
        if repo == "go" {
            return Some(self.commits.clone());
        }
        let sub = self.subrepos.iter().find(|(name, _)| name == repo)?;
        Some(vec![sub.1.clone()])
    }
}

/// The `i`th newest commit, ten minutes apart.
fn commit(hash: String, parent: String, i: i64, subject: &str, author: &str) -> c::Commit {
    c::Commit {
        hash,
        parents: vec![parent].into_iter().filter(|p| !p.is_empty()).collect(),
        author: author.into(),
        author_email: "gopher@example.com".into(),
        author_time: 1_700_000_000 - i * 600,
        committer: author.into(),
        commit_time: 1_700_000_000 - i * 600,
        message: format!("{subject} #{i}\n\nA body.\n"),
        files: vec![],
    }
}

const NONE: &str = "not in this made-up corpus";

impl CorpusQueries for Grid {
    fn generation(&self) -> u64 {
        1
    }
    fn issues(&self, _: &c::IssueQuery) -> Answer<c::IssuePage> {
        Err(NONE.into())
    }
    fn issue(&self, _: &types::IssueRef) -> Answer<c::Issue> {
        Err(NONE.into())
    }
    fn issue_comments(
        &self,
        _: &types::IssueRef,
        _: u32,
        _: Option<String>,
    ) -> Answer<c::CommentPage> {
        Err(NONE.into())
    }
    fn issue_events(&self, _: &types::IssueRef, _: u32, _: Option<String>) -> Answer<c::EventPage> {
        Err(NONE.into())
    }
    fn changes(&self, _: &c::ChangeQuery) -> Answer<c::ChangePage> {
        Err(NONE.into())
    }
    fn change(&self, _: &types::ChangeRef) -> Answer<c::Change> {
        Err(NONE.into())
    }
    fn change_messages(
        &self,
        _: &types::ChangeRef,
        _: u32,
        _: Option<String>,
    ) -> Answer<c::MessagePage> {
        Err(NONE.into())
    }
    fn change_votes(&self, _: &types::ChangeRef, _: Option<u32>) -> Answer<Vec<c::Vote>> {
        Err(NONE.into())
    }
    /// The first `limit` commits (no paging past them).
    fn commits(&self, q: &c::CommitQuery) -> Answer<c::CommitPage> {
        let Some(mut items) = self.repo_commits(&q.repo) else {
            return Err(format!("unknown repo {}", q.repo));
        };
        items.truncate(q.limit as usize);
        Ok(c::CommitPage {
            items,
            next_cursor: None,
        })
    }
    fn commit(&self, hash: &str) -> Answer<c::Commit> {
        let subs = self.subrepos.iter().map(|(_, c)| c);
        self.commits
            .iter()
            .chain(subs)
            .find(|c| c.hash == hash)
            .cloned()
            .ok_or_else(|| format!("no commit {hash:?} in the corpus"))
    }
    fn branches(&self, _: &str) -> Answer<Vec<String>> {
        Ok(vec!["master".into()])
    }
}

impl ResultsView for Grid {
    /// Every builder has a result for every commit; one in seven fails. A
    /// sub-repository's are against Go's newest commit.
    fn results_for(&self, repo: &str, commits: &[String]) -> Vec<r::BuildResult> {
        let go_commit = (repo != "go").then(|| self.commits[0].hash.clone());
        let mut out = vec![];
        for (i, commit) in commits.iter().enumerate() {
            for (j, b) in self.builders.iter().enumerate() {
                let ok = (i + j) % 7 != 0;
                out.push(r::BuildResult {
                    builder: b.clone(),
                    repo: repo.into(),
                    commit: commit.clone(),
                    go_commit: go_commit.clone(),
                    ok,
                    log_hash: if ok {
                        String::new()
                    } else {
                        format!("{:040x}", i * 1000 + j)
                    },
                    started: 1_700_000_000,
                    duration_ms: 60_000,
                });
            }
        }
        out
    }
    fn repos(&self) -> Vec<String> {
        let subs = self.subrepos.iter().map(|(name, _)| name.clone());
        std::iter::once("go".to_string()).chain(subs).collect()
    }
}
