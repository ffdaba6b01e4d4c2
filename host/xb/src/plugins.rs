//! `xb plugin load|swap|rollback|remove|list|describe|history`: work on the data
//! directory's plugin store. A running `xb serve` on the same directory follows the
//! changes. The reading commands (list, describe, history) open the store read-only
//! and change nothing in the data directory.

use crate::data::DataDir;
use anyhow::{bail, Context, Result};
use clap::Subcommand;
use runtime::{Handle, Kind, PoolKind, Registry, Runtime, RuntimeConfig};
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The guest plugins built by `cargo xtask plugins`.
pub const BUNDLED_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../plugins/target/wasm32-wasip2/release"
);

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Validate a component and keep it; it serves at once if its name is new.
    Load { file: PathBuf },
    /// Make a version serve under its name: a stored version id (or unique prefix)
    /// or a component file.
    Swap { name: String, version: String },
    /// Serve the version that served before the current one (or the one removed).
    Rollback { name: String },
    /// Take a plugin out of service; `rollback` serves it again.
    Remove { name: String },
    /// What serves under each name.
    List,
    /// What a plugin says about itself: a serving name, a version id or a file. A
    /// file is validated in memory, not stored.
    Describe { what: String },
    /// Every load, swap, rollback and removal of a name.
    History { name: String },
    /// Replay a bot plugin (a file, name or version) over a recorded corpus with the
    /// clock fixed and fuel metered; print its decisions as JSON.
    Test {
        plugin: String,
        #[command(flatten)]
        replay: crate::botcmd::ReplayArgs,
        /// Grow the corpus N mutations at a time (in time order), run the bot after
        /// each step and print the decisions that appear or go away.
        #[arg(long, num_args = 0..=1, default_missing_value = "1")]
        step: Option<usize>,
        /// Compare with a golden file instead of printing; exit status 1 if they differ.
        #[arg(long)]
        golden: Option<PathBuf>,
    },
    /// The decisions only one of two bot versions takes over a recorded corpus, by rule
    /// and issue or change; exit status 1 when they differ.
    Diff {
        old: String,
        new: String,
        #[command(flatten)]
        replay: crate::botcmd::ReplayArgs,
        /// Only issues and changes updated since this time.
        #[arg(long)]
        since: Option<String>,
        /// Only this rule's decisions: compare a rule with its rewrite in another
        /// plugin (e.g. in another language).
        #[arg(long)]
        rule: Option<String>,
    },
    /// Run a candidate bot version (a file or stored version) in shadow beside the
    /// serving one while `xb serve` runs; without VERSION, show where they disagreed.
    Shadow {
        name: String,
        version: Option<String>,
    },
    /// Make the shadow candidate serve, atomically; `rollback` undoes it.
    Promote { name: String },
}

/// Runs a command, with the exit status it asks for (`test --golden` and `diff` say
/// whether decisions differ).
pub fn run_status(cmd: PluginCommand, data: &DataDir) -> Result<crate::botcmd::Outcome> {
    use crate::botcmd::{self, Outcome};
    match cmd {
        PluginCommand::Test {
            plugin,
            replay,
            step,
            golden,
        } => botcmd::test(data, &plugin, &replay, step, golden.as_deref()),
        PluginCommand::Diff {
            old,
            new,
            replay,
            since,
            rule,
        } => botcmd::diff(data, &old, &new, &replay, since.as_deref(), rule.as_deref()),
        cmd => Ok(Outcome {
            text: run(cmd, data)?,
            code: 0,
        }),
    }
}

pub fn run(cmd: PluginCommand, data: &DataDir) -> Result<String> {
    match cmd {
        PluginCommand::Load { file } => {
            let bytes = read(&file)?;
            let loaded = data.registry()?.load(&bytes, &file.display().to_string())?;
            let v = &loaded.version;
            let state = if loaded.serving {
                "serving"
            } else {
                "stored; `xb plugin swap` makes it serve"
            };
            Ok(format!(
                "loaded {} {} ({}) {}: {state}\n",
                v.kind(),
                v.name(),
                v.description.version,
                v.id
            ))
        }
        PluginCommand::Swap { name, version } => {
            let reg = data.registry()?;
            let path = Path::new(&version);
            let id = if path.exists() {
                let stored = reg.add(&read(path)?, &version)?;
                if stored.name() != name {
                    bail!("{version} is plugin {:?}, not {name:?}", stored.name());
                }
                stored.id.clone()
            } else {
                reg.resolve(&version)?
            };
            let slot = reg.swap(&name, &id)?;
            Ok(format!(
                "{name}: serving {} ({})\n",
                slot.serving.description.version, slot.serving.id
            ))
        }
        PluginCommand::Rollback { name } => {
            let slot = data.registry()?.rollback(&name)?;
            Ok(format!(
                "{name}: rolled back to {} ({})\n",
                slot.serving.description.version, slot.serving.id
            ))
        }
        PluginCommand::Remove { name } => {
            let v = data.registry()?.remove(&name)?;
            Ok(format!(
                "{name}: removed (was {} ({})); `xb plugin rollback {name}` serves it again\n",
                v.description.version, v.id
            ))
        }
        PluginCommand::List => {
            let reg = data.registry_read_only()?;
            Ok(list(&reg))
        }
        PluginCommand::Describe { what } => describe(data, &what),
        PluginCommand::Test { .. } | PluginCommand::Diff { .. } => Ok(run_status(cmd, data)?.text),
        PluginCommand::Shadow { name, version } => {
            crate::botserve::shadow_cmd(data, &name, version.as_deref())
        }
        PluginCommand::Promote { name } => crate::botserve::promote_cmd(data, &name),
        PluginCommand::History { name } => {
            let reg = data.registry_read_only()?;
            let mut out = String::new();
            let Some(store) = reg.plugin_store() else {
                return Ok(out);
            };
            for e in store.events(&name)? {
                let id =
                    |v: Option<runtime::VersionId>| v.map_or_else(|| "-".into(), |v| v.to_string());
                let _ = writeln!(
                    out,
                    "{}  {:<8} {} -> {}",
                    maintner::time::Time::from_unix(e.at).rfc3339(),
                    e.action,
                    id(e.from),
                    id(e.to)
                );
            }
            Ok(out)
        }
    }
}

