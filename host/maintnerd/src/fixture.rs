//! Fixture builder: turns the real golang.org/x/build history in
//! `testdata/golang-build-commits.jsonl` into a git repository plus a Gerrit remote with
//! `refs/changes/*` and NoteDB `meta` refs (meta commits as Gerrit writes them), so the
//! real ingestion can be run against it. Everything is deterministic: dates come from the
//! data, so hashes are stable.
//!
//! File contents are synthetic (the data has only numstat): each file is a run of unique
//! numbered lines; a change deletes lines from the top and appends new ones, so
//! `git diff-tree --numstat` reproduces the recorded counts.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;

use crate::git::{self, GitError};

/// The per-server UUID Gerrit appends to account ids in NoteDB identities.
pub const GERRIT_SERVER_UUID: &str = "62eb7196-b449-3ce5-99f1-c037f21e1705";

#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("{path}:{line}: {what}")]
    Data {
        path: String,
        line: usize,
        what: String,
    },
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Git(#[from] GitError),
}

/// One line of `golang-build-commits.jsonl`.
#[derive(Debug, Clone, Deserialize)]
pub struct HistoryCommit {
    pub hash: String,
    pub parents: Vec<String>,
    pub author: Signature,
    pub committer: Signature,
    pub message: String,
    pub files: Vec<HistoryFile>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Signature {
    pub name: String,
    pub email: String,
    /// RFC 3339.
    pub date: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HistoryFile {
    pub path: String,
    /// `None` for binary files.
    pub added: Option<i64>,
    pub deleted: Option<i64>,
}

/// Reads the history file, reporting the line of any bad record.
pub fn read_history(path: &Path) -> Result<Vec<HistoryCommit>, FixtureError> {
    let text = std::fs::read_to_string(path).map_err(|source| FixtureError::Io {
        path: path.display().to_string(),
        source,
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| FixtureError::Data {
                path: path.display().to_string(),
                line: i + 1,
                what: e.to_string(),
            })
        })
        .collect()
}

/// Where a change of the fixture stands with respect to trybots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryState {
    /// Merged change reconstructed from the history's trailers.
    Merged,
    /// Open, nobody asked for trybots.
    NoRunTryBot,
    /// Open, `Run-TryBot+1` and no result yet: this is try work.
    Pending,
    /// Open, trybots passed.
    Passed,
    /// Open, trybots failed.
    Failed,
    /// Open, voted and failed on patch set 1, then patch set 2 was uploaded (no new votes).
    NewPatchSetAfterVote,
    /// Open, patch set 2 uploaded after a failed run and `Run-TryBot+1` asked again: try work.
    RetryOnNewPatchSet,
    /// Open, `Run-TryBot+1` then `-Run-TryBot` (vote removed).
    VoteRemoved,
}

impl TryState {
    /// The open states, one change each.
    pub const OPEN: [TryState; 7] = [
        TryState::NoRunTryBot,
        TryState::Pending,
        TryState::Passed,
        TryState::Failed,
        TryState::NewPatchSetAfterVote,
        TryState::RetryOnNewPatchSet,
        TryState::VoteRemoved,
    ];

    /// Whether the change is waiting for trybots, as Go's maintnerd `GoFindTryWork` asks
    /// Gerrit: open, Run-TryBot=+1 and no TryBot-Result on the current patch set.
    pub fn is_try_work(self) -> bool {
        matches!(self, TryState::Pending | TryState::RetryOnNewPatchSet)
    }
}

/// A change the fixture created on the Gerrit remote.
#[derive(Debug, Clone)]
pub struct FixtureChange {
    pub number: i32,
    pub change_id: String,
    pub state: TryState,
    /// Commit of the current patch set.
    pub commit: String,
    pub patch_sets: i32,
}

/// What [`build`] made.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// Hash of each history commit, in history order.
    pub commits: Vec<String>,
    pub changes: Vec<FixtureChange>,
}

