//! The buildlet's command line: `buildlet --listen ADDR --workdir DIR` or
//! `buildlet --reverse HOST-TYPE --coordinator URL --key FILE`. A library module so
//! other binaries (`xb buildlet`) can be a buildlet too.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::reverse::{self, ReverseConfig};
use crate::{Buildlet, Config, HaltAction, WorkDir};
use anyhow::{bail, Context, Result};

const USAGE: &str = "usage:
  buildlet [--listen ADDR] [--workdir DIR] [options]
  buildlet --reverse HOST-TYPE --coordinator URL --key FILE [--workdir DIR] [options]

options:
  --listen ADDR              listen address (default localhost:5936)
  --workdir DIR              work directory, emptied at start ($TMPDIR/workdir[-HOST-TYPE])
  --password-file FILE       HTTP Basic password (else $META_PASSWORD, '@FILE' reads a file)
  --allow-unauthenticated    allow listening on a non-loopback address without a password
  --tls-cert FILE --tls-key FILE   serve HTTPS (PEM)
  --reverse HOST-TYPE        reverse mode: dial the coordinator instead of listening
  --coordinator URL          http://host:port or https://host[:port]
  --key FILE                 build key file for reverse registration
  --coordinator-ca FILE      PEM roots to verify an https coordinator
  --hostname NAME            name sent at registration (default: system host name)
  --halt-machine             power the machine off on /halt (default: only exit)
  --reboot                   reboot the machine on /halt
  --exec-timeout SECS        kill commands running longer than this
  --max-upload-bytes N       request body limit (default 4 GiB)
  --max-untar-bytes N        tarball expansion limit (default 16 GiB)
  --no-url-fetch             refuse POST /writetgz url=
";

#[derive(Default)]
struct Args {
    listen: Option<String>,
    workdir: Option<PathBuf>,
    password_file: Option<PathBuf>,
    allow_unauthenticated: bool,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    reverse: Option<String>,
    coordinator: Option<String>,
    key: Option<PathBuf>,
    coordinator_ca: Option<PathBuf>,
    hostname: Option<String>,
    halt_machine: bool,
    reboot: bool,
    exec_timeout: Option<u64>,
    max_upload: Option<u64>,
    max_untar: Option<u64>,
    no_url_fetch: bool,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args> {
    let mut a = Args::default();
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        let flag = flag.trim_start_matches('-').to_string();
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (flag, None),
        };
        let mut val = || {
            inline
                .clone()
                .or_else(|| it.next())
                .with_context(|| format!("--{name} needs a value"))
        };
        let num = |s: String, name: &str| {
            s.parse::<u64>()
                .with_context(|| format!("--{name}: not a number: {s:?}"))
        };
        match name.as_str() {
            "listen" => a.listen = Some(val()?),
            "workdir" => a.workdir = Some(val()?.into()),
            "password-file" => a.password_file = Some(val()?.into()),
            "allow-unauthenticated" => a.allow_unauthenticated = true,
            "tls-cert" => a.tls_cert = Some(val()?.into()),
            "tls-key" => a.tls_key = Some(val()?.into()),
            "reverse" | "reverse-type" => a.reverse = Some(val()?),
            "coordinator" => a.coordinator = Some(val()?),
            "key" => a.key = Some(val()?.into()),
            "coordinator-ca" => a.coordinator_ca = Some(val()?.into()),
            "hostname" => a.hostname = Some(val()?),
            "halt-machine" => a.halt_machine = true,
            "reboot" => a.reboot = true,
            "exec-timeout" => a.exec_timeout = Some(num(val()?, &name)?),
            "max-upload-bytes" => a.max_upload = Some(num(val()?, &name)?),
            "max-untar-bytes" => a.max_untar = Some(num(val()?, &name)?),
            "no-url-fetch" => a.no_url_fetch = true,
            "h" | "help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown flag --{other}\n{USAGE}"),
        }
    }
    Ok(a)
}

fn read_secret(path: &std::path::Path) -> Result<String> {
    let s = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(s.trim().to_string())
}

/// The password: `--password-file`, else `$META_PASSWORD` (`@FILE` names a file).
fn password(a: &Args) -> Result<Option<String>> {
    if let Some(p) = &a.password_file {
        return Ok(Some(read_secret(p)?));
    }
    match std::env::var("META_PASSWORD") {
        Ok(v) if v.starts_with('@') => Ok(Some(read_secret(std::path::Path::new(&v[1..]))?)),
        Ok(v) if !v.is_empty() => Ok(Some(v)),
        _ => Ok(None),
    }
}

fn resolve_listen(addr: &str) -> Result<SocketAddr> {
    let addr = addr.replace("localhost:", "127.0.0.1:");
    addr.parse()
        .with_context(|| format!("--listen {addr:?}: want IP:PORT or localhost:PORT"))
}

