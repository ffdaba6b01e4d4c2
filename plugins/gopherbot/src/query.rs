//! Paged corpus queries as plain loops: every page of a list, in the host's order.
//! Each issue or change is announced to the host before the rule decides on it, so a
//! trap is pinned on it and costs the rule only that one.

use crate::xbuild::platform::corpus::{
    self, Change, ChangeMessage, ChangeQuery, ChangeStatus, Issue, IssueComment, IssueEvent,
    IssueQuery, StateFilter,
};
use crate::xbuild::platform::progress::{self, Subject};
use crate::xbuild::platform::types::IssueRef;

pub const GO_REPO: &str = "golang/go";

/// The Gerrit projects of go.googlesource.com a rule over changes looks at; a project
/// the corpus does not track is skipped.
pub const GO_PROJECTS: &[&str] = &[
    "go",
    "build",
    "tools",
    "net",
    "sys",
    "crypto",
    "text",
    "mobile",
    "website",
    "pkgsite",
    "exp",
    "term",
    "oauth2",
    "sync",
    "time",
    "image",
    "arch",
    "review",
    "vuln",
    "telemetry",
    "mod",
    "perf",
    "benchmarks",
    "debug",
    "tour",
    "scratch",
];

/// A query for golang/go issues in `state`, pull requests excluded.
pub fn issues_in(state: StateFilter) -> IssueQuery {
    IssueQuery {
        repo: GO_REPO.into(),
        state,
        labels: vec![],
        milestone: None,
        no_milestone: false,
        title_prefix: None,
        updated_since: None,
        pull_requests: Some(false),
        limit: 1000,
        cursor: None,
    }
}

/// Every issue `q` matches.
pub fn each_issue(
    mut q: IssueQuery,
    mut f: impl FnMut(Issue) -> Result<(), String>,
) -> Result<(), String> {
    loop {
        let page = corpus::issues(&q)?;
        for i in page.items {
            progress::deciding(&Subject::Issue(i.id.clone()));
            f(i)?;
        }
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => return Ok(()),
        }
    }
}

/// An issue's events, oldest first.
pub fn events(id: &IssueRef) -> Result<Vec<IssueEvent>, String> {
    let mut out = vec![];
    let mut cursor = None;
    loop {
        let page = corpus::issue_events(id, 1000, cursor.as_deref())?;
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// An issue's comments, oldest first.
pub fn comments(id: &IssueRef) -> Result<Vec<IssueComment>, String> {
    let mut out = vec![];
    let mut cursor = None;
    loop {
        let page = corpus::issue_comments(id, 1000, cursor.as_deref())?;
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// A change's messages, oldest first.
pub fn messages(c: &Change) -> Result<Vec<ChangeMessage>, String> {
    let mut out = vec![];
    let mut cursor = None;
    loop {
        let page = corpus::change_messages(&c.id, 1000, cursor.as_deref())?;
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// Every change in `status` of every tracked go.googlesource.com project.
pub fn each_change(
    status: ChangeStatus,
    mut f: impl FnMut(Change) -> Result<(), String>,
) -> Result<(), String> {
    for project in GO_PROJECTS {
        let mut q = ChangeQuery {
            project: format!("go.googlesource.com/{project}"),
            status,
            branch: None,
            owner: None,
            hashtag: None,
            vote: None,
            include_private: false,
            limit: 1000,
            cursor: None,
        };
        loop {
            let page = match corpus::changes(&q) {
                Ok(p) => p,
                Err(e) if e.contains("unknown Gerrit project") => break,
                Err(e) => return Err(e),
            };
            for c in page.items {
                progress::deciding(&Subject::Change(c.id.clone()));
                f(c)?;
            }
            match page.next_cursor {
                Some(c) => q.cursor = Some(c),
                None => break,
            }
        }
    }
    Ok(())
}

/// Whether the issue has an event of `kind` (any label, any milestone).
pub fn has_event(events: &[IssueEvent], kind: &str) -> bool {
    events.iter().any(|e| e.kind == kind)
}

/// Whether someone ever set or took away a milestone: a person's milestone decision
/// that a rule must not overrule.
pub fn has_milestone_history(events: &[IssueEvent]) -> bool {
    has_event(events, "milestoned") || has_event(events, "demilestoned")
}