/// Options for [`build`].
#[derive(Debug, Clone, Default)]
pub struct FixtureOptions {
    /// How many of the most recent reviewed commits get a Gerrit change with NoteDB metas
    /// (all of them if `None`). Keeps a recorded corpus small.
    pub merged_changes: Option<usize>,
}

/// Builds the bare repository `repo` with `refs/heads/master` = `history` and, on top, the
/// Gerrit changes (`refs/changes/NN/N/{1,2,..,meta}`).
pub fn build(
    history: &[HistoryCommit],
    repo: &Path,
    opts: &FixtureOptions,
) -> Result<Fixture, FixtureError> {
    git::init_bare(repo)?;
    let commits = import_history(history, repo)?;
    let mut accounts = Accounts::default();
    let mut stream = String::new();
    let mut changes = merged_changes(history, &commits, opts, &mut accounts, &mut stream);
    let first_open = changes.iter().map(|c| c.number).max().unwrap_or(0) + 1;
    let tip = commits.last().cloned().unwrap_or_default();
    let tip_time = history
        .last()
        .map(|c| unix_time(&c.committer.date).0)
        .unwrap_or(1_500_000_000);
    let mut open = open_patch_sets(first_open, &tip, tip_time, &mut stream);
    let marks = fast_import(repo, &stream)?;
    for c in open.iter_mut() {
        let mark = &c.commit[1..];
        c.commit = marks.get(mark).cloned().ok_or_else(|| FixtureError::Data {
            path: "fast-import marks".into(),
            line: 0,
            what: format!("no mark {mark}"),
        })?;
    }
    let mut metas = String::new();
    open_metas(&open, &marks, tip_time, &mut accounts, &mut metas);
    fast_import(repo, &metas)?;
    changes.append(&mut open);
    Ok(Fixture { commits, changes })
}

/// A Gerrit project whose master holds `history` and no change yet. Returns the commits.
pub fn project(history: &[HistoryCommit], repo: &Path) -> Result<Vec<String>, FixtureError> {
    git::init_bare(repo)?;
    import_history(history, repo)
}

/// Writes the history with `git fast-import` and returns the new hash of each commit.
fn import_history(history: &[HistoryCommit], repo: &Path) -> Result<Vec<String>, FixtureError> {
    let mut files: HashMap<String, (i64, i64)> = HashMap::new();
    let mut s = String::new();
    for (i, c) in history.iter().enumerate() {
        let _ = writeln!(s, "commit refs/heads/master\nmark :{}", i + 1);
        let _ = writeln!(s, "author {}", ident(&c.author));
        let _ = writeln!(s, "committer {}", ident(&c.committer));
        data(&mut s, &c.message);
        if i > 0 {
            // First-parent history: the data has no second parents to point at.
            let _ = writeln!(s, "from :{i}");
        }
        for f in &c.files {
            file_change(&mut s, &mut files, f, i);
        }
        s.push('\n');
    }
    let marks = fast_import(repo, &s)?;
    (1..=history.len())
        .map(|i| {
            marks
                .get(&i.to_string())
                .cloned()
                .ok_or_else(|| FixtureError::Data {
                    path: "fast-import marks".into(),
                    line: i,
                    what: "commit missing from marks".into(),
                })
        })
        .collect()
}

/// Appends the fast-import file command that reproduces one numstat entry.
fn file_change(s: &mut String, files: &mut HashMap<String, (i64, i64)>, f: &HistoryFile, i: usize) {
    let path = rename_target(&f.path);
    let (Some(added), Some(deleted)) = (f.added, f.deleted) else {
        let _ = writeln!(s, "M 100644 inline {path}");
        data(s, &format!("\0binary {path} at commit {i}\n"));
        return;
    };
    let (start, end) = files.entry(path.clone()).or_insert((0, 0));
    *start = (*start + deleted).min(*end);
    *end += added;
    if start == end && added == 0 {
        files.remove(&path);
        let _ = writeln!(s, "D {path}");
        return;
    }
    let mut content = String::new();
    for n in *start..*end {
        let _ = writeln!(content, "{n}");
    }
    let _ = writeln!(s, "M 100644 inline {path}");
    data(s, &content);
}

