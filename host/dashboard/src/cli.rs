//! `xb dashboard …`: the results store of a data directory from the command line. The
//! `xb` binary flattens [`DashboardCommand`] into its clap tree and calls [`run`]. A
//! running `xb serve` on the same data directory sees the changes at once: both open the
//! same sqlite file (WAL).

use crate::key::{key_path, MasterKey};
use crate::model::{ResultQuery, Work};
use crate::store::{db_path, Store};
use std::fmt::Write as _;
use std::path::Path;

#[derive(Debug, Clone, clap::Subcommand)]
pub enum DashboardCommand {
    /// Clear a builder's post-submit result at a commit so it builds again (Go's
    /// retrybuilds).
    Retry {
        builder: String,
        /// A commit hash, or a unique prefix of one.
        commit: String,
        /// For a subrepo commit built against several Go commits: which one.
        #[arg(long)]
        go_commit: Option<String>,
    },
    /// List recorded results, newest first.
    Results {
        #[arg(long)]
        repo: Option<String>,
        #[arg(long)]
        builder: Option<String>,
        /// A commit hash or a prefix of one.
        #[arg(long)]
        commit: Option<String>,
        /// Only try results (by default, only post-submit ones).
        #[arg(long = "try")]
        try_work: bool,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Print a builder's key: hex HMAC-MD5 of its name under the master key.
    Key { builder: String },
}

/// Runs a command against the data directory and returns what to print.
pub fn run(cmd: DashboardCommand, data_dir: &Path) -> anyhow::Result<String> {
    match cmd {
        DashboardCommand::Key { builder } => {
            let key = MasterKey::load_or_create(&key_path(data_dir))?;
            Ok(format!("{}\n", key.builder_key(&builder)))
        }
        DashboardCommand::Retry {
            builder,
            commit,
            go_commit,
        } => {
            let store = Store::open(&db_path(data_dir))?;
            let r = store.retry(&builder, &commit, go_commit.as_deref())?;
            let against = if r.key.go_commit.is_empty() {
                String::new()
            } else {
                format!(" against go {}", r.key.go_commit)
            };
            Ok(format!(
                "cleared {} {} at {}{against}: it builds again\n",
                r.key.builder, r.key.repo, r.key.commit
            ))
        }
        DashboardCommand::Results {
            repo,
            builder,
            commit,
            try_work,
            limit,
        } => {
            // Listing creates nothing: without a database there is nothing to list.
            let db = db_path(data_dir);
            let list = if db.exists() {
                Store::open(&db)?.query(&ResultQuery {
                    repo,
                    builder,
                    commit,
                    try_work: Some(try_work),
                    limit,
                })?
            } else {
                Vec::new()
            };
            let mut out = String::new();
            for r in &list {
                let k = &r.key;
                let work = match k.work {
                    Work::PostSubmit => "post-submit".to_string(),
                    Work::Try { change, patch_set } => format!("try {change}/{patch_set}"),
                };
                let _ = writeln!(
                    out,
                    "{}  {:<28} {:<10} {:<12} {:<12} {:<14} {:<4} {:>8.1}s  {}",
                    r.started.rfc3339(),
                    k.builder,
                    k.repo,
                    short(&k.commit),
                    if k.go_commit.is_empty() {
                        "-"
                    } else {
                        short(&k.go_commit)
                    },
                    work,
                    if r.ok { "ok" } else { "FAIL" },
                    r.run_time.as_secs_f64(),
                    if r.log_hash.is_empty() {
                        "-"
                    } else {
                        &r.log_hash
                    },
                );
            }
            if list.is_empty() {
                out.push_str("no results\n");
            }
            Ok(out)
        }
    }
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}
