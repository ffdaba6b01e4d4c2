//! Counts of what the corpus holds — what `xb corpus stats` prints.

use std::collections::BTreeMap;
use std::fmt;

use crate::corpus::{Corpus, MutationCounts};

/// Counts over the whole corpus. Computed on demand by walking it (not on a hot path).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    pub mutations: MutationCounts,
    pub github_repos: u64,
    pub github_users: u64,
    pub github_issues: u64,
    pub github_issues_not_exist: u64,
    pub github_issues_closed: u64,
    pub github_pull_requests: u64,
    pub github_comments: u64,
    pub github_events: u64,
    pub github_reviews: u64,
    pub github_labels: u64,
    pub github_milestones: u64,
    pub gerrit_projects: u64,
    pub gerrit_cls: u64,
    pub gerrit_cl_statuses: BTreeMap<String, u64>,
    pub gerrit_messages: u64,
    pub gerrit_patch_sets: u64,
    pub gerrit_votes: u64,
    pub gerrit_unknown_footers: u64,
    pub git_commits: u64,
    pub git_placeholders: u64,
    pub try_work: u64,
    pub interned_strings: u64,
}

/// Counts what `c` holds.
pub fn stats(c: &Corpus) -> Stats {
    let mut s = Stats {
        mutations: c.mutation_counts(),
        github_repos: c.github.repo_count() as u64,
        github_users: c.github.user_count() as u64,
        gerrit_projects: c.gerrit.project_count() as u64,
        git_commits: c.git.len() as u64,
        git_placeholders: c.git.placeholders() as u64,
        try_work: c.try_work.len() as u64,
        interned_strings: c.strings.len() as u64,
        ..Default::default()
    };
    for rid in c.github.repos_sorted(&c.strings) {
        let repo = c.github.repo(rid);
        s.github_labels += repo.labels.len() as u64;
        s.github_milestones += repo.milestones.len() as u64;
        for issue in repo.issues.values() {
            s.github_issues += 1;
            s.github_issues_not_exist += u64::from(issue.not_exist);
            s.github_issues_closed += u64::from(issue.closed);
            s.github_pull_requests += u64::from(issue.pull_request);
            s.github_comments += issue.comments.len() as u64;
            s.github_events += issue.events.len() as u64;
            s.github_reviews += issue.reviews.len() as u64;
        }
    }
    for pid in c.gerrit.project_ids() {
        for cl in c.gerrit.project(pid).cls.values() {
            s.gerrit_cls += 1;
            *s.gerrit_cl_statuses
                .entry(cl.status.as_str().to_owned())
                .or_default() += 1;
            s.gerrit_messages += cl.messages.len() as u64;
            s.gerrit_patch_sets += cl.patch_sets.len() as u64;
            s.gerrit_votes += cl
                .patch_sets
                .iter()
                .map(|p| p.votes.len() as u64)
                .sum::<u64>();
            s.gerrit_unknown_footers += cl.unknown_footers.len() as u64;
        }
    }
    s
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.mutations;
        writeln!(
            f,
            "mutations: {} (github_issue={} github={} git={} gerrit={} with_unknown_fields={})",
            m.total, m.github_issue, m.github, m.git, m.gerrit, m.with_unknown_fields
        )?;
        writeln!(
            f,
            "github_repos: {}  github_users: {}",
            self.github_repos, self.github_users
        )?;
        writeln!(
            f,
            "github_issues: {} (not_exist={} closed={} pull_requests={})",
            self.github_issues,
            self.github_issues_not_exist,
            self.github_issues_closed,
            self.github_pull_requests
        )?;
        writeln!(
            f,
            "github_comments: {}  github_events: {}  github_reviews: {}",
            self.github_comments, self.github_events, self.github_reviews
        )?;
        writeln!(
            f,
            "github_labels: {}  github_milestones: {}",
            self.github_labels, self.github_milestones
        )?;
        writeln!(f, "gerrit_projects: {}", self.gerrit_projects)?;
        let statuses: Vec<String> = self
            .gerrit_cl_statuses
            .iter()
            .map(|(k, v)| format!("{k}:{v}"))
            .collect();
        writeln!(
            f,
            "gerrit_cls: {} (messages={} patch_sets={} votes={} unknown_footers={} statuses={})",
            self.gerrit_cls,
            self.gerrit_messages,
            self.gerrit_patch_sets,
            self.gerrit_votes,
            self.gerrit_unknown_footers,
            statuses.join(",")
        )?;
        writeln!(
            f,
            "git_commits: {} (placeholders={})",
            self.git_commits, self.git_placeholders
        )?;
        writeln!(f, "try_work: {}", self.try_work)?;
        writeln!(f, "interned_strings: {}", self.interned_strings)
    }
}

impl Corpus {
    pub fn stats(&self) -> Stats {
        stats(self)
    }
}
