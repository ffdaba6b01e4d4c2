//! Plugins get WASI with nothing granted: the environment is empty and there are no
//! preopened directories, so there is no file to open and no variable to read.

mod common;

use common::{builders_wat, component, BUILDERS};

const WIT: &str = r#"
package test:sandbox;

world nosy {
    include xbuild:platform/builders@0.2.0;
    import wasi:cli/environment@0.2.0;
    import wasi:filesystem/preopens@0.2.0;
}

package wasi:cli@0.2.0 {
    interface environment {
        get-environment: func() -> list<tuple<string, string>>;
    }
}

package wasi:filesystem@0.2.0 {
    interface types {
        resource descriptor;
    }
    interface preopens {
        use types.{descriptor};
        get-directories: func() -> list<tuple<descriptor, string>>;
    }
}
"#;

#[test]
fn the_environment_is_empty_and_nothing_is_preopened() {
    let imports = r#"
        (import "wasi:cli/environment@0.2.0" "get-environment" (func $env (param i32)))
        (import "wasi:filesystem/preopens@0.2.0" "get-directories" (func $dirs (param i32)))"#;
    // `builds` answers true when both lists come back empty (their lengths at 604, 612).
    let body = "(call $env (i32.const 600)) (call $dirs (i32.const 608))
        (i32.and (i32.eqz (i32.load (i32.const 604))) (i32.eqz (i32.load (i32.const 612))))";
    std::env::set_var("XBUILD_SANDBOX_CANARY", "the host's environment");
    let reg = common::registry();
    reg.load(
        &component(
            "nosy",
            Some(WIT),
            &builders_wat("nosy", "1", BUILDERS, imports, body),
        ),
        "nosy.wasm",
    )
    .unwrap();
    let granted_nothing = reg
        .serving("nosy")
        .unwrap()
        .plugin()
        .builds("b", &common::work())
        .unwrap();
    assert!(
        granted_nothing,
        "the plugin saw environment variables or preopened directories"
    );
}

const REPLAY_WIT: &str = r#"
package test:replay;

world clocked {
    include xbuild:platform/builders@0.2.0;
    import wasi:clocks/wall-clock@0.2.0;
    import wasi:random/random@0.2.0;
}

package wasi:clocks@0.2.0 {
    interface wall-clock {
        record datetime { seconds: u64, nanoseconds: u32 }
        now: func() -> datetime;
    }
}

package wasi:random@0.2.0 {
    interface random {
        get-random-u64: func() -> u64;
    }
}
"#;

/// In replay (a fixed clock), WASI's own wall clock and random numbers are fixed too.
#[test]
fn replay_fixes_wasi_clocks_and_randomness() {
    use wasmtime_wasi::Rng;
    let expected_random =
        wasmtime_wasi::Deterministic::new(runtime::REPLAY_RANDOM.to_vec()).next_u64();
    let imports = r#"
        (import "wasi:clocks/wall-clock@0.2.0" "now" (func $now (param i32)))
        (import "wasi:random/random@0.2.0" "get-random-u64" (func $rand (result i64)))"#;
    let body = format!(
        "(call $now (i32.const 640))
         (i32.and (i64.eq (i64.load (i32.const 640)) (i64.const 1500000000))
                  (i64.eq (call $rand) (i64.const {expected_random})))"
    );
    let reg = common::registry();
    let wasm = component(
        "clocked",
        Some(REPLAY_WIT),
        &builders_wat("clocked", "1", BUILDERS, imports, &body),
    );
    reg.load(&wasm, "clocked.wasm").unwrap();
    let h = reg.serving("clocked").unwrap();
    let replay = runtime::CallOptions {
        clock: runtime::Clock::Fixed(1_500_000_000),
        ..Default::default()
    };
    assert!(h
        .plugin()
        .with_options(replay.clone())
        .builds("b", &common::work())
        .unwrap());
    assert!(
        h.plugin()
            .with_options(replay)
            .builds("b", &common::work())
            .unwrap(),
        "the same in every call"
    );
    assert!(
        !h.plugin().builds("b", &common::work()).unwrap(),
        "live calls see the real clock"
    );
}

/// Nothing one call writes reaches the next: every call gets a fresh instance whose memory
/// is the component's own image again, however its slot is reset and kept resident (the
/// pool keeps the pages a call dirtied and copies the image back into them).
#[test]
fn no_call_sees_what_an_earlier_call_wrote() {
    // `builds` answers true when memory is as the image has it: two pages, the name's
    // first byte (data at 200) is "s", and the bytes at 1200 (in the first page, where
    // the stack of a compiled guest would be) and 70000 (second page) are zero. Then it
    // scribbles over all of them and grows the memory by a page, writing there too.
    let body = r#"
        (local $fresh i32)
        (local.set $fresh
          (i32.and
            (i32.and (i32.eq (memory.size) (i32.const 2))
                     (i32.eq (i32.load8_u (i32.const 200)) (i32.const 115)))
            (i32.and (i32.eqz (i32.load (i32.const 1200)))
                     (i32.eqz (i32.load (i32.const 70000))))))
        (i32.store8 (i32.const 200) (i32.const 88))
        (i32.store (i32.const 1200) (i32.const -1))
        (i32.store (i32.const 70000) (i32.const -1))
        (drop (memory.grow (i32.const 1)))
        (i32.store (i32.const 140000) (i32.const -1))
        (local.get $fresh)"#;
    let reg = common::registry();
    reg.load(
        &common::builders_component("scribbler", "1", body),
        "scribbler.wasm",
    )
    .unwrap();
    let plugin = reg.serving("scribbler").unwrap();
    for call in 0..50 {
        assert!(
            plugin.plugin().builds("b", &common::work()).unwrap(),
            "call {call} saw memory an earlier call wrote"
        );
    }
}
