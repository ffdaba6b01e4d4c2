//! Measurements behind `cargo bench -p runtime`: instantiation from `InstancePre`,
//! host→guest and guest→host call overhead, swap latency. They live in the crate
//! because they need the pre-linked instance factory, which is not public.

use crate::calls::Work;
use crate::engine::engine_err;
use crate::error::Result;
use crate::host::HostState;
use crate::plugin::{KindPre, PluginVersion};
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
    let opts = rt.defaults();
    let mut store = Store::new(
        rt.engine(),
        HostState::new(v.label.clone(), opts.memory, opts.clock, Default::default()),
    );
    store.limiter(|s| &mut s.limiter);
    store.set_fuel(u64::MAX).map_err(engine_err)?;
    store.set_epoch_deadline(u64::MAX / 2);
    Ok(store)
}

/// Time to create a store and instantiate a builders plugin from its `InstancePre`:
/// what every call pays before running guest code.
pub fn instantiation(rt: &Runtime, v: &PluginVersion, n: usize) -> Result<Samples> {
    let KindPre::Builders(pre) = &v.pre else {
        panic!("bench needs a builders plugin")
    };
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        let mut store = store(rt, v)?;
        pre.instantiate(&mut store).map_err(engine_err)?;
        out.push(start.elapsed());
    }
    Ok(Samples::new(out))
}

/// Time of one `builds` call on a live instance, per call, over `n` calls.
pub fn call(rt: &Runtime, v: &PluginVersion, work: &Work, n: usize) -> Result<Samples> {
    let KindPre::Builders(pre) = &v.pre else {
        panic!("bench needs a builders plugin")
    };
    let mut store = store(rt, v)?;
    let inst = pre.instantiate(&mut store).map_err(engine_err)?;
    let cfg = inst.xbuild_platform_builder_config();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        cfg.call_builds(&mut store, "b", work).map_err(engine_err)?;
        out.push(start.elapsed());
    }
    Ok(Samples::new(out))
}

/// Time to drop a store after a call: returning the instance's slot to the pool, which
/// resets the memory the call touched.
pub fn teardown(rt: &Runtime, v: &PluginVersion, work: &Work, n: usize) -> Result<Samples> {
    let KindPre::Builders(pre) = &v.pre else {
        panic!("bench needs a builders plugin")
    };
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mut store = store(rt, v)?;
        let inst = pre.instantiate(&mut store).map_err(engine_err)?;
        inst.xbuild_platform_builder_config()
            .call_builds(&mut store, "b", work)
            .map_err(engine_err)?;
        let start = Instant::now();
        drop(store);
        out.push(start.elapsed());
    }
    Ok(Samples::new(out))
}
