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
use crate::load::check_component_size;
use crate::plugin::PluginVersion;
use crate::runtime::Runtime;
use crate::store::{PluginStore, ServingBuilders, SlotRow, HISTORY};
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
    /// It serves now: its name was new.
    pub serving: bool,
}

/// The versions `before` named that `after` (the same slot, changed) no longer does.
fn dropped(before: Option<&SlotRow>, after: &SlotRow) -> Vec<VersionId> {
    let named =
        |r: &SlotRow| -> Vec<VersionId> { r.serving.iter().chain(&r.history).cloned().collect() };
    let now = named(after);
    before
        .map(named)
        .unwrap_or_default()
        .into_iter()
        .filter(|id| !now.contains(id))
        .collect()
}

/// The slot a change left serving.
fn serving(name: &str, slot: Option<SlotInfo>) -> Result<SlotInfo> {
    slot.ok_or_else(|| Error::UnknownPlugin(name.to_string()))
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
    /// The slots, when there is no store to be their authority.
    memory: Mutex<BTreeMap<String, SlotRow>>,
    /// Last `data_version` seen, to notice other processes' commits.
    seen: Mutex<i64>,
    /// Bumped whenever what serves in some slot changes.
    serving_changes: AtomicU64,
    pub counters: RegistryCounters,
}

impl Registry {
    /// A registry that forgets everything when dropped (tests, replay).
    pub fn in_memory(rt: Arc<Runtime>) -> Self {
        Registry {
            rt,
            store: None,
            inner: RwLock::default(),
            memory: Mutex::default(),
            seen: Mutex::new(0),
            serving_changes: AtomicU64::new(0),
            counters: Default::default(),
        }
    }

