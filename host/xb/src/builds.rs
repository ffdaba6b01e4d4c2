//! What `xb serve` builds with: the pools (a local pool per local host type of the
//! serving builders plugins, or fixed buildlets where the configuration names them),
//! the watched repositories (the demo's among them) and the coordinator over them.

use crate::config::PoolSettings;
use anyhow::{Context, Result};
use coordinator::builders::BuilderSet;
use coordinator::pool::fixed::FixedPool;
use coordinator::pool::local::{LocalConfig, LocalPool};
use coordinator::pool::reverse::{Checks, Fleet};
use coordinator::pool::Pools;
use coordinator::trybots::GerritConfig;
use coordinator::{Config, Coordinator, RepoWatch};
use runtime::{PoolKind, Registry};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Where the bundled host types' folders are (`env/<host-type>/`).
pub const ENV_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../env");

/// How `xb serve` builds.
#[derive(Debug, Clone)]
pub struct BuildSetup {
    /// Create the demo repository in the data directory and build it.
    pub demo: bool,
    pub window: u32,
    pub trybots: bool,
    pub max_builds: usize,
    pub step_timeout_cap: Option<Duration>,
    /// Repositories to build besides the demo.
    pub repos: Vec<RepoWatch>,
    pub pools: BTreeMap<String, PoolSettings>,
    /// `env/<host-type>/local.toml` for local pools.
    pub env_dir: PathBuf,
    /// The buildlet command of local pools: `{xb}` stands for this executable.
    pub buildlet: Vec<String>,
    /// Go's public development master key instead of `<data>/builder-master.key`'s.
    pub dev_keys: bool,
    /// Where trybot results are posted (the journal goes in the data directory).
    pub gerrit: Option<crate::config::GerritSettings>,
}

impl Default for BuildSetup {
    fn default() -> Self {
        BuildSetup {
            demo: true,
            window: 10,
            trybots: true,
            max_builds: 8,
            step_timeout_cap: None,
            repos: vec![],
            pools: BTreeMap::new(),
            env_dir: ENV_DIR.into(),
            buildlet: vec!["{xb}".into(), "buildlet".into()],
            dev_keys: false,
            gerrit: None,
        }
    }
}

/// `env/<host-type>/local.toml`: how a local pool starts its buildlets.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct LocalToml {
    command: Vec<String>,
    count: Option<u32>,
    env: BTreeMap<String, String>,
}

/// Reads `dir/<host_type>/local.toml`, if there is one.
fn local_toml(env_dir: &Path, host_type: &str) -> Result<LocalToml> {
    let p = env_dir.join(host_type).join("local.toml");
    match std::fs::read_to_string(&p) {
        Ok(text) => toml::from_str(&text).with_context(|| format!("in {}", p.display())),
        Err(_) => Ok(LocalToml::default()),
    }
}

/// A pool for every host type the serving builders plugins define as local or reverse
/// (and any host type the configuration gives fixed buildlets to, or makes reverse),
/// and the fleet the reverse pools share. Blocking: plugin calls.
pub fn pools(setup: &BuildSetup, registry: &Registry, data: &Path) -> Result<(Pools, Fleet)> {
    let mut pools = Pools::new();
    let set = BuilderSet::load(registry);
    let reverse: BTreeMap<String, u32> = setup
        .pools
        .iter()
        .filter(|(_, p)| p.reverse == Some(true))
        .map(|(n, p)| (n.clone(), p.expect.unwrap_or(0)))
        .chain(
            set.host_types
                .iter()
                .filter(|(n, t)| t.pool == PoolKind::Reverse && !setup.pools.contains_key(*n))
                .map(|(n, t)| (n.clone(), t.expect_num)),
        )
        .collect();
    let fleet = Fleet::new(pools.notifier(), Checks::default(), reverse.clone());
    for name in reverse.keys() {
        pools.add(fleet.pool(name));
    }
    let xb = std::env::current_exe()
        .context("finding this executable")?
        .to_string_lossy()
        .into_owned();
    for (name, settings) in &setup.pools {
        if settings.fixed.is_empty() || pools.get(name).is_some() {
            continue;
        }
        let pw = settings.password_file.as_deref().map(secret).transpose()?;
        let machines: Vec<(String, Option<String>)> = settings
            .fixed
            .iter()
            .map(|a| (a.clone(), pw.clone()))
            .collect();
        pools.add(Arc::new(FixedPool::new(name, &machines, pools.notifier())));
    }
    for (name, t) in &set.host_types {
        if t.pool != PoolKind::Local || pools.get(name).is_some() {
            continue;
        }
        let file = local_toml(&setup.env_dir, name)?;
        let command = if file.command.is_empty() {
            setup.buildlet.clone()
        } else {
            file.command
        };
        let cfg = LocalConfig {
            host_type: name.clone(),
            command: command.iter().map(|a| a.replace("{xb}", &xb)).collect(),
            count: setup
                .pools
                .get(name)
                .and_then(|p| p.count)
                .or(file.count)
                .unwrap_or(2),
            env: file.env.into_iter().collect(),
            dir: data.join("buildlets"),
        };
        tracing::info!(host_type = %name, count = cfg.count, "local pool");
        pools.add(Arc::new(LocalPool::new(cfg, pools.notifier())));
    }
    Ok((pools, fleet))
}

/// A password kept in a file, without the white space around it.
pub fn secret(path: &Path) -> Result<String> {
    Ok(std::fs::read_to_string(path)
        .with_context(|| format!("reading {}", path.display()))?
        .trim()
        .to_string())
}

/// The coordinator's configuration, with the demo repository when it is built.
pub fn config(setup: &BuildSetup, data: &Path, demo_remote: Option<&Path>) -> Result<Config> {
    let mut repos = setup.repos.clone();
    if let Some(remote) = demo_remote {
        repos.push(RepoWatch {
            name: crate::demo::NAME.into(),
            project: crate::demo::PROJECT.into(),
            remote: remote.to_string_lossy().into_owned(),
            branches: vec!["master".into()],
        });
    }
    let mut cfg = Config::new(data.join("mirror"), repos);
    cfg.window = setup.window;
    cfg.trybots = setup.trybots;
    cfg.max_builds = setup.max_builds;
    cfg.step_timeout_cap = setup.step_timeout_cap;
    if let Some(g) = &setup.gerrit {
        let password = g.password_file.as_deref().map(secret).transpose()?;
        cfg.gerrit = Some(GerritConfig {
            url: g.url.trim_end_matches('/').to_string(),
            auth: g.user.clone().zip(password),
            public_url: g.public_url.trim_end_matches('/').to_string(),
            journal: data.join("trybots.db"),
        });
    }
    Ok(cfg)
}

pub type SharedCoordinator = Arc<Coordinator>;
