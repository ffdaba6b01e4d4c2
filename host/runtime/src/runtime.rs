//! `Runtime`: the engine, a linker per kind, the data the imports read, and the call
//! machinery: a store with the call's limits, an instance, the call, and the fault
//! named if it fails.

use crate::engine::{PluginEngine, PoolSizes, EPOCH_TICK};
use crate::error::{Error, Fault, Result};
use crate::host::{Clock, HostData, HostState};
use crate::id::VersionId;
use crate::kinds::Kind;
use crate::plugin::{linker, Description, KindInstance, KindPre, PluginVersion};
use crate::sync::lock;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use wasmtime::component::{Component, Linker};
use wasmtime::{Store, Trap};

/// The WIT package version this host speaks.
pub const WIT_PACKAGE: &str = "xbuild:platform";
pub const WIT_VERSION: &str = "0.2.0";

/// Limits of one call, and what it is told about its moment and place.
#[derive(Debug, Clone)]
pub struct CallOptions {
    pub deadline: Duration,
    pub memory: usize,
    /// Metered mode: the call gets this much fuel and reports what it used.
    pub fuel: Option<u64>,
    pub clock: Clock,
    /// What the imports read in this call, instead of the runtime's (a bot pass gives
    /// each rule a view that leaves out the subjects it trapped on).
    pub data: Option<HostData>,
    /// What `site.base-url` answers: where the page being rendered is reached.
    pub base_url: Arc<str>,
}

