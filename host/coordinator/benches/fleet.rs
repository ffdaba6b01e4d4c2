//! The fleet's figures, with buildlets in this process on loopback:
//! - round trip of `/status` and of `/exec true` directly, through our HTTP/2 reverse
//!   connection and through Go's revdial v1, p50 and p99;
//! - registrations per second the reverse pool takes, and memory per connected machine
//!   (both ends of each connection live in this process, so it is an upper bound);
//! - from the last build of a try set finishing to its vote reaching (a fake) Gerrit.
//!
//! `cargo bench -p coordinator --bench fleet`

#[path = "../tests/common/mod.rs"]
mod common;

use buildlet::reverse::{self, ReverseConfig};
use buildlet::{builder_key, Acceptor, Buildlet, Client, ClientOptions, Config, ExecOpts, WorkDir};
use common::World;
use coordinator::pool::reverse::{Checks, Fleet};
use coordinator::pool::{Pool, Pools};
use coordinator::trybots::GerritConfig;
use maintnerd::fakegerrit::FakeGerrit;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const MASTER: &[u8] = b"bench";
const HOST: &str = "host-bench";
const ROUND_TRIPS: usize = 2000;
const MACHINES: usize = 300;

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        round_trips().await;
        registrations().await;
        vote_latency().await;
    });
}

struct Farm {
    addr: String,
    fleet: Fleet,
    pool: Arc<dyn Pool>,
    _dir: tempfile::TempDir,
}

async fn farm() -> Farm {
    let pools = Pools::new();
    let fleet = Fleet::new(pools.notifier(), Checks::default(), BTreeMap::new());
    let pool: Arc<dyn Pool> = fleet.pool(HOST);
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
    Farm {
        addr,
        fleet,
        pool,
        _dir: tempfile::tempdir().unwrap(),
    }
}

fn buildlet(root: &std::path::Path, i: usize) -> Arc<Buildlet> {
    Buildlet::new(
        WorkDir::open(&root.join(format!("b{i}")), true).unwrap(),
        Config::default(),
    )
}

fn cfg(farm: &Farm, i: usize) -> ReverseConfig {
    ReverseConfig {
        coordinator: format!("http://{}", farm.addr),
        host_type: HOST.into(),
        hostname: format!("m{i}"),
        key: builder_key(MASTER, HOST),
        tls: None,
        min_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_secs(1),
    }
}

fn dial_h2(farm: &Farm, i: usize) {
    let b = buildlet(farm._dir.path(), i);
    tokio::spawn(reverse::run(cfg(farm, i), b));
}

fn dial_v1(farm: &Farm, i: usize) {
    let (b, c, addr) = (
        buildlet(farm._dir.path(), i),
        cfg(farm, i),
        farm.addr.clone(),
    );
    tokio::spawn(async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        tcp.set_nodelay(true).unwrap();
        let _ = reverse::serve_revdial_v1(tcp, &c, b).await;
    });
}

async fn wait_for(farm: &Farm, n: u32) {
    while farm.pool.capacity().total < n {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn lease_client(farm: &Farm) -> Client {
    let lease = farm.pool.reserve().unwrap().await.unwrap();
    let c = lease.client.clone();
    std::mem::forget(lease); // kept for the whole run
    c
}

fn pct(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let at = |p: f64| v[((v.len() as f64 * p) as usize).min(v.len() - 1)].as_secs_f64() * 1e6;
    (at(0.50), at(0.99))
}

async fn measure(name: &str, c: &Client) {
    let mut status = vec![];
    let mut exec = vec![];
    let opts = ExecOpts {
        system_level: true,
        ..Default::default()
    };
    for _ in 0..ROUND_TRIPS {
        let t = Instant::now();
        c.status().await.unwrap();
        status.push(t.elapsed());
        let t = Instant::now();
        let mut out = Vec::new();
        c.exec("/bin/true", &opts, &mut out).await.unwrap();
        exec.push(t.elapsed());
    }
    let (s50, s99) = pct(status);
    let (e50, e99) = pct(exec);
    println!(
        "{name:<22} /status p50 {s50:>7.1} µs p99 {s99:>7.1} µs   /exec true p50 {e50:>7.1} µs p99 {e99:>7.1} µs"
    );
}

async fn round_trips() {
    println!("round trips ({ROUND_TRIPS} each, sequential):");
    let dir = tempfile::tempdir().unwrap();
    let b = buildlet(dir.path(), 0);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let router = b.router();
    tokio::spawn(async move {
        buildlet::h1::serve(listener, router, None, std::future::pending()).await
    });
    measure(
        "direct (HTTP/1.1)",
        &Client::new(addr, ClientOptions::default()),
    )
    .await;

    let f = farm().await;
    dial_h2(&f, 1);
    wait_for(&f, 1).await;
    measure("reverse, HTTP/2", &lease_client(&f).await).await;

    let f = farm().await;
    dial_v1(&f, 2);
    wait_for(&f, 1).await;
    measure("reverse, revdial v1", &lease_client(&f).await).await;
}

fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = s.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4
}

async fn registrations() {
    for (name, v1) in [("HTTP/2", false), ("revdial v1", true)] {
        let f = farm().await;
        let before = rss_kib();
        let t = Instant::now();
        for i in 0..MACHINES {
            if v1 {
                dial_v1(&f, i);
            } else {
                dial_h2(&f, i);
            }
        }
        wait_for(&f, MACHINES as u32).await;
        let took = t.elapsed();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let per = (rss_kib().saturating_sub(before)) as f64 / MACHINES as f64;
        let connected = f.fleet.status(&BTreeMap::new()).host_types[HOST].connected;
        println!(
            "registrations ({name}): {MACHINES} in {:.0} ms = {:.0}/s; memory per machine (both ends) {per:.0} KiB; connected {connected}",
            took.as_secs_f64() * 1e3,
            MACHINES as f64 / took.as_secs_f64()
        );
    }
}

async fn vote_latency() {
    const RUNS: i32 = 10;
    let w = World::new(&[("a", "true\n")], 2).await;
    let fake = FakeGerrit::start(w.remote.clone()).await.unwrap();
    let mut cfg = w.config();
    cfg.gerrit = Some(GerritConfig {
        url: fake.url.clone(),
        auth: None,
        public_url: "http://bench".into(),
        journal: w.dir.path().join("trybots.db"),
    });
    let c = w.start(cfg, w.pools(None));
    w.results(&c, 1).await;
    let mut times = vec![];
    for n in 0..RUNS {
        let change = maintnerd::fixture::OpenChange {
            number: 500 + n,
            patch_set: 1,
            parent: w.head(),
            time: 1_700_000_000,
            file: (format!("tests/v{n}.sh"), "true\n".into()),
            votes: vec!["Run-TryBot=+1".into()],
        };
        let commit = maintnerd::fixture::add_open_change(&w.remote, &change).unwrap();
        w.poller.sync_round().await.unwrap();
        // The build's end is when its result is recorded; the vote's arrival is when
        // the fake Gerrit has it.
        while !c.snapshot().recent.iter().any(|f| f.commit == commit) {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        let ended = Instant::now();
        while !fake
            .reviews()
            .iter()
            .any(|r| r.revision == commit && !r.labels.is_empty())
        {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        times.push(ended.elapsed());
    }
    let (p50, _) = pct(times.clone());
    println!(
        "try set's last build recorded -> vote at Gerrit, including the fake's NoteDB write \
         ({RUNS} runs): p50 {:.1} ms, max {:.1} ms",
        p50 / 1e3,
        times.iter().max().unwrap().as_secs_f64() * 1e3
    );
}
