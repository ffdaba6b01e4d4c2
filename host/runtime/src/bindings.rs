//! Host bindings generated from `wit/`, one module per plugin world. The interfaces the
//! worlds share (types, log, clock, corpus, http-types) are generated once, in the
//! `dashboard` module (the world that imports the most), and reused by the others so a
//! single host implementation serves every kind.

pub mod dashboard {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "dashboard",
    });
}

pub mod builders {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "builders",
        with: {
            "xbuild:platform/types": super::dashboard::xbuild::platform::types,
            "xbuild:platform/log": super::dashboard::xbuild::platform::log,
            "xbuild:platform/clock": super::dashboard::xbuild::platform::clock,
        },
    });
}

pub mod scheduler {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "scheduler",
        with: {
            "xbuild:platform/types": super::dashboard::xbuild::platform::types,
            "xbuild:platform/log": super::dashboard::xbuild::platform::log,
            "xbuild:platform/clock": super::dashboard::xbuild::platform::clock,
        },
    });
}

pub mod gopherbot {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "gopherbot",
        with: {
            "xbuild:platform/types": super::dashboard::xbuild::platform::types,
            "xbuild:platform/log": super::dashboard::xbuild::platform::log,
            "xbuild:platform/clock": super::dashboard::xbuild::platform::clock,
            "xbuild:platform/corpus": super::dashboard::xbuild::platform::corpus,
        },
    });
}

pub mod devapp {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "devapp",
        with: {
            "xbuild:platform/types": super::dashboard::xbuild::platform::types,
            "xbuild:platform/log": super::dashboard::xbuild::platform::log,
            "xbuild:platform/clock": super::dashboard::xbuild::platform::clock,
            "xbuild:platform/corpus": super::dashboard::xbuild::platform::corpus,
            "xbuild:platform/http-types": super::dashboard::xbuild::platform::http_types,
        },
    });
}

pub use dashboard::xbuild::platform::{clock, corpus, http_types, log, results, types};
