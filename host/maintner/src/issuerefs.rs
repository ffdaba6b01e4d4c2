//! GitHub issue references in commit and change messages (Go's `parseGithubRefs` in
//! maintner/gerrit.go): `owner/repo#N` anywhere, and a bare `#N` for the main Go
//! repository, where it means `golang/go#N`.
//!
//! Equivalent to Go's regexp `(?:\b([\w\-]+)/([\w\-]+))?\#(\d+)\b` without a regex engine:
//! only `#` positions are examined, so messages without `#` cost one scan.

/// A reference found in a message: lowercased owner and repo, and the issue number.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IssueRefText {
    pub owner: String,
    pub repo: String,
    pub number: i32,
}

/// Does a bare `#N` in this repository refer to golang/go? (Gerrit project
/// `go.googlesource.com/go`, or the plain git repo `go`.)
pub fn bare_refs_mean_golang_go(project: &str) -> bool {
    project == "go.googlesource.com/go" || project == "go"
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_name(b: u8) -> bool {
    is_word(b) || b == b'-'
}

/// The references in `msg`, deduplicated, in order of appearance. `project` decides what a
/// bare `#N` means (see [`bare_refs_mean_golang_go`]).
pub fn parse_github_refs(project: &str, msg: &str) -> Vec<IssueRefText> {
    let b = msg.as_bytes();
    let mut out: Vec<IssueRefText> = Vec::new();
    let mut from = 0;
    while let Some(i) = msg[from..].find('#').map(|i| from + i) {
        from = i + 1;
        let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        let end = i + 1 + digits;
        if digits == 0 || b.get(end).is_some_and(|&c| is_word(c)) {
            continue;
        }
        let Ok(number) = msg[i + 1..end].parse::<i32>() else {
            continue;
        };
        let (owner, repo) = match owner_repo_before(b, i) {
            Some((o, r)) => (msg[o].to_ascii_lowercase(), msg[r].to_ascii_lowercase()),
            None if bare_refs_mean_golang_go(project) => ("golang".into(), "go".into()),
            None => continue,
        };
        let r = IssueRefText {
            owner,
            repo,
            number,
        };
        if !out.contains(&r) {
            out.push(r);
        }
    }
    out
}

/// The byte ranges of `owner` and `repo` in `owner/repo#`, where `hash` is the `#`.
fn owner_repo_before(
    b: &[u8],
    hash: usize,
) -> Option<(std::ops::Range<usize>, std::ops::Range<usize>)> {
    let run_start = |end: usize| {
        let mut s = end;
        while s > 0 && is_name(b[s - 1]) {
            s -= 1;
        }
        s
    };
    let repo_start = run_start(hash);
    if repo_start == hash || repo_start == 0 || b[repo_start - 1] != b'/' {
        return None;
    }
    let slash = repo_start - 1;
    let mut owner_start = run_start(slash);
    // `\b` before the owner: it must begin with a word character.
    while owner_start < slash && b[owner_start] == b'-' {
        owner_start += 1;
    }
    if owner_start == slash {
        return None;
    }
    Some((owner_start..slash, repo_start..hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(project: &str, msg: &str) -> Vec<String> {
        parse_github_refs(project, msg)
            .into_iter()
            .map(|r| format!("{}/{}#{}", r.owner, r.repo, r.number))
            .collect()
    }

    #[test]
    fn like_test_parse_github_refs() {
        let go = "go.googlesource.com/go";
        assert_eq!(refs(go, "Fixes #1234"), ["golang/go#1234"]);
        assert_eq!(refs(go, "foo\n\nFixes #1234\nbar"), ["golang/go#1234"]);
        assert_eq!(refs(go, "Fixes #1234."), ["golang/go#1234"]);
        assert_eq!(
            refs("go.googlesource.com/net", "Fixes golang/go#1234."),
            ["golang/go#1234"]
        );
        assert_eq!(
            refs("go.googlesource.com/net", "Fixes #1234"),
            Vec::<String>::new()
        );
        assert_eq!(
            refs(go, "Updates Golang/Go#1 and #1 and x/y#2"),
            ["golang/go#1", "x/y#2"]
        );
        assert_eq!(
            refs(go, "no refs: #abc, #12x, a#, ##"),
            Vec::<String>::new()
        );
        assert_eq!(refs("go", "see -foo/bar-baz#7"), ["foo/bar-baz#7"]);
    }
}
