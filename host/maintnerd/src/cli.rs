//! `xb corpus …`: the corpus subcommands. The `xb` binary flattens [`CorpusCommand`] into
//! its own clap tree, calls [`execute`] with its data directory and prints the report
//! with [`print`].

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
    /// Load the corpus of the data directory and print what it holds. Changes nothing.
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
    /// Cut the log back to its last good record, saying first what is dropped (the
    /// dropped bytes are kept in a dropped-<time> directory beside the log). Refused while
    /// another writer (xb serve, a sync) holds the log.
    Repair {
        /// Only say what would be dropped.
        #[arg(long)]
        dry_run: bool,
    },
}

/// The maintnerd flags of `xb serve` (Go maintnerd's names where they exist); flatten into
/// the serve command and turn into a [`crate::Config`] with [`ServeArgs::config`].
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// GitHub repositories to poll, comma-separated `owner/repo`.
    #[arg(long, value_delimiter = ',')]
    pub watch_github: Vec<String>,
    /// Gerrit projects to poll over git, comma-separated `host/project` (fetched from
    /// `https://host/project`) or `host/project=REMOTE`.
    #[arg(long, value_delimiter = ',')]
    pub watch_gerrit: Vec<String>,
    /// Plain git repositories to watch, comma-separated `name=REMOTE`.
    #[arg(long, value_delimiter = ',')]
    pub watch_git: Vec<String>,
    /// GitHub API root.
    #[arg(long, default_value = "https://api.github.com")]
    pub github_api: String,
    /// File with the GitHub token: `token` or Go's `username:token`.
    #[arg(long)]
    pub github_token_file: Option<std::path::PathBuf>,
    /// File with the GitHub webhook secret; enables `/maintner/webhook/github`.
    #[arg(long)]
    pub webhook_secret_file: Option<std::path::PathBuf>,
    /// Seconds between GitHub polls.
    #[arg(long, default_value_t = 900)]
    pub github_interval: u64,
    /// Seconds between Gerrit and git polls.
    #[arg(long, default_value_t = 300)]
    pub git_interval: u64,
    /// Scheme and host followers reach this server at (e.g. https://maintner.example.com),
    /// for the absolute URLs of finished log segments; default: http:// and the request's
    /// Host header.
    #[arg(long)]
    pub public_url: Option<String>,
}

impl ServeArgs {
    /// The service configuration for `data_dir`; reads the token and secret files.
    pub fn config(&self, data_dir: &Path) -> anyhow::Result<crate::Config> {
        use crate::service::{GerritConfig, GitHubRepoConfig, GitRepoConfig};
        let mut c = crate::Config::new(data_dir);
        c.github_api = self.github_api.clone();
        c.github_interval = std::time::Duration::from_secs(self.github_interval);
        c.git_interval = std::time::Duration::from_secs(self.git_interval);
        c.public_url = self.public_url.clone();
        for r in &self.watch_github {
            let (owner, repo) = r
                .split_once('/')
                .filter(|(o, r)| !o.is_empty() && !r.is_empty() && !r.contains('/'))
                .with_context(|| format!("--watch-github {r:?}: want owner/repo"))?;
            c.github.push(GitHubRepoConfig {
                owner: owner.into(),
                repo: repo.into(),
            });
        }
        for g in &self.watch_gerrit {
            let (project, remote) = match g.split_once('=') {
                Some((p, r)) => (p.to_string(), r.to_string()),
                None => (g.clone(), format!("https://{g}")),
            };
            anyhow::ensure!(
                project.contains('/'),
                "--watch-gerrit {g:?}: want host/project"
            );
            c.gerrit.push(GerritConfig { project, remote });
        }
        for g in &self.watch_git {
            let (name, remote) = g
                .split_once('=')
                .with_context(|| format!("--watch-git {g:?}: want name=REMOTE"))?;
            c.git.push(GitRepoConfig {
                name: name.into(),
                remote: remote.into(),
            });
        }
        if let Some(f) = &self.github_token_file {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("reading GitHub token {}", f.display()))?;
            let text = text.trim();
            let token = text.split_once(':').map_or(text, |(_, t)| t);
            c.github_token = Some(token.to_string());
        }
        if let Some(f) = &self.webhook_secret_file {
            let secret = std::fs::read_to_string(f)
                .with_context(|| format!("reading webhook secret {}", f.display()))?;
            // Anyone can sign with an empty key: refuse it rather than accept every sender.
            anyhow::ensure!(
                !secret.trim().is_empty(),
                "webhook secret {} is empty; put the secret configured on GitHub in it",
                f.display()
            );
            c.webhook_secret = Some(secret.trim().as_bytes().to_vec());
        }
        Ok(c)
    }
}

/// Prints `text` on standard output. When nobody reads it any more (`xb corpus stats |
/// head`), the process ends as Unix tools do, by SIGPIPE, instead of panicking as
/// `print!` does. SIGPIPE stays ignored until then, so that a peer that closes a socket
/// (a refused upload, say) is an error to report, not the silent end of the process.
pub fn print(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            // SAFETY: restores the signal's default action and raises it: the process
            // ends here, running no handler.
            unsafe {
                libc::signal(libc::SIGPIPE, libc::SIG_DFL);
                libc::raise(libc::SIGPIPE);
            }
            Err(e)
        }
        r => r,
    }
}

