//! The registry: which version serves under each plugin name, swaps between versions,
//! keeps the history for rollback, and follows the plugin store's database when the
//! CLI (another process) changes it.
//!
//! A swap replaces an `Arc`: calls already running hold the old version and finish on
//! it; every call that starts after the swap gets the new one.

use crate::calls::Handle;
use crate::error::{Error, Result};
use crate::id::VersionId;
use crate::kinds::Kind;
use crate::plugin::PluginVersion;
use crate::runtime::Runtime;
use crate::store::{PluginStore, SlotRow};
use crate::sync::{lock, read, write};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// How long a file in the watched directory must be unmodified before it is taken.
pub const INCOMING_SETTLE: std::time::Duration = std::time::Duration::from_millis(300);

/// A name's serving version and the ones before it.
#[derive(Debug, Clone)]
pub struct SlotInfo {
    pub name: String,
    pub kind: Kind,
    pub serving: Arc<PluginVersion>,
    pub history: Vec<VersionId>,
}

/// The result of loading a component.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub version: Arc<PluginVersion>,
    /// It serves now: nothing served under its name before.
    pub serving: bool,
}

#[derive(Default)]
struct Inner {
    versions: HashMap<VersionId, Arc<PluginVersion>>,
    slots: BTreeMap<String, SlotInfo>,
}

#[derive(Default)]
pub struct RegistryCounters {
    pub swaps: AtomicU64,
    pub rollbacks: AtomicU64,
    pub rejected: AtomicU64,
}

pub struct Registry {
    rt: Arc<Runtime>,
    store: Option<PluginStore>,
    inner: RwLock<Inner>,
    /// Last `data_version` seen, to notice other processes' commits.
    seen: Mutex<i64>,
    pub counters: RegistryCounters,
}

impl Registry {
    /// A registry that forgets everything when dropped (tests, replay).
    pub fn in_memory(rt: Arc<Runtime>) -> Self {
        Registry {
            rt,
            store: None,
            inner: RwLock::default(),
            seen: Mutex::new(0),
            counters: Default::default(),
        }
    }