/// `a/{b => c}/d` → `a/c/d`; `a => b` → `b` (numstat's rename notation).
fn rename_target(path: &str) -> String {
    if let (Some(open), Some(close)) = (path.find('{'), path.find('}')) {
        if let Some((_, to)) = path[open + 1..close].split_once(" => ") {
            let joined = format!("{}{}{}", &path[..open], to, &path[close + 1..]);
            return joined.replace("//", "/");
        }
    }
    match path.split_once(" => ") {
        Some((_, to)) => to.to_string(),
        None => path.to_string(),
    }
}

fn data(s: &mut String, body: &str) {
    let _ = writeln!(s, "data {}", body.len());
    s.push_str(body);
    s.push('\n');
}

fn ident(sig: &Signature) -> String {
    let (secs, tz) = unix_time(&sig.date);
    format!("{} <{}> {secs} {tz}", sig.name, sig.email)
}

/// RFC 3339 → (unix seconds, "+hhmm").
fn unix_time(date: &str) -> (i64, String) {
    match chrono::DateTime::parse_from_rfc3339(date) {
        Ok(t) => {
            let off = t.offset().local_minus_utc() / 60;
            let sign = if off < 0 { '-' } else { '+' };
            (
                t.timestamp(),
                format!("{sign}{:02}{:02}", off.abs() / 60, off.abs() % 60),
            )
        }
        Err(_) => (0, "+0000".into()),
    }
}

fn fast_import(repo: &Path, stream: &str) -> Result<HashMap<String, String>, FixtureError> {
    let marks = tempfile_path(repo, "fixture-marks");
    let arg = format!("--export-marks={}", marks.display());
    git::run(
        repo,
        &["fast-import", "--quiet", "--force", &arg],
        Some(stream.as_bytes()),
        &[],
    )?;
    let text = std::fs::read_to_string(&marks).map_err(|source| FixtureError::Io {
        path: marks.display().to_string(),
        source,
    })?;
    let _ = std::fs::remove_file(&marks);
    Ok(text
        .lines()
        .filter_map(|l| l.strip_prefix(':')?.split_once(' '))
        .map(|(m, h)| (m.to_string(), h.to_string()))
        .collect())
}

fn tempfile_path(repo: &Path, name: &str) -> std::path::PathBuf {
    repo.join(format!("{name}-{}", std::process::id()))
}

/// Gerrit account ids, assigned in order of first appearance (deterministic).
#[derive(Default)]
struct Accounts {
    ids: HashMap<String, u32>,
}

impl Accounts {
    /// NoteDB identity `Name <id@uuid>`.
    fn ident(&mut self, name: &str, email: &str) -> String {
        let next = 5000 + self.ids.len() as u32;
        let id = *self.ids.entry(email.to_string()).or_insert(next);
        format!("{name} <{id}@{GERRIT_SERVER_UUID}>")
    }
}

/// `refs/changes/NN/N/suffix`, NN being the last two digits of N.
pub fn change_ref(number: i32, suffix: &str) -> String {
    format!("refs/changes/{:02}/{number}/{suffix}", number % 100)
}

/// The trailers Gerrit adds on submit that the fixture turns into votes.
struct Trailers {
    change: Option<i32>,
    change_id: Option<String>,
    run_trybot: Option<(String, String)>,
    trybot_result: Option<(String, String)>,
    reviewed_by: Vec<(String, String)>,
}

