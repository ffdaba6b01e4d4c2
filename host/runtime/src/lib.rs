//! The plugin runtime: wasmtime with the component model, one world per plugin kind
//! (`wit/`), a fresh instance per call from a pre-linked `InstancePre`, limits per call
//! (epoch deadline, memory cap, fuel when metered), content-addressed versions with
//! atomic swap and rollback, and counters for `/metrics`.
//!
//! Plugins get WASI with nothing granted: no preopened directories, no environment,
//! no sockets. Anything with an effect comes back as data for the host to carry out.

pub mod bench;
pub mod bindings;
mod calls;
mod corpus;
mod engine;
mod error;
mod host;
pub mod metrics;
mod plugin;
mod registry;
mod runtime;
mod selfcheck;
mod store;

pub use calls::*;
pub use corpus::MaintnerCorpus;
pub use engine::{PoolSizes, EPOCH_TICK, MAX_MEMORY};
pub use error::{Error, Fault, Result};
pub use host::{
    Answer, Clock, CorpusView, EmptyCorpus, HostData, NoResults, ResultsView, REPLAY_RANDOM,
};
pub use plugin::{Description, Kind, PluginVersion, VersionId, VersionStats};
pub use registry::{Loaded, Registry, SlotInfo, INCOMING_SETTLE};
pub use runtime::{CallOptions, CallReport, Runtime, RuntimeConfig, WIT_PACKAGE, WIT_VERSION};
pub use store::{Event, PluginStore, SlotRow, HISTORY};
