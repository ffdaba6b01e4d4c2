//! `xb corpus …`: the corpus subcommands. The `xb` binary flattens [`CorpusCommand`] into
//! its own clap tree and calls [`run`] with its data directory.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use maintner::{Corpus, DiskLog};

use crate::follower::{self, SyncOptions};
use crate::gitpoll::GitRepoPoller;
use crate::ingest::Ingest;
use crate::service::log_dir;
use crate::store::SharedLog;

#[derive(Debug, Clone, clap::Subcommand)]
pub enum CorpusCommand {
    /// Load the corpus of the data directory and print what it holds.
    Stats,
    /// Mirror a log server (e.g. http://host:port/maintner/logs) into the data directory,
    /// checking SHA-224s; with --follow, keep long-polling for new mutations.
    Sync {
        url: String,
        #[arg(long)]
        follow: bool,
    },
    /// Log the commits of a git repository (path or URL) the corpus does not have yet.
    ImportGit {
        /// Repository to read (anything `git fetch` accepts).
        repo: String,
        /// Name recorded as `go_repo` (default: the repository's directory name).
        #[arg(long)]
        name: Option<String>,
    },
    /// Check every segment's size and SHA-224, every record's framing and protobuf, and
    /// the Gerrit invariants of the loaded corpus. Changes nothing.
    Verify,
}

/// Runs `cmd` on `data_dir` and prints its report.
pub async fn run(cmd: CorpusCommand, data_dir: &Path) -> anyhow::Result<()> {
    let report = execute(cmd, data_dir).await?;
    print!("{report}");
    Ok(())
}

/// Runs `cmd` and returns the report [`run`] prints.
pub async fn execute(cmd: CorpusCommand, data_dir: &Path) -> anyhow::Result<String> {
    let dir = log_dir(data_dir);
    match cmd {
        CorpusCommand::Stats => blocking(move || stats(&dir)).await,
        CorpusCommand::Verify => blocking(move || verify(&dir)).await,
        CorpusCommand::Sync { url, follow } => sync(&url, &dir, follow).await,
        CorpusCommand::ImportGit { repo, name } => import_git(&repo, name, data_dir).await,
    }
}

async fn blocking(
    f: impl FnOnce() -> anyhow::Result<String> + Send + 'static,
) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(f)
        .await
        .context("corpus task panicked")?
}

fn stats(dir: &Path) -> anyhow::Result<String> {
    let log = DiskLog::open(dir).with_context(|| format!("opening log {}", dir.display()))?;
    let started = std::time::Instant::now();
    let corpus = Corpus::load(&log).with_context(|| format!("loading {}", dir.display()))?;
    let elapsed = started.elapsed();
    let mut out = String::new();
    let segs = log.segments();
    writeln!(
        out,
        "log: {} ({} segments, {} bytes), loaded in {:.3}s",
        dir.display(),
        segs.len(),
        log.total_size(),
        elapsed.as_secs_f64()
    )?;
    write!(out, "{}", corpus.stats())?;
    Ok(out)
}

fn verify(dir: &Path) -> anyhow::Result<String> {
    let report = maintner::verify(dir).with_context(|| format!("verifying {}", dir.display()))?;
    let mut out = format!(
        "ok: {} segments, {} records, {} bytes\n",
        report.segments, report.records, report.bytes
    );
    let log = DiskLog::open(dir)?;
    let problems = Corpus::load(&log)?.check();
    if !problems.is_empty() {
        anyhow::bail!(
            "{}: corpus invariants violated:\n{}",
            dir.display(),
            problems.join("\n")
        );
    }
    out.push_str("corpus invariants: ok\n");
    Ok(out)
}

async fn sync(url: &str, dir: &Path, follow: bool) -> anyhow::Result<String> {
    if follow {
        follower::follow(url, dir, |r| {
            println!(
                "synced: {} segments, {} bytes (+{})",
                r.segments, r.total_bytes, r.downloaded_bytes
            )
        })
        .await?;
        return Ok(String::new());
    }
    let opts = SyncOptions {
        progress: true,
        wait_for_change: false,
    };
    let r = follower::sync_with(&reqwest::Client::new(), url, dir, &opts)
        .await
        .with_context(|| format!("syncing {url} into {}", dir.display()))?;
    Ok(format!(
        "synced {url}: {} segments, {} bytes, {} downloaded\n",
        r.segments, r.total_bytes, r.downloaded_bytes
    ))
}

async fn import_git(repo: &str, name: Option<String>, data_dir: &Path) -> anyhow::Result<String> {
    let name = name.unwrap_or_else(|| {
        let base = repo
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(repo);
        base.trim_end_matches(".git").to_string()
    });
    let dir = log_dir(data_dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let ingest = Ingest::new(SharedLog::open(&dir)?)?;
    let s = GitRepoPoller::new(&name, repo, data_dir, ingest)
        .sync_round()
        .await
        .with_context(|| format!("importing {repo}"))?;
    Ok(format!(
        "imported {} new commits of {repo} as {name}\n",
        s.commits
    ))
}
