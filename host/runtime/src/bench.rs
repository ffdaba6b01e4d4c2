//! Measurements behind `cargo bench -p runtime`: instantiation from `InstancePre`,
//! host→guest and guest→host call overhead, swap latency. They live in the crate
//! because they need the pre-linked instance factory, which is not public.

use crate::calls::Work;
use crate::error::{Error, Result};
use crate::host::HostState;
use crate::plugin::{KindInstance, PluginVersion};
use crate::runtime::Runtime;
use std::time::{Duration, Instant};
use wasmtime::Store;

/// Sorted samples with percentiles.
#[derive(Debug, Clone)]
pub struct Samples(Vec<Duration>);

impl Samples {
    pub fn new(mut v: Vec<Duration>) -> Self {
        v.sort();
        Samples(v)
    }

    pub fn percentile(&self, p: f64) -> Duration {
        let i = ((self.0.len() as f64 - 1.0) * p / 100.0).round() as usize;
        self.0[i]
    }

    pub fn summary(&self) -> String {
        format!(
            "p50 {:>9.2?}  p99 {:>9.2?}  min {:>9.2?}  (n={})",
            self.percentile(50.0),
            self.percentile(99.0),
            self.0[0],
            self.0.len()
        )
    }
}

fn store(rt: &Runtime, v: &PluginVersion) -> Result<Store<HostState>> {
    let mut store = rt.store(v.label.clone(), rt.defaults())?;
    store.set_epoch_deadline(u64::MAX / 2);
    Ok(store)
}

/// A builders instance's `builds`, the export the benchmarks call.
fn builds(store: &mut Store<HostState>, instance: &KindInstance, work: &Work) -> Result<bool> {
    let KindInstance::Builders(i) = instance else {
        return Err(Error::Engine(wasmtime::Error::msg(
            "the benchmarks call a builders plugin",
        )));
    };
    i.xbuild_platform_builder_config()
        .call_builds(store, "b", work)
        .map_err(Error::Engine)
}

/// Time to create a store and instantiate a plugin from its `InstancePre`: what every
/// call pays before running guest code.
pub fn instantiation(rt: &Runtime, v: &PluginVersion, n: usize) -> Result<Samples> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        let mut store = store(rt, v)?;
        v.pre.instantiate(&mut store).map_err(Error::Engine)?;
        out.push(start.elapsed());
    }
    Ok(Samples::new(out))
}

/// Time of one `builds` call on a live instance, per call, over `n` calls.
pub fn call(rt: &Runtime, v: &PluginVersion, work: &Work, n: usize) -> Result<Samples> {
    let mut store = store(rt, v)?;
    let instance = v.pre.instantiate(&mut store).map_err(Error::Engine)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        builds(&mut store, &instance, work)?;
        out.push(start.elapsed());
    }
    Ok(Samples::new(out))
}

/// Time to drop a store after a call: returning the instance's slot to the pool, which
/// resets the memory the call touched.
pub fn teardown(rt: &Runtime, v: &PluginVersion, work: &Work, n: usize) -> Result<Samples> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mut store = store(rt, v)?;
        let instance = v.pre.instantiate(&mut store).map_err(Error::Engine)?;
        builds(&mut store, &instance, work)?;
        let start = Instant::now();
        drop(store);
        out.push(start.elapsed());
    }
    Ok(Samples::new(out))
}

/// A whole call's parts, timed within the same call: store creation, instantiation, the
/// first call on the fresh instance, and teardown (what `Runtime::call` does, less the
/// span, the slot and the report).
pub fn call_parts(rt: &Runtime, v: &PluginVersion, work: &Work, n: usize) -> Result<[Samples; 4]> {
    let mut parts: [Vec<Duration>; 4] = Default::default();
    for _ in 0..n {
        let t0 = Instant::now();
        let mut store = rt.store(v.label.clone(), rt.defaults())?;
        let t1 = Instant::now();
        let instance = v.pre.instantiate(&mut store).map_err(Error::Engine)?;
        let t2 = Instant::now();
        let KindInstance::Builders(i) = &instance else {
            return Err(Error::Engine(wasmtime::Error::msg("a builders plugin")));
        };
        i.xbuild_platform_builder_config()
            .call_builds(&mut store, "linux-amd64-localdev", work)
            .map_err(Error::Engine)?;
        let t3 = Instant::now();
        drop(store);
        let t4 = Instant::now();
        for (p, d) in parts.iter_mut().zip([t1 - t0, t2 - t1, t3 - t2, t4 - t3]) {
            p.push(d);
        }
    }
    Ok(parts.map(Samples::new))
}
