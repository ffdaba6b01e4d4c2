//! The coordinator end to end: commits in a real corpus become builds on real buildlets,
//! with sources from a git mirror, sharded tests, results in the store.

mod common;

use common::{World, BUILDER};
use coordinator::model::{BuildSpec, Work, WorkKind};
use dashboard::model::ResultKey;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

const PASS: &str = "true\n";
const FAIL: &str = "echo broken; exit 1\n";

#[tokio::test(flavor = "multi_thread")]
async fn builds_the_newest_commits_and_shards_their_tests() {
    // Two builds at once, each with a helper.
    let w = World::new(&[("a", PASS), ("b", PASS), ("c", PASS), ("d", PASS)], 4).await;
    let first = w.head();
    let second = w.land("tests/e.sh", PASS, "second").await;
    let third = w.land("tests/f.sh", FAIL, "third breaks f").await;
    let mut cfg = w.config();
    cfg.window = 2;
    let c = w.start(cfg, w.pools(None));
    let results = w.results(&c, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let all = w.store.recent(100).unwrap();
    assert_eq!(all.len(), 2, "only the newest two commits: {all:?}");
    let of = |commit: &str| all.iter().find(|r| r.key.commit == commit).cloned();
    assert!(of(&first).is_none(), "outside the window");
    let second = of(&second).expect("second built");
    let third = of(&third).expect("third built");
    assert!(second.ok && !third.ok, "{results:?}");
    assert_eq!(
        second.key,
        ResultKey::post_submit(BUILDER, "demo", &second.key.commit, "")
    );
    let log = w.log(&third);
    assert!(log.contains("FAIL f") && log.contains("broken"), "{log}");
    assert!(log.contains("ok   a"), "{log}");
    assert!(log.contains("shards over 2 buildlets"), "{log}");
    assert!(
        log.contains(":: step make: demo/make.sh") && log.contains("built"),
        "{log}"
    );
    assert!(w.canaries_alive());
    let snap = c.snapshot();
    // A build whose buildlet was lost on a loaded machine is listed once more, as
    // requeued, before it ends elsewhere: count the builds that ended.
    let ended: Vec<_> = snap
        .recent
        .iter()
        .filter(|b| !b.state.starts_with("requeued"))
        .map(|b| (&b.commit, &b.state))
        .collect();
    assert_eq!(
        ended.len(),
        2,
        "{:?}",
        snap.recent.iter().map(|b| &b.state).collect::<Vec<_>>()
    );
    assert!(snap.latency[0].samples >= 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shard_that_ends_goes_into_the_log_while_the_others_run() {
    // One test takes seconds and is in the first shard; the second shard ends first
    // and is logged first, with how long each took.
    let slow = "sleep 3\n";
    let w = World::new(&[("a", PASS), ("b", PASS), ("c", PASS), ("aslow", slow)], 2).await;
    let c = w.start(w.config(), w.pools(None));
    let results = w.results(&c, 1).await;
    let log = w.log(&results[0]);
    assert!(results[0].ok, "{log}");
    let starts = log.matches(":: shard ").count();
    assert_eq!(starts, 4, "two start lines and two ends: {log}");
    let ends: Vec<&str> = log.lines().filter(|l| l.contains(", done in ")).collect();
    assert_eq!(ends.len(), 2, "{log}");
    assert!(
        !ends[0].contains("aslow") && ends[1].contains("aslow"),
        "{log}"
    );
    let took = |l: &str| -> f64 {
        let t = l.split(", done in ").nth(1).unwrap();
        t.split(" s:").next().unwrap().parse().unwrap()
    };
    assert!(
        took(ends[1]) >= 3.0 && took(ends[0]) < took(ends[1]),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_commit_is_queued_by_the_corpus_change_and_built() {
    let w = World::new(&[("a", PASS)], 2).await;
    let c = w.start(w.config(), w.pools(None));
    w.results(&c, 1).await;
    let passes = c.counters().finder_passes.load(Relaxed);
    let new = w.land("tests/b.sh", PASS, "second").await;
    let results = w.results(&c, 2).await;
    assert!(
        results.iter().any(|r| r.key.commit == new && r.ok),
        "{results:?}"
    );
    // The corpus change woke the finder (the rescan interval is an hour).
    assert!(c.counters().finder_passes.load(Relaxed) > passes);
    // It was not built twice.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(w.store.recent(100).unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_build_whose_buildlet_dies_is_queued_again_and_finishes_elsewhere() {
    let w = World::new(&[("slow", "sleep 5\n")], 2).await;
    let relay = common::Relay::new(w.buildlets[0].addr.clone()).await;
    // The dying machine is the only one at first.
    let mut cfg = w.config();
    cfg.max_builds = 1;
    let pools = w.pools(Some(vec![relay.addr.clone()]));
    let c = w.start(cfg.clone(), pools);
    for _ in 0..600 {
        if c.snapshot().active.iter().any(|a| a.machine != "starting") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    relay.cut();
    for _ in 0..600 {
        if c.counters().requeued.load(Relaxed) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(c.counters().requeued.load(Relaxed), 1);
    assert_eq!(c.snapshot().queued_total, 1, "back in the queue");
    assert!(
        w.store.recent(10).unwrap().is_empty(),
        "not recorded as a failure"
    );
    drop(c);
    // A coordinator with a live machine picks it up: a restart loses nothing.
    let c = w.start(cfg, w.pools(Some(vec![w.buildlets[1].addr.clone()])));
    let r = w.results(&c, 1).await;
    assert!(r[0].ok, "{}", w.log(&r[0]));
    assert!(w.canaries_alive());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_step_past_its_timeout_fails_the_build() {
    let w = World::new(&[("hang", "sleep 60\n")], 1).await;
    let mut cfg = w.config();
    cfg.step_timeout_cap = Some(Duration::from_secs(2));
    let c = w.start(cfg, w.pools(None));
    let r = w.results(&c, 1).await;
    assert!(!r[0].ok);
    let log = w.log(&r[0]);
    assert!(log.contains("timed out after 2s"), "{log}");
    assert!(w.canaries_alive());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revision_the_remote_no_longer_has_fails_clearly() {
    let w = World::new(&[("a", PASS)], 1).await;
    let empty = w.dir.path().join("empty.git");
    common::git(w.dir.path(), &["init", "--quiet", "--bare", "empty.git"]);
    let mut cfg = w.config();
    cfg.repos[0].remote = empty.to_string_lossy().into_owned();
    let c = w.start(cfg, w.pools(None));
    let r = w.results(&c, 1).await;
    assert!(!r[0].ok);
    let log = w.log(&r[0]);
    assert!(
        log.contains(&format!("revision {} is not in demo", w.head())),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn try_work_is_built_and_recorded_as_try_work() {
    let w = World::new(&[("a", PASS)], 2).await;
    let head = w.head();
    let change = maintnerd::fixture::OpenChange {
        number: 101,
        patch_set: 1,
        parent: head.clone(),
        time: 1_700_000_000,
        file: ("tests/z.sh".into(), FAIL.into()),
        votes: vec!["Run-TryBot=+1".into()],
    };
    let commit = maintnerd::fixture::add_open_change(&w.remote, &change).unwrap();
    w.poller.sync_round().await.unwrap();
    let c = w.start(w.config(), w.pools(None));
    let results = w.results(&c, 2).await;
    let tried = results
        .iter()
        .find(|r| r.key.commit == commit)
        .expect("the patch set was built");
    assert!(!tried.ok, "its test fails");
    let spec = BuildSpec {
        builder: BUILDER.into(),
        host_type: common::HOST.into(),
        work: Work {
            kind: WorkKind::Try {
                change: 101,
                patch_set: 1,
            },
            repo: "demo".into(),
            branch: "master".into(),
            commit: commit.clone(),
            go_branch: None,
            go_commit: None,
            commit_time: Default::default(),
        },
    };
    assert_eq!(tried.key, spec.key());
    assert!(w.log(tried).contains("FAIL z"));
    // The post-submit head was built too, and is not mixed up with the try result.
    assert!(results.iter().any(|r| r.key.commit == head && r.ok));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_status_page_shows_pools_builds_and_live_logs() {
    let w = World::new(&[("slow", "sleep 2; echo slow-done\n")], 2).await;
    let c = w.start(w.config(), w.pools(None));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = c.router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let mut id = None;
    for _ in 0..100 {
        if let Some(a) = c.snapshot().active.first() {
            id = Some(a.id);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let id = id.expect("a build started");
    let page = reqwest::get(format!("{url}/status"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("host-linux-amd64-localdev") && page.contains("Active builds (1)"),
        "{page}"
    );
    assert!(page.contains(&format!("/status/logs/{id}")), "{page}");
    // The live log streams until the build ends.
    let log = reqwest::get(format!("{url}/status/logs/{id}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(log.contains("slow-done") && log.contains("Passed"), "{log}");
    let json: serde_json::Value = serde_json::from_str(
        &reqwest::get(format!("{url}/status.json"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(json["recent"][0]["state"], "passed", "{json}");
    assert_eq!(json["pools"][0]["capacity"]["total"], 2);
    assert!(c
        .metrics()
        .contains("xb_coordinator_builds_total{outcome=\"passed\"} 1"));
    let missing = reqwest::get(format!("{url}/status/logs/999"))
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn builders_plugins_taken_in_and_out_of_service_change_what_is_queued() {
    let w = World::new(&[("a", PASS)], 1).await;
    w.registry.remove("local-builders").unwrap();
    // No machines: whatever is queued stays queued.
    let c = w.start(w.config(), w.pools(Some(vec![])));
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(c.snapshot().queued_total, 0, "no builder, no work");
    w.registry.rollback("local-builders").unwrap();
    let wait_for = |n: usize| {
        let c = c.clone();
        async move {
            for _ in 0..100 {
                if c.snapshot().queued_total == n {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!(
                "queue never held {n}: {}",
                serde_json::to_string(&c.snapshot()).unwrap()
            );
        }
    };
    wait_for(1).await;
    assert_eq!(c.snapshot().queue[0].builder, BUILDER);
    assert_eq!(
        c.snapshot().unserved,
        Vec::<String>::new(),
        "the pool exists, with no machine"
    );
    w.registry.remove("local-builders").unwrap();
    wait_for(0).await;
    assert_eq!(c.counters().dropped.load(Relaxed), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tampered_source_tarball_in_the_cache_is_made_again() {
    let w = World::new(&[("a", PASS)], 0).await;
    let remotes = [("demo".to_string(), w.remote.to_string_lossy().into_owned())].into();
    let mirror = coordinator::mirror::Mirror::new(&w.dir.path().join("mirror"), remotes);
    let first = mirror.tarball("demo", &w.head()).await.unwrap();
    let original = std::fs::read(&first).unwrap();
    std::fs::write(&first, b"#!/bin/sh\nrm -rf /\n").unwrap();
    // The next start reads the cache back: the damaged file is not handed out.
    let mirror = coordinator::mirror::Mirror::new(
        &w.dir.path().join("mirror"),
        [("demo".to_string(), w.remote.to_string_lossy().into_owned())].into(),
    );
    let again = mirror.tarball("demo", &w.head()).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(std::fs::read(&again).unwrap(), original);
}
