//! One scheduling decision with 10,000 queued builds and 500 free machines over 20 host
//! types, through the real `scheduler` plugin: the queue converted to WIT records, the
//! plugin call (fresh instance, the queue copied in, the order copied out) and the
//! runtime's check of the answer.
//!
//! `cargo bench -p coordinator --bench scheduler`

#[path = "../tests/common/rt_only.rs"]
mod rt_only;

use coordinator::model::{BuildSpec, Work, WorkKind};
use coordinator::schedule::{decide, Queued};
use maintner::time::Time;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const QUEUED: u64 = 10_000;
const HOSTS: u32 = 20;
const FREE: u32 = 500;
const RUNS: usize = 200;

fn main() {
    let reg = runtime::Registry::in_memory(std::sync::Arc::new(
        runtime::Runtime::new(runtime::RuntimeConfig::default()).unwrap(),
    ));
    reg.load(&rt_only::bundled("scheduler"), "scheduler.wasm")
        .unwrap();
    let queue: Vec<Queued> = (0..QUEUED)
        .map(|i| {
            let host = format!("host-bench-{}", i % u64::from(HOSTS));
            Queued {
                id: i,
                spec: BuildSpec {
                    builder: format!("linux-amd64-bench{}", i % 60),
                    host_type: host,
                    work: Work {
                        kind: if i % 10 == 0 {
                            WorkKind::Try {
                                change: i as i32,
                                patch_set: 1,
                            }
                        } else {
                            WorkKind::PostSubmit
                        },
                        repo: ["go", "net", "tools", "sys"][(i % 4) as usize].into(),
                        branch: "master".into(),
                        commit: format!("{i:040x}"),
                        go_branch: None,
                        go_commit: None,
                        commit_time: Time::from_unix(1_700_000_000 + (i as i64 % 500)),
                    },
                },
                enqueued: Time::from_unix(1_700_000_000 + i as i64 / 100),
                attempts: 0,
            }
        })
        .collect();
    let free: BTreeMap<String, u32> = (0..HOSTS)
        .map(|h| (format!("host-bench-{h}"), FREE / HOSTS))
        .collect();
    let mut times = Vec::with_capacity(RUNS);
    let mut started = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        let d = decide(&reg, &queue, &free);
        times.push(t.elapsed());
        assert!(d.fallback.is_none(), "{:?}", d.fallback);
        started = d.order.len();
    }
    // The parts: the queue converted to WIT records, and the plugin call alone.
    let mut convert = Vec::with_capacity(RUNS);
    let mut call = Vec::with_capacity(RUNS);
    let h = reg.serving("scheduler").unwrap();
    for _ in 0..RUNS {
        let t = Instant::now();
        let l = coordinator::schedule::lower(&queue, &free);
        convert.push(t.elapsed());
        let t = Instant::now();
        h.plugin()
            .schedule(&l.names, &l.items, &l.capacity)
            .unwrap();
        call.push(t.elapsed());
    }
    convert.sort();
    call.sort();
    times.sort();
    let p = |q: usize| times[(times.len() - 1) * q / 100];
    println!(
        "scheduler decision, {QUEUED} queued, {FREE} free machines over {HOSTS} host types, {RUNS} runs:"
    );
    println!(
        "  p50 {:.2} ms  p99 {:.2} ms  min {:.2} ms  ({started} builds started per decision)",
        ms(p(50)),
        ms(p(99)),
        ms(times[0])
    );
    println!(
        "  of which: queue to WIT records p50 {:.2} ms, plugin call p50 {:.2} ms",
        ms(convert[convert.len() / 2]),
        ms(call[call.len() / 2])
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