impl Default for CallOptions {
    fn default() -> Self {
        CallOptions {
            deadline: Duration::from_secs(2),
            memory: 64 << 20,
            fuel: None,
            clock: Clock::Live,
            data: None,
            base_url: "".into(),
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
    /// Use the cache but never write it (the CLI's reading commands).
    pub cache_read_only: bool,
    pub defaults: CallOptions,
}

pub struct Runtime {
    engine: PluginEngine,
    linkers: HashMap<Kind, Linker<HostState>>,
    defaults: CallOptions,
    data: Mutex<HostData>,
    /// Bounds concurrent calls to the instance pool's size: callers wait instead of
    /// failing when the pool is busy.
    slots: Arc<Slots>,
}

impl Runtime {
    pub fn new(config: RuntimeConfig) -> Result<Self> {
        let engine = PluginEngine::new(&config.pool, config.cache_dir, config.cache_read_only)?;
        let linkers = Kind::ALL
            .iter()
            .map(|&k| Ok((k, linker(engine.engine(), k).map_err(Error::Engine)?)))
            .collect::<Result<_>>()?;
        Ok(Runtime {
            slots: Arc::new(Slots::new(config.pool.instances as usize)),
            engine,
            linkers,
            defaults: config.defaults,
            data: Mutex::new(HostData::default()),
        })
    }

    pub(crate) fn engine(&self) -> &PluginEngine {
        &self.engine
    }

    pub fn defaults(&self) -> &CallOptions {
        &self.defaults
    }

    /// Attach the corpus and results the imports read from.
    pub fn set_host_data(&self, data: HostData) {
        *lock(&self.data) = data;
    }

    /// What the imports read when a call brings no data of its own.
    pub fn host_data(&self) -> HostData {
        lock(&self.data).clone()
    }

    /// What the imports read in a call under `opts`.
    fn call_data(&self, opts: &CallOptions) -> HostData {
        opts.data.clone().unwrap_or_else(|| self.host_data())
    }

    pub fn is_cached(&self, id: &VersionId) -> bool {
        self.engine.is_cached(id)
    }

    /// Components compiled (not taken from the cache) by this runtime.
    pub fn compiles(&self) -> u64 {
        self.engine.compiles()
    }

    /// Link a compiled component as a plugin of `kind`.
    pub(crate) fn link(
        &self,
        id: &VersionId,
        component: &Component,
        kind: Kind,
    ) -> Result<KindPre> {
        let link_err = |source| Error::Link {
            id: id.clone(),
            kind,
            source,
        };
        let pre = self.linkers[&kind]
            .instantiate_pre(component)
            .map_err(link_err)?;
        KindPre::new(kind, pre).map_err(link_err)
    }

    /// Ask a linked component what it is, before it is a version.
    pub(crate) fn describe_pre(&self, id: &VersionId, pre: &KindPre) -> Result<Description> {
        let label: Arc<str> = format!("<{}>", id.short()).into();
        let _slot = self.slots.acquire();
        let mut store = self.store(label, &self.defaults)?;
        let (result, _) = run(&mut store, &self.defaults, |store| {
            pre.instantiate(store)?.describe(store)
        });
        result.map_err(|fault| Error::Describe {
            id: id.clone(),
            fault,
        })
    }

    /// A store for calls into `label`, with the limits of `opts`.
    pub(crate) fn store(&self, label: Arc<str>, opts: &CallOptions) -> Result<Store<HostState>> {
        let data = self.call_data(opts);
        let mut store = Store::new(self.engine.engine(), HostState::new(label, opts, data));
        store.limiter(|s| &mut s.limiter);
        limit(&mut store, opts)?;
        Ok(store)
    }

    /// Run `f` under `opts` against an instance of `v`: the one in `keep` if it holds
    /// one, else a fresh one (left in `keep`, with its pool slot, for the next call).
    /// Faults are counted on the version and returned as [`Error::Fault`] naming the
    /// plugin; a call that faults drops the instance, since wasmtime does not enter an
    /// instance again after a trap.
    pub(crate) fn call<R>(
        &self,
        v: &PluginVersion,
        opts: &CallOptions,
        op: &'static str,
        keep: Option<&mut Option<Kept>>,
        f: impl FnOnce(&mut Store<HostState>, &KindInstance) -> wasmtime::Result<R>,
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
        let mut fresh = None;
        let keep = keep.unwrap_or(&mut fresh);
        let (result, report) = match keep {
            Some(k) => {
                limit(&mut k.store, opts)?;
                let data = self.call_data(opts);
                k.store.data_mut().renew(opts.memory, data);
                run(&mut k.store, opts, |store| f(store, &k.instance))
            }
            None => {
                let slot = self.slots.acquire();
                let mut store = self.store(v.label.clone(), opts)?;
                let (result, report) = run(&mut store, opts, |store| {
                    let instance = v.pre.instantiate(store)?;
                    Ok((f(store, &instance)?, instance))
                });
                let result = result.map(|(r, instance)| {
                    *keep = Some(Kept {
                        _slot: slot,
                        store,
                        instance,
                    });
                    r
                });
                (result, report)
            }
        };
        v.stats.calls.fetch_add(1, Ordering::Relaxed);
        v.stats
            .nanos
            .fetch_add(report.duration.as_nanos() as u64, Ordering::Relaxed);
        if let Some(fuel) = report.fuel {
            v.stats.fuel.fetch_add(fuel, Ordering::Relaxed);
            span.record("fuel", fuel);
        }
        span.record("duration_us", report.duration.as_micros() as u64);
        span.record("memory_peak", report.memory_peak);
        match result {
            Ok(r) => {
                span.record("outcome", "ok");
                Ok((r, report))
            }
            Err(fault) => {
                *keep = None;
                span.record("outcome", fault.cause().label());
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

/// An instance kept between calls (see [`crate::Plugin::reusing_instance`]), with its
/// store and the pool slot it holds.
pub(crate) struct Kept {
    _slot: SlotGuard,
    store: Store<HostState>,
    instance: KindInstance,
}

/// Give `store` the limits of one call: its fuel and its deadline, counted from now.
fn limit(store: &mut Store<HostState>, opts: &CallOptions) -> Result<()> {
    store
        .set_fuel(opts.fuel.unwrap_or(u64::MAX))
        .map_err(Error::Engine)?;
    let ticks = opts
        .deadline
        .as_nanos()
        .div_ceil(EPOCH_TICK.as_nanos())
        .max(1) as u64;
    store.set_epoch_deadline(ticks);
    store.epoch_deadline_trap();
    store.data_mut().limiter.refused = None;
    Ok(())
}

/// Run `f` on `store`, measuring it and naming the fault if it fails.
fn run<R>(
    store: &mut Store<HostState>,
    opts: &CallOptions,
    f: impl FnOnce(&mut Store<HostState>) -> wasmtime::Result<R>,
) -> (Result<R, Fault>, CallReport) {
    let fuel_before = store.get_fuel().unwrap_or(0);
    let start = Instant::now();
    let result = {
        let _inside = Inside::enter();
        f(store)
    };
    let duration = start.elapsed();
    let used = fuel_before - store.get_fuel().unwrap_or(0);
    let report = CallReport {
        duration,
        fuel: opts.fuel.map(|_| used),
        memory_peak: store.data().limiter.peak,
    };
    (result.map_err(|e| classify(&e, store, opts)), report)
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

/// A counting semaphore for blocking callers.
struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

/// A slot taken; owned, so a kept instance can hold one without borrowing the runtime.
/// `None`: a call made from inside another, which runs in its caller's slot.
pub(crate) struct SlotGuard(Option<Arc<Slots>>);

thread_local! {
    /// Plugin calls running on this thread.
    static CALLS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Marks this thread as running a plugin call until dropped.
struct Inside;

impl Inside {
    fn enter() -> Inside {
        CALLS.set(CALLS.get() + 1);
        Inside
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        CALLS.set(CALLS.get() - 1);
    }
}

impl Slots {
    fn new(n: usize) -> Self {
        Slots {
            free: Mutex::new(n),
            freed: Condvar::new(),
        }
    }

    /// Waits for a free slot, except inside a call: a host import that calls another
    /// plugin (a dashboard asking a builders plugin what it builds) would otherwise wait
    /// for a slot that callers like itself may all hold, for ever.
    fn acquire(self: &Arc<Self>) -> SlotGuard {
        if CALLS.get() > 0 {
            return SlotGuard(None);
        }
        let mut free = lock(&self.free);
        while *free == 0 {
            free = self
                .freed
                .wait(free)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *free -= 1;
        SlotGuard(Some(self.clone()))
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        if let Some(slots) = &self.0 {
            *lock(&slots.free) += 1;
            slots.freed.notify_one();
        }
    }
}