fn trailers(msg: &str) -> Trailers {
    let person = |v: &str| -> (String, String) {
        match v.rsplit_once('<') {
            Some((name, email)) => (
                name.trim().to_string(),
                email.trim_end_matches('>').trim().to_string(),
            ),
            None => (v.trim().to_string(), v.trim().to_string()),
        }
    };
    let mut t = Trailers {
        change: None,
        change_id: None,
        run_trybot: None,
        trybot_result: None,
        reviewed_by: Vec::new(),
    };
    for line in msg.lines() {
        if let Some(v) = line.strip_prefix("Reviewed-on: ") {
            let digits: String = v
                .trim_end_matches('/')
                .chars()
                .rev()
                .take_while(char::is_ascii_digit)
                .collect();
            t.change = digits.chars().rev().collect::<String>().parse().ok();
        } else if let Some(v) = line.strip_prefix("Change-Id: ") {
            t.change_id = Some(v.trim().to_string());
        } else if let Some(v) = line.strip_prefix("Run-TryBot: ") {
            t.run_trybot = Some(person(v));
        } else if let Some(v) = line.strip_prefix("TryBot-Result: ") {
            t.trybot_result = Some(person(v));
        } else if let Some(v) = line.strip_prefix("Reviewed-by: ") {
            t.reviewed_by.push(person(v));
        }
    }
    t
}

/// One NoteDB meta commit to write.
struct Meta {
    author: String,
    time: i64,
    message: String,
}

fn write_metas(s: &mut String, number: i32, metas: &[Meta]) {
    write_metas_from(s, number, metas, None)
}

/// Meta commits on change `number`'s meta ref, the first on top of `from` when given
/// (a chain that exists already).
fn write_metas_from(s: &mut String, number: i32, metas: &[Meta], mut from: Option<String>) {
    let r = change_ref(number, "meta");
    for m in metas {
        let _ = writeln!(s, "commit {r}");
        let _ = writeln!(s, "author {} {} +0000", m.author, m.time);
        let _ = writeln!(
            s,
            "committer Gerrit Code Review <noreply-gerritcodereview@google.com> {} +0000",
            m.time
        );
        data(s, &m.message);
        if let Some(tip) = from.take() {
            let _ = writeln!(s, "from {tip}");
        }
        s.push('\n');
    }
}

fn create_meta(
    author: String,
    time: i64,
    ps: i32,
    change_id: &str,
    subject: &str,
    commit: &str,
    branch: &str,
) -> Meta {
    let (title, body) = if ps == 1 {
        (
            "Create change".to_string(),
            "Uploaded patch set 1.".to_string(),
        )
    } else {
        (
            format!("Create patch set {ps}"),
            format!("Uploaded patch set {ps}."),
        )
    };
    let mut m = format!("{title}\n\n{body}\n\nPatch-set: {ps}\n");
    if ps == 1 {
        let _ = write!(
            m,
            "Change-id: {change_id}\nSubject: {subject}\nBranch: refs/heads/{branch}\nStatus: new\nTopic:\n"
        );
    } else {
        let _ = writeln!(m, "Subject: {subject}");
    }
    let _ = write!(
        m,
        "Commit: {commit}\nTag: autogenerated:gerrit:newPatchSet\nGroups: {commit}\n"
    );
    Meta {
        author,
        time,
        message: m,
    }
}

/// A vote meta; `label` like `Run-TryBot=+1`, or `-Run-TryBot` to remove the author's vote.
fn vote_meta(author: String, time: i64, ps: i32, label: &str, text: &str, reviewer: bool) -> Meta {
    let shown = label.replace('=', "");
    let mut m = format!("Update patch set {ps}\n\nPatch Set {ps}: {shown}\n");
    if !text.is_empty() {
        let _ = write!(m, "\n{text}\n");
    }
    let _ = write!(m, "\nPatch-set: {ps}\n");
    if reviewer {
        let _ = writeln!(m, "Reviewer: {author}");
    }
    let _ = writeln!(m, "Label: {label}");
    Meta {
        author,
        time,
        message: m,
    }
}

