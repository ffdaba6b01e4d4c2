//! Reading the corpus a page at a time, and the title conventions of Go's repos.

use crate::xbuild::platform::corpus::{
    self, Change, ChangeQuery, ChangeStatus, Issue, IssueQuery, StateFilter,
};

/// The GitHub repo whose issues the release dashboard shows.
pub const ISSUES_REPO: &str = "golang/go";
/// Most items one page reads from the corpus.
const MAX_ITEMS: usize = 50_000;

/// Every issue of `ISSUES_REPO` in `state` (pull requests left out).
pub fn issues(state: StateFilter) -> Result<Vec<Issue>, String> {
    let mut out = vec![];
    let mut cursor = None;
    loop {
        let p = corpus::issues(&IssueQuery {
            repo: ISSUES_REPO.into(),
            state,
            labels: vec![],
            milestone: None,
            no_milestone: false,
            title_prefix: None,
            updated_since: None,
            pull_requests: Some(false),
            limit: 1000,
            cursor: cursor.take(),
        })?;
        out.extend(p.items);
        match p.next_cursor {
            Some(c) if out.len() < MAX_ITEMS => cursor = Some(c),
            _ => return Ok(out),
        }
    }
}

/// Every change of every project in `status`; projects the corpus cannot list are
/// skipped.
pub fn changes(status: ChangeStatus) -> Vec<Change> {
    let mut out = vec![];
    for project in corpus::projects() {
        let mut cursor = None;
        loop {
            let q = ChangeQuery {
                project: project.clone(),
                status,
                branch: None,
                owner: None,
                hashtag: None,
                vote: None,
                include_private: false,
                limit: 1000,
                cursor: cursor.take(),
            };
            let Ok(p) = corpus::changes(&q) else { break };
            out.extend(p.items);
            match p.next_cursor {
                Some(c) if out.len() < MAX_ITEMS => cursor = Some(c),
                _ => break,
            }
        }
    }
    out
}

/// The directories a title's prefix names: "net/http, cmd/go: fix" is
/// ["net/http", "cmd/go"]; no prefix is [""] (Go's devapp titleDirs).
pub fn title_dirs(title: &str) -> Vec<String> {
    let Some((prefix, _)) = title.split_once(':') else {
        return vec![String::new()];
    };
    let prefix: String = prefix.chars().filter(|c| !c.is_whitespace()).collect();
    if prefix.is_empty() || prefix.contains(['(', '[', '"']) {
        return vec![String::new()];
    }
    prefix.split(',').map(str::to_string).collect()
}

/// The project's short name: "go.googlesource.com/build" is "build".
pub fn short_project(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// Where a change is reviewed.
pub fn change_url(c: &Change) -> String {
    let host = c.id.project.split('/').next().unwrap_or("");
    match host.strip_suffix(".googlesource.com") {
        Some("go") => format!("https://go.dev/cl/{}", c.id.number),
        Some(sub) => format!("https://{sub}-review.googlesource.com/c/{}", c.id.number),
        None => format!("https://go-review.googlesource.com/c/{}", c.id.number),
    }
}

pub fn issue_url(n: u32) -> String {
    format!("https://go.dev/issue/{n}")
}

/// The golang/go issue numbers a change references.
pub fn issue_numbers(c: &Change) -> Vec<u32> {
    c.issue_refs
        .iter()
        .filter_map(|r| r.strip_prefix("golang/go#")?.parse().ok())
        .collect()
}
