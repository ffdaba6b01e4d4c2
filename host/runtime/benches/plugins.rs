//! Plugin runtime figures: `cargo bench -p runtime --bench plugins`.
//!
//! - instantiation from `InstancePre` (store + instance), p50/p99;
//! - host→guest call of a trivial export on a live instance;
//! - guest→host import call (`clock.now`), per call;
//! - a whole plugin call (fresh instance, call, teardown) of the real local-builders;
//! - swap latency, from `swap` to the first call served by the new version, for a
//!   compiled version, a cold one (compiled on load), and one compiled on disk.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{builders_wat, component, work, BUILDERS};
use runtime::bench::{call, instantiation, Samples};
use runtime::{PluginStore, Registry, Runtime, RuntimeConfig};
use std::sync::Arc;
use std::time::Instant;

/// A distinct component with the same code: a custom section changes the sha256.
fn variant(bytes: &[u8], tag: u32) -> Vec<u8> {
    let name = format!("bench-{tag}");
    let mut section = vec![name.len() as u8];
    section.extend(name.as_bytes());
    let mut out = bytes.to_vec();
    out.push(0);
    out.push(section.len() as u8);
    out.extend(section);
    out
}

fn timed(n: usize, mut f: impl FnMut(usize)) -> Samples {
    Samples::new(
        (0..n)
            .map(|i| {
                let start = Instant::now();
                f(i);
                start.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let rt = common::runtime();
    let reg = Registry::in_memory(rt.clone());
    let local = reg
        .load(&common::local_builders(), "local_builders.wasm")
        .unwrap()
        .version;
    let tiny = reg
        .load(
            &common::builders_component("tiny", "1", "(i32.const 1)"),
            "tiny",
        )
        .unwrap()
        .version;
    let import = r#"(import "xbuild:platform/clock@0.2.0" "now" (func $now (result i64)))"#;
    let calls_now = "(local $i i32) (local.set $i (i32.const 10000))
        (loop $l (drop (call $now)) (local.set $i (i32.sub (local.get $i) (i32.const 1))) (br_if $l (local.get $i)))
        (i32.const 1)";
    let importer = reg
        .load(
            &component(
                "builders",
                None,
                &builders_wat("importer", "1", BUILDERS, import, calls_now),
            ),
            "importer",
        )
        .unwrap()
        .version;

    println!("instantiation from InstancePre (store + instance)");
    println!(
        "  local-builders (73 KB, Rust)  {}",
        instantiation(&rt, &local, 20_000).unwrap().summary()
    );
    println!(
        "  tiny (WAT)                    {}",
        instantiation(&rt, &tiny, 20_000).unwrap().summary()
    );

    println!(
        "host→guest call on a live instance (`builds`: two strings and a record in, bool out)"
    );
    println!(
        "  tiny (WAT)                    {}",
        call(&rt, &tiny, &work(), 100_000).unwrap().summary()
    );
    println!(
        "  local-builders                {}",
        call(&rt, &local, &work(), 100_000).unwrap().summary()
    );

    let per_import = call(&rt, &importer, &work(), 200).unwrap();
    let baseline = call(&rt, &tiny, &work(), 200).unwrap();
    let each = (per_import
        .percentile(50.0)
        .saturating_sub(baseline.percentile(50.0)))
        / 10_000;
    println!("guest→host import call (clock.now, 10,000 per call)");
    println!("  per import, p50               {each:>9.2?}");

    let h = reg.serving("local-builders").unwrap();
    let p = h.plugin();
    println!("teardown after a call (store drop: the pooled slot is reset)");
    println!(
        "  local-builders                {}",
        runtime::bench::teardown(&rt, &local, &work(), 20_000)
            .unwrap()
            .summary()
    );
    let [store, inst, first, last] =
        runtime::bench::call_parts(&rt, &local, &work(), 20_000).unwrap();
    println!("a whole call's parts, local-builders");
    println!("  store                         {}", store.summary());
    println!("  instantiate                   {}", inst.summary());
    println!("  first call (`builds`)         {}", first.summary());
    println!("  teardown                      {}", last.summary());
    println!("whole plugin call: fresh instance + `builds` + teardown, local-builders");
    println!(
        "  builds                        {}",
        timed(20_000, |_| assert!(p
            .builds("linux-amd64-localdev", &work())
            .unwrap()))
        .summary()
    );
    println!(
        "  plan                          {}",
        timed(5_000, |_| drop(
            p.plan("linux-amd64-localdev", &work()).unwrap()
        ))
        .summary()
    );

    // Warm swap: both versions compiled and validated; swap back and forth.
    let a = reg
        .load(&variant(&common::local_builders(), 1), "a")
        .unwrap()
        .version;
    let b = reg
        .load(&variant(&common::local_builders(), 2), "b")
        .unwrap()
        .version;
    let warm = timed(2_000, |i| {
        let target = if i % 2 == 0 { &a } else { &b };
        reg.swap("local-builders", &target.id).unwrap();
        let served = reg.serving("local-builders").unwrap();
        assert_eq!(served.version.id, target.id);
        served
            .plugin()
            .builds("linux-amd64-localdev", &work())
            .unwrap();
    });
    println!("swap → first call served by the new version");
    println!("  compiled version              {}", warm.summary());

    // Cold: compile on load (no cache), validate, swap, first call.
    let cold = timed(5, |i| {
        let bytes = variant(&common::local_builders(), 100 + i as u32);
        reg.load_and_swap(&bytes, "cold").unwrap();
        reg.serving("local-builders")
            .unwrap()
            .plugin()
            .builds("linux-amd64-localdev", &work())
            .unwrap();
    });
    println!("  cold (compile + validate)     {}", cold.summary());

    // Compiled code on disk: a host restarting, or a version the CLI already loaded.
    let dir = tempfile::tempdir().unwrap();
    let bytes: Vec<Vec<u8>> = (0..5)
        .map(|i| variant(&common::local_builders(), 200 + i))
        .collect();
    {
        let store = PluginStore::open(dir.path()).unwrap();
        let rt = Runtime::new(RuntimeConfig {
            cache_dir: Some(store.cache_dir()),
            ..Default::default()
        })
        .unwrap();
        let reg = Registry::open(Arc::new(rt), store).unwrap();
        for b in &bytes {
            reg.load(b, "precompile").unwrap();
        }
    }
    let store = PluginStore::open(dir.path()).unwrap();
    let rt = Runtime::new(RuntimeConfig {
        cache_dir: Some(store.cache_dir()),
        ..Default::default()
    })
    .unwrap();
    let disk = Registry::in_memory(Arc::new(rt));
    let cached = timed(5, |i| {
        disk.load_and_swap(&bytes[i], "cached").unwrap();
        disk.serving("local-builders")
            .unwrap()
            .plugin()
            .builds("linux-amd64-localdev", &work())
            .unwrap();
    });
    println!("  compiled on disk (cache hit)  {}", cached.summary());
}
