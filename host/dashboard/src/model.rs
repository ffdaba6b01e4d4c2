//! What the store holds: build results, keyed like Go's `Result` entity
//! (builder, repo, commit, Go commit) plus the kind of work, and building markers.

use maintner::time::Time;
use std::time::Duration;

/// The kind of work a result is for. Try results are kept apart from post-submit ones:
/// they never show where post-submit results are asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Work {
    PostSubmit,
    Try { change: i32, patch_set: i32 },
}

impl Work {
    /// (change, patch set) as stored; (0, 0) for post-submit.
    pub(crate) fn columns(self) -> (i32, i32) {
        match self {
            Work::PostSubmit => (0, 0),
            Work::Try { change, patch_set } => (change, patch_set),
        }
    }

    pub(crate) fn from_columns(change: i32, patch_set: i32) -> Work {
        if change == 0 {
            Work::PostSubmit
        } else {
            Work::Try { change, patch_set }
        }
    }
}

/// Which build a result is of.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResultKey {
    pub builder: String,
    /// The repo's short name: `go`, `net`, `build`.
    pub repo: String,
    /// The commit built (for a subrepo, the subrepo's commit).
    pub commit: String,
    /// The Go commit a subrepo was built against; empty for the main repo.
    pub go_commit: String,
    pub work: Work,
}

impl ResultKey {
    /// A post-submit build of the main repo.
    pub fn go(builder: &str, commit: &str) -> ResultKey {
        ResultKey::post_submit(builder, "go", commit, "")
    }

    pub fn post_submit(builder: &str, repo: &str, commit: &str, go_commit: &str) -> ResultKey {
        ResultKey {
            builder: builder.into(),
            repo: repo.into(),
            commit: commit.into(),
            go_commit: go_commit.into(),
            work: Work::PostSubmit,
        }
    }

    pub fn with_work(mut self, work: Work) -> ResultKey {
        self.work = work;
        self
    }
}

/// A result to record.
#[derive(Clone, Debug)]
pub struct NewResult {
    pub key: ResultKey,
    pub ok: bool,
    pub started: Time,
    pub run_time: Duration,
    /// The build's log; stored once per distinct text.
    pub log: Option<String>,
}

/// A recorded result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildResult {
    pub key: ResultKey,
    pub ok: bool,
    pub started: Time,
    pub run_time: Duration,
    /// The log's hash (`/log/<hash>`); empty when no log was recorded.
    pub log_hash: String,
    /// When the result was recorded.
    pub recorded: Time,
}

/// A build in progress (Go's `/building` markers), shown until it expires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Building {
    pub builder: String,
    pub repo: String,
    pub commit: String,
    pub go_commit: String,
    /// Where its live log is.
    pub url: String,
    pub expires: Time,
}

/// Which results to list; every field set must match. Newest recorded first.
#[derive(Clone, Debug, Default)]
pub struct ResultQuery {
    pub repo: Option<String>,
    pub builder: Option<String>,
    /// A commit hash or a prefix of one.
    pub commit: Option<String>,
    /// `Some(false)`: post-submit results only; `Some(true)`: try results only.
    pub try_work: Option<bool>,
    pub limit: usize,
}

/// The repo of a Go package path: `go` for the main repo (empty path),
/// `net` for `golang.org/x/net`; `None` for anything else.
pub fn repo_of_package_path(path: &str) -> Option<&str> {
    if path.is_empty() {
        return Some("go");
    }
    let name = path.strip_prefix("golang.org/x/")?;
    let ok = !name.is_empty()
        && name != "go"
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    ok.then_some(name)
}

/// The Go package path of a repo: empty for `go`, `golang.org/x/<repo>` otherwise.
pub fn package_path_of_repo(repo: &str) -> String {
    if repo == "go" {
        String::new()
    } else {
        format!("golang.org/x/{repo}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_paths_and_repos() {
        assert_eq!(repo_of_package_path(""), Some("go"));
        assert_eq!(repo_of_package_path("golang.org/x/net"), Some("net"));
        assert_eq!(repo_of_package_path("golang.org/x/"), None);
        assert_eq!(repo_of_package_path("golang.org/x/go"), None);
        assert_eq!(repo_of_package_path("golang.org/x/net/http2"), None);
        assert_eq!(repo_of_package_path("github.com/x/net"), None);
        assert_eq!(package_path_of_repo("go"), "");
        assert_eq!(package_path_of_repo("net"), "golang.org/x/net");
    }
}