/// A component file, refused unread when it is over the size the host takes.
fn read(path: &Path) -> Result<Vec<u8>> {
    let context = || format!("reading {}", path.display());
    let size = std::fs::metadata(path).with_context(context)?.len();
    runtime::check_component_size(size, &path.display().to_string())?;
    std::fs::read(path).with_context(context)
}

/// What serves under each name. (Call and fault counts are per process: a running
/// host shows them at `/plugins` and `/metrics`.)
pub fn list(reg: &Registry) -> String {
    let mut out = format!(
        "{:<10} {:<20} {:<10} {:<14} history (newest first)\n",
        "KIND", "NAME", "VERSION", "ID"
    );
    for s in reg.list() {
        let v = &s.serving;
        let history: Vec<String> = s.history.iter().rev().map(|h| h.to_string()).collect();
        let _ = writeln!(
            out,
            "{:<10} {:<20} {:<10} {:<14} {}",
            s.kind.as_str(),
            s.name,
            v.description.version,
            v.id.to_string(),
            history.join(" ")
        );
    }
    out
}

/// Describe a serving name, a stored version or a component file. A file is
/// validated in a runtime of its own, in memory: nothing is stored.
pub fn describe(data: &DataDir, what: &str) -> Result<String> {
    let reg = data.registry_read_only()?;
    let handle = if let Ok(h) = reg.serving(what) {
        h
    } else if Path::new(what).is_file() {
        let alone = Registry::in_memory(Arc::new(Runtime::new(RuntimeConfig::default())?));
        Handle {
            version: alone.add(&read(Path::new(what))?, what)?,
            rt: alone.runtime().clone(),
        }
    } else {
        let id = reg
            .resolve(what)
            .with_context(|| format!("{what:?} is not a plugin name, a version or a file"))?;
        reg.handle(&id)?
    };
    describe_handle(&handle)
}

pub fn describe_handle(h: &Handle) -> Result<String> {
    let p = h.plugin();
    let d = p.describe()?;
    let mut out = String::new();
    let _ = writeln!(out, "name:    {}", d.name);
    let _ = writeln!(out, "kind:    {}", d.kind);
    let _ = writeln!(out, "version: {}", d.version);
    let _ = writeln!(out, "id:      {}", h.version.id.as_str());
    let _ = writeln!(out, "size:    {} bytes", h.version.size);
    let _ = writeln!(out, "summary: {}", d.summary);
    match d.kind {
        Kind::Builders => {
            for host in p.host_types()? {
                let _ = writeln!(
                    out,
                    "host type {} ({} pool, {})",
                    host.name,
                    pool_name(host.pool),
                    host.host_arch
                );
            }
            for b in p.builders()? {
                let trybot = if b.trybot { ", trybot" } else { "" };
                let _ = writeln!(out, "builder {} on {}{trybot}", b.name, b.host_type);
            }
        }
        Kind::Gopherbot => {
            for r in p.rules()? {
                let _ = writeln!(out, "rule {:?}: {}", r.name, r.description);
            }
        }
        Kind::Scheduler | Kind::Dashboard | Kind::Devapp => {}
    }
    Ok(out)
}

fn pool_name(p: PoolKind) -> &'static str {
    match p {
        PoolKind::Local => "local",
        PoolKind::Reverse => "reverse",
        PoolKind::Kubernetes => "kubernetes",
        PoolKind::Vm => "vm",
    }
}

/// Load the bundled plugins. A bundled plugin serves only where its name was never
/// used, so a restart never undoes an operator's swap or removal.
pub fn load_bundled(reg: &Registry, dir: &Path) -> Result<Vec<String>> {
    let entries = std::fs::read_dir(dir).with_context(|| {
        format!(
            "bundled plugins not found in {} (build them with `cargo xtask plugins`)",
            dir.display()
        )
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
        .collect();
    files.sort();
    let mut out = vec![];
    for f in files {
        let loaded = reg.load(&read(&f)?, &f.display().to_string())?;
        out.push(format!(
            "{} {} ({}){}",
            loaded.version.kind(),
            loaded.version.name(),
            loaded.version.id,
            if loaded.serving { " serving" } else { "" }
        ));
    }
    Ok(out)
}
