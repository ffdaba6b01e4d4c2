//! Recording a corpus: the real ingestion (Gerrit-over-git poller, GitHub poller) run
//! against fixtures built from `testdata/` — the x/build history as a Gerrit remote
//! ([`crate::fixture`]) and a fake GitHub replaying the real event pages
//! ([`crate::fakegithub`]). The result is deterministic: the same options give a
//! byte-identical segment. `examples/record.rs` is the command line for it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use maintner::{DiskLog, SyncPolicy};

use crate::botissues;
use crate::fakegithub::{self, FakeGitHub};
use crate::fixture::{self, FixtureOptions};
use crate::github::api::GitHubClient;
use crate::github::poller::{GitHubRepoPoller, RoundStats};
use crate::gitpoll::{GerritPoller, GitRoundStats};
use crate::ingest::Ingest;
use crate::store::SharedLog;

/// The Gerrit project name the x/build fixture is recorded under.
pub const PROJECT: &str = "go.googlesource.com/build";

/// What to record.
#[derive(Debug, Clone)]
pub struct RecordOptions {
    /// `testdata/`.
    pub data: PathBuf,
    /// The most recent reviewed commits that get a Gerrit change (`None`: all 4,726).
    pub merged_changes: Option<usize>,
    /// Generated golang/go issues.
    pub issues: i32,
    pub seed: u64,
}

impl RecordOptions {
    /// The options `plugin-tests/corpus/` was recorded with.
    pub fn committed(data: &Path) -> Self {
        RecordOptions {
            data: data.to_path_buf(),
            merged_changes: Some(400),
            issues: 300,
            seed: 1,
        }
    }
}

/// What a recording did.
#[derive(Debug)]
pub struct RecordReport {
    pub fixture: fixture::Fixture,
    pub fixture_time: Duration,
    pub gerrit: GitRoundStats,
    pub github: RoundStats,
    pub github_time: Duration,
    /// The frozen segment written.
    pub segment: PathBuf,
    pub bytes: u64,
}

/// Records into `<out>/log/` (replacing any segments there); `work` holds the fixtures.
pub async fn record(opts: &RecordOptions, out: &Path, work: &Path) -> anyhow::Result<RecordReport> {
    let history = fixture::read_history(&opts.data.join("golang-build-commits.jsonl"))?;
    let t = Instant::now();
    let remote = work.join("build.git");
    let mut fx = fixture::build(
        &history,
        &remote,
        &FixtureOptions {
            merged_changes: opts.merged_changes,
        },
    )?;
    fx.changes.push(first_change(&history, &fx, &remote)?);
    fx.changes.push(backport(&fx, &remote)?);
    let scratch_remote = work.join("scratch.git");
    let scratch = scratch_project(&history, &fx, &scratch_remote)?;
    let fixture_time = t.elapsed();

    let log_dir = out.join("log");
    std::fs::create_dir_all(&log_dir).with_context(|| format!("creating {}", log_dir.display()))?;
    for e in std::fs::read_dir(&log_dir)? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "mutlog") {
            std::fs::remove_file(&p)?;
        }
    }
    let log = SharedLog::new(DiskLog::open_with(&log_dir, SyncPolicy::Manual)?);
    let ingest = Ingest::new(log)?;

    let remote_str = remote.to_str().context("fixture path is not UTF-8")?;
    let mut gerrit = GerritPoller::new(PROJECT, remote_str, work, ingest.clone())
        .sync_round()
        .await?;
    let scratch_str = scratch_remote
        .to_str()
        .context("fixture path is not UTF-8")?;
    let more = GerritPoller::new(SCRATCH, scratch_str, &work.join("scratch"), ingest.clone())
        .sync_round()
        .await?;
    gerrit.add(&more);
    fx.changes.extend(scratch);

    let fake = FakeGitHub::start().await?;
    let subjects: Vec<String> = history
        .iter()
        .map(|c| c.message.lines().next().unwrap_or_default().to_string())
        .collect();
    botissues::populate(&fake, opts.issues, opts.seed, &subjects);
    fakegithub::put_real_event_pages(&fake, "golang", "go", &opts.data.join("github"))?;
    let client = Arc::new(GitHubClient::new(&fake.base(), None));
    let t = Instant::now();
    let github = GitHubRepoPoller::new("golang", "go", client, ingest.clone())
        .sync_round(false)
        .await?;
    let github_time = t.elapsed();

    let segment = freeze(&log_dir, ingest.log())?;
    Ok(RecordReport {
        fixture: fx,
        fixture_time,
        gerrit,
        github,
        github_time,
        bytes: ingest.log().total_size(),
        segment,
    })
}

