//! What can go wrong when loading or calling a plugin.

use crate::id::VersionId;
use crate::kinds::Kind;
use std::fmt;
use std::path::PathBuf;

/// Why a call into a plugin failed. The plugin, not the host, is at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Ran past its deadline and was interrupted.
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

/// The cause of a fault, without its details: what faults are counted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cause {
    Deadline,
    Memory,
    Fuel,
    Trap,
    Contract,
}

impl Cause {
    pub const ALL: [Cause; 5] = [
        Cause::Deadline,
        Cause::Memory,
        Cause::Fuel,
        Cause::Trap,
        Cause::Contract,
    ];

    /// Short stable name, used as a metric label.
    pub fn label(self) -> &'static str {
        match self {
            Cause::Deadline => "deadline",
            Cause::Memory => "memory",
            Cause::Fuel => "fuel",
            Cause::Trap => "trap",
            Cause::Contract => "contract",
        }
    }
}

impl Fault {
    pub fn cause(&self) -> Cause {
        match self {
            Fault::Deadline { .. } => Cause::Deadline,
            Fault::MemoryCap { .. } => Cause::Memory,
            Fault::OutOfFuel { .. } => Cause::Fuel,
            Fault::Trap(_) => Cause::Trap,
            Fault::Contract(_) => Cause::Contract,
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

/// Errors of the runtime. A variant that wraps another library's error keeps it as its
/// source: print the chain (`{:#}` through anyhow) to see the whole story.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes are not a component (no magic number, a core module, …).
    #[error("{source_name}: not a WebAssembly component: {reason}")]
    NotAComponent { source_name: String, reason: String },

    /// A component over the size the host takes.
    #[error("{source_name}: {size} bytes, over the limit of {max} bytes for a component")]
    TooLarge {
        source_name: String,
        size: u64,
        max: u64,
    },

    /// The bytes look like a component but do not parse or compile.
    #[error("{source_name}: not a valid WebAssembly component")]
    Invalid {
        source_name: String,
        #[source]
        source: wasmtime::Error,
    },

    /// A component that breaks a rule of the host (what it imports or exports, its name).
    #[error("component {id}: {reason}")]
    Rejected { id: VersionId, reason: String },

    #[error("component {id} does not link as a {kind} plugin")]
    Link {
        id: VersionId,
        kind: Kind,
        #[source]
        source: wasmtime::Error,
    },

    #[error("component {id}: describe failed: {fault}")]
    Describe { id: VersionId, fault: Fault },

    #[error("component {id} is a {found} plugin, expected {expected}")]
    WrongKind {
        id: VersionId,
        expected: Kind,
        found: Kind,
    },

    #[error("component {id}: self-check failed")]
    SelfCheck {
        id: VersionId,
        #[source]
        source: Box<Error>,
    },

    #[error("plugin {name} {version} ({id}) {fault}")]
    Fault {
        name: String,
        version: String,
        id: VersionId,
        fault: Fault,
    },

    /// Two serving builders plugins would define the same builder.
    #[error("builder {builder:?} is defined by plugin {plugin:?} and by plugin {other:?}")]
    BuilderClash {
        builder: String,
        plugin: String,
        other: String,
    },

    #[error("no plugin named {0:?} is loaded")]
    UnknownPlugin(String),

    #[error("no version {0} is known")]
    UnknownVersion(String),

    #[error("plugin {0:?} has no earlier version to roll back to")]
    NothingToRollBack(String),

    #[error("there is no plugin store (an in-memory registry)")]
    NoStore,

    #[error("plugin store {} is open for reading only", .0.display())]
    ReadOnly(PathBuf),

    #[error("plugin store {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("plugin store {}", path.display())]
    Db {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    /// A stored record that does not read back as written.
    #[error("plugin store {}: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },

    #[error("wasmtime")]
    Engine(#[source] wasmtime::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
