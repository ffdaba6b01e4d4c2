//! `Runtime`: compiles and validates components into [`PluginVersion`]s and runs calls
//! into them under limits, one fresh instance per call.

use crate::bindings::{builders, dashboard, devapp, gopherbot, scheduler};
use crate::engine::{engine_err, PluginEngine, PoolSizes, EPOCH_TICK};
use crate::error::{Error, Fault, Result};
use crate::host::{Clock, HostData, HostState};
use crate::plugin::{Description, Kind, KindPre, PluginVersion, VersionId, VersionStats};
use parking_lot::{Condvar, Mutex};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::component::{types::ComponentItem, Component, HasSelf, Linker};
use wasmtime::{Store, Trap};

/// The WIT package version this host speaks.
pub const WIT_PACKAGE: &str = "xbuild:platform";
pub const WIT_VERSION: &str = "0.1.0";

/// Limits of one call.
#[derive(Debug, Clone)]
pub struct CallOptions {
    pub deadline: Duration,
    pub memory: usize,
    /// Metered mode: the call gets this much fuel and reports what it used.
    pub fuel: Option<u64>,
    pub clock: Clock,
}

impl Default for CallOptions {
    fn default() -> Self {
        CallOptions {
            deadline: Duration::from_secs(2),
            memory: 64 << 20,
            fuel: None,
            clock: Clock::Live,
        }
    }
}

/// What one call cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallReport {
    pub duration: Duration,
    /// Fuel consumed; only in metered mode.
    pub fuel: Option<u64>,
    /// Largest linear memory size reached, bytes.
    pub memory_peak: usize,
}

/// Runtime settings.
#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    pub pool: PoolSizes,
    /// Where compiled code is cached; none disables the cache.
    pub cache_dir: Option<PathBuf>,
    pub defaults: CallOptions,
}

pub struct Runtime {
    engine: PluginEngine,
    linkers: HashMap<Kind, Linker<HostState>>,
    defaults: CallOptions,
    data: Mutex<HostData>,
    /// Bounds concurrent calls to the instance pool's size: callers wait instead of
    /// failing when the pool is busy.
    slots: Slots,
}

impl Runtime {
    pub fn new(config: RuntimeConfig) -> Result<Self> {
        let engine = PluginEngine::new(&config.pool, config.cache_dir.clone())?;
        let linkers = Kind::ALL
            .into_iter()
            .map(|k| Ok((k, linker(engine.engine(), k).map_err(engine_err)?)))
            .collect::<Result<_>>()?;
        Ok(Runtime {
            slots: Slots::new(config.pool.instances as usize),
            engine,
            linkers,
            defaults: config.defaults,
            data: Mutex::new(HostData::default()),
        })
    }

    pub(crate) fn engine(&self) -> &wasmtime::Engine {
        self.engine.engine()
    }

    pub fn defaults(&self) -> &CallOptions {
        &self.defaults
    }

    /// Attach the corpus and results the imports read from.
    pub fn set_host_data(&self, data: HostData) {
        *self.data.lock() = data;
    }

    pub fn is_cached(&self, id: &VersionId) -> bool {
        self.engine.is_cached(id)
    }

