//! The `xb` host: the CLI and the server that wires the plugin runtime, the corpus and
//! the buildlet pools together. `main.rs` only parses arguments.

pub mod builds;
pub mod config;
pub mod dashboard;
pub mod data;
pub mod demo;
pub mod logview;
pub mod pages;
pub mod plugins;
pub mod serve;
pub mod synth;
