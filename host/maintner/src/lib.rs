//! maintner: the corpus of the Go project's world — GitHub issues, Gerrit changes, git
//! commits — kept as an append-only mutation log wire-compatible with Go's
//! `golang.org/x/build/maintner`, and an in-memory model built by applying it in order.
//!
//! Pure: no network, no async. `maintnerd` builds ingestion, the log server and the
//! follower on top of this crate.
//!
//! - [`maintpb`]: the `maintpb.Mutation` protobuf schema (spec §2).
//! - [`reclog`]: the `REC@<hexoff>+<hexlen>=` record framing (spec §1.1).
//! - [`disklog`]: the segmented, SHA-224-checked log in a data directory (spec §1.3).

pub mod disklog;
pub mod maintpb;
pub mod reclog;

pub use disklog::{verify, DiskLog, LogError, RecordPos, SegmentInfo, SyncPolicy};
pub use maintpb::Mutation;
