//! What loading costs and keeps: a component the host would refuse for its imports is
//! refused before it is compiled; only accepted versions keep compiled code in the
//! cache, and versions that fall off a slot's history lose theirs; a batch of calls
//! shares one instance.

mod common;

use common::{builders_component, builders_wat, component, open_store, runtime, BUILDERS};
use runtime::{Registry, VersionId, HISTORY};

/// The compiled-code entries in the store's cache.
fn cached(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir.join("cache"))
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "cwasm")
            })
            .count()
        })
        .unwrap_or(0)
}

#[test]
fn a_component_importing_what_the_host_does_not_grant_is_refused_before_it_is_compiled() {
    let dir = tempfile::tempdir().unwrap();
    let reg = open_store(dir.path());
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
    let err = reg
        .load(&component("greedy", Some(wit), &wat), "greedy.wasm")
        .unwrap_err();
    assert!(
        common::message(&err).contains("imports xbuild:platform/corpus@0.2.0, which the host does not grant to builders plugins"),
        "{err:?}"
    );
    assert_eq!(reg.runtime().compiles(), 0, "refused without compiling");
    assert_eq!(cached(dir.path()), 0);
}

#[test]
fn a_wasi_package_the_host_does_not_link_is_refused_before_it_is_compiled() {
    let wit = "package test:worlds;
        world stored { include xbuild:platform/builders@0.2.0; import wasi:keyvalue/store@0.2.0; }
        package wasi:keyvalue@0.2.0 { interface store { get: func(key: string) -> bool; } }";
    let import =
        r#"(import "wasi:keyvalue/store@0.2.0" "get" (func $get (param i32 i32) (result i32)))"#;
    let wat = builders_wat(
        "stored",
        "1",
        BUILDERS,
        import,
        "(call $get (i32.const 200) (i32.const 1))",
    );
    let reg = Registry::in_memory(runtime());
    let err = reg
        .load(&component("stored", Some(wit), &wat), "kv.wasm")
        .unwrap_err();
    assert!(
        common::message(&err)
            .contains("imports wasi:keyvalue/store@0.2.0, which the host does not grant"),
        "{err:?}"
    );
    assert_eq!(reg.runtime().compiles(), 0);
}

#[test]
fn a_component_refused_after_compiling_leaves_no_compiled_code() {
    let dir = tempfile::tempdir().unwrap();
    let reg = open_store(dir.path());
    let wat = builders_wat("x", "1", BUILDERS, "", "(i32.const 1)")
        .replace("(result i32) (i32.const 0))", "(result i32) unreachable)");
    let err = reg
        .load(&component("builders", None, &wat), "bad.wasm")
        .unwrap_err();
    assert!(common::message(&err).contains("describe failed"), "{err:?}");
    assert_eq!(reg.runtime().compiles(), 1);
    assert_eq!(
        cached(dir.path()),
        0,
        "a refused version's code is not kept"
    );
    reg.load(
        &builders_component("good", "1", "(i32.const 1)"),
        "good.wasm",
    )
    .unwrap();
    assert_eq!(cached(dir.path()), 1, "an accepted version's code is");
}

#[test]
fn a_version_that_falls_off_the_history_loses_its_compiled_code() {
    let dir = tempfile::tempdir().unwrap();
    let reg = open_store(dir.path());
    let ids: Vec<VersionId> = (0..HISTORY + 2)
        .map(|i| {
            let v = builders_component("p", &i.to_string(), "(i32.const 1)");
            reg.load_and_swap(&v, "p.wasm").unwrap().serving.id.clone()
        })
        .collect();
    // Serving, plus HISTORY before it: the first version is named by no slot any more.
    let slot = reg.list().remove(0);
    assert_eq!(slot.history.len(), HISTORY);
    assert!(!slot.history.contains(&ids[0]) && slot.history.contains(&ids[1]));
    assert!(
        !reg.runtime().is_cached(&ids[0]),
        "dropped: its code is deleted"
    );
    assert!(ids[1..].iter().all(|id| reg.runtime().is_cached(id)));
    assert!(
        reg.versions().iter().all(|v| v.id != ids[0]),
        "and it is out of memory"
    );
    assert_eq!(cached(dir.path()), HISTORY + 1);
    // What is still in the history rolls back as before.
    reg.rollback("p").unwrap();
    assert_eq!(reg.serving("p").unwrap().version.id, ids[HISTORY]);
}

