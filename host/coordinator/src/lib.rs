//! The coordinator: turns new commits and try work in the corpus into builds.
//!
//! - [`finder`]: which builds are wanted — the newest commits of each watched branch and
//!   the try work, for each builder whose plugin says it builds them, minus what the
//!   results store already holds;
//! - [`schedule`]: which queued builds start now — the scheduler plugin decides, FIFO
//!   when it faults or answers nonsense;
//! - [`pool`]: where builds run — buildlets behind one trait (local processes, fixed
//!   addresses; reverse and Kubernetes pools implement it too);
//! - [`runner`]: how one build runs — sources from [`mirror`], the plan's steps, sharded
//!   test steps over helper buildlets, timeouts, a [`livelog`];
//! - [`coordinator`]: the loop that ties them together, woken by corpus changes;
//! - [`status`]: the status page, its JSON and metrics.
//!
//! Nothing is persisted here: the queue is derived from the corpus and the results
//! store, so a restart finds again whatever had not finished.

pub mod builders;
pub mod coordinator;
pub mod finder;
pub mod gomote;
pub mod livelog;
pub mod mirror;
pub mod model;
pub mod pool;
pub mod runner;
pub mod schedule;
pub mod stats;
pub mod status;
pub mod trybots;

pub use coordinator::{Config, Coordinator};
pub use finder::RepoWatch;
pub use model::{BuildSpec, Work, WorkKind};
