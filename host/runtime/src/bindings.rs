//! Host bindings generated from `wit/`. The host's side of every import is generated
//! once, from the `host` world (everything the host implements); each plugin world
//! reuses those modules, so one implementation serves every kind and the types that
//! cross into exports (a `request`, an `issue-ref`) are the same Rust types in all of
//! them.

mod host {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "host",
    });
}

pub use host::xbuild::platform::{clock, corpus, http_types, log, progress, results, site, types};

/// The bindings of every plugin world, their imports taken from `host`.
macro_rules! plugin_worlds {
    ($($kind:ident $module:ident $world:literal $World:ident $Pre:ident $export:literal [$($import:literal),*];)*) => {$(
        pub mod $module {
            wasmtime::component::bindgen!({
                path: "../../wit",
                world: $world,
                with: { "xbuild:platform": super::host::xbuild::platform },
            });
        }
    )*};
}

foreach_kind!(plugin_worlds);
