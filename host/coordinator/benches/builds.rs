//! The coordinator's own overhead, on buildlets in this process with trivial steps:
//! - from a new commit reaching the corpus (the Gerrit poller's round applied) to its
//!   build starting on an idle pool;
//! - builds completed per minute with 4 buildlets, 40 commits queued at once.
//!
//! `cargo bench -p coordinator --bench builds`

#[path = "../tests/common/mod.rs"]
mod common;

use common::World;
use std::time::{Duration, Instant};

const LATENCY_RUNS: usize = 20;
const THROUGHPUT_COMMITS: usize = 40;

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        latency().await;
        throughput().await;
    });
}

async fn latency() {
    let w = World::new(&[("a", "true\n")], 2).await;
    let c = w.start(w.config(), w.pools(None));
    w.results(&c, 1).await;
    let mut times = vec![];
    for i in 0..LATENCY_RUNS {
        w.commit(
            &format!("lib/x{i}.sh"),
            "x() { :; }\n",
            &format!("commit {i}"),
        );
        let head = w.push();
        w.poller.sync_round().await.unwrap();
        let reached = Instant::now();
        loop {
            if c.snapshot().active.iter().any(|a| a.commit == head)
                || w.store
                    .recent(200)
                    .unwrap()
                    .iter()
                    .any(|r| r.key.commit == head)
            {
                break;
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        times.push(reached.elapsed());
        w.results(&c, i + 2).await;
    }
    times.sort();
    println!("new commit in the corpus -> build started, idle pool, {LATENCY_RUNS} commits:");
    println!(
        "  p50 {:.1} ms  max {:.1} ms",
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3
    );
}

async fn throughput() {
    let w = World::new(&[("a", "true\n"), ("b", "true\n")], 4).await;
    for i in 0..THROUGHPUT_COMMITS - 1 {
        w.commit(
            &format!("lib/y{i}.sh"),
            "y() { :; }\n",
            &format!("commit {i}"),
        );
    }
    w.push();
    w.poller.sync_round().await.unwrap();
    let mut cfg = w.config();
    cfg.window = THROUGHPUT_COMMITS as u32;
    let t = Instant::now();
    let c = w.start(cfg, w.pools(None));
    let r = w.results(&c, THROUGHPUT_COMMITS).await;
    let took = t.elapsed();
    assert!(r.iter().all(|r| r.ok));
    println!("{THROUGHPUT_COMMITS} builds (make + 2 tests sharded over a helper), 4 buildlets:");
    println!(
        "  {:.1} s, {:.0} builds/min",
        took.as_secs_f64(),
        THROUGHPUT_COMMITS as f64 / took.as_secs_f64() * 60.0
    );
}
