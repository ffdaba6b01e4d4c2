//! maintnerd: everything around the maintner corpus that talks to the outside world.
//!
//! - ingestion: pollers for plain git repositories, Gerrit (over git: `refs/changes/*` and
//!   NoteDB metas) and GitHub (REST), each writing *mutations* to the log — the diff between
//!   what the source says and what the corpus already holds — never editing the model;
//! - a webhook endpoint that wakes the pollers;
//! - the log server (`/maintner/logs`, spec §1.4) and a follower (spec §1.5);
//! - the `corpus` CLI subcommands and the [`Maintnerd`] service the `xb serve` binary runs.

pub mod cli;
pub mod fakegithub;
pub mod fixture;
pub mod follower;
pub mod git;
pub mod github;
pub mod gitpoll;
pub mod ingest;
pub mod logserver;
pub mod record;
pub mod service;
pub mod store;
pub mod view;
pub mod webhook;

pub use service::{Config, Maintnerd, SharedCorpus};