/// An open change by someone with no other change: the first contribution gopherbot
/// welcomes. A day after the last commit of the history, on top of it.
fn first_change(
    history: &[fixture::HistoryCommit],
    fx: &fixture::Fixture,
    remote: &Path,
) -> anyhow::Result<fixture::FixtureChange> {
    let tip = history.last().context("empty history")?;
    let tip_time = chrono::DateTime::parse_from_rfc3339(&tip.committer.date)?.timestamp();
    let number = fx.changes.iter().map(|c| c.number).max().unwrap_or(0) + 1;
    let change = fixture::OpenChange {
        number,
        patch_set: 1,
        parent: fx.commits.last().cloned().context("no commits")?,
        time: tip_time + 86_400,
        file: ("cmd/gomote/README.md".into(), "Fix a typo.\n".into()),
        votes: vec![],
    };
    let owner = fixture::Owner {
        name: "New Gopher",
        email: "newgopher@example.com",
        account: 9001,
    };
    let commit = fixture::add_change_by(
        remote,
        &change,
        &owner,
        "cmd/gomote: fix a typo in the README",
    )?;
    Ok(fixture::FixtureChange {
        number,
        change_id: format!("I{:040x}", 0xfeed_u64 + number as u64),
        state: fixture::TryState::NoRunTryBot,
        commit,
        patch_sets: 1,
    })
}

/// The x/build change that fixes the backport issues (`botissues`'s hand-made
/// #322 and #327) merged to `release-branch.go1.22` three days before the clock.
fn backport(fx: &fixture::Fixture, remote: &Path) -> anyhow::Result<fixture::FixtureChange> {
    let number = next_number(fx);
    let change = fixture::OpenChange {
        number,
        patch_set: 1,
        parent: fx.commits.last().cloned().context("no commits")?,
        time: botissues::CLOCK - 3 * 86_400,
        file: ("cmd/coordinator/release.go".into(), "package main\n".into()),
        votes: vec![],
    };
    let message = "[release-branch.go1.22] cmd/coordinator: keep release builders on 1.22\n\n\
        Fixes golang/go#322\nFixes golang/go#327";
    let commit = fixture::add_merged_change(
        remote,
        &change,
        &RELEASE_MANAGER,
        "release-branch.go1.22",
        message,
    )?;
    Ok(fixture::FixtureChange {
        number,
        change_id: format!("I{:040x}", 0xfeed_u64 + number as u64),
        state: fixture::TryState::Merged,
        commit,
        patch_sets: 1,
    })
}

/// go.googlesource.com/scratch: two open reviews, one left for ten days (gopherbot
/// abandons it) and one of two days (left alone).
fn scratch_project(
    history: &[fixture::HistoryCommit],
    fx: &fixture::Fixture,
    remote: &Path,
) -> anyhow::Result<Vec<fixture::FixtureChange>> {
    // Its own first commit: one equal to x/build's would be the same git object.
    let mut first = history.first().context("empty history")?.clone();
    first.message = "scratch: a place to try out code review\n".into();
    let commits = fixture::project(&[first], remote)?;
    let mut out = vec![];
    for (k, days) in [10, 2].into_iter().enumerate() {
        let number = next_number(fx) + k as i32;
        let change = fixture::OpenChange {
            number,
            patch_set: 1,
            parent: commits[0].clone(),
            time: botissues::CLOCK - days * 86_400,
            file: (format!("gopher{k}/main.go"), "package main\n".into()),
            votes: vec![],
        };
        let subject = format!("gopher{k}: try out a review");
        let commit = fixture::add_change_by(remote, &change, &RELEASE_MANAGER, &subject)?;
        out.push(fixture::FixtureChange {
            number,
            change_id: format!("I{:040x}", 0xfeed_u64 + number as u64),
            state: fixture::TryState::NoRunTryBot,
            commit,
            patch_sets: 1,
        });
    }
    Ok(out)
}

const SCRATCH: &str = "go.googlesource.com/scratch";

const RELEASE_MANAGER: fixture::Owner<'static> = fixture::Owner {
    name: "Release Gopher",
    email: "releaser@example.com",
    account: 9002,
};

fn next_number(fx: &fixture::Fixture) -> i32 {
    fx.changes.iter().map(|c| c.number).max().unwrap_or(0) + 1
}

/// Renames the single growing segment to its frozen `NNNN.<sha224>.mutlog` name: a
/// recorded corpus is immutable, so it keeps no writer lock file either.
fn freeze(dir: &Path, log: &SharedLog) -> anyhow::Result<PathBuf> {
    log.sync()?;
    std::fs::remove_file(dir.join(maintner::lock::LOCK_FILE))?;
    let segs = log.segments();
    anyhow::ensure!(segs.len() == 1, "expected one segment, got {}", segs.len());
    let seg = &segs[0];
    let to = dir.join(maintner::disklog::frozen_file_name(seg.number, &seg.sha224));
    std::fs::rename(&seg.path, &to)?;
    Ok(to)
}
