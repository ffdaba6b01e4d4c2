//! GitHub ingestion: REST client, event decoding, and the poller that turns GitHub's view
//! into mutations.

pub mod api;
pub mod events;
pub mod poller;