/// Runs a buildlet with these arguments (without the program name) until it is
/// halted or interrupted. Logs go to stderr; the bound address is printed on stdout.
pub async fn run(args: impl IntoIterator<Item = String>) -> Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let a = parse_args(args)?;
    let workdir = a.workdir.clone().unwrap_or_else(|| {
        let name = a
            .reverse
            .as_ref()
            .map_or("workdir".to_string(), |t| format!("workdir-{t}"));
        std::env::temp_dir().join(name)
    });
    refuse_dangerous_workdir(&workdir)?;
    let wd = WorkDir::open(&workdir, true)
        .with_context(|| format!("opening work dir {}", workdir.display()))?;
    let halt_action = match (a.halt_machine, a.reboot) {
        (_, true) => HaltAction::Reboot,
        (true, false) => HaltAction::PowerOff,
        _ => HaltAction::Exit,
    };
    let mut cfg = Config {
        password: password(&a)?,
        halt_action,
        allow_url_fetch: !a.no_url_fetch,
        ..Config::default()
    };
    if let Some(n) = a.max_upload {
        cfg.max_upload_bytes = n;
    }
    if let Some(n) = a.max_untar {
        cfg.max_untar_bytes = n;
    }
    cfg.exec_timeout = a.exec_timeout.map(Duration::from_secs);
    if a.reverse.is_some() {
        // Trust comes from the outbound connection and the builder key, as in Go's
        // reverse mode, which never sets a password.
        cfg.password = None;
    }
    let b = Buildlet::new(wd, cfg);
    tracing::info!(workdir = %b.work_dir().path().display(), version = crate::PROTOCOL_VERSION, "buildlet starting");

    let serve = async {
        match &a.reverse {
            Some(host_type) => run_reverse(&a, host_type, &b).await,
            None => run_listen(&a, &b).await,
        }
    };
    tokio::select! {
        r = serve => r?,
        _ = b.halted() => {}
        _ = shutdown_signal() => tracing::info!("signal received; shutting down"),
    }
    b.kill_all();
    halt_machine(b.config().halt_action);
    Ok(())
}

/// The work dir is emptied at start (as in the seed): refuse directories where that
/// would be a disaster.
fn refuse_dangerous_workdir(dir: &std::path::Path) -> Result<()> {
    let abs = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let home = std::env::var_os("HOME").map(PathBuf::from);
    if abs.parent().is_none() || Some(&abs) == home.as_ref() || abs == std::env::temp_dir() {
        bail!(
            "refusing to use {} as the work directory: it is emptied at start",
            abs.display()
        );
    }
    Ok(())
}

async fn run_listen(a: &Args, b: &Arc<Buildlet>) -> Result<()> {
    let listen = a.listen.clone().unwrap_or_else(|| "localhost:5936".into());
    let addr = resolve_listen(&listen)?;
    if b.config().password.is_none() && !addr.ip().is_loopback() && !a.allow_unauthenticated {
        bail!("refusing to listen on {addr} without a password; set --password-file or $META_PASSWORD, or pass --allow-unauthenticated");
    }
    let tls = match (&a.tls_cert, &a.tls_key) {
        (Some(c), Some(k)) => Some(tokio_rustls::TlsAcceptor::from(Arc::new(
            crate::tls::server_config(c, k)?,
        ))),
        (None, None) => None,
        _ => bail!("--tls-cert and --tls-key go together"),
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listen on {addr}"))?;
    // Tests and supervisors read the bound address from this line.
    println!("listening on {}", listener.local_addr()?);
    crate::h1::serve(listener, b.router(), tls, b.halted()).await?;
    Ok(())
}

async fn run_reverse(a: &Args, host_type: &str, b: &Arc<Buildlet>) -> Result<()> {
    let coordinator = a
        .coordinator
        .clone()
        .context("--reverse needs --coordinator URL")?;
    let key = read_secret(a.key.as_deref().context("--reverse needs --key FILE")?)?;
    let tls = match &a.coordinator_ca {
        Some(ca) => Some(Arc::new(crate::tls::client_config_with_roots(
            crate::tls::load_certs(ca)?,
        )?)),
        None if coordinator.starts_with("https://") => {
            bail!("https coordinator needs --coordinator-ca FILE")
        }
        None => None,
    };
    let hostname = match &a.hostname {
        Some(h) => h.clone(),
        None => std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".into()),
    };
    let cfg = ReverseConfig {
        coordinator,
        host_type: host_type.to_string(),
        hostname,
        key,
        tls,
        min_backoff: Duration::from_millis(500),
        max_backoff: Duration::from_secs(60),
    };
    reverse::run(cfg, b.clone()).await?;
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// Runs the OS command for `/halt` when asked to touch the machine (Go's `handleHalt`).
fn halt_machine(action: HaltAction) {
    let (cmd, args): (&str, &[&str]) = match action {
        HaltAction::Exit => return,
        HaltAction::PowerOff => ("/bin/halt", &["-n", "-f", "-p"]),
        HaltAction::Reboot => ("reboot", &[]),
    };
    tracing::warn!(cmd, "halting the machine");
    if let Err(e) = std::process::Command::new(cmd).args(args).status() {
        tracing::error!("{cmd}: {e}");
    }
}