    /// A registry backed by the plugin store; restores what served before. Over a store
    /// opened read-only, nothing is written (the CLI's reading commands).
    pub fn open(rt: Arc<Runtime>, store: PluginStore) -> Result<Self> {
        let seen = store.data_version()?;
        let reg = Registry {
            rt,
            store: Some(store),
            inner: RwLock::default(),
            memory: Mutex::default(),
            seen: Mutex::new(seen),
            serving_changes: AtomicU64::new(0),
            counters: Default::default(),
        };
        let store = reg.store()?;
        for row in store.slots()? {
            match reg.apply(row.clone()) {
                // Versions stored before the store recorded builder names get them now.
                Ok(Some(slot)) if !store.is_read_only() => store.record_version(&slot.serving)?,
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(plugin = %row.name, error = %e, "could not restore the serving version")
                }
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

    /// Validate a component and keep it, without making it serve. A component that
    /// fails validation is not kept.
    pub fn add(&self, bytes: &[u8], source_name: &str) -> Result<Arc<PluginVersion>> {
        let version = check_component_size(bytes.len() as u64, source_name)
            .and_then(|()| self.validate(bytes, source_name))
            .inspect_err(|_| self.count_rejected())?;
        if let Some(store) = &self.store {
            store.put_blob(&version.id, bytes)?;
            store.record_version(&version)?;
        }
        Ok(version)
    }

    /// Validate a component and keep it. It serves at once only if its name was never
    /// used (a removed name stays removed); otherwise `swap` makes it serve.
    pub fn load(&self, bytes: &[u8], source_name: &str) -> Result<Loaded> {
        let version = self.add(bytes, source_name)?;
        let mut serving = false;
        self.transition(version.name(), |old| match old {
            Some(row) => Ok((row, "keep")),
            None => {
                serving = true;
                Ok((
                    SlotRow {
                        name: version.name().to_string(),
                        kind: version.kind(),
                        serving: Some(version.id.clone()),
                        history: vec![],
                    },
                    "load",
                ))
            }
        })?;
        Ok(Loaded { version, serving })
    }

    fn count_rejected(&self) {
        self.counters.rejected.fetch_add(1, Ordering::Relaxed);
    }

    /// A loaded version of these bytes, or the bytes loaded now.
    fn validate(&self, bytes: &[u8], source_name: &str) -> Result<Arc<PluginVersion>> {
        let id = VersionId::of(bytes);
        if let Some(v) = read(&self.inner).versions.get(&id) {
            return Ok(v.clone());
        }
        let version = crate::load::load(&self.rt, bytes, source_name)?;
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
                if old.serving.as_ref() == Some(id) {
                    return Ok((old, "swap"));
                }
                history = old.history;
                history.extend(old.serving);
            }
            Ok((
                SlotRow {
                    name: name.to_string(),
                    kind: version.kind(),
                    serving: Some(id.clone()),
                    history,
                },
                "swap",
            ))
        })?;
        self.counters.swaps.fetch_add(1, Ordering::Relaxed);
        tracing::info!(plugin = name, to = %id, "swapped");
        serving(name, slot)
    }

    /// Load a component and make it serve under its name. If it cannot serve, it is
    /// kept but nothing changes.
    pub fn load_and_swap(&self, bytes: &[u8], source_name: &str) -> Result<SlotInfo> {
        let version = self.add(bytes, source_name)?;
        self.swap(version.name(), &version.id)
    }

    /// Serve the version that served before the current one (or, after a removal, the
    /// one removed).
    pub fn rollback(&self, name: &str) -> Result<SlotInfo> {
        let slot = self.transition(name, |old| {
            let mut row = old.ok_or_else(|| Error::UnknownPlugin(name.to_string()))?;
            row.serving = Some(
                row.history
                    .pop()
                    .ok_or_else(|| Error::NothingToRollBack(name.to_string()))?,
            );
            Ok((row, "rollback"))
        })?;
        self.counters.rollbacks.fetch_add(1, Ordering::Relaxed);
        let slot = serving(name, slot)?;
        tracing::info!(plugin = name, to = %slot.serving.id, "rolled back");
        Ok(slot)
    }

    /// Take a plugin out of service: nothing serves under its name until a swap or a
    /// rollback. The version removed goes to the history; calls already running
    /// finish on it. Returns it.
    pub fn remove(&self, name: &str) -> Result<Arc<PluginVersion>> {
        let unknown = || Error::UnknownPlugin(name.to_string());
        let mut removed = None;
        self.transition(name, |old| {
            let mut row = old.ok_or_else(unknown)?;
            let id = row.serving.take().ok_or_else(unknown)?;
            row.history.push(id.clone());
            removed = Some(id);
            Ok((row, "remove"))
        })?;
        let removed = self.version(&removed.ok_or_else(unknown)?)?;
        tracing::info!(plugin = name, id = %removed.id, "removed");
        Ok(removed)
    }

    /// Change a slot: through the store's transaction when there is one, so that the
    /// database stays the authority; then make memory follow. A change that makes a
    /// builders plugin serve is refused if another serving plugin defines one of its
    /// builders.
    fn transition(
        &self,
        name: &str,
        f: impl FnOnce(Option<SlotRow>) -> Result<(SlotRow, &'static str)>,
    ) -> Result<Option<SlotInfo>> {
        let mut before = None;
        let checked = |old: Option<SlotRow>, others: &ServingBuilders| {
            before = old.clone();
            let was = old.as_ref().and_then(|o| o.serving.clone());
            let (row, action) = f(old)?;
            match &row.serving {
                Some(id) if was.as_ref() != Some(id) => self.check_builders(name, id, others)?,
                _ => {}
            }
            Ok((row, action))
        };
        let (slot, dropped) = match &self.store {
            Some(store) => {
                let row = store.update_slot(name, checked)?;
                let dropped = dropped(before.as_ref(), &row);
                (self.apply(row)?, dropped)
            }
            None => {
                // Without a store, memory is the authority; hold its lock across
                // read-modify-write and until the row is applied.
                let mut rows = lock(&self.memory);
                let others = self.serving_builders(name);
                let (mut row, _) = checked(rows.get(name).cloned(), &others)?;
                if row.history.len() > HISTORY {
                    row.history.drain(..row.history.len() - HISTORY);
                }
                rows.insert(name.to_string(), row.clone());
                let dropped = dropped(before.as_ref(), &row);
                (self.apply(row)?, dropped)
            }
        };
        self.forget(&dropped);
        Ok(slot)
    }

    /// Let go of versions no slot names any more (fallen off the end of a history):
    /// their compiled code is deleted from the cache and dropped from memory.
    fn forget(&self, dropped: &[VersionId]) {
        for id in dropped {
            write(&self.inner).versions.remove(id);
            self.rt.engine().forget(id);
            tracing::info!(id = %id, "dropped a version no slot names");
        }
    }

    /// Refuse to serve `id` under `name` if another serving plugin defines one of
    /// its builders.
    fn check_builders(&self, name: &str, id: &VersionId, others: &ServingBuilders) -> Result<()> {
        let version = self.version(id)?;
        for builder in &version.builders {
            if let Some((other, _)) = others.iter().find(|(_, b)| b.contains(builder)) {
                return Err(Error::BuilderClash {
                    builder: builder.clone(),
                    plugin: name.to_string(),
                    other: other.clone(),
                });
            }
        }
        Ok(())
    }

    /// The builders of every serving plugin but `name`, from memory.
    fn serving_builders(&self, name: &str) -> ServingBuilders {
        read(&self.inner)
            .slots
            .values()
            .filter(|s| s.name != name && !s.serving.builders.is_empty())
            .map(|s| (s.name.clone(), s.serving.builders.clone()))
            .collect()
    }

    /// Make memory match a slot row, loading versions it names that are not loaded.
    /// Returns the slot if something serves in it.
    fn apply(&self, row: SlotRow) -> Result<Option<SlotInfo>> {
        let Some(id) = &row.serving else {
            if write(&self.inner).slots.remove(&row.name).is_some() {
                self.serving_changes.fetch_add(1, Ordering::Relaxed);
            }
            return Ok(None);
        };
        let slot = SlotInfo {
            serving: self.version(id)?,
            name: row.name.clone(),
            kind: row.kind,
            history: row.history,
        };
        let old = write(&self.inner).slots.insert(row.name, slot.clone());
        if old.is_none_or(|o| o.serving.id != slot.serving.id) {
            self.serving_changes.fetch_add(1, Ordering::Relaxed);
        }
        Ok(Some(slot))
    }

    /// Changes each time a slot starts serving another version or stops serving, so
    /// what was computed from the serving plugins can tell it is out of date.
    pub fn serving_changes(&self) -> u64 {
        self.serving_changes.load(Ordering::Relaxed)
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
    /// that changed. A row that cannot be followed (its version fails to load) is
    /// logged and the others are still followed.
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
            let same = match (read(&self.inner).slots.get(&row.name), &row.serving) {
                (Some(s), Some(id)) => s.serving.id == *id && s.history == row.history,
                (None, None) => true,
                _ => false,
            };
            if same {
                continue;
            }
            let name = row.name.clone();
            let before = read(&self.inner).slots.get(&name).map(|s| SlotRow {
                name: s.name.clone(),
                kind: s.kind,
                serving: Some(s.serving.id.clone()),
                history: s.history.clone(),
            });
            let gone = dropped(before.as_ref(), &row);
            match self.apply(row) {
                Ok(_) => {
                    self.forget(&gone);
                    tracing::info!(plugin = %name, "following a change made by another process");
                    changed.push(name);
                }
                Err(e) => {
                    tracing::error!(plugin = %name, error = %e, "could not follow a change made by another process")
                }
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
        let source_name = path.display().to_string();
        // A file over the cap is refused without being read.
        let size = std::fs::metadata(path).map_err(io)?.len();
        let outcome = match check_component_size(size, &source_name) {
            Ok(()) => {
                let bytes = std::fs::read(path).map_err(io)?;
                self.load_and_swap(&bytes, &source_name)
            }
            Err(e) => {
                self.count_rejected();
                Err(e)
            }
        };
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
