use anyhow::Result;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use xb::data::DataDir;
use xb::plugins::{PluginCommand, BUNDLED_DIR};
use xb::serve::ServeConfig;

/// xbuild: Go's build infrastructure as a WebAssembly-plugin host.
#[derive(Parser)]
#[command(name = "xb", version)]
struct Cli {
    /// Data directory (plugin store, corpus log, databases).
    #[arg(long, global = true, env = "XB_DATA", default_value = "xbuild-data")]
    data: PathBuf,
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the host: HTTP API, plugins, watchers.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Directory of bundled plugin components.
        #[arg(long, default_value = BUNDLED_DIR)]
        bundled: PathBuf,
        /// How often to check the watched directory and the CLI's swaps, in ms.
        #[arg(long, default_value_t = 500)]
        watch_ms: u64,
        /// Recorded corpus log to start from when the data directory has none.
        #[arg(long, default_value = RECORDED_CORPUS)]
        seed_corpus: PathBuf,
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
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Load a mutation log into a corpus: mutations/s, MB/s, peak RSS per MB of log.
    CorpusLoad { logdir: PathBuf },
}

/// The recorded corpus committed with the sources (see plugin-tests/corpus/README.md).
const RECORDED_CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../plugin-tests/corpus/log");

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let data = DataDir::new(&cli.data)?;
    match cli.command {
        Command::Serve {
            listen,
            bundled,
            watch_ms,
            seed_corpus,
            no_seed,
            maintner,
        } => {
            let cfg = ServeConfig {
                listen,
                bundled,
                seed_corpus: (!no_seed).then_some(seed_corpus),
                maintner,
                watch_interval: Duration::from_millis(watch_ms),
            };
            tokio::runtime::Runtime::new()?.block_on(xb::serve::serve(data, cfg))
        }
        Command::Corpus(cmd) => {
            tokio::runtime::Runtime::new()?.block_on(maintnerd::cli::run(cmd, &data.maintner()))
        }
        Command::Bench(BenchCommand::CorpusLoad { logdir }) => {
            print!("{}", maintner::bench::corpus_load(&logdir)?);
            Ok(())
        }
        Command::Dashboard(cmd) => {
            print!("{}", dashboard::cli::run(cmd, data.path())?);
            Ok(())
        }
        Command::Plugin(cmd) => {
            print!("{}", xb::plugins::run(cmd, &data)?);
            Ok(())
        }
    }
}