    /// Compile, link, instantiate, `describe`, and run the kind's self-check. Only a
    /// version that passes all of them is returned.
    pub fn load(&self, bytes: &[u8], source_name: &str) -> Result<Arc<PluginVersion>> {
        let id = VersionId::of(bytes);
        let span = tracing::info_span!("plugin.load", id = %id, source = source_name);
        let _enter = span.enter();
        let component = self.engine.compile(&id, bytes, source_name)?;
        let kinds = self.candidate_kinds(&id, &component)?;
        let mut last_err = None;
        for kind in kinds {
            match self.load_as(&id, &component, kind, bytes.len()) {
                Ok(v) => return Ok(v),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.expect("candidate_kinds is never empty"))
    }

    fn load_as(
        &self,
        id: &VersionId,
        component: &Component,
        kind: Kind,
        size: usize,
    ) -> Result<Arc<PluginVersion>> {
        let rejected = |reason: String| Error::Rejected {
            id: id.clone(),
            reason,
        };
        self.check_imports(id, component, kind)?;
        let pre = self.linkers[&kind]
            .instantiate_pre(component)
            .map_err(|e| rejected(format!("does not link as a {kind} plugin: {e:#}")))?;
        let pre = kind_pre(kind, pre)
            .map_err(|e| rejected(format!("does not implement the {kind} world: {e:#}")))?;
        let provisional = PluginVersion {
            id: id.clone(),
            description: Description {
                name: format!("<{}>", id.short()),
                version: "?".into(),
                kind,
                summary: String::new(),
            },
            size,
            stats: VersionStats::default(),
            label: format!("<{}>", id.short()).into(),
            pre,
        };
        let description = self
            .describe(&provisional)
            .map_err(|e| rejected(format!("describe failed: {e}")))?;
        if description.kind != kind {
            return Err(Error::WrongKind {
                id: id.clone(),
                expected: kind,
                found: description.kind,
            });
        }
        if description.name.is_empty() || description.name.contains(char::is_whitespace) {
            return Err(rejected(format!(
                "describe gave an unusable name {:?}",
                description.name
            )));
        }
        let version = PluginVersion {
            label: format!("{}@{}", description.name, description.version).into(),
            description,
            ..provisional
        };
        crate::selfcheck::run(self, &version)
            .map_err(|e| rejected(format!("self-check failed: {e}")))?;
        Ok(Arc::new(version))
    }

    /// Which kinds the component's exports say it could be. Both page kinds export
    /// `render`; `describe` then decides.
    fn candidate_kinds(&self, id: &VersionId, component: &Component) -> Result<Vec<Kind>> {
        let ty = component.component_type();
        let exports: Vec<String> = ty
            .exports(self.engine.engine())
            .map(|(n, _)| n.to_string())
            .collect();
        let ours = |iface: &str| format!("{WIT_PACKAGE}/{iface}@{WIT_VERSION}");
        let mut kinds: Vec<Kind> = Kind::ALL
            .into_iter()
            .filter(|k| exports.contains(&ours(k.export())))
            .collect();
        if kinds.is_empty() {
            let other = exports
                .iter()
                .find(|e| e.starts_with(&format!("{WIT_PACKAGE}/")));
            let reason = match other {
                Some(e) => format!("exports {e}, but this host speaks {WIT_PACKAGE}@{WIT_VERSION}"),
                None => format!(
                    "exports none of the plugin interfaces of {WIT_PACKAGE}@{WIT_VERSION} (it exports: {})",
                    if exports.is_empty() { "nothing".to_string() } else { exports.join(", ") }
                ),
            };
            return Err(Error::Rejected {
                id: id.clone(),
                reason,
            });
        }
        if !exports.contains(&ours("plugin")) {
            return Err(Error::Rejected {
                id: id.clone(),
                reason: format!("does not export {}", ours("plugin")),
            });
        }
        if kinds.contains(&Kind::Devapp) {
            // Try the narrower world first: a devapp must not import `results`.
            kinds.sort_by_key(|k| *k != Kind::Devapp);
        }
        Ok(kinds)
    }

    /// Refuse imports the kind does not grant, naming the first one.
    fn check_imports(&self, id: &VersionId, component: &Component, kind: Kind) -> Result<()> {
        let ty = component.component_type();
        for (name, item) in ty.imports(self.engine.engine()) {
            if name.starts_with("wasi:") {
                continue;
            }
            let granted = kind
                .imports()
                .iter()
                .any(|i| name == format!("{WIT_PACKAGE}/{i}@{WIT_VERSION}"));
            if !granted || !matches!(item.ty, ComponentItem::ComponentInstance(_)) {
                return Err(Error::Rejected {
                    id: id.clone(),
                    reason: format!(
                        "imports {name}, which the host does not grant to {kind} plugins"
                    ),
                });
            }
        }
        Ok(())
    }

    pub fn describe(&self, v: &PluginVersion) -> Result<Description> {
        let (d, _) = self.call(v, &self.defaults, "describe", |store, pre| {
            Ok(match pre {
                KindPre::Builders(p) => p
                    .instantiate(&mut *store)?
                    .xbuild_platform_plugin()
                    .call_describe(store)?,
                KindPre::Scheduler(p) => p
                    .instantiate(&mut *store)?
                    .xbuild_platform_plugin()
                    .call_describe(store)?,
                KindPre::Gopherbot(p) => p
                    .instantiate(&mut *store)?
                    .xbuild_platform_plugin()
                    .call_describe(store)?,
                KindPre::Dashboard(p) => p
                    .instantiate(&mut *store)?
                    .xbuild_platform_plugin()
                    .call_describe(store)?,
                KindPre::Devapp(p) => p
                    .instantiate(&mut *store)?
                    .xbuild_platform_plugin()
                    .call_describe(store)?,
            })
        })?;
        Ok(d.into())
    }

    /// Run `f` against a fresh instance of `v`, under `opts`. Faults are counted on
    /// the version and returned as [`Error::Fault`] naming the plugin.
    pub(crate) fn call<R>(
        &self,
        v: &PluginVersion,
        opts: &CallOptions,
        op: &'static str,
        f: impl FnOnce(&mut Store<HostState>, &KindPre) -> wasmtime::Result<R>,
    ) -> Result<(R, CallReport)> {
        let span = tracing::debug_span!(
            "plugin.call",
            kind = v.kind().as_str(),
            name = %v.description.name,
            version = %v.description.version,
            id = %v.id,
            op,
            duration_us = tracing::field::Empty,
            fuel = tracing::field::Empty,
            memory_peak = tracing::field::Empty,
            outcome = tracing::field::Empty,
        );
        let _enter = span.enter();
        let _slot = self.slots.acquire();
        let data = self.data.lock().clone();
        let mut store = Store::new(
            self.engine.engine(),
            HostState::new(v.label.clone(), opts.memory, opts.clock, data),
        );
        store.limiter(|s| &mut s.limiter);
        let fuel_given = opts.fuel.unwrap_or(u64::MAX);
        store.set_fuel(fuel_given).map_err(engine_err)?;
        let ticks = opts
            .deadline
            .as_nanos()
            .div_ceil(EPOCH_TICK.as_nanos())
            .max(1) as u64;
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();

        let start = Instant::now();
        let result = f(&mut store, &v.pre);
        let duration = start.elapsed();
        let used = fuel_given - store.get_fuel().unwrap_or(0);
        let report = CallReport {
            duration,
            fuel: opts.fuel.map(|_| used),
            memory_peak: store.data().limiter.peak,
        };
        v.stats.calls.fetch_add(1, Ordering::Relaxed);
        v.stats
            .nanos
            .fetch_add(duration.as_nanos() as u64, Ordering::Relaxed);
        if opts.fuel.is_some() {
            v.stats.fuel.fetch_add(used, Ordering::Relaxed);
        }
        span.record("duration_us", duration.as_micros() as u64);
        span.record("memory_peak", report.memory_peak);
        if let Some(fuel) = report.fuel {
            span.record("fuel", fuel);
        }
        match result {
            Ok(r) => {
                span.record("outcome", "ok");
                Ok((r, report))
            }
            Err(e) => {
                let fault = classify(&e, &store, opts);
                span.record("outcome", fault.label());
                tracing::warn!(fault = %fault, "plugin call failed");
                Err(self.fault(v, fault))
            }
        }
    }

    pub(crate) fn fault(&self, v: &PluginVersion, fault: Fault) -> Error {
        v.stats.count_fault(&fault);
        Error::Fault {
            name: v.description.name.clone(),
            version: v.description.version.clone(),
            id: v.id.clone(),
            fault,
        }
    }
}

/// Name the cause of a failed call.
fn classify(e: &wasmtime::Error, store: &Store<HostState>, opts: &CallOptions) -> Fault {
    if let Some(requested) = store.data().limiter.refused {
        return Fault::MemoryCap {
            cap: store.data().limiter.cap,
            requested,
        };
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => Fault::Deadline {
            millis: opts.deadline.as_millis() as u64,
        },
        Some(Trap::OutOfFuel) => Fault::OutOfFuel {
            fuel: opts.fuel.unwrap_or(u64::MAX),
        },
        Some(trap) => {
            let at = e.downcast_ref::<wasmtime::WasmBacktrace>().and_then(|bt| {
                bt.frames()
                    .first()
                    .and_then(|f| f.func_name().map(str::to_string))
            });
            match at {
                Some(func) => Fault::Trap(format!("{trap} in {func}")),
                None => Fault::Trap(trap.to_string()),
            }
        }
        None => Fault::Trap(format!("{e:#}")),
    }
}

fn linker(engine: &wasmtime::Engine, kind: Kind) -> wasmtime::Result<Linker<HostState>> {
    let mut l = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut l)?;
    match kind {
        Kind::Builders => builders::Builders::add_to_linker::<_, HasSelf<_>>(&mut l, |s| s)?,
        Kind::Scheduler => scheduler::Scheduler::add_to_linker::<_, HasSelf<_>>(&mut l, |s| s)?,
        Kind::Gopherbot => gopherbot::Gopherbot::add_to_linker::<_, HasSelf<_>>(&mut l, |s| s)?,
        Kind::Dashboard => dashboard::Dashboard::add_to_linker::<_, HasSelf<_>>(&mut l, |s| s)?,
        Kind::Devapp => devapp::Devapp::add_to_linker::<_, HasSelf<_>>(&mut l, |s| s)?,
    }
    Ok(l)
}

fn kind_pre(
    kind: Kind,
    pre: wasmtime::component::InstancePre<HostState>,
) -> wasmtime::Result<KindPre> {
    Ok(match kind {
        Kind::Builders => KindPre::Builders(builders::BuildersPre::new(pre)?),
        Kind::Scheduler => KindPre::Scheduler(scheduler::SchedulerPre::new(pre)?),
        Kind::Gopherbot => KindPre::Gopherbot(gopherbot::GopherbotPre::new(pre)?),
        Kind::Dashboard => KindPre::Dashboard(dashboard::DashboardPre::new(pre)?),
        Kind::Devapp => KindPre::Devapp(devapp::DevappPre::new(pre)?),
    })
}

/// A counting semaphore for blocking callers.
struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

struct SlotGuard<'a>(&'a Slots);

impl Slots {
    fn new(n: usize) -> Self {
        Slots {
            free: Mutex::new(n),
            freed: Condvar::new(),
        }
    }

    fn acquire(&self) -> SlotGuard<'_> {
        let mut free = self.free.lock();
        while *free == 0 {
            self.freed.wait(&mut free);
        }
        *free -= 1;
        SlotGuard(self)
    }
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        *self.0.free.lock() += 1;
        self.0.freed.notify_one();
    }
}