fn merged_changes(
    history: &[HistoryCommit],
    commits: &[String],
    opts: &FixtureOptions,
    accounts: &mut Accounts,
    s: &mut String,
) -> Vec<FixtureChange> {
    let reviewed: Vec<usize> = (0..history.len())
        .filter(|&i| trailers(&history[i].message).change.is_some())
        .collect();
    let keep = opts
        .merged_changes
        .unwrap_or(reviewed.len())
        .min(reviewed.len());
    let mut seen = std::collections::HashSet::new();
    let mut changes = Vec::new();
    for &i in &reviewed[reviewed.len() - keep..] {
        let c = &history[i];
        let t = trailers(&c.message);
        let number = t.change.unwrap_or_default();
        if !seen.insert(number) {
            continue; // a change number reused by a cherry-pick: keep the first
        }
        let sha = &commits[i];
        let change_id = t.change_id.clone().unwrap_or_else(|| format!("I{sha}"));
        let subject = c.message.lines().next().unwrap_or_default();
        let (start, _) = unix_time(&c.author.date);
        let (end, _) = unix_time(&c.committer.date);
        let mut time = start;
        let mut tick = || {
            time = (time + 60).max(start);
            time.min(end.max(start + 3600))
        };
        let owner = accounts.ident(&c.author.name, &c.author.email);
        let mut metas = vec![create_meta(
            owner, start, 1, &change_id, subject, sha, "master",
        )];
        if let Some((name, email)) = &t.run_trybot {
            let who = accounts.ident(name, email);
            metas.push(vote_meta(who, tick(), 1, "Run-TryBot=+1", "", false));
        }
        if let Some((name, email)) = &t.trybot_result {
            let who = accounts.ident(name, email);
            metas.push(vote_meta(
                who,
                tick(),
                1,
                "TryBot-Result=+1",
                "TryBots are happy.",
                false,
            ));
        }
        for (name, email) in &t.reviewed_by {
            let who = accounts.ident(name, email);
            metas.push(vote_meta(who, tick(), 1, "Code-Review=+2", "", true));
        }
        let submitter = accounts.ident(&c.committer.name, &c.committer.email);
        let merged = format!(
            "Update patch set 1\n\nChange has been successfully merged by {}\n\nPatch-set: 1\nStatus: merged\nSubmission-id: {number}-{end}\n",
            c.committer.name
        );
        metas.push(Meta {
            author: submitter,
            time: tick().max(end),
            message: merged,
        });
        let _ = write!(s, "reset {}\nfrom {sha}\n\n", change_ref(number, "1"));
        write_metas(s, number, &metas);
        changes.push(FixtureChange {
            number,
            change_id,
            state: TryState::Merged,
            commit: sha.clone(),
            patch_sets: 1,
        });
    }
    changes
}

/// Mark of an open change's patch-set commit in the fast-import stream.
fn open_mark(number: i32, ps: i32) -> i64 {
    1_000_000_000 + number as i64 * 10 + ps as i64
}

/// Time of step `step` of the `k`th open change (deterministic, after the history's tip).
fn open_time(tip_time: i64, k: usize, step: i64) -> i64 {
    tip_time + 3600 * (k as i64 + 1) + 60 * step
}

