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
    },
    /// Manage plugins in the data directory.
    #[command(subcommand)]
    Plugin(PluginCommand),
}

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
        } => {
            let cfg = ServeConfig {
                listen,
                bundled,
                watch_interval: Duration::from_millis(watch_ms),
            };
            tokio::runtime::Runtime::new()?.block_on(xb::serve::serve(data, cfg))
        }
        Command::Plugin(cmd) => {
            let reg = data.registry()?;
            print!("{}", xb::plugins::run(cmd, &reg)?);
            Ok(())
        }
    }
}