    /// A registry backed by the plugin store; restores what served before.
    pub fn open(rt: Arc<Runtime>, store: PluginStore) -> Result<Self> {
        let seen = store.data_version()?;
        let reg = Registry {
            rt,
            store: Some(store),
            inner: RwLock::default(),
            seen: Mutex::new(seen),
            counters: Default::default(),
        };
        for row in reg.store()?.slots()? {
            if let Err(e) = reg.apply(row.clone()) {
                tracing::error!(plugin = %row.name, error = %e, "could not restore the serving version");
            }
        }
        Ok(reg)
    }

    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.rt
    }

    pub fn plugin_store(&self) -> Option<&PluginStore> {
        self.store.as_ref()
    }

    fn store(&self) -> Result<&PluginStore> {
        self.store.as_ref().ok_or(Error::NoStore)
    }

    /// Validate a component and keep it. It serves at once only if nothing serves
    /// under its name; otherwise `swap` makes it serve. A component that fails
    /// validation is not kept and never touches what serves.
    pub fn load(&self, bytes: &[u8], source_name: &str) -> Result<Loaded> {
        let version = match self.validate(bytes, source_name) {
            Ok(v) => v,
            Err(e) => {
                self.counters.rejected.fetch_add(1, Ordering::Relaxed);
                return Err(e);
            }
        };
        let name = version.name().to_string();
        let mut serving = false;
        self.transition(&name, |old| match old {
            Some(row) => Ok((row, "keep")),
            None => {
                serving = true;
                Ok((
                    SlotRow {
                        name: name.clone(),
                        kind: version.kind(),
                        serving: version.id.clone(),
                        history: vec![],
                    },
                    "load",
                ))
            }
        })?;
        Ok(Loaded { version, serving })
    }

    fn validate(&self, bytes: &[u8], source_name: &str) -> Result<Arc<PluginVersion>> {
        let id = VersionId::of(bytes);
        if let Some(v) = read(&self.inner).versions.get(&id) {
            return Ok(v.clone());
        }
        let version = crate::load::load(&self.rt, bytes, source_name)?;
        if let Some(store) = &self.store {
            store.put_blob(&version.id, bytes)?;
            store.record_version(&version)?;
        }
        write(&self.inner)
            .versions
            .insert(version.id.clone(), version.clone());
        Ok(version)
    }

    /// Make `id` serve under `name`; the version serving now goes to the history.
    pub fn swap(&self, name: &str, id: &VersionId) -> Result<SlotInfo> {
        let version = self.version(id)?;
        if version.name() != name {
            return Err(Error::Rejected {
                id: id.clone(),
                reason: format!("is plugin {:?}, not {name:?}", version.name()),
            });
        }
        let slot = self.transition(name, |old| {
            let mut history = vec![];
            if let Some(old) = old {
                if old.kind != version.kind() {
                    return Err(Error::WrongKind {
                        id: id.clone(),
                        expected: old.kind,
                        found: version.kind(),
                    });
                }
                if old.serving == *id {
                    return Ok((old, "swap"));
                }
                history = old.history;
                history.push(old.serving);
            }
            Ok((
                SlotRow {
                    name: name.to_string(),
                    kind: version.kind(),
                    serving: id.clone(),
                    history,
                },
                "swap",
            ))
        })?;
        self.counters.swaps.fetch_add(1, Ordering::Relaxed);
        tracing::info!(plugin = name, to = %id, "swapped");
        Ok(slot)
    }

    /// Load a component and make it serve under its name.
    pub fn load_and_swap(&self, bytes: &[u8], source_name: &str) -> Result<SlotInfo> {
        let loaded = self.load(bytes, source_name)?;
        self.swap(&loaded.version.description.name, &loaded.version.id)
    }

    /// Serve the version that served before the current one.
    pub fn rollback(&self, name: &str) -> Result<SlotInfo> {
        let slot = self.transition(name, |old| {
            let mut row = old.ok_or_else(|| Error::UnknownPlugin(name.to_string()))?;
            row.serving = row
                .history
                .pop()
                .ok_or_else(|| Error::NothingToRollBack(name.to_string()))?;
            Ok((row, "rollback"))
        })?;
        self.counters.rollbacks.fetch_add(1, Ordering::Relaxed);
        tracing::info!(plugin = name, to = %slot.serving.id, "rolled back");
        Ok(slot)
    }

    /// Change a slot: through the store's transaction when there is one, so that the
    /// database stays the authority; then make memory follow.
    fn transition(
        &self,
        name: &str,
        f: impl FnOnce(Option<SlotRow>) -> Result<(SlotRow, &'static str)>,
    ) -> Result<SlotInfo> {
        let row = match &self.store {
            Some(store) => store.update_slot(name, f)?,
            None => {
                // Without a store, memory is the authority; hold the write lock across
                // read-modify-write.
                let mut inner = write(&self.inner);
                let old = inner.slots.get(name).map(|s| SlotRow {
                    name: s.name.clone(),
                    kind: s.kind,
                    serving: s.serving.id.clone(),
                    history: s.history.clone(),
                });
                let (row, _) = f(old)?;
                let serving = inner
                    .versions
                    .get(&row.serving)
                    .cloned()
                    .ok_or_else(|| Error::UnknownVersion(row.serving.to_string()))?;
                let slot = SlotInfo {
                    name: row.name,
                    kind: row.kind,
                    serving,
                    history: row.history,
                };
                inner.slots.insert(name.to_string(), slot.clone());
                return Ok(slot);
            }
        };
        self.apply(row)
    }

    /// Make memory match a slot row, loading versions it names that are not loaded.
    fn apply(&self, row: SlotRow) -> Result<SlotInfo> {
        let serving = self.version(&row.serving)?;
        let slot = SlotInfo {
            name: row.name.clone(),
            kind: row.kind,
            serving,
            history: row.history,
        };
        write(&self.inner).slots.insert(row.name, slot.clone());
        Ok(slot)
    }

    /// A loaded version, or one in the store (compiled code comes from the cache).
    fn version(&self, id: &VersionId) -> Result<Arc<PluginVersion>> {
        if let Some(v) = read(&self.inner).versions.get(id) {
            return Ok(v.clone());
        }
        let store = self
            .store
            .as_ref()
            .ok_or_else(|| Error::UnknownVersion(id.to_string()))?;
        let bytes = store.blob(id)?;
        self.validate(&bytes, &format!("store:{id}"))
    }

    /// Follow slot changes committed by another process (the CLI). Returns the names
    /// that changed.
    pub fn reconcile(&self) -> Result<Vec<String>> {
        let Some(store) = &self.store else {
            return Ok(vec![]);
        };
        let now = store.data_version()?;
        {
            let mut seen = lock(&self.seen);
            if *seen == now {
                return Ok(vec![]);
            }
            *seen = now;
        }
        let mut changed = vec![];
        for row in store.slots()? {
            let same = read(&self.inner)
                .slots
                .get(&row.name)
                .is_some_and(|s| s.serving.id == row.serving && s.history == row.history);
            if !same {
                let name = row.name.clone();
                self.apply(row)?;
                tracing::info!(plugin = %name, "following a change made by another process");
                changed.push(name);
            }
        }
        Ok(changed)
    }

    /// Resolve a full id or a unique prefix of a loaded or stored version.
    pub fn resolve(&self, prefix: &str) -> Result<VersionId> {
        if let Some(id) = VersionId::parse(prefix) {
            return Ok(id);
        }
        let inner = read(&self.inner);
        let mut hits = inner
            .versions
            .keys()
            .filter(|id| id.as_str().starts_with(prefix) && prefix.len() >= 6);
        if let (Some(id), None) = (hits.next(), hits.next()) {
            return Ok(id.clone());
        }
        drop(inner);
        if let Some(store) = &self.store {
            if let Some(id) = store.resolve(prefix)? {
                return Ok(id);
            }
        }
        Err(Error::UnknownVersion(prefix.to_string()))
    }

    /// The version serving under `name`, ready to call.
    pub fn serving(&self, name: &str) -> Result<Handle> {
        let inner = read(&self.inner);
        let slot = inner
            .slots
            .get(name)
            .ok_or_else(|| Error::UnknownPlugin(name.to_string()))?;
        Ok(Handle {
            rt: self.rt.clone(),
            version: slot.serving.clone(),
        })
    }

    /// Any loaded or stored version, ready to call (serving or not).
    pub fn handle(&self, id: &VersionId) -> Result<Handle> {
        Ok(Handle {
            rt: self.rt.clone(),
            version: self.version(id)?,
        })
    }

    /// Every serving version of a kind, by name.
    pub fn serving_kind(&self, kind: Kind) -> Vec<Handle> {
        let inner = read(&self.inner);
        inner
            .slots
            .values()
            .filter(|s| s.kind == kind)
            .map(|s| Handle {
                rt: self.rt.clone(),
                version: s.serving.clone(),
            })
            .collect()
    }

    pub fn list(&self) -> Vec<SlotInfo> {
        read(&self.inner).slots.values().cloned().collect()
    }

    /// Every version loaded in this process.
    pub fn versions(&self) -> Vec<Arc<PluginVersion>> {
        let mut v: Vec<_> = read(&self.inner).versions.values().cloned().collect();
        v.sort_by(|a, b| (a.name(), &a.id).cmp(&(b.name(), &b.id)));
        v
    }

    /// Load every `*.wasm` dropped into `dir` and make it serve. A file that loads is
    /// moved to `dir/loaded/`; one that is rejected is renamed `*.rejected` with the
    /// reason beside it in `*.rejected.txt`. Serving versions are untouched by a reject.
    /// A file modified in the last [`INCOMING_SETTLE`] is left for the next scan: it may
    /// still be being copied in.
    pub fn scan_incoming(&self, dir: &Path) -> Vec<(String, Result<SlotInfo>)> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return vec![];
        };
        let settled = |p: &Path| {
            std::fs::metadata(p)
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age >= INCOMING_SETTLE))
        };
        let mut files: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "wasm") && settled(p))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|path| (path.display().to_string(), self.take_incoming(dir, &path)))
            .collect()
    }

    fn take_incoming(&self, dir: &Path, path: &Path) -> Result<SlotInfo> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let bytes = std::fs::read(path).map_err(io)?;
        let outcome = self.load_and_swap(&bytes, &path.display().to_string());
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_default();
        match &outcome {
            Ok(_) => {
                std::fs::create_dir_all(dir.join("loaded")).map_err(io)?;
                std::fs::rename(path, dir.join("loaded").join(&file)).map_err(io)?;
            }
            Err(e) => {
                std::fs::write(dir.join(format!("{file}.rejected.txt")), format!("{e}\n"))
                    .map_err(io)?;
                std::fs::rename(path, dir.join(format!("{file}.rejected"))).map_err(io)?;
                tracing::warn!(file = %path.display(), error = %e, "rejected a plugin from the watched directory");
            }
        }
        outcome
    }
}
