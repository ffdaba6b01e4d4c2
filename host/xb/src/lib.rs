//! The `xb` host: the CLI and the server that wires the plugin runtime, the corpus and
//! the buildlet pools together. `main.rs` only parses arguments.

pub mod allocator;
pub mod botcmd;
pub mod botserve;
pub mod builds;
pub mod config;
pub mod corpus;
pub mod dashboard;
pub mod data;
pub mod demo;
pub mod gobuild;
pub mod gomote;
pub mod logview;
pub mod pages;
pub mod plugins;
pub mod serve;
pub mod synth;

/// The recorded corpus committed with the sources (see plugin-tests/corpus/README.md).
pub const RECORDED_CORPUS: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../plugin-tests/corpus/log");
