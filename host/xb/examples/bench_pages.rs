//! Figures of the pages, as `xb serve` renders them (`xb::pages::Pages`: plugin call on a
//! blocking thread, page cache):
//!
//! - the build grid of 30 commits × 60 builders (`xb::synth::Grid`, one cell in seven
//!   failing) and devapp's release dashboard over the recorded corpus: render time p50
//!   and p99, cold (every request a new page, so the plugin renders it) and cached;
//! - the weight in bytes of each page: grid, its JSON, devapp's four pages, a log page.
//!
//! Wall-clock times; the machine may be busy with other work, so the tails are noisy.
//!
//! `cargo xtask plugins && cargo run --release -p xb --example bench_pages`

use std::sync::Arc;
use std::time::{Duration, Instant};
use xb::pages::Pages;

const RECORDED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../plugin-tests/corpus/log");

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let store = dashboard::Store::open(&tmp.path().join("dashboard.db"))?;

    let grid = |builders: usize| -> anyhow::Result<Arc<Pages>> {
        let g = Arc::new(xb::synth::Grid::new(
            30,
            builders,
            "runtime: fix a race",
            "Gopher",
        ));
        let data = runtime::HostData {
            corpus: g.clone(),
            results: g.clone(),
            ..Default::default()
        };
        let dir = tmp.path().join(format!("grid-{builders}"));
        pages(&dir, "dashboard.wasm", data, g, &store)
    };
    let grid_pages = grid(60)?;

    let log = maintner::disklog::DiskLog::open_read_only(RECORDED)?;
    let corpus: maintnerd::SharedCorpus = Arc::new(std::sync::RwLock::new(
        maintner::corpus::Corpus::load(&log)?,
    ));
    let recorded = Arc::new(runtime::MaintnerCorpus(corpus));
    let dev_pages = pages(
        &tmp.path().join("dev"),
        "devapp.wasm",
        runtime::HostData {
            corpus: recorded.clone(),
            results: Arc::new(runtime::NoResults),
            ..Default::default()
        },
        recorded,
        &store,
    )?;

    println!("render time, server side (plugin call and page cache):");
    let k = runtime::Kind::Dashboard;
    timing("grid 30 commits x 60 builders", &grid_pages, k, "/", 300).await;
    // What the cold time grows with: the results crossing into the plugin.
    for n in [0, 10] {
        let what = format!("grid 30 commits x {n} builders");
        timing(&what, &grid(n)?, k, "/", 300).await;
    }
    let k = runtime::Kind::Devapp;
    timing(
        "release dashboard, recorded corpus",
        &dev_pages,
        k,
        "/release",
        100,
    )
    .await;

    println!("page weight:");
    let d = runtime::Kind::Dashboard;
    weight("grid 30 x 60", &grid_pages, d, "/", &[]).await;
    weight(
        "grid 30 x 60, ?mode=json",
        &grid_pages,
        d,
        "/",
        &[("mode", "json")],
    )
    .await;
    let v = runtime::Kind::Devapp;
    for path in ["/", "/release", "/reviews", "/stats"] {
        weight(&format!("devapp {path}"), &dev_pages, v, path, &[]).await;
    }
    let text = "linux-amd64 go@8f3c4d6e9a\n:: step make: ./make.bash\n".to_string()
        + &"ok  \tpkg/some/path\t0.123s\n".repeat(400)
        + ":: step test: go tool dist test\n--- FAIL: TestX\n:: Failed(\"step test: exit status 1\") after 300s\n";
    let axum::response::Html(page) = xb::logview::page(&"a".repeat(40), &text);
    println!(
        "  {:<40} {:>8} bytes (log of {} bytes)",
        "log page",
        page.len(),
        text.len()
    );
    Ok(())
}

fn pages(
    dir: &std::path::Path,
    plugin: &str,
    data: runtime::HostData,
    corpus: Arc<dyn runtime::CorpusQueries>,
    store: &dashboard::Store,
) -> anyhow::Result<Arc<Pages>> {
    let reg = xb::data::DataDir::new(dir)?.registry()?;
    reg.runtime().set_host_data(data);
    let file = std::path::Path::new(xb::plugins::BUNDLED_DIR).join(plugin);
    reg.load(&std::fs::read(&file)?, plugin)?;
    Ok(Pages::new(reg, corpus, store.clone(), None, None))
}

async fn render(
    p: &Arc<Pages>,
    kind: runtime::Kind,
    path: &str,
    q: &[(&str, &str)],
) -> (u16, Vec<u8>) {
    let query = q
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let resp = p
        .render(kind, path.into(), query, "http://bench".into())
        .await;
    let status = resp.status().as_u16();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, body.to_vec())
}

async fn timing(what: &str, p: &Arc<Pages>, kind: runtime::Kind, path: &str, n: usize) {
    let mut cold = Vec::with_capacity(n);
    for i in 0..n {
        // A parameter the plugin ignores makes each request a page the cache lacks.
        let i = i.to_string();
        let t = Instant::now();
        let (status, _) = render(p, kind, path, &[("bench", &i)]).await;
        cold.push(t.elapsed());
        assert_eq!(status, 200);
    }
    render(p, kind, path, &[]).await;
    let mut cached = Vec::with_capacity(n * 10);
    for _ in 0..n * 10 {
        let t = Instant::now();
        render(p, kind, path, &[]).await;
        cached.push(t.elapsed());
    }
    println!(
        "  {what:<40} cold p50 {:>9.3?} p99 {:>9.3?}   cached p50 {:>9.3?} p99 {:>9.3?}",
        pct(&mut cold, 50),
        pct(&mut cold, 99),
        pct(&mut cached, 50),
        pct(&mut cached, 99)
    );
}

fn pct(v: &mut [Duration], p: usize) -> Duration {
    v.sort();
    v[(v.len() * p / 100).min(v.len() - 1)]
}

async fn weight(what: &str, p: &Arc<Pages>, kind: runtime::Kind, path: &str, q: &[(&str, &str)]) {
    let (status, body) = render(p, kind, path, q).await;
    assert_eq!(status, 200, "{what}");
    println!("  {what:<40} {:>8} bytes", body.len());
}
