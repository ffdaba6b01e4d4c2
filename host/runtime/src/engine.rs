//! The wasmtime engine shared by every plugin: component model, pooling allocator,
//! epoch interruption for deadlines, fuel for metered runs, and the compiled-code
//! cache (`cache.rs`) so a restart does not recompile.

use crate::cache::CodeCache;
use crate::error::{Error, Result};
use crate::id::VersionId;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::Component;
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// One epoch tick. Deadlines are rounded up to whole ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// The largest memory any plugin may have; per-call caps are at most this.
pub const MAX_MEMORY: usize = 256 << 20;

/// Sizes of the instance pool. Every concurrent call holds one component instance.
#[derive(Debug, Clone)]
pub struct PoolSizes {
    pub instances: u32,
    pub max_memory: usize,
}

impl Default for PoolSizes {
    fn default() -> Self {
        PoolSizes {
            instances: 256,
            max_memory: MAX_MEMORY,
        }
    }
}

/// A compiled component, and whether it came from the cache.
pub struct Compiled {
    pub component: Component,
    pub cached: bool,
}

/// The engine plus the thread that advances its epoch.
pub struct PluginEngine {
    engine: Engine,
    cache: Option<CodeCache>,
    compiles: AtomicU64,
    ticker_stop: Arc<AtomicBool>,
}

impl PluginEngine {
    pub fn new(
        pool: &PoolSizes,
        cache_dir: Option<PathBuf>,
        cache_read_only: bool,
    ) -> Result<Self> {
        let mut limits = PoolingAllocationConfig::new();
        limits
            .total_component_instances(pool.instances)
            .total_core_instances(pool.instances * 4)
            .total_memories(pool.instances * 2)
            .total_tables(pool.instances * 2)
            .max_memories_per_component(4)
            .max_tables_per_component(4)
            .max_memory_size(pool.max_memory)
            // A freed slot keeps up to 64 KiB of the pages its call dirtied resident and
            // copies them back from the component's image, so the next instance of the same
            // component takes no page faults on them; the rest is decommitted. With
            // PAGEMAP_SCAN (Linux 6.7+) those are the pages actually written, wherever they
            // are (a Rust guest's stack is near 1 MiB and its heap above it), and only they
            // are reset: without it, a fresh instance's first call faulted its stack and
            // heap back in (~7 µs of a ~19 µs call). Elsewhere the lowest 64 KiB are kept.
            .pagemap_scan(Enabled::Auto)
            .linear_memory_keep_resident(64 << 10)
            .table_keep_resident(16 << 10);
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(limits))
            .epoch_interruption(true)
            .consume_fuel(true)
            .memory_init_cow(true)
            // Each instance gets a fresh memory slot: keep reservations small so the
            // pool fits in the address space comfortably.
            .memory_reservation(pool.max_memory as u64)
            .memory_guard_size(64 << 10);
        let engine = Engine::new(&config).map_err(Error::Engine)?;
        let cache = cache_dir
            .map(|dir| {
                CodeCache::new(dir.clone(), &engine, cache_read_only)
                    .map_err(|source| Error::Io { path: dir, source })
            })
            .transpose()?;
        let ticker_stop = Arc::new(AtomicBool::new(false));
        spawn_ticker(engine.clone(), ticker_stop.clone());
        Ok(PluginEngine {
            engine,
            cache,
            compiles: AtomicU64::new(0),
            ticker_stop,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Compile `bytes` (id = its sha256), or take the compiled code from the cache. The
    /// code is not written to the cache: [`PluginEngine::keep`] does that once the
    /// component is accepted.
    pub fn compile(&self, id: &VersionId, bytes: &[u8], source_name: &str) -> Result<Compiled> {
        if let Some(component) = self.cache.as_ref().and_then(|c| c.get(&self.engine, id)) {
            return Ok(Compiled {
                component,
                cached: true,
            });
        }
        check_is_component(bytes, source_name)?;
        self.compiles.fetch_add(1, Ordering::Relaxed);
        let component = Component::new(&self.engine, bytes).map_err(|source| Error::Invalid {
            source_name: source_name.to_string(),
            source,
        })?;
        Ok(Compiled {
            component,
            cached: false,
        })
    }

    /// Keep the compiled code of an accepted version in the cache.
    pub fn keep(&self, id: &VersionId, component: &Component) {
        if let Some(cache) = &self.cache {
            cache.put(id, component);
        }
    }

    /// Delete the compiled code of a version refused or no longer kept.
    pub fn forget(&self, id: &VersionId) {
        if let Some(cache) = &self.cache {
            cache.remove(id);
        }
    }

    /// Components compiled (not taken from the cache) since the engine started.
    pub fn compiles(&self) -> u64 {
        self.compiles.load(Ordering::Relaxed)
    }

    /// Whether compiled code for `id` is in the cache.
    pub fn is_cached(&self, id: &VersionId) -> bool {
        self.cache.as_ref().is_some_and(|c| c.contains(id))
    }
}

impl Drop for PluginEngine {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

fn spawn_ticker(engine: Engine, stop: Arc<AtomicBool>) {
    std::thread::Builder::new()
        .name("plugin-epoch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })
        .expect("spawn epoch ticker thread");
}

/// A core module, a WAT file or random bytes all fail here with a message that says so.
pub(crate) fn check_is_component(bytes: &[u8], source_name: &str) -> Result<()> {
    let fail = |reason: &str| {
        Err(Error::NotAComponent {
            source_name: source_name.to_string(),
            reason: reason.to_string(),
        })
    };
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return fail("missing the \\0asm magic number");
    }
    if !wasmparser_is_component(&bytes[4..8]) {
        return fail("it is a core module; build it as a component (target wasm32-wasip2)");
    }
    Ok(())
}

/// Version/layer field: core modules are 01 00 00 00, components 0d 00 01 00.
fn wasmparser_is_component(header: &[u8]) -> bool {
    header[2..4] == [1, 0]
}
