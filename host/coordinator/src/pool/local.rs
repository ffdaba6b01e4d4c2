//! The local pool: a fresh buildlet process on loopback per build, each with its own
//! work directory under the data directory and its own password, up to `count` at once.
//! The process is killed and its directory removed when the build gives it back.

use super::{password, BoxFuture, Capacity, Lease, Machine, Pool};
use anyhow::{bail, Context};
use buildlet::client::{Client, ClientOptions};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::Notify;

/// How long a new buildlet has to say where it listens.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// One host type of the local pool (`env/<host-type>/local.toml`).
#[derive(Clone, Debug)]
pub struct LocalConfig {
    pub host_type: String,
    /// The buildlet's command line; `--listen` and `--workdir` are added.
    pub command: Vec<String>,
    /// At most this many at once.
    pub count: u32,
    /// Environment of the buildlet process (and so of every command it runs).
    pub env: Vec<(String, String)>,
    /// Work directories go under it, one per machine.
    pub dir: PathBuf,
}

pub struct LocalPool {
    cfg: LocalConfig,
    state: Arc<Mutex<State>>,
    freed: Arc<Notify>,
}

#[derive(Default)]
struct State {
    next: u64,
    machines: BTreeMap<String, &'static str>,
}

impl LocalPool {
    pub fn new(cfg: LocalConfig, freed: Arc<Notify>) -> LocalPool {
        LocalPool {
            cfg,
            state: Arc::default(),
            freed,
        }
    }
}

impl Pool for LocalPool {
    fn host_type(&self) -> &str {
        &self.cfg.host_type
    }

    fn kind(&self) -> &'static str {
        "local"
    }

    fn capacity(&self) -> Capacity {
        let used = self.state.lock().unwrap().machines.len() as u32;
        Capacity {
            total: self.cfg.count,
            free: self.cfg.count.saturating_sub(used),
        }
    }

    fn reserve(&self) -> Option<BoxFuture<anyhow::Result<Lease>>> {
        let name = {
            let mut st = self.state.lock().unwrap();
            if st.machines.len() as u32 >= self.cfg.count {
                return None;
            }
            st.next += 1;
            let name = format!("{}-{}", self.cfg.host_type, st.next);
            st.machines.insert(name.clone(), "starting");
            name
        };
        let slot = Slot {
            name: name.clone(),
            state: self.state.clone(),
            freed: self.freed.clone(),
            workdir: self.cfg.dir.join(&name),
            child: None,
        };
        Some(Box::pin(start(self.cfg.clone(), slot)))
    }

    fn machines(&self) -> Vec<Machine> {
        let st = self.state.lock().unwrap();
        st.machines
            .iter()
            .map(|(name, state)| Machine {
                name: name.clone(),
                state: state.to_string(),
            })
            .collect()
    }
}

/// A machine of the pool; dropping it kills the process and removes its directory.
struct Slot {
    name: String,
    state: Arc<Mutex<State>>,
    freed: Arc<Notify>,
    workdir: PathBuf,
    child: Option<tokio::process::Child>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.workdir);
        let _ = std::fs::remove_file(self.workdir.with_extension("log"));
        self.state.lock().unwrap().machines.remove(&self.name);
        self.freed.notify_one();
    }
}

async fn start(cfg: LocalConfig, mut slot: Slot) -> anyhow::Result<Lease> {
    let Some((program, args)) = cfg.command.split_first() else {
        bail!("{}: the local pool has no buildlet command", cfg.host_type);
    };
    std::fs::create_dir_all(&slot.workdir)
        .with_context(|| format!("creating {}", slot.workdir.display()))?;
    let stderr = std::fs::File::create(slot.workdir.with_extension("log"))?;
    let pw = password();
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--workdir")
        .arg(&slot.workdir)
        .envs(cfg.env.iter().map(|(k, v)| (k, v)))
        .env("META_PASSWORD", &pw)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting buildlet {program:?}"))?;
    let stdout = child.stdout.take().expect("piped");
    slot.child = Some(child);
    let addr = tokio::time::timeout(START_TIMEOUT, listening_addr(stdout))
        .await
        .with_context(|| {
            format!(
                "{}: the buildlet did not start within {START_TIMEOUT:?}",
                slot.name
            )
        })??;
    let client = Client::new(
        addr.clone(),
        ClientOptions {
            password: Some(pw),
            ..Default::default()
        },
    );
    client
        .status()
        .await
        .with_context(|| format!("{}: the new buildlet does not answer", slot.name))?;
    slot.state
        .lock()
        .unwrap()
        .machines
        .insert(slot.name.clone(), "busy");
    let pid = slot.child.as_ref().and_then(|c| c.id()).unwrap_or(0);
    Ok(Lease {
        client,
        name: format!("{} (pid {pid}, {addr})", slot.name),
        release: Box::new(slot),
    })
}

/// Reads the buildlet's "listening on ADDR" line; keeps draining stdout afterwards so
/// the process never blocks on a full pipe.
async fn listening_addr(stdout: tokio::process::ChildStdout) -> anyhow::Result<String> {
    let mut lines = BufReader::new(stdout).lines();
    while let Some(line) = lines.next_line().await? {
        if let Some(addr) = line.strip_prefix("listening on ") {
            let addr = addr.trim().to_string();
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return Ok(addr);
        }
    }
    bail!("the buildlet exited before listening")
}