/// Runs `cmd` and returns its report, which the CLI prints with [`print`].
pub async fn execute(cmd: CorpusCommand, data_dir: &Path) -> anyhow::Result<String> {
    let dir = log_dir(data_dir);
    match cmd {
        CorpusCommand::Stats => blocking(move || stats(&dir)).await,
        CorpusCommand::Verify => blocking(move || verify(&dir)).await,
        CorpusCommand::Sync { url, follow } => sync(&url, &dir, follow).await,
        CorpusCommand::ImportGit { repo, name } => {
            import_git(&absolute(&repo), name, data_dir).await
        }
        CorpusCommand::Repair { dry_run } => blocking(move || repair(&dir, dry_run)).await,
    }
}

async fn blocking(
    f: impl FnOnce() -> anyhow::Result<String> + Send + 'static,
) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(f)
        .await
        .context("corpus task panicked")?
}

/// Opens the log of `dir` to read only (see `DiskLog::open_read_only`).
fn open_to_read(dir: &Path) -> anyhow::Result<DiskLog> {
    DiskLog::open_read_only(dir).with_context(|| format!("opening log {}", dir.display()))
}

fn stats(dir: &Path) -> anyhow::Result<String> {
    let log = open_to_read(dir)?;
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
    if let Some(t) = &log.open_report().unread_tail {
        writeln!(
            out,
            "not loaded: {} bytes at the end of {} from offset {} ({}); {}",
            t.dropped,
            t.path.display(),
            t.offset,
            t.reason,
            remedy(&t.path, "xb corpus repair cuts them")
        )?;
    }
    write!(out, "{}", corpus.stats())?;
    Ok(out)
}

/// What to do about damage in `file`: `ours` for our segments, which `repair` cuts; Go's
/// day files are never written to, but copying them leaves a damaged tail out.
fn remedy(file: &Path, ours: &str) -> String {
    let day_file = file
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(maintner::disklog::is_day_file_name);
    if day_file {
        format!(
            "Go's day files are only read: {} copies the records before a damaged tail \
             into a new log",
            maintner::disklog::COPY_DAY_FILES
        )
    } else {
        ours.to_owned()
    }
}

fn repair(dir: &Path, dry_run: bool) -> anyhow::Result<String> {
    let repair =
        maintner::Repair::plan(dir).with_context(|| format!("repairing {}", dir.display()))?;
    // Said before anything changes, so an interrupted repair has already told what it
    // was dropping.
    print(&repair.plan_ref().to_string())?;
    if dry_run || repair.plan_ref().is_empty() {
        return Ok(String::new());
    }
    Ok(match repair.apply()? {
        Some(saved) => format!("repaired; the dropped bytes are in {}\n", saved.display()),
        None => "repaired\n".to_owned(),
    })
}

fn verify(dir: &Path) -> anyhow::Result<String> {
    let report = maintner::verify(dir).map_err(|e| {
        let hint = e.damaged_file().map_or(String::new(), |f| {
            let ours = "xb corpus repair --dry-run says what cutting the log there drops";
            format!(" ({})", remedy(f, ours))
        });
        anyhow::Error::new(e).context(format!("verifying {}{hint}", dir.display()))
    })?;
    let mut out = format!(
        "ok: {} segments, {} records, {} bytes\n",
        report.segments, report.records, report.bytes
    );
    let problems = Corpus::load(&open_to_read(dir)?)?.check();
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
            let line = format!(
                "synced: {} segments, {} bytes (+{})\n",
                r.segments, r.total_bytes, r.downloaded_bytes
            );
            let _ = print(&line);
        })
        .await?;
        return Ok(String::new());
    }
    let opts = SyncOptions {
        progress: true,
        ..Default::default()
    };
    let r = follower::sync_with(&follower::client(&opts.timeouts), url, dir, &opts)
        .await
        .with_context(|| format!("syncing {url} into {}", dir.display()))?;
    Ok(format!(
        "synced {url}: {} segments, {} bytes, {} downloaded\n",
        r.segments, r.total_bytes, r.downloaded_bytes
    ))
}

async fn import_git(repo: &str, name: Option<String>, data_dir: &Path) -> anyhow::Result<String> {
    let dir = log_dir(data_dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let ingest = Ingest::new(SharedLog::open(&dir)?)?;
    import_git_into(ingest, repo, name, data_dir).await
}

/// `repo` with a local path made absolute: git fetches from inside the clone, and a
/// server resolves paths from its own directory. URLs are left alone.
pub fn absolute(repo: &str) -> String {
    match Path::new(repo).canonicalize() {
        Ok(p) if !repo.contains("://") => p.display().to_string(),
        _ => repo.to_string(),
    }
}

/// Logs the commits of `repo` that the corpus does not have yet through `ingest`, the
/// writer of the log (the CLI's own, or a running server's); `name` defaults to the
/// repository's directory name. Returns the report the CLI prints.
pub async fn import_git_into(
    ingest: Ingest,
    repo: &str,
    name: Option<String>,
    data_dir: &Path,
) -> anyhow::Result<String> {
    let name = name.unwrap_or_else(|| {
        let base = repo
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(repo);
        base.trim_end_matches(".git").to_string()
    });
    let s = GitRepoPoller::new(&name, repo, data_dir, ingest)
        .sync_round()
        .await
        .with_context(|| format!("importing {repo}"))?;
    Ok(format!(
        "imported {} new commits of {repo} as {name}\n",
        s.commits
    ))
}
