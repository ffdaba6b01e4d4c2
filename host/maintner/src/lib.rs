//! maintner: the corpus of the Go project's world — GitHub issues, Gerrit changes, git
//! commits — kept as an append-only mutation log wire-compatible with Go's
//! `golang.org/x/build/maintner`, and an in-memory model built by applying it in order.
//!
//! Pure: no network, no async. `maintnerd` builds ingestion, the log server and the
//! follower on top of this crate.
//!
//! - [`maintpb`]: the `maintpb.Mutation` protobuf schema (Go's maintner/maintpb).
//! - [`reclog`]: the `REC@<hexoff>+<hexlen>=` record framing (Go's maintner/reclog).
//! - [`disklog`]: the segmented, SHA-224-checked log in a data directory,
//!   with one writer at a time ([`lock`]).
//! - [`Corpus`]: the model — [`github`], [`gerrit`] (with [`notedb`] parsing and
//!   [`votes`]), [`git`] — built only by [`Corpus::apply`].
//! - [`trywork`]: changes waiting for trybots, kept incrementally (Go's `GoFindTryWork`).
//! - [`query`]: indexed queries returning owned, serializable records (for plugins).
//! - [`stats`], [`verify`], [`bench`](mod@bench): what `xb corpus stats|verify` and
//!   `xb bench corpus-load` call.
//!
//! ```
//! use maintner::{synth, Corpus, DiskLog};
//! use maintner::query::{IssueQuery, IssueState};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let mut log = DiskLog::open(dir.path()).unwrap();
//! log.append(&synth::new_issue(&synth::IssueSpec {
//!     owner: "golang",
//!     repo: "go",
//!     number: 1,
//!     id: 100,
//!     user: (7, "gopher"),
//!     created: 1_500_000_000,
//!     updated: 1_500_000_000,
//!     title: "cmd/go: it broke",
//!     ..Default::default()
//! }))
//! .unwrap();
//!
//! let mut corpus = Corpus::load(&log).unwrap();
//! let page = corpus
//!     .issues(&IssueQuery {
//!         owner: "golang".into(),
//!         repo: "go".into(),
//!         state: Some(IssueState::Open),
//!         title_prefix: Some("cmd/go:".into()),
//!         ..Default::default()
//!     })
//!     .unwrap();
//! assert_eq!(page.items[0].user.as_ref().unwrap().login, "gopher");
//!
//! // Later: apply what was appended since.
//! assert_eq!(corpus.catch_up(&log).unwrap(), 0);
//! assert!(corpus.try_work().is_empty());
//! ```

pub mod bench;
pub mod corpus;
pub mod disklog;
pub mod dump;
pub mod fxhash;
pub mod gerrit;
pub mod git;
pub mod github;
mod grow;
mod hexdigit;
pub mod intern;
pub mod issuerefs;
pub mod lock;
pub mod maintpb;
pub mod notedb;
mod pipeline;
pub mod query;
pub mod reclog;
pub mod stats;
pub mod synth;
pub mod time;
pub mod trywork;
pub mod votes;

pub use corpus::{Applied, Corpus};
pub use disklog::{
    verify, DiskLog, LogError, RecordPos, Repair, RepairPlan, SegmentInfo, SyncPolicy, VerifyReport,
};
pub use lock::WriterLock;
pub use maintpb::Mutation;
pub use stats::Stats;
pub use trywork::TryWork;
pub use votes::{CopyRule, VoteConfig};
