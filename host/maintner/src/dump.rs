//! A textual dump of the corpus in the format of `testdata/maintner-go/expected.txt`
//! (what Go's maintner loads from a log): counts, then every repo, issue, comment, event,
//! Gerrit project, CL, message and git commit. Used to compare our loader with Go's, and
//! handy for eyeballing a recorded corpus.

use std::fmt::Write;

use crate::corpus::Corpus;
use crate::github::{GitHub, MilestoneRef};
use crate::intern::Interner;
use crate::time::Time;

/// Go's `%q` for a string: double-quoted with Go escapes.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn t(time: Option<Time>) -> String {
    time.map_or_else(|| "-".to_owned(), Time::rfc3339)
}

fn user(gh: &GitHub, strings: &Interner, id: Option<crate::github::UserId>) -> String {
    match id {
        Some(id) => format!("{id}/{}", gh.login(strings, id).unwrap_or_default()),
        None => "-".to_owned(),
    }
}

/// Renders the corpus like `expected.txt`.
pub fn render(c: &Corpus) -> String {
    let mut o = String::new();
    let s = c.stats();
    let problems = c.check();
    let _ = writeln!(
        o,
        "corpus.Check: {}",
        problems.first().map_or("ok", String::as_str)
    );
    let m = &s.mutations;
    let _ = writeln!(
        o,
        "mutations: {}  (github_issue={} github={} git={} gerrit={})",
        m.total, m.github_issue, m.github, m.git, m.gerrit
    );
    let _ = writeln!(o, "github_repos: {}", s.github_repos);
    let _ = writeln!(
        o,
        "github_issues: {} (not_exist={} closed={})",
        s.github_issues, s.github_issues_not_exist, s.github_issues_closed
    );
    let _ = writeln!(o, "github_comments: {}", s.github_comments);
    let _ = writeln!(o, "github_events: {}", s.github_events);
    let _ = writeln!(
        o,
        "github_labels: {}  github_milestones: {}",
        s.github_labels, s.github_milestones
    );
    let _ = writeln!(o, "gerrit_projects: {}", s.gerrit_projects);
    let statuses: Vec<String> = s
        .gerrit_cl_statuses
        .iter()
        .map(|(k, v)| format!("{k}:{v}"))
        .collect();
    let _ = writeln!(
        o,
        "gerrit_cls: {} (messages={} statuses=map[{}])",
        s.gerrit_cls,
        s.gerrit_messages,
        statuses.join(" ")
    );
    let _ = writeln!(
        o,
        "git_commits: {} (distinct sha1s in mutations that resolve via Corpus.GitCommit; {} distinct seen)",
        s.git_commits,
        s.git_commits + m.rejected_commits
    );
    o.push_str("--- dump\n");
    render_github(c, &mut o);
    render_gerrit(c, &mut o);
    render_git(c, &mut o);
    o
}

fn render_github(c: &Corpus, o: &mut String) {
    let (gh, st) = (&c.github, &c.strings);
    for rid in gh.repos_sorted(st) {
        let repo = gh.repo(rid);
        let _ = writeln!(
            o,
            "repo {}/{}",
            st.resolve(repo.owner),
            st.resolve(repo.name)
        );
        for (id, name) in &repo.labels {
            let _ = writeln!(o, "  label {id} {}", go_quote(st.resolve(*name)));
        }
        for ms in repo.milestones.values() {
            let _ = writeln!(
                o,
                "  milestone {} num={} {} closed={}",
                ms.id,
                ms.number,
                go_quote(st.resolve(ms.title)),
                ms.closed
            );
        }
        for issue in repo.issues.values() {
            let milestone = match issue.milestone {
                MilestoneRef::Id(id) => {
                    let title = repo.milestones.get(&id).map_or("", |m| st.resolve(m.title));
                    format!("{id}/{}", go_quote(title))
                }
                _ => "-".to_owned(),
            };
            let mut labels: Vec<&str> = issue
                .labels
                .iter()
                .filter_map(|l| repo.labels.get(l))
                .map(|s| st.resolve(*s))
                .collect();
            labels.sort_unstable();
            let _ = writeln!(
                o,
                "  issue #{} id={} notexist={} closed={} locked={} user={} created={} updated={} closedAt={} title={} bodylen={} milestone={} labels=[{}] assignees={}",
                issue.number,
                issue.id,
                issue.not_exist,
                issue.closed,
                issue.locked,
                user(gh, st, issue.user),
                t(issue.created),
                t(issue.updated),
                t(issue.closed_at),
                go_quote(&issue.title),
                issue.body.len(),
                milestone,
                labels.join(" "),
                issue.assignees.len()
            );
            for cm in issue.comments_by_time() {
                let login = cm
                    .user
                    .and_then(|u| gh.login(st, u))
                    .unwrap_or_else(|| "-".into());
                let _ = writeln!(
                    o,
                    "    comment {} user={login} created={} updated={} body={}",
                    cm.id,
                    t(cm.created),
                    t(cm.updated),
                    go_quote(&cm.body)
                );
            }
            for ev in issue.events_by_time() {
                let _ = writeln!(
                    o,
                    "    event {} type={} created={}",
                    ev.id,
                    st.resolve(ev.event_type),
                    t(ev.created)
                );
            }
        }
    }
}

fn render_gerrit(c: &Corpus, o: &mut String) {
    let st = &c.strings;
    let mut pids: Vec<_> = c.gerrit.project_ids().collect();
    pids.sort_by_key(|p| st.resolve(c.gerrit.project(*p).name));
    for pid in pids {
        let p = c.gerrit.project(pid);
        let master = p
            .git_ref(st, "refs/heads/master")
            .map_or_else(|| "-".to_owned(), |h| h.hex());
        let _ = writeln!(
            o,
            "gerrit {} labelchanges={} master={master}",
            st.resolve(p.name),
            p.num_label_changes
        );
        for cl in p.cls.values() {
            let commit = cl.current_commit(&c.git);
            let subject = commit
                .and_then(|h| c.git.commit(&h))
                .map_or("", |gc| gc.summary());
            let _ = writeln!(
                o,
                "  cl {} status={} version={} created={} commit={} meta={} subject={} msgs={}",
                cl.number,
                cl.status.as_str(),
                cl.version(),
                t(cl.created),
                commit.map_or_else(|| "-".to_owned(), |h| h.hex()),
                cl.meta
                    .map_or_else(|| "-".to_owned(), |m| c.git.get(m).hash.hex()),
                go_quote(subject),
                cl.messages.len()
            );
            for msg in &cl.messages {
                let _ = writeln!(
                    o,
                    "    msg v{} {} {}",
                    msg.version,
                    msg.date.rfc3339(),
                    go_quote(&msg.text)
                );
            }
        }
    }
}

fn render_git(c: &Corpus, o: &mut String) {
    let st = &c.strings;
    let mut commits: Vec<_> = c.git.iter().map(|(_, gc)| gc).collect();
    commits.sort_by_key(|gc| gc.hash);
    for gc in commits {
        let _ = writeln!(
            o,
            "git {} parents={} author={} authorTime={} commitTime={} files={} summary={}",
            gc.hash,
            gc.parents.len(),
            go_quote(st.resolve(gc.author)),
            gc.author_time.rfc3339(),
            gc.commit_time.rfc3339(),
            gc.files.len(),
            go_quote(gc.summary())
        );
    }
}

#[cfg(test)]
mod tests {
    use super::go_quote;

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote("a\"b\\c\nd"), r#""a\"b\\c\nd""#);
        assert_eq!(go_quote("\u{1}é"), r#""\x01é""#);
    }
}
