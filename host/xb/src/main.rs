use anyhow::Result;
use clap::{Parser, Subcommand};
use maintnerd::cli::print;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use xb::builds::BuildSetup;
use xb::data::DataDir;
use xb::plugins::{PluginCommand, BUNDLED_DIR};
use xb::serve::ServeConfig;

#[global_allocator]
static ALLOCATOR: xb::allocator::Allocator = xb::allocator::Allocator;

/// xbuild: Go's build infrastructure as a WebAssembly-plugin host.
#[derive(Parser)]
#[command(name = "xb", version)]
struct Cli {
    /// Data directory (plugin store, corpus log, databases) [default: the configuration's,
    /// else xbuild-data].
    #[arg(long, global = true, env = "XB_DATA")]
    data: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the host: HTTP API, plugins, watchers.
    Serve {
        /// Configuration file with named environments [default: the embedded xbuild.toml].
        #[arg(long)]
        config: Option<PathBuf>,
        /// The environment of the configuration to use.
        #[arg(long, default_value = "dev")]
        env: String,
        /// Listen address [default: the configuration's, else 127.0.0.1:8080].
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// TLS listen address, where reverse buildlets register [default: the
        /// configuration's].
        #[arg(long)]
        listen_tls: Option<SocketAddr>,
        /// No TLS listener.
        #[arg(long)]
        no_tls: bool,
        /// Build nothing: no coordinator, no pools.
        #[arg(long)]
        no_coordinator: bool,
        /// Do not create or build the demo repository.
        #[arg(long)]
        no_demo: bool,
        /// Folders of host types (`<host-type>/local.toml` for local pools).
        #[arg(long, default_value = xb::builds::ENV_DIR)]
        env_dir: PathBuf,
        /// Directory of bundled plugin components.
        #[arg(long, default_value = BUNDLED_DIR)]
        bundled: PathBuf,
        /// How often to check the watched directory and the CLI's swaps, in ms.
        #[arg(long, default_value_t = 500)]
        watch_ms: u64,
        /// Recorded corpus log to start from when the data directory has none [default: the
        /// one committed with the sources, when it is there].
        #[arg(long)]
        seed_corpus: Option<PathBuf>,
        /// Start with an empty corpus instead.
        #[arg(long)]
        no_seed: bool,
        #[command(flatten)]
        maintner: maintnerd::cli::ServeArgs,
    },
    /// The maintner corpus in the data directory.
    #[command(subcommand)]
    Corpus(maintnerd::cli::CorpusCommand),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Build results in the data directory: retry a build, list results, builder keys.
    #[command(subcommand)]
    Dashboard(dashboard::cli::DashboardCommand),
    /// Manage plugins in the data directory.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Remote buildlets: create, run commands on, copy files to and from, destroy.
    Gomote(xb::gomote::GomoteArgs),
    /// Run a buildlet (what the local pool starts; `xb buildlet --help`).
    #[command(disable_help_flag = true)]
    Buildlet {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Load a mutation log into a corpus: mutations/s, MB/s, peak RSS per MB of log.
    CorpusLoad {
        logdir: PathBuf,
        /// Load it this many times, each in a fresh process, and print the minimum and
        /// median of each figure too.
        #[arg(long, default_value_t = 1)]
        runs: u32,
        /// Print the report as JSON (what each run of --runs prints).
        #[arg(long, hide = true)]
        json: bool,
    },
    /// Build and test a Go tree with go-builders' plan on the local pool (minutes to
    /// hours): make.bash, then `go tool dist test` alone or over helper buildlets.
    BuildGo {
        /// A Go installation with its sources; also the bootstrap toolchain.
        #[arg(long, default_value = "/usr/lib/go-1.19")]
        goroot: PathBuf,
        #[arg(long, default_value = "linux-amd64")]
        builder: String,
        /// Helper buildlets for the tests (0: all on the main buildlet).
        #[arg(long, default_value_t = 0)]
        helpers: u32,
        /// Where the Go repository, the work directories and the build log go.
        #[arg(long, default_value = "xbuild-bench-go")]
        dir: PathBuf,
        /// Longest the build and each step may run, in seconds (default: the plan's).
        #[arg(long)]
        timeout: Option<u64>,
        /// Run every test even after one fails (`go tool dist test -k`), so the time
        /// covers the whole list where some tests cannot pass (no time zone data, say).
        #[arg(long)]
        keep_going: bool,
        #[arg(long, default_value = BUNDLED_DIR)]
        bundled: PathBuf,
    },
}

const DEFAULT_DATA: &str = "xbuild-data";

fn main() -> std::process::ExitCode {
    // Before anything allocates: a 2 MiB page touched now would stay.
    xb::allocator::huge_pages(false);
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {}", error_report(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// `e` and its causes as anyhow prints them, leaving out each cause whose text the
/// message before it already ends with: many errors name their source in their own
/// message and also hand it on as their source, which printed it twice.
fn error_report(e: &anyhow::Error) -> String {
    let mut messages = e.chain().map(|c| c.to_string());
    let mut out = messages.next().unwrap_or_default();
    let mut before = out.clone();
    let causes: Vec<String> = messages
        .filter(|m| !std::mem::replace(&mut before, m.clone()).ends_with(m.as_str()))
        .collect();
    if !causes.is_empty() {
        out.push_str("\n\nCaused by:");
    }
    for (i, c) in causes.iter().enumerate() {
        match causes.len() {
            1 => out.push_str(&format!("\n    {c}")),
            _ => out.push_str(&format!("\n    {i}: {c}")),
        }
    }
    out
}

/// The corpus log `xb serve` seeds an empty data directory from: a directory given must be
/// there (a mistyped one would start an empty corpus unnoticed); the default, committed
/// with the sources, is used only where it is.
fn seed(no_seed: bool, given: Option<PathBuf>) -> Result<Option<PathBuf>> {
    match given {
        _ if no_seed => Ok(None),
        Some(dir) if !dir.is_dir() => {
            anyhow::bail!("--seed-corpus {}: no such directory", dir.display())
        }
        Some(dir) => Ok(Some(dir)),
        None => {
            let dir = PathBuf::from(xb::RECORDED_CORPUS);
            if !dir.is_dir() {
                // A binary moved from the tree it was built in (`cargo install`, a copy).
                tracing::info!(at = %dir.display(), "no recorded corpus where this xb was built: an empty data directory starts with an empty corpus (--seed-corpus DIR names one)");
                return Ok(None);
            }
            Ok(Some(dir))
        }
    }
}

/// Does `cmd` only read the data directory? Such a command creates nothing there.
fn only_reads(cmd: &Command) -> bool {
    use dashboard::cli::DashboardCommand as D;
    use maintnerd::cli::CorpusCommand as C;
    use xb::plugins::PluginCommand as P;
    match cmd {
        Command::Corpus(c) => matches!(c, C::Stats | C::Verify),
        Command::Plugin(p) => matches!(
            p,
            P::List
                | P::Describe { .. }
                | P::History { .. }
                | P::Test { .. }
                | P::Diff { .. }
                | P::Shadow { version: None, .. }
        ),
        Command::Dashboard(d) => matches!(d, D::Results { .. }),
        Command::Bench(_) => true,
        Command::Serve { .. } | Command::Buildlet { .. } | Command::Gomote(_) => false,
    }
}

fn run() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if matches!(
        cli.command,
        Command::Serve { .. } | Command::Corpus(_) | Command::Bench(_)
    ) {
        xb::allocator::huge_pages(true);
    }
    if let Command::Buildlet { args } = cli.command {
        return tokio::runtime::Runtime::new()?.block_on(buildlet::cli::run(args));
    }
    if let Command::Gomote(args) = cli.command {
        return tokio::runtime::Runtime::new()?
            .block_on(xb::gomote::run(args, &mut tokio::io::stdout()));
    }
    if let Command::Serve {
        config,
        env,
        listen,
        listen_tls,
        no_tls,
        no_coordinator,
        no_demo,
        env_dir,
        bundled,
        watch_ms,
        seed_corpus,
        no_seed,
        mut maintner,
    } = cli.command
    {
        let settings = xb::config::load(config.as_deref(), &env)?;
        let data = DataDir::new(
            cli.data
                .or(settings.data.clone())
                .unwrap_or(DEFAULT_DATA.into()),
        )?;
        maintner
            .watch_gerrit
            .extend(settings.maintner.watch_gerrit.iter().cloned());
        maintner
            .watch_github
            .extend(settings.maintner.watch_github.iter().cloned());
        maintner
            .watch_git
            .extend(settings.maintner.watch_git.iter().cloned());
        let c = &settings.coordinator;
        let defaults = BuildSetup::default();
        let build = BuildSetup {
            demo: !no_demo && settings.demo.unwrap_or(true),
            window: c.window.unwrap_or(defaults.window),
            trybots: c.trybots.unwrap_or(defaults.trybots),
            max_builds: c.max_builds.unwrap_or(defaults.max_builds),
            step_timeout_cap: c.step_timeout_cap.map(Duration::from_secs),
            repos: c
                .repo
                .iter()
                .map(|r| coordinator::RepoWatch {
                    name: r.name.clone(),
                    project: r.project.clone(),
                    remote: r.remote.clone(),
                    branches: r.branches.clone(),
                })
                .collect(),
            pools: settings.pools.clone(),
            env_dir,
            dev_keys: settings.dev_keys.unwrap_or(false),
            gerrit: settings.gerrit.clone(),
            ..defaults
        };
        if settings.tls_cert.is_some() != settings.tls_key.is_some() {
            anyhow::bail!("tls_cert and tls_key go together: set both or neither");
        }
        let tls = listen_tls
            .or(settings.listen_tls)
            .filter(|_| !no_tls)
            .map(|addr| xb::serve::TlsListen {
                addr,
                cert_key: settings.tls_cert.clone().zip(settings.tls_key.clone()),
            });
        let cfg = ServeConfig {
            listen: listen
                .or(settings.listen)
                .unwrap_or(([127, 0, 0, 1], 8080).into()),
            bundled,
            seed_corpus: seed(no_seed, seed_corpus)?,
            maintner,
            watch_interval: Duration::from_millis(watch_ms),
            build: (!no_coordinator && c.enabled.unwrap_or(true)).then_some(build),
            tls,
            bot: xb::botserve::mode(&settings.bot)?,
        };
        return tokio::runtime::Runtime::new()?.block_on(xb::serve::serve(data, cfg));
    }
    let path = cli.data.unwrap_or(DEFAULT_DATA.into());
    let data = match only_reads(&cli.command) {
        true => DataDir::to_read(path),
        false => DataDir::new(path)?,
    };
    match cli.command {
        Command::Serve { .. } | Command::Buildlet { .. } | Command::Gomote(_) => {
            unreachable!("handled above")
        }
        Command::Corpus(cmd) => {
            let report =
                tokio::runtime::Runtime::new()?.block_on(xb::corpus::execute(cmd, &data))?;
            print(&report)?;
            Ok(())
        }
        Command::Bench(BenchCommand::CorpusLoad { logdir, runs, json }) => {
            if runs > 1 {
                return corpus_load_runs(&logdir, runs);
            }
            let report = maintner::bench::corpus_load(&logdir)?;
            if json {
                print(&format!("{}\n", serde_json::to_string(&report)?))?;
            } else {
                print(&report.to_string())?;
            }
            Ok(())
        }
        Command::Bench(BenchCommand::BuildGo {
            goroot,
            builder,
            helpers,
            dir,
            timeout,
            keep_going,
            bundled,
        }) => {
            let opts = xb::gobuild::Options {
                goroot,
                builder,
                helpers,
                dir: std::path::absolute(dir)?,
                timeout: timeout.map(Duration::from_secs),
                keep_going,
                bundled,
            };
            let r = tokio::runtime::Runtime::new()?.block_on(xb::gobuild::run(&opts))?;
            print(&format!(
                "{} with {} helpers: {:?}\n  wall {:.0} s (sources + make.bash {:.0} s, tests {:.0} s)\n{}  log: {}\n",
                opts.builder,
                opts.helpers,
                r.outcome,
                r.total.as_secs_f64(),
                r.make.as_secs_f64(),
                (r.total - r.make).as_secs_f64(),
                r.summary,
                r.log.display()
            ))?;
            Ok(())
        }
        Command::Dashboard(cmd) => {
            print(&dashboard::cli::run(cmd, data.path())?)?;
            Ok(())
        }
        Command::Plugin(cmd) => {
            let out = xb::plugins::run_status(cmd, &data)?;
            print(&out.text)?;
            std::process::exit(out.code)
        }
    }
}

/// Loads `logdir` `runs` times, each in a fresh process (so each peak RSS is its own),
/// printing each run and then the minimum and median of each figure.
fn corpus_load_runs(logdir: &std::path::Path, runs: u32) -> Result<()> {
    let mut reports = Vec::new();
    for _ in 0..runs {
        let out = std::process::Command::new(std::env::current_exe()?)
            .args(["bench", "corpus-load", "--json"])
            .arg(logdir)
            .output()?;
        if !out.status.success() {
            anyhow::bail!("{}", String::from_utf8_lossy(&out.stderr).trim());
        }
        let report: maintner::bench::LoadReport = serde_json::from_slice(&out.stdout)?;
        let first = report
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned();
        print(&format!("{first}\n"))?;
        reports.push(report);
    }
    print(&maintner::bench::LoadRuns(reports).to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cause that its wrapper already printed is left out; one it did not print stays.
    #[test]
    fn a_cause_is_printed_once() {
        let io = || std::io::Error::other("Is a directory");
        let named = maintner::disklog::LogError::Io {
            path: "/d/f".into(),
            source: io(),
        };
        let e = anyhow::Error::from(named).context("verifying /d");
        assert_eq!(
            error_report(&e),
            "verifying /d\n\nCaused by:\n    /d/f: Is a directory"
        );
        let e = anyhow::Error::from(io())
            .context("reading /d/f")
            .context("verifying /d");
        assert_eq!(
            error_report(&e),
            "verifying /d\n\nCaused by:\n    0: reading /d/f\n    1: Is a directory"
        );
        assert_eq!(error_report(&anyhow::anyhow!("plain")), "plain");
    }
}
