//! What gets built: a unit of work (a commit or a try patch set) on a builder.

use dashboard::model::{ResultKey, Work as ResultWork};
use maintner::time::Time;

/// Post-submit or try work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WorkKind {
    PostSubmit,
    Try { change: i32, patch_set: i32 },
}

/// A commit of a repo to build, and for a subrepo the Go commit to build it against.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Work {
    pub kind: WorkKind,
    /// Short name: `go`, `net`, `demo`.
    pub repo: String,
    pub branch: String,
    pub commit: String,
    pub go_branch: Option<String>,
    pub go_commit: Option<String>,
    pub commit_time: Time,
}

impl Work {
    pub fn is_try(&self) -> bool {
        matches!(self.kind, WorkKind::Try { .. })
    }

    /// The work as the builder-config plugin sees it.
    pub fn to_wit(&self) -> runtime::Work {
        runtime::Work {
            kind: match self.kind {
                WorkKind::PostSubmit => runtime::WorkKind::PostSubmit,
                WorkKind::Try { .. } => runtime::WorkKind::Try,
            },
            repo: self.repo.clone(),
            branch: self.branch.clone(),
            commit: self.commit.clone(),
            go_branch: self.go_branch.clone(),
            go_commit: self.go_commit.clone(),
        }
    }
}

/// One build: work on a builder (of a host type).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BuildSpec {
    pub builder: String,
    pub host_type: String,
    pub work: Work,
}

impl BuildSpec {
    /// Where its result is recorded; also what makes two builds the same build.
    pub fn key(&self) -> ResultKey {
        let w = &self.work;
        let key = ResultKey::post_submit(
            &self.builder,
            &w.repo,
            &w.commit,
            w.go_commit.as_deref().unwrap_or(""),
        );
        match w.kind {
            WorkKind::PostSubmit => key,
            WorkKind::Try { change, patch_set } => {
                key.with_work(ResultWork::Try { change, patch_set })
            }
        }
    }

    /// `builder@repo:commit[7]` for logs and pages.
    pub fn title(&self) -> String {
        let w = &self.work;
        let short = &w.commit[..w.commit.len().min(10)];
        match w.kind {
            WorkKind::PostSubmit => format!("{} {}@{short}", self.builder, w.repo),
            WorkKind::Try { change, patch_set } => {
                format!(
                    "{} {}@{short} (try {change},{patch_set})",
                    self.builder, w.repo
                )
            }
        }
    }
}