/// Writes the patch-set commits of one open change per [`TryState::OPEN`] state, numbered
/// from `first`, on top of `tip`. Their `commit` is a mark until the stream is imported.
fn open_patch_sets(first: i32, tip: &str, tip_time: i64, s: &mut String) -> Vec<FixtureChange> {
    let mut changes = Vec::new();
    for (k, state) in TryState::OPEN.into_iter().enumerate() {
        let number = first + k as i32;
        let change_id = format!("I{:040x}", 0xc0ffee_u64 + number as u64);
        let patch_sets = match state {
            TryState::NewPatchSetAfterVote | TryState::RetryOnNewPatchSet => 2,
            _ => 1,
        };
        for ps in 1..=patch_sets {
            let t = open_time(tip_time, k, 10 * ps as i64);
            let _ = writeln!(
                s,
                "commit {}\nmark :{}",
                change_ref(number, &ps.to_string()),
                open_mark(number, ps)
            );
            let _ = writeln!(
                s,
                "author Gopher Contributor <contributor@example.com> {t} +0000"
            );
            let _ = writeln!(
                s,
                "committer Gopher Contributor <contributor@example.com> {t} +0000"
            );
            data(
                s,
                &format!(
                    "{}\n\nPatch set {ps}.\n\nChange-Id: {change_id}\n",
                    open_subject(state)
                ),
            );
            let _ = writeln!(s, "from {tip}");
            let _ = writeln!(s, "M 100644 inline try/{number}.txt");
            // Each patch set changes more lines than the last: a real code change, so
            // the trybot votes are not copied (Gerrit's copyAllScoresIfNoChange).
            let lines: String = (1..=ps)
                .map(|l| format!("change {number} line {l}\n"))
                .collect();
            data(s, &lines);
            s.push('\n');
        }
        changes.push(FixtureChange {
            number,
            change_id,
            state,
            commit: format!(":{}", open_mark(number, patch_sets)),
            patch_sets,
        });
    }
    changes
}

fn open_subject(state: TryState) -> String {
    format!("dashboard: open change in state {state:?}")
}

/// Writes the NoteDB metas of the open changes, whose patch sets now have real hashes.
fn open_metas(
    changes: &[FixtureChange],
    marks: &HashMap<String, String>,
    tip_time: i64,
    accounts: &mut Accounts,
    s: &mut String,
) {
    let owner = accounts.ident("Gopher Contributor", "contributor@example.com");
    let reviewer = accounts.ident("Gopher Reviewer", "reviewer@example.com");
    let gobot = accounts.ident("Gopher Robot", "gobot@golang.org");
    for (k, c) in changes
        .iter()
        .filter(|c| c.state != TryState::Merged)
        .enumerate()
    {
        let mut metas = Vec::new();
        for ps in 1..=c.patch_sets {
            let mut step = 10 * ps as i64;
            let sha = marks
                .get(&open_mark(c.number, ps).to_string())
                .cloned()
                .unwrap_or_default();
            let t = open_time(tip_time, k, step);
            metas.push(create_meta(
                owner.clone(),
                t,
                ps,
                &c.change_id,
                &open_subject(c.state),
                &sha,
                "master",
            ));
            for (who, label) in open_votes(c.state, ps) {
                step += 1;
                let (author, text) = if *who == "G" {
                    (gobot.clone(), "TryBots finished.")
                } else {
                    (reviewer.clone(), "")
                };
                metas.push(vote_meta(
                    author,
                    open_time(tip_time, k, step),
                    ps,
                    label,
                    text,
                    false,
                ));
            }
        }
        write_metas(s, c.number, &metas);
    }
}

/// The votes cast on patch set `ps` of an open change in `state` ("R" reviewer, "G" gobot).
fn open_votes(state: TryState, ps: i32) -> &'static [(&'static str, &'static str)] {
    match (state, ps) {
        (TryState::Pending, _) => &[("R", "Run-TryBot=+1")],
        (TryState::Passed, _) => &[("R", "Run-TryBot=+1"), ("G", "TryBot-Result=+1")],
        (TryState::Failed, _)
        | (TryState::NewPatchSetAfterVote, 1)
        | (TryState::RetryOnNewPatchSet, 1) => &[("R", "Run-TryBot=+1"), ("G", "TryBot-Result=-1")],
        (TryState::RetryOnNewPatchSet, _) => &[("R", "Run-TryBot=+1")],
        (TryState::VoteRemoved, _) => &[("R", "Run-TryBot=+1"), ("R", "-Run-TryBot")],
        _ => &[],
    }
}

