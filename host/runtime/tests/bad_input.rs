//! Components that must be refused, each with an error that says why, and none of
//! which may change what serves.

mod common;

use common::{builders_component, builders_wat, component, message, registry, BUILDERS, SCHEDULER};
use runtime::Error;

/// Load a good version first, try the bad one, and check the good one still serves.
fn refused(bad: &[u8]) -> Error {
    let reg = registry();
    let good = builders_component("victim", "1", "(i32.const 1)");
    let good_id = reg.load(&good, "good.wasm").unwrap().version.id.clone();
    let err = reg.load(bad, "bad.wasm").unwrap_err();
    let serving = reg.serving("victim").unwrap();
    assert_eq!(serving.version.id, good_id, "serving version untouched");
    assert!(
        serving.plugin().builds("x", &common::work()).unwrap(),
        "and still answers"
    );
    assert_eq!(
        reg.counters
            .rejected
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    err
}

#[test]
fn random_bytes_are_not_a_component() {
    let err = refused(b"definitely not wasm");
    assert!(matches!(err, Error::NotAComponent { .. }), "{err:?}");
    assert!(
        message(&err).contains("bad.wasm: not a WebAssembly component: missing the \\0asm magic"),
        "{err:?}"
    );
}

#[test]
fn a_core_module_is_not_a_component() {
    let err = refused(&wat::parse_str("(module (func (export \"f\")))").unwrap());
    assert!(message(&err).contains("it is a core module"), "{err:?}");
}

#[test]
fn a_truncated_component_is_refused() {
    let good = builders_component("victim2", "1", "(i32.const 1)");
    let err = refused(&good[..good.len() / 2]);
    assert!(matches!(err, Error::Invalid { .. }), "{err:?}");
    assert!(
        message(&err).contains("bad.wasm: not a valid WebAssembly component: "),
        "{}",
        message(&err)
    );
}

#[test]
fn a_component_that_claims_another_kind_is_refused() {
    // Exports the builders world but describes itself as a scheduler.
    let wat = builders_wat("liar", "1", SCHEDULER, "", "(i32.const 1)");
    let err = refused(&component("builders", None, &wat));
    assert!(matches!(err, Error::WrongKind { .. }), "{err:?}");
    assert!(
        message(&err).contains("is a scheduler plugin, expected builders"),
        "{err:?}"
    );
}

#[test]
fn a_component_of_another_kind_cannot_take_a_builders_slot() {
    let reg = registry();
    reg.load(&builders_component("slot", "1", "(i32.const 1)"), "b.wasm")
        .unwrap();
    let sched = reg
        .load(&common::scheduler_component("slot"), "s.wasm")
        .unwrap();
    assert!(!sched.serving);
    let err = reg.swap("slot", &sched.version.id).unwrap_err();
    assert!(
        message(&err).contains("is a scheduler plugin, expected builders"),
        "{err:?}"
    );
    assert_eq!(
        reg.serving("slot").unwrap().version.kind(),
        runtime::Kind::Builders
    );
}

#[test]
fn a_component_built_against_another_wit_version_is_refused() {
    let wit = r#"package xbuild:platform@0.1.0;
        interface plugin { describe: func() -> string; }
        interface builder-config { builders: func() -> list<string>; }
        world builders { export plugin; export builder-config; }"#;
    let wat = r#"(module
        (memory (export "memory") 1)
        (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 1024))
        (func (export "xbuild:platform/plugin@0.1.0#describe") (result i32) (i32.const 0))
        (func (export "xbuild:platform/builder-config@0.1.0#builders") (result i32) (i32.const 0)))"#;
    let err = refused(&component("builders", Some(wit), wat));
    assert!(
        message(&err).contains("exports xbuild:platform/builder-config@0.1.0, but this host speaks xbuild:platform@0.2.0")
            || message(&err).contains("exports xbuild:platform/plugin@0.1.0, but this host speaks xbuild:platform@0.2.0"),
        "{err:?}"
    );
}

#[test]
fn a_builders_plugin_importing_the_corpus_is_refused() {
    let wit = "package test:worlds;
        world greedy { include xbuild:platform/builders@0.2.0; import xbuild:platform/corpus@0.2.0; }";
    let import = r#"(import "xbuild:platform/corpus@0.2.0" "generation" (func $gen (result i64)))"#;
    let wat = builders_wat(
        "greedy",
        "1",
        BUILDERS,
        import,
        "(i32.wrap_i64 (call $gen))",
    );
    let err = refused(&component("greedy", Some(wit), &wat));
    assert!(
        message(&err).contains("imports xbuild:platform/corpus@0.2.0, which the host does not grant to builders plugins"),
        "{err:?}"
    );
}

#[test]
fn a_plugin_importing_an_unknown_interface_is_refused() {
    let wit = "package test:worlds;
        interface dial { connect: func(host: string) -> bool; }
        world dialer { include xbuild:platform/builders@0.2.0; import dial; }";
    let import =
        r#"(import "test:worlds/dial" "connect" (func $dial (param i32 i32) (result i32)))"#;
    let wat = builders_wat(
        "dialer",
        "1",
        BUILDERS,
        import,
        "(call $dial (i32.const 200) (i32.const 6))",
    );
    let err = refused(&component("dialer", Some(wit), &wat));
    assert!(
        message(&err).contains("imports test:worlds/dial, which the host does not grant"),
        "{err:?}"
    );
}

#[test]
fn a_plugin_whose_describe_traps_is_refused() {
    let wat = builders_wat("x", "1", BUILDERS, "", "(i32.const 1)")
        .replace("(result i32) (i32.const 0))", "(result i32) unreachable)");
    let err = refused(&component("builders", None, &wat));
    assert!(message(&err).contains("describe failed"), "{err:?}");
    assert!(message(&err).contains("unreachable"), "{err:?}");
}

#[test]
fn a_builders_plugin_breaking_addbuilder_invariants_is_refused() {
    // One builder on a host type nobody defined: `builders` returns a list at 500 of
    // one record whose fields are all zero (empty strings) — an empty name.
    let wat = builders_wat("broken", "1", BUILDERS, "", "(i32.const 1)").replace(
        r#"builder-config@0.2.0#builders") (result i32) (i32.const 100))"#,
        r#"builder-config@0.2.0#builders") (result i32)
            (i32.store (i32.const 500) (i32.const 1024))
            (i32.store (i32.const 504) (i32.const 1))
            (i32.const 500))"#,
    );
    let err = refused(&component("builders", None, &wat));
    assert!(message(&err).contains("self-check failed"), "{err:?}");
    assert!(
        message(&err).contains("a builder with an empty name"),
        "{err:?}"
    );
}
