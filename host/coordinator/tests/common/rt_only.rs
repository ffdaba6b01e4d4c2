//! The bundled plugins, for benchmarks that need nothing else of the test helpers.
#![allow(dead_code)]

use std::path::Path;

/// A plugin of `plugins/`, by crate name with underscores (`cargo xtask plugins` builds
/// them).
pub fn bundled(krate: &str) -> Vec<u8> {
    let wasm = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../plugins/target/wasm32-wasip2/release")
        .join(format!("{krate}.wasm"));
    std::fs::read(&wasm).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (build the plugins with `cargo xtask plugins`)",
            wasm.display()
        )
    })
}
