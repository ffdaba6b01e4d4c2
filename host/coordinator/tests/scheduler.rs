//! Scheduling by plugin: the real `scheduler` plugin's order, and the FIFO fallback when
//! the plugin is missing, traps or answers ids that are not in the queue.

mod common;

use common::rt;
use coordinator::model::{BuildSpec, Work, WorkKind};
use coordinator::schedule::{decide, Queued};
use maintner::time::Time;
use runtime::Registry;
use std::collections::BTreeMap;

fn queued(id: u64, host: &str, try_work: bool, enqueued: i64, commit_time: i64) -> Queued {
    Queued {
        id,
        spec: BuildSpec {
            builder: format!("b-{host}"),
            host_type: host.into(),
            work: Work {
                kind: if try_work {
                    WorkKind::Try {
                        change: id as i32,
                        patch_set: 1,
                    }
                } else {
                    WorkKind::PostSubmit
                },
                repo: "go".into(),
                branch: "master".into(),
                commit: format!("{id:040x}"),
                go_branch: None,
                go_commit: None,
                commit_time: Time::from_unix(commit_time),
            },
        },
        enqueued: Time::from_unix(enqueued),
        attempts: 0,
    }
}

fn free(pairs: &[(&str, u32)]) -> BTreeMap<String, u32> {
    pairs.iter().map(|(h, n)| (h.to_string(), *n)).collect()
}

fn with(component: Option<Vec<u8>>) -> Registry {
    let reg = rt::registry();
    if let Some(c) = component {
        reg.load(&c, "scheduler.wasm").unwrap();
    }
    reg
}

#[test]
fn trybots_first_newest_commits_next_and_aging_keeps_old_work_moving() {
    let reg = with(Some(rt::bundled("scheduler")));
    let now = 1_000_000;
    let queue = vec![
        queued(1, "h", false, now, 100),       // post-submit, older commit
        queued(2, "h", false, now, 200),       // post-submit, newer commit
        queued(3, "h", true, now, 50),         // try work
        queued(4, "h", false, now - 3600, 10), // post-submit queued an hour ago
    ];
    let d = decide(&reg, &queue, &free(&[("h", 10)]));
    assert!(d.fallback.is_none(), "{:?}", d.fallback);
    assert_eq!(d.order, [4, 3, 2, 1]);
}

#[test]
fn each_host_type_gets_at_most_its_free_machines_interleaved() {
    let reg = with(Some(rt::bundled("scheduler")));
    let mut queue = vec![];
    for i in 0..10 {
        queue.push(queued(i, "big", false, 1000 + i as i64, 0));
    }
    queue.push(queued(100, "small", false, 2000, 0));
    let d = decide(&reg, &queue, &free(&[("big", 3), ("small", 1)]));
    assert!(d.fallback.is_none());
    assert_eq!(d.order.len(), 4, "{:?}", d.order);
    assert_eq!(
        &d.order[..2],
        [0, 100],
        "the small host type is not starved: {:?}",
        d.order
    );
    assert_eq!(&d.order[2..], [1, 2]);
}

#[test]
fn without_a_scheduler_the_queue_is_first_in_first_out() {
    let reg = with(None);
    let queue = vec![
        queued(1, "h", false, 30, 0),
        queued(2, "h", true, 10, 0),
        queued(3, "h", false, 20, 0),
    ];
    let d = decide(&reg, &queue, &free(&[("h", 3)]));
    assert_eq!(d.order, [2, 3, 1]);
    assert!(d.fallback.unwrap().contains("no scheduler"));
}

#[test]
fn a_scheduler_that_traps_falls_back_to_fifo() {
    let reg = with(Some(rt::scheduler_answering("trapper", None)));
    let queue = vec![queued(1, "h", false, 30, 0), queued(2, "h", false, 10, 0)];
    let d = decide(&reg, &queue, &free(&[("h", 3)]));
    assert_eq!(d.order, [2, 1]);
    let why = d.fallback.unwrap();
    assert!(why.contains("failed"), "{why}");
}

#[test]
fn a_scheduler_that_answers_unknown_or_repeated_ids_falls_back_to_fifo() {
    for lie in [&[1u64, 999][..], &[1, 1][..]] {
        let reg = with(Some(rt::scheduler_answering("liar", Some(lie))));
        let queue = vec![queued(1, "h", false, 30, 0), queued(2, "h", false, 10, 0)];
        let d = decide(&reg, &queue, &free(&[("h", 3)]));
        assert_eq!(d.order, [2, 1], "{lie:?}");
        let why = d.fallback.unwrap();
        assert!(
            why.contains("not in the queue") || why.contains("twice"),
            "{why}"
        );
    }
    // An honest answer of the same shape is taken as is.
    let reg = with(Some(rt::scheduler_answering("honest", Some(&[1, 2]))));
    let queue = vec![queued(1, "h", false, 30, 0), queued(2, "h", false, 10, 0)];
    let d = decide(&reg, &queue, &free(&[("h", 3)]));
    assert_eq!(d.order, [1, 2]);
    assert!(d.fallback.is_none());
}
