//! A plugin that loops, bombs memory, traps or runs out of fuel fails that one call,
//! with an error naming the plugin, its version and the cause; the host keeps serving
//! and counts the fault on the version.

mod common;

use common::{builders_wat, component, registry, work, BUILDERS};
use runtime::{CallOptions, Cause, Error, Fault, Work};
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// `builds` faults when repo length (param 3) is 2 ("go"), answers true otherwise.
fn faulty(name: &str, fault_body: &str) -> Vec<u8> {
    let body =
        format!("(if (i32.eq (local.get 4) (i32.const 2)) (then {fault_body})) (i32.const 1)");
    component(
        "builders",
        None,
        &builders_wat(name, "7", BUILDERS, "", &body),
    )
}

fn fault_of(err: Error) -> (String, Fault) {
    match err {
        Error::Fault {
            ref name,
            ref version,
            ref fault,
            ..
        } => (format!("{name}@{version}: {err}"), fault.clone()),
        other => panic!("not a fault: {other}"),
    }
}

fn other_work() -> Work {
    Work {
        repo: "net".into(),
        ..work()
    }
}

#[test]
fn an_infinite_loop_is_interrupted_at_the_deadline() {
    let reg = registry();
    reg.load(&faulty("looper", "(loop $l (br $l))"), "l.wasm")
        .unwrap();
    let h = reg.serving("looper").unwrap();
    let opts = CallOptions {
        deadline: Duration::from_millis(50),
        ..Default::default()
    };
    let start = Instant::now();
    let err = h
        .plugin()
        .with_options(opts)
        .builds("b", &work())
        .unwrap_err();
    let (msg, fault) = fault_of(err);
    assert_eq!(fault, Fault::Deadline { millis: 50 });
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "interrupted, not left running"
    );
    assert!(
        msg.contains("plugin looper 7") && msg.contains("interrupted at its deadline of 50 ms"),
        "{msg}"
    );
    // The host keeps serving: the same version answers the next call.
    assert!(h.plugin().builds("b", &other_work()).unwrap());
    assert_eq!(h.version.stats.faults(Cause::Deadline), 1);
}

#[test]
fn a_memory_bomb_is_stopped_at_the_cap() {
    let reg = registry();
    let bomb =
        "(loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) unreachable";
    reg.load(&faulty("bomb", bomb), "b.wasm").unwrap();
    let h = reg.serving("bomb").unwrap();
    let opts = CallOptions {
        memory: 8 << 20,
        ..Default::default()
    };
    let (msg, fault) = fault_of(
        h.plugin()
            .with_options(opts)
            .builds("b", &work())
            .unwrap_err(),
    );
    match fault {
        Fault::MemoryCap { cap, requested } => {
            assert_eq!(cap, 8 << 20);
            assert!(requested > cap);
        }
        other => panic!("expected a memory fault, got {other}"),
    }
    assert!(msg.contains("stopped at its memory cap"), "{msg}");
    assert!(h.plugin().builds("b", &other_work()).unwrap());
    assert_eq!(h.version.stats.faults(Cause::Memory), 1);
}

#[test]
fn a_trap_is_reported() {
    let reg = registry();
    reg.load(&faulty("trapper", "unreachable"), "t.wasm")
        .unwrap();
    let h = reg.serving("trapper").unwrap();
    let (msg, fault) = fault_of(h.plugin().builds("b", &work()).unwrap_err());
    assert!(
        matches!(fault, Fault::Trap(ref m) if m.contains("unreachable")),
        "{fault}"
    );
    assert!(
        msg.contains("plugin trapper 7") && msg.contains("trapped"),
        "{msg}"
    );
    assert!(h.plugin().builds("b", &other_work()).unwrap());
    assert_eq!(h.version.stats.faults(Cause::Trap), 1);
    assert_eq!(h.version.stats.faults_total(), 1);
}

#[test]
fn running_out_of_fuel_is_reported_in_metered_mode() {
    let reg = registry();
    reg.load(&faulty("burner", "(loop $l (br $l))"), "f.wasm")
        .unwrap();
    let h = reg.serving("burner").unwrap();
    let opts = CallOptions {
        fuel: Some(100_000),
        deadline: Duration::from_secs(30),
        ..Default::default()
    };
    let (_, fault) = fault_of(
        h.plugin()
            .with_options(opts)
            .builds("b", &work())
            .unwrap_err(),
    );
    assert_eq!(fault, Fault::OutOfFuel { fuel: 100_000 });
}

#[test]
fn a_fault_in_one_call_does_not_disturb_concurrent_calls() {
    let reg = std::sync::Arc::new(registry());
    reg.load(&faulty("mixed", "unreachable"), "m.wasm").unwrap();
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let reg = reg.clone();
            std::thread::spawn(move || {
                let h = reg.serving("mixed").unwrap();
                let w = if i % 2 == 0 { work() } else { other_work() };
                (0..50)
                    .map(|_| h.plugin().builds("b", &w).is_ok())
                    .filter(|ok| *ok)
                    .count()
            })
        })
        .collect();
    let ok: Vec<usize> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(ok, [0, 50, 0, 50, 0, 50, 0, 50]);
    let h = reg.serving("mixed").unwrap();
    assert_eq!(h.version.stats.faults(Cause::Trap), 200);
    assert_eq!(
        h.version.stats.calls.load(Relaxed),
        400 + 2,
        "plus the self-check's host-types and builders"
    );
}

#[test]
fn the_clock_import_answers_the_fixed_replay_time() {
    let reg = registry();
    let import = r#"(import "xbuild:platform/clock@0.2.0" "now" (func $now (result i64)))"#;
    let wat = builders_wat(
        "clocked",
        "1",
        BUILDERS,
        import,
        "(i64.eq (call $now) (i64.const 1500000000))",
    );
    reg.load(&component("builders", None, &wat), "c.wasm")
        .unwrap();
    let h = reg.serving("clocked").unwrap();
    let replay = CallOptions {
        clock: runtime::Clock::Fixed(1_500_000_000),
        ..Default::default()
    };
    assert!(h
        .plugin()
        .with_options(replay)
        .builds("b", &work())
        .unwrap());
    assert!(
        !h.plugin().builds("b", &work()).unwrap(),
        "live clock is now, not 2017"
    );
}
