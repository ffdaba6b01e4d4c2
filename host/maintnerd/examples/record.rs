//! Records the corpus committed under `plugin-tests/corpus/` (see its README.md):
//!
//! ```text
//! cargo run --release -p maintnerd --example record -- plugin-tests/corpus
//! cargo run --release -p maintnerd --example record -- OUT_DIR [--merged-changes N|all] [--issues N] [--seed N] [--data DIR]
//! ```
//!
//! Prints the ingestion speed (commits/s into the log) and what the corpus holds.

use std::path::{Path, PathBuf};

use anyhow::Context;
use maintner::{Corpus, DiskLog};
use maintnerd::record::{self, RecordOptions};

fn parse_args() -> anyhow::Result<(PathBuf, RecordOptions)> {
    let mut opts =
        RecordOptions::committed(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata"));
    let mut out = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--data" => opts.data = PathBuf::from(value()?),
            "--merged-changes" => {
                let v = value()?;
                opts.merged_changes = if v == "all" { None } else { Some(v.parse()?) };
            }
            "--issues" => opts.issues = value()?.parse()?,
            "--seed" => opts.seed = value()?.parse()?,
            _ if a.starts_with("--") => anyhow::bail!("unknown flag {a}"),
            _ => out = Some(PathBuf::from(a)),
        }
    }
    Ok((out.context("usage: record OUT_DIR [flags]")?, opts))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (out, opts) = parse_args()?;
    let work = tempfile::tempdir()?;
    let r = record::record(&opts, &out, work.path()).await?;
    let fx = &r.fixture;
    println!(
        "fixture: {} commits, {} changes ({} waiting for trybots) in {:.2}s",
        fx.commits.len(),
        fx.changes.len(),
        fx.changes.iter().filter(|c| c.state.is_try_work()).count(),
        r.fixture_time.as_secs_f64()
    );
    let g = &r.gerrit;
    println!(
        "gerrit: {} commits, {} refs; git fetch {:.2}s, read+log {:.2}s = {:.0} commits/s into the log",
        g.commits,
        g.refs,
        g.fetch.as_secs_f64(),
        g.ingest.as_secs_f64(),
        g.commits as f64 / g.ingest.as_secs_f64()
    );
    let s = &r.github;
    println!(
        "github: {} issues, {} comment pages, {} events, {} requests in {:.2}s",
        s.issues_changed,
        s.comment_mutations,
        s.events_added,
        s.requests,
        r.github_time.as_secs_f64()
    );
    let corpus = Corpus::load(&DiskLog::open_read_only(out.join("log"))?)?;
    println!(
        "recorded {} ({} bytes)\n{}",
        r.segment.display(),
        r.bytes,
        corpus.stats()
    );
    Ok(())
}
