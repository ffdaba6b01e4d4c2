//! Atomic swap and rollback under load.

mod common;

use common::{builders_component, registry, work};
use std::sync::Arc;

/// Version "old" answers false after some work; "new" answers true at once.
fn versions() -> (Vec<u8>, Vec<u8>) {
    let busy = "(local $i i32) (local.set $i (i32.const 20000))
        (loop $l (local.set $i (i32.sub (local.get $i) (i32.const 1))) (br_if $l (local.get $i)))
        (i32.const 0)";
    (
        builders_component("swapper", "old", busy),
        builders_component("swapper", "new", "(i32.const 1)"),
    )
}

/// 500 calls start on the old version from four tasks; while they run the registry
/// swaps; 500 more start from four other tasks. None fails, none is lost, the first
/// 500 finish on the old version and the rest are served by the new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn swap_while_a_thousand_calls_are_in_flight_loses_none() {
    let reg = Arc::new(registry());
    let (old, new) = versions();
    reg.load(&old, "old.wasm").unwrap();
    let new_version = reg.load(&new, "new.wasm").unwrap().version;
    assert_eq!(
        reg.serving("swapper").unwrap().version.description.version,
        "old"
    );

    // Each call takes the serving version when it is spawned, as a request would.
    let spawn_calls = |reg: Arc<runtime::Registry>| {
        let calls: Vec<_> = (0..125)
            .map(|_| {
                let handle = reg.serving("swapper").unwrap();
                tokio::task::spawn_blocking(move || handle.plugin().builds("b", &work()))
            })
            .collect();
        tokio::spawn(async move {
            let mut answers = vec![];
            for call in calls {
                answers.push(call.await.unwrap());
            }
            answers
        })
    };
    let before: Vec<_> = (0..4).map(|_| spawn_calls(reg.clone())).collect();
    reg.swap("swapper", &new_version.id).unwrap();
    let after: Vec<_> = (0..4).map(|_| spawn_calls(reg.clone())).collect();

    let mut answers = (vec![], vec![]);
    for t in before {
        answers.0.extend(t.await.unwrap());
    }
    for t in after {
        answers.1.extend(t.await.unwrap());
    }
    assert_eq!(answers.0.len() + answers.1.len(), 1000, "no call lost");
    let failed: Vec<_> = answers
        .0
        .iter()
        .chain(&answers.1)
        .filter(|r| r.is_err())
        .collect();
    assert!(failed.is_empty(), "calls failed: {failed:?}");
    assert!(
        answers.0.iter().all(|r| !r.as_ref().unwrap()),
        "in-flight calls finish on the old version"
    );
    assert!(
        answers.1.iter().all(|r| *r.as_ref().unwrap()),
        "new calls go to the new version"
    );
}

#[test]
fn calls_holding_the_old_version_finish_on_it() {
    let reg = registry();
    let (old, new) = versions();
    reg.load(&old, "old.wasm").unwrap();
    let held: Vec<_> = (0..10).map(|_| reg.serving("swapper").unwrap()).collect();
    reg.load_and_swap(&new, "new.wasm").unwrap();
    for h in &held {
        assert!(
            !h.plugin().builds("b", &work()).unwrap(),
            "answered by the old version"
        );
    }
    assert!(reg
        .serving("swapper")
        .unwrap()
        .plugin()
        .builds("b", &work())
        .unwrap());
}

#[test]
fn rollback_returns_to_the_previous_version_and_history_is_kept() {
    let reg = registry();
    let v1 = builders_component("r", "1", "(i32.const 1)");
    let v2 = builders_component("r", "2", "(i32.const 0)");
    let v3 = builders_component("r", "3", "(i32.const 1)");
    reg.load(&v1, "1").unwrap();
    reg.load_and_swap(&v2, "2").unwrap();
    let slot = reg.load_and_swap(&v3, "3").unwrap();
    assert_eq!(slot.history.len(), 2);
    let version = |reg: &runtime::Registry| {
        reg.serving("r")
            .unwrap()
            .version
            .description
            .version
            .clone()
    };
    assert_eq!(version(&reg), "3");
    reg.rollback("r").unwrap();
    assert_eq!(version(&reg), "2");
    reg.rollback("r").unwrap();
    assert_eq!(version(&reg), "1");
    let err = reg.rollback("r").unwrap_err();
    assert!(err.to_string().contains("no earlier version"), "{err}");
    assert_eq!(version(&reg), "1");
    assert!(reg
        .rollback("nope")
        .unwrap_err()
        .to_string()
        .contains("no plugin named \"nope\""));
}

#[test]
fn swapping_to_a_version_of_another_plugin_is_refused() {
    let reg = registry();
    reg.load(&builders_component("a", "1", "(i32.const 1)"), "a")
        .unwrap();
    let b = reg
        .load(&builders_component("b", "1", "(i32.const 1)"), "b")
        .unwrap();
    let err = reg.swap("a", &b.version.id).unwrap_err();
    assert!(
        err.to_string().contains("is plugin \"b\", not \"a\""),
        "{err}"
    );
}