/// A review as Gerrit records it in NoteDB: one meta commit on change `number`'s meta
/// ref, by `author` (name, email), with `message` and, when given, a vote `label` like
/// `TryBot-Result=+1`. What a fake Gerrit writes when a review is posted to it.
pub fn add_review(
    repo: &Path,
    number: i32,
    patch_set: i32,
    time: i64,
    author: (&str, &str),
    label: Option<&str>,
    message: &str,
) -> Result<(), FixtureError> {
    let who = Accounts::default().ident(author.0, author.1);
    let mut m = match label {
        Some(l) => vote_meta(who, time, patch_set, l, message, false),
        None => Meta {
            author: who,
            time,
            message: format!(
                "Update patch set {patch_set}\n\nPatch Set {patch_set}:\n\n{message}\n\nPatch-set: {patch_set}\n"
            ),
        },
    };
    m.message.push_str("Tag: autogenerated:trybots\n");
    append_metas(repo, number, &[m])
}

/// Continues change `number`'s NoteDB meta chain with `metas`.
fn append_metas(repo: &Path, number: i32, metas: &[Meta]) -> Result<(), FixtureError> {
    let r = change_ref(number, "meta");
    let tip = crate::git::run(repo, &["rev-parse", "--verify", &r], None, &[]).map_err(|e| {
        FixtureError::Data {
            path: repo.display().to_string(),
            line: 0,
            what: format!("no meta ref {r}: {e}"),
        }
    })?;
    let mut s = String::new();
    let tip = String::from_utf8_lossy(&tip).trim().to_string();
    write_metas_from(&mut s, number, metas, Some(tip));
    fast_import(repo, &s)?;
    Ok(())
}

/// Uploads patch set `c.patch_set` of the existing change `c.number`: its commit on
/// `c.parent` and the NoteDB meta commits that create the patch set and cast `c.votes`.
/// Returns the patch set's commit.
pub fn add_patch_set(repo: &Path, c: &OpenChange) -> Result<String, FixtureError> {
    let subject = change_names(c.number).1;
    let commit = patch_set_commit(repo, c, &CONTRIBUTOR, &subject)?;
    append_metas(
        repo,
        c.number,
        &patch_set_metas(c, &commit, &CONTRIBUTOR, &subject),
    )?;
    Ok(commit)
}

/// Who owns a change: the commit's author and, in NoteDB, Gerrit account `account`.
#[derive(Debug, Clone)]
pub struct Owner<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub account: u32,
}

/// The owner of the demo changes (account 5000: `Accounts` numbers from there).
pub const CONTRIBUTOR: Owner<'static> = Owner {
    name: "Gopher Contributor",
    email: "contributor@example.com",
    account: 5000,
};

/// The Change-Id and subject of fixture change `number`.
fn change_names(number: i32) -> (String, String) {
    (
        format!("I{:040x}", 0xfeed_u64 + number as u64),
        format!("demo: change {number}"),
    )
}

/// Writes patch set `c.patch_set`'s commit, by `owner`, with `message` (its first line
/// the subject), and its `refs/changes/NN/N/PS` ref.
fn patch_set_commit(
    repo: &Path,
    c: &OpenChange,
    owner: &Owner<'_>,
    message: &str,
) -> Result<String, FixtureError> {
    let (change_id, _) = change_names(c.number);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "commit {}\nmark :1",
        change_ref(c.number, &c.patch_set.to_string())
    );
    let who = format!("{} <{}>", owner.name, owner.email);
    let _ = writeln!(
        s,
        "author {who} {} +0000\ncommitter {who} {} +0000",
        c.time, c.time
    );
    data(&mut s, &format!("{message}\n\nChange-Id: {change_id}\n"));
    let _ = writeln!(s, "from {}", c.parent);
    let _ = writeln!(s, "M 100755 inline {}", c.file.0);
    data(&mut s, &c.file.1);
    s.push('\n');
    let commit = fast_import(repo, &s)?
        .remove("1")
        .ok_or_else(|| FixtureError::Data {
            path: "fast-import marks".into(),
            line: 0,
            what: "no mark 1".into(),
        })?;
    Ok(commit)
}

