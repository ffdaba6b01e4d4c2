//! A loaded plugin version: its identity, what it says it is, its counters, and the
//! pre-linked instance factory (`InstancePre`) that makes a fresh instance per call.

use crate::bindings;
use crate::error::{Cause, Fault};
use crate::host::HostState;
use crate::id::VersionId;
use crate::kinds::Kind;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use wasmtime::component::{HasSelf, InstancePre, Linker};
use wasmtime::Store;

/// What a plugin says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description {
    pub name: String,
    pub version: String,
    pub kind: Kind,
    pub summary: String,
}

impl From<bindings::types::Description> for Description {
    fn from(d: bindings::types::Description) -> Self {
        Description {
            name: d.name,
            version: d.version,
            kind: Kind::from_wit(d.kind),
            summary: d.summary,
        }
    }
}

macro_rules! define_pre {
    ($($kind:ident $module:ident $world:literal $World:ident $Pre:ident $export:literal [$($import:literal),*];)*) => {
        /// Pre-linked instance factory, typed by world.
        #[derive(Clone)]
        pub(crate) enum KindPre {
            $($kind(bindings::$module::$Pre<HostState>),)*
        }

        /// A live instance, typed by world.
        pub(crate) enum KindInstance {
            $($kind(bindings::$module::$World),)*
        }

        impl KindPre {
            /// Type the linked component as the world of `kind`.
            pub(crate) fn new(kind: Kind, pre: InstancePre<HostState>) -> wasmtime::Result<Self> {
                Ok(match kind {
                    $(Kind::$kind => KindPre::$kind(bindings::$module::$Pre::new(pre)?),)*
                })
            }

            pub(crate) fn kind(&self) -> Kind {
                match self {
                    $(KindPre::$kind(_) => Kind::$kind,)*
                }
            }

            pub(crate) fn instantiate(&self, store: &mut Store<HostState>) -> wasmtime::Result<KindInstance> {
                Ok(match self {
                    $(KindPre::$kind(p) => KindInstance::$kind(p.instantiate(store)?),)*
                })
            }
        }

        impl KindInstance {
            pub(crate) fn describe(&self, store: &mut Store<HostState>) -> wasmtime::Result<Description> {
                Ok(match self {
                    $(KindInstance::$kind(i) => i.xbuild_platform_plugin().call_describe(store)?.into(),)*
                })
            }
        }

        /// The linker of a kind: WASI and WASI's HTTP (granting nothing, see `host.rs`)
        /// and its world's imports.
        pub(crate) fn linker(engine: &wasmtime::Engine, kind: Kind) -> wasmtime::Result<Linker<HostState>> {
            let mut l = Linker::new(engine);
            wasmtime_wasi::p2::add_to_linker_sync(&mut l)?;
            wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut l)?;
            match kind {
                $(Kind::$kind => bindings::$module::$World::add_to_linker::<_, HasSelf<_>>(&mut l, |s| s)?,)*
            }
            Ok(l)
        }
    };
}

foreach_kind!(define_pre);

/// Counters of one version, exported at `/metrics`.
#[derive(Debug, Default)]
pub struct VersionStats {
    pub calls: AtomicU64,
    faults: [AtomicU64; Cause::ALL.len()],
    pub nanos: AtomicU64,
    pub fuel: AtomicU64,
}

impl VersionStats {
    /// Faults of one cause.
    pub fn faults(&self, cause: Cause) -> u64 {
        self.faults[cause as usize].load(Ordering::Relaxed)
    }

    /// Faults of every cause.
    pub fn faults_total(&self) -> u64 {
        Cause::ALL.iter().map(|&c| self.faults(c)).sum()
    }

    pub(crate) fn count_fault(&self, fault: &Fault) {
        self.faults[fault.cause() as usize].fetch_add(1, Ordering::Relaxed);
    }
}

/// A validated, loaded plugin version.
pub struct PluginVersion {
    pub id: VersionId,
    pub description: Description,
    pub size: usize,
    pub stats: VersionStats,
    /// The builders it defines (a builders plugin): no two serving plugins may define
    /// the same builder.
    pub builders: Vec<String>,
    pub(crate) pre: KindPre,
    /// "name@version", for log lines.
    pub(crate) label: Arc<str>,
}

impl PluginVersion {
    pub(crate) fn new(id: VersionId, description: Description, size: usize, pre: KindPre) -> Self {
        PluginVersion {
            label: format!("{}@{}", description.name, description.version).into(),
            id,
            description,
            size,
            stats: VersionStats::default(),
            builders: vec![],
            pre,
        }
    }

    pub fn kind(&self) -> Kind {
        self.pre.kind()
    }

    pub fn name(&self) -> &str {
        &self.description.name
    }
}

impl fmt::Debug for PluginVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginVersion")
            .field("id", &self.id)
            .field("description", &self.description)
            .finish()
    }
}
