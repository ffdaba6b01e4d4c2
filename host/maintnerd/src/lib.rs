//! maintnerd: everything around the maintner corpus that talks to the outside world.
//!
//! - Ingestion, writing *mutations* — the diff between what a source says and what the
//!   corpus holds ([`view::PollerView`]) — to the log, never editing the model
//!   ([`ingest::Ingest`]):
//!   - [`gitpoll::GitRepoPoller`]: new commits of plain git repositories;
//!   - [`gitpoll::GerritPoller`]: Gerrit over git — branches, tags, `refs/changes/*` patch
//!     sets and NoteDB `meta` refs;
//!   - [`github::poller::GitHubRepoPoller`]: GitHub REST (issues, comments, events,
//!     labels, milestones; `Link` pagination, ETags, rate limits);
//!   - [`webhook`]: a GitHub webhook (`X-Hub-Signature-256`) that wakes the pollers.
//! - [`logserver`]: `/maintner/logs` in the network protocol of Go's maintnerd, and
//!   [`follower`]: a client that mirrors a server with SHA-224 checks and split detection.
//! - [`service::Maintnerd`]: what `xb serve` runs; [`cli::CorpusCommand`]: `xb corpus …`.
//! - Fixtures and recording: [`fixture`] (the x/build history as a Gerrit remote),
//!   [`fakegithub`] (GitHub's wire format on loopback), [`botissues`] (golang/go issues
//!   in the shapes the bot reads), [`record`].

pub mod botissues;
pub mod cli;
pub mod fakegerrit;
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

pub use ingest::SharedCorpus;
pub use service::{Config, Maintnerd};