/// An open change to add to a Gerrit remote with [`add_open_change`].
#[derive(Debug, Clone)]
pub struct OpenChange {
    pub number: i32,
    pub patch_set: i32,
    /// The commit the patch set sits on (usually the branch head).
    pub parent: String,
    /// Unix seconds of the patch set and its votes.
    pub time: i64,
    /// A file the patch set writes, and its contents.
    pub file: (String, String),
    /// Votes on the patch set, like `Run-TryBot=+1`.
    pub votes: Vec<String>,
}

/// Adds a new change `c.number` to the bare repository `repo`: patch set `c.patch_set`
/// on top of `c.parent` (its `refs/changes/NN/N/PS` ref) and a NoteDB meta ref whose
/// commits create the change and cast `c.votes`. Returns the patch set's commit.
pub fn add_open_change(repo: &Path, c: &OpenChange) -> Result<String, FixtureError> {
    add_change_by(repo, c, &CONTRIBUTOR, &change_names(c.number).1)
}

/// [`add_open_change`] by `owner`, with `subject` as the commit's first line.
pub fn add_change_by(
    repo: &Path,
    c: &OpenChange,
    owner: &Owner<'_>,
    subject: &str,
) -> Result<String, FixtureError> {
    let commit = patch_set_commit(repo, c, owner, subject)?;
    let mut stream = String::new();
    write_metas(
        &mut stream,
        c.number,
        &patch_set_metas(c, &commit, owner, subject),
    );
    fast_import(repo, &stream)?;
    Ok(commit)
}

/// The meta commits that create patch set `c.patch_set` by `owner` and cast `c.votes`
/// (by the reviewer, account 5001).
fn patch_set_metas(c: &OpenChange, commit: &str, owner: &Owner<'_>, subject: &str) -> Vec<Meta> {
    let (change_id, _) = change_names(c.number);
    let owner = format!("{} <{}@{GERRIT_SERVER_UUID}>", owner.name, owner.account);
    let reviewer = format!("Gopher Reviewer <5001@{GERRIT_SERVER_UUID}>");
    let mut metas = vec![create_meta(
        owner,
        c.time,
        c.patch_set,
        &change_id,
        subject,
        commit,
        "master",
    )];
    for (i, v) in c.votes.iter().enumerate() {
        let time = c.time + 1 + i as i64;
        metas.push(vote_meta(reviewer.clone(), time, c.patch_set, v, "", false));
    }
    metas
}

/// A change by `owner` merged to `branch` (created when missing): patch set 1 on
/// `c.parent` with `message`, whose first line is the subject; the branch moved to it;
/// NoteDB metas that create the change on that branch at `c.time` and merge it an hour
/// later. Returns the commit.
pub fn add_merged_change(
    repo: &Path,
    c: &OpenChange,
    owner: &Owner<'_>,
    branch: &str,
    message: &str,
) -> Result<String, FixtureError> {
    let commit = patch_set_commit(repo, c, owner, message)?;
    let subject = message.lines().next().unwrap_or_default();
    let (change_id, _) = change_names(c.number);
    let who = format!("{} <{}@{GERRIT_SERVER_UUID}>", owner.name, owner.account);
    let merged = Meta {
        author: who.clone(),
        time: c.time + 3600,
        message: format!(
            "Update patch set 1\n\nChange has been successfully merged by {}\n\nPatch-set: 1\nStatus: merged\nSubmission-id: {}-{}\n",
            owner.name, c.number, c.time + 3600
        ),
    };
    let metas = [
        create_meta(who, c.time, 1, &change_id, subject, &commit, branch),
        merged,
    ];
    let mut stream = format!("reset refs/heads/{branch}\nfrom {commit}\n\n");
    write_metas(&mut stream, c.number, &metas);
    fast_import(repo, &stream)?;
    Ok(commit)
}
