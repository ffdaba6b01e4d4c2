//! What can go wrong when loading or calling a plugin.

use crate::plugin::{Kind, VersionId};
use std::fmt;

/// Why a call into a plugin failed. The plugin, not the host, is at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Ran past its per-call deadline and was interrupted.
    Deadline { millis: u64 },
    /// Tried to grow its memory past the cap.
    MemoryCap { cap: usize, requested: usize },
    /// Used up the fuel it was given (metered mode).
    OutOfFuel { fuel: u64 },
    /// Trapped: `unreachable`, a panic, out-of-bounds access, …
    Trap(String),
    /// Returned an answer that breaks the contract of its kind.
    Contract(String),
}

impl Fault {
    /// Short stable name, used as a metric label.
    pub fn label(&self) -> &'static str {
        match self {
            Fault::Deadline { .. } => "deadline",
            Fault::MemoryCap { .. } => "memory",
            Fault::OutOfFuel { .. } => "fuel",
            Fault::Trap(_) => "trap",
            Fault::Contract(_) => "contract",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Deadline { millis } => write!(f, "interrupted at its deadline of {millis} ms"),
            Fault::MemoryCap { cap, requested } => {
                write!(
                    f,
                    "stopped at its memory cap: asked for {requested} bytes, cap is {cap}"
                )
            }
            Fault::OutOfFuel { fuel } => write!(f, "ran out of fuel after {fuel} units"),
            Fault::Trap(msg) => write!(f, "trapped: {msg}"),
            Fault::Contract(msg) => write!(f, "broke its contract: {msg}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{source_name}: not a WebAssembly component: {reason}")]
    NotAComponent { source_name: String, reason: String },

    #[error("component {id}: {reason}")]
    Rejected { id: VersionId, reason: String },

    #[error("component {id} is a {found} plugin, expected {expected}")]
    WrongKind {
        id: VersionId,
        expected: Kind,
        found: Kind,
    },

    #[error("plugin {name} {version} ({id}) {fault}")]
    Fault {
        name: String,
        version: String,
        id: VersionId,
        fault: Fault,
    },

    #[error("no plugin named {0:?} is loaded")]
    UnknownPlugin(String),

    #[error("no version {id} of plugin {name:?}")]
    UnknownVersion { name: String, id: String },

    #[error("plugin {0:?} has no earlier version to roll back to")]
    NothingToRollBack(String),

    #[error("plugin store {path}: {reason}")]
    Store { path: String, reason: String },

    #[error("wasmtime: {0}")]
    Engine(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
