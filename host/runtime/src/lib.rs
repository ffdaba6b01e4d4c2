//! The plugin runtime: wasmtime with the component model, one world per plugin kind
//! (`wit/`), a fresh instance per call from a pre-linked `InstancePre`, limits per call
//! (epoch deadline, memory cap, fuel when metered), content-addressed versions with
//! atomic swap and rollback, and counters for `/metrics`.
//!
//! Plugins get WASI with nothing granted: no preopened directories, no environment,
//! no sockets. Anything with an effect comes back as data for the host to carry out.
//!
//! Layers, each using only those below it:
//!
//! ```text
//! registry, store, metrics   what serves under each name; the plugin store on disk
//! load                       compile, link, describe, self-check
//! selfcheck                  each kind's check, through typed calls
//! calls                      typed calls into a version (`Plugin`, `Handle`)
//! runtime                    engine, linkers, stores with limits, faults named
//! plugin, engine, host       a loaded version; wasmtime's engine and cache; the imports
//! kinds, id, error, bindings the kinds (defined once), version ids, errors, WIT bindings
//! ```

#[macro_use]
mod kinds;
pub mod bench;
pub mod bindings;
mod cache;
mod calls;
mod corpus;
mod engine;
mod error;
mod host;
mod id;
mod load;
pub mod metrics;
mod plugin;
mod registry;
mod runtime;
mod selfcheck;
mod store;
mod sync;

pub use calls::*;
pub use corpus::MaintnerCorpus;
pub use engine::{PoolSizes, EPOCH_TICK, MAX_MEMORY};
pub use error::{Cause, Error, Fault, Result};
pub use host::{
    Answer, BuilderSetView, Clock, CorpusQueries, EmptyCorpus, HostData, NoBuilders, NoResults,
    ResultsView, REPLAY_RANDOM,
};
pub use id::VersionId;
pub use kinds::Kind;
pub use load::{check_component_size, MAX_COMPONENT_BYTES};
pub use plugin::{Description, PluginVersion, VersionStats};
pub use registry::{Loaded, Registry, SlotInfo, INCOMING_SETTLE};
pub use runtime::{CallOptions, CallReport, Runtime, RuntimeConfig, WIT_PACKAGE, WIT_VERSION};
pub use store::{Event, PluginStore, ServingBuilders, SlotRow, HISTORY};
