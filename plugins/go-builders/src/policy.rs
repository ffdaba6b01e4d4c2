//! Which work a builder takes: Go's BuildsRepoPostSubmit and BuildsRepoTryBot, whose
//! common part (buildsRepoAtAll) refuses old release branches before a builder's own
//! repo rules decide.

use crate::builders::Conf;
use crate::exports::xbuild::platform::builder_config::{RepoRule, Work};
use crate::xbuild::platform::types::WorkKind;

/// Go's repos on go.googlesource.com besides go itself: the golang.org/x/ repos.
const X_REPOS: &[&str] = &[
    "arch",
    "benchmarks",
    "blog",
    "build",
    "crypto",
    "debug",
    "exp",
    "image",
    "mobile",
    "mod",
    "net",
    "oauth2",
    "perf",
    "pkgsite",
    "pkgsite-metrics",
    "review",
    "sync",
    "sys",
    "talks",
    "telemetry",
    "term",
    "text",
    "time",
    "tools",
    "tour",
    "vuln",
    "vulndb",
    "website",
    "xerrors",
];

/// The x/ repos a builder tests only when it opts in (Go's buildRepoByDefault).
const OPT_IN_REPOS: &[&str] = &[
    "build",
    "exp",
    "mobile",
    "pkgsite-metrics",
    "vulndb",
    "website",
];

/// The oldest Go release branch still built, as in Go's buildsRepoAtAll.
const MIN_GO1_MINOR: u32 = 11;

/// Every branch of `repo`.
fn rule(repo: &str) -> RepoRule {
    RepoRule {
        repo: repo.into(),
        branches: vec![],
        exclude: false,
    }
}

/// Post-submit: go everywhere; the x/ repos but the opt-in ones on the builders of
/// the subrepo allow-list. Other repos are not Go's to build.
pub fn repos(b: &Conf) -> Vec<RepoRule> {
    let mut rules = vec![rule("go")];
    if b.builds_subrepos() {
        rules.extend(default_x_repos().map(rule));
    }
    rules
}

/// Trybots: go on every trybot; the x/ repos on trybots that build them.
pub fn try_repos(b: &Conf) -> Vec<RepoRule> {
    if b.try_bot {
        repos(b)
    } else {
        vec![]
    }
}

fn default_x_repos() -> impl Iterator<Item = &'static str> {
    X_REPOS
        .iter()
        .copied()
        .filter(|r| !OPT_IN_REPOS.contains(r))
}

/// Whether `b` takes `work`. Release builds may use any builder: Go's release tool
/// took builders, such as freebsd-amd64-gce101 and linux-s390x-crosscompile, that
/// TryOnly kept off post-submit.
pub fn takes(b: &Conf, work: &Work) -> bool {
    if !branches_supported(work) {
        return false;
    }
    let repos = matches(&repos(b), work);
    match work.kind {
        WorkKind::Try => b.try_bot && matches(&try_repos(b), work) && repos,
        WorkKind::PostSubmit => !b.try_only && repos,
        WorkKind::Release => repos,
    }
}

/// The Go branch a subrepo is tested against defaults to master; for go it is the
/// branch itself. Neither may be a release branch older than go1.11.
fn branches_supported(work: &Work) -> bool {
    let go_branch = match (&work.go_branch, work.repo.as_str()) {
        (_, "go") => work.branch.as_str(),
        (Some(b), _) => b.as_str(),
        (None, _) => "master",
    };
    !work.branch.is_empty() && !old_release_branch(&work.branch) && !old_release_branch(go_branch)
}

/// "release-branch.go1.N" with N below 11, or any older naming ("release-branch.go1",
/// "release-branch.r60").
fn old_release_branch(branch: &str) -> bool {
    let Some(rest) = branch.strip_prefix("release-branch.") else {
        return false;
    };
    let minor = rest.strip_prefix("go1.").and_then(|m| {
        let digits = m.split(|c: char| !c.is_ascii_digit()).next()?;
        digits.parse::<u32>().ok()
    });
    minor.is_none_or(|m| m < MIN_GO1_MINOR)
}

/// The first rule naming the repo (or "*") and one of the branch prefixes decides;
/// no rule means no.
fn matches(rules: &[RepoRule], work: &Work) -> bool {
    rules
        .iter()
        .find(|r| {
            (r.repo == "*" || r.repo == work.repo)
                && (r.branches.is_empty()
                    || r.branches
                        .iter()
                        .any(|p| work.branch.starts_with(p.as_str())))
        })
        .is_some_and(|r| !r.exclude)
}
