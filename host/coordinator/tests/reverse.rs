//! The reverse pool: buildlets that dial in (ours over the HTTP/2 upgrade, Go's over
//! revdial v1) register with the seed's keys, build, are health-checked, and are
//! dropped when they go away; a build whose machine vanishes is queued again.

mod common;

use buildlet::reverse::{self, ReverseConfig};
use buildlet::{builder_key, Acceptor, Buildlet, Config as BuildletConfig, WorkDir};
use common::{Relay, World, CANARY, HOST};
use coordinator::pool::reverse::{Checks, Fleet, ReverseStatus};
use coordinator::pool::{Pool, Pools};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

const MASTER: &[u8] = b"gophers rule";

struct Farm {
    addr: String,
    fleet: Fleet,
    pools: Pools,
}

async fn farm() -> Farm {
    let mut pools = Pools::new();
    let checks = Checks {
        every: Duration::from_millis(200),
        jitter: Duration::from_millis(100),
        timeout: Duration::from_millis(500),
    };
    let fleet = Fleet::new(
        pools.notifier(),
        checks,
        BTreeMap::from([(HOST.to_string(), 2)]),
    );
    pools.add(fleet.pool(HOST));
    let (acceptor, rx) = Acceptor::with_master_key(MASTER.to_vec(), false);
    tokio::spawn(fleet.clone().admit_from(rx));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(reverse::serve(
        listener,
        acceptor.clone(),
        acceptor.router(),
        None,
        std::future::pending(),
    ));
    Farm { addr, fleet, pools }
}

fn machine(root: &Path, name: &str) -> (Arc<Buildlet>, ReverseConfig) {
    let parent = root.join(name);
    std::fs::create_dir_all(parent.join("work")).unwrap();
    std::fs::write(parent.join("canary"), CANARY).unwrap();
    let b = Buildlet::new(
        WorkDir::open(&parent.join("work"), true).unwrap(),
        BuildletConfig::default(),
    );
    let cfg = ReverseConfig {
        coordinator: String::new(),
        host_type: HOST.into(),
        hostname: name.into(),
        key: builder_key(MASTER, HOST),
        tls: None,
        min_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
    };
    (b, cfg)
}

/// Our buildlet, over the HTTP/2 upgrade.
fn dial_h2(farm: &Farm, root: &Path, name: &str) {
    let (b, mut cfg) = machine(root, name);
    cfg.coordinator = format!("http://{}", farm.addr);
    tokio::spawn(reverse::run(cfg, b));
}

/// A buildlet speaking Go's revdial v1, through `via` (the farm, or a relay to it).
fn dial_v1(via: &str, root: &Path, name: &str) {
    let (b, mut cfg) = machine(root, name);
    cfg.coordinator = via.to_string();
    let via = via.to_string();
    tokio::spawn(async move {
        let tcp = tokio::net::TcpStream::connect(&via).await.unwrap();
        let _ = reverse::serve_revdial_v1(tcp, &cfg, b).await;
    });
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..300 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never: {what}");
}

fn status(farm: &Farm) -> ReverseStatus {
    farm.fleet.status(&BTreeMap::new())
}

#[tokio::test(flavor = "multi_thread")]
async fn machines_of_both_protocols_register_and_build() {
    let w = World::new(&[("a", "true\n"), ("b", "true\n")], 0).await;
    let farm = farm().await;
    dial_h2(&farm, w.dir.path(), "ours");
    dial_v1(&farm.addr, w.dir.path(), "gos");
    let pool = farm.pools.get(HOST).unwrap().clone();
    until("two machines", || pool.capacity().total == 2).await;

    // `/status/reverse.json` in the seed's shape, as Go's tools read it.
    let st = serde_json::to_value(status(&farm)).unwrap();
    let ht = &st["HostTypes"][HOST];
    assert_eq!(
        (
            ht["Connected"].as_u64(),
            ht["Expect"].as_u64(),
            ht["Idle"].as_u64()
        ),
        (Some(2), Some(2), Some(2))
    );
    assert_eq!(
        ht["Machines"]["gos"]["Version"],
        buildlet::PROTOCOL_VERSION.to_string()
    );
    assert_eq!(ht["Machines"]["ours"]["Busy"], false);
    assert!(ht["Machines"]["ours"]["ConnectedSec"].as_f64().unwrap() >= 0.0);

    // Builds run on them: two commits, each with a helper for its tests.
    w.land("tests/c.sh", "true\n", "second").await;
    let c = w.start(w.config(), farm.pools.clone());
    let results = w.results(&c, 2).await;
    assert!(results.iter().all(|r| r.ok), "{results:?}");
    for r in &results {
        let log = w.log(r);
        assert!(
            log.contains(" (reverse)\n"),
            "built on a reverse machine: {log}"
        );
    }
    for m in ["ours", "gos"] {
        let p = w.dir.path().join(m);
        assert_eq!(std::fs::read_to_string(p.join("canary")).unwrap(), CANARY);
    }
    // Handed back and still healthy after several health checks.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(pool.capacity().free, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_machine_gone_while_idle_is_dropped_by_its_health_check() {
    let dir = tempfile::tempdir().unwrap();
    let farm = farm().await;
    let relay = Relay::new(farm.addr.clone()).await;
    dial_v1(&relay.addr, dir.path(), "flaky");
    dial_h2(&farm, dir.path(), "steady");
    until("two machines", || {
        status(&farm).host_types[HOST].connected == 2
    })
    .await;
    relay.cut();
    until("one machine", || {
        status(&farm).host_types[HOST].connected == 1
    })
    .await;
    until("dropped", || farm.fleet.pool(HOST).machines().len() == 1).await;
    let left = &status(&farm).host_types[HOST].machines;
    assert!(left.contains_key("steady"), "{left:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_build_whose_reverse_machine_vanishes_is_queued_again() {
    let w = World::new(&[("slow", "sleep 5\n")], 0).await;
    let farm = farm().await;
    let relay = Relay::new(farm.addr.clone()).await;
    dial_v1(&relay.addr, w.dir.path(), "dying");
    let pool = farm.pools.get(HOST).unwrap().clone();
    until("one machine", || pool.capacity().total == 1).await;
    let mut cfg = w.config();
    cfg.max_builds = 1;
    let c = w.start(cfg, farm.pools.clone());
    until("building", || {
        c.snapshot()
            .active
            .iter()
            .any(|a| a.machine.contains("dying"))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    relay.cut();
    until("requeued", || c.counters().requeued.load(Relaxed) > 0).await;
    assert!(
        w.store.recent(10).unwrap().is_empty(),
        "not recorded as a failure"
    );
    // A fresh machine dials in and the build finishes there.
    dial_h2(&farm, w.dir.path(), "fresh");
    let r = w.results(&c, 1).await;
    assert!(r[0].ok, "{}", w.log(&r[0]));
    assert_eq!(status(&farm).host_types[HOST].connected, 1);
}