/// `builds` counts its calls in a global of the instance: it answers whether it was
/// called before in the same instance, and traps on the third call.
fn counting() -> Vec<u8> {
    let body = "(global.set $calls (i32.add (global.get $calls) (i32.const 1)))
        (if (i32.eq (global.get $calls) (i32.const 3)) (then unreachable))
        (i32.gt_u (global.get $calls) (i32.const 1))";
    let wat = builders_wat(
        "counting",
        "1",
        BUILDERS,
        "(global $calls (mut i32) (i32.const 0))",
        body,
    );
    component("builders", None, &wat)
}

#[test]
fn calls_reusing_an_instance_share_it_until_one_faults() {
    let reg = Registry::in_memory(runtime());
    reg.load(&counting(), "counting.wasm").unwrap();
    let h = reg.serving("counting").unwrap();
    let work = common::work();
    // A fresh instance every call: never called before.
    let fresh = h.plugin();
    assert!(!fresh.builds("b", &work).unwrap());
    assert!(!fresh.builds("b", &work).unwrap());
    // One instance for the batch: the second call finds the first's state; the third
    // traps, and the call after it gets a fresh instance.
    let batch = h.plugin().reusing_instance();
    assert!(!batch.builds("b", &work).unwrap());
    assert!(batch.builds("b", &work).unwrap());
    let err = batch.builds("b", &work).unwrap_err();
    assert!(common::message(&err).contains("unreachable"), "{err:?}");
    assert!(!batch.builds("b", &work).unwrap());
    assert!(batch.builds("b", &work).unwrap());
}

#[test]
fn each_call_on_a_kept_instance_gets_its_own_fuel() {
    let reg = Registry::in_memory(runtime());
    reg.load(&builders_component("fuel", "1", "(i32.const 1)"), "f.wasm")
        .unwrap();
    let h = reg.serving("fuel").unwrap();
    let opts = runtime::CallOptions {
        fuel: Some(1_000_000),
        ..h.rt.defaults().clone()
    };
    let batch = h.plugin().with_options(opts).reusing_instance();
    let mut used = vec![];
    for _ in 0..3 {
        assert!(batch.builds("b", &common::work()).unwrap());
        used.push(batch.last_report().unwrap().fuel.unwrap());
    }
    // The first call pays for instantiation; the others the same as each other.
    assert!(used[0] >= used[1], "{used:?}");
    assert_eq!(used[1], used[2], "{used:?}");
}

/// A builders component with `n` extra functions of some size: slow to compile.
fn large(version: &str, n: usize) -> Vec<u8> {
    let mut filler = String::new();
    for i in 0..n {
        filler.push_str(&format!("(func $f{i} (param i32) (result i32)"));
        filler.push_str(
            &" (local.get 0) (i32.const 7) (i32.mul) (i32.const 3) (i32.add) (local.set 0)"
                .repeat(20),
        );
        filler.push_str(" (local.get 0))\n");
    }
    let wat = builders_wat("big", version, BUILDERS, &filler, "(i32.const 1)");
    component("builders", None, &wat)
}

#[test]
fn the_serving_version_keeps_serving_while_the_next_one_compiles() {
    let reg = std::sync::Arc::new(Registry::in_memory(runtime()));
    let v1 = reg
        .load(&large("1", 4_000), "v1.wasm")
        .unwrap()
        .version
        .id
        .clone();
    let next = {
        let reg = reg.clone();
        std::thread::spawn(move || reg.load_and_swap(&large("2", 4_000), "v2.wasm").unwrap())
    };
    let mut answered_by_v1 = 0;
    while !next.is_finished() {
        let h = reg.serving("big").unwrap();
        assert!(h.plugin().builds("b", &common::work()).unwrap());
        if h.version.id == v1 {
            answered_by_v1 += 1;
        }
    }
    let slot = next.join().unwrap();
    assert_ne!(slot.serving.id, v1);
    assert!(
        answered_by_v1 > 10,
        "{answered_by_v1} calls during the compile"
    );
    assert_eq!(reg.runtime().compiles(), 2);
}
