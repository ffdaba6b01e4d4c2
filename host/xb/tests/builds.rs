//! `xb serve` builds on first start: the demo repository is created, ingested, and its
//! commits built by the local pool's buildlet processes (`xb buildlet`), with results in
//! the dashboard's store and the builds on the status page.

mod common;

use common::{get_text, start_with};
use std::path::Path;
use std::time::Duration;

/// The local pool runs this build's `xb buildlet`; no env/ folder overrides it.
fn setup(dir: &Path) -> xb::builds::BuildSetup {
    let env_dir = dir.join("no-env");
    std::fs::create_dir_all(&env_dir).unwrap();
    xb::builds::BuildSetup {
        buildlet: vec![env!("CARGO_BIN_EXE_xb").into(), "buildlet".into()],
        env_dir,
        ..Default::default()
    }
}

async fn wait_for_results(url: &str, n: usize) -> serde_json::Value {
    for _ in 0..1200 {
        let r = common::get_json(&format!("{url}/api/results?limit=100")).await;
        if r.as_array().is_some_and(|a| a.len() >= n) {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{n} results never came: {}",
        get_text(&format!("{url}/status.json")).await
    );
}

/// The buildlet processes started for `data`, by pid.
fn buildlet_pids(data: &Path) -> Vec<i32> {
    let out = std::process::Command::new("pgrep")
        .args([
            "-f",
            &format!("buildlet --listen 127.0.0.1:0 --workdir {}", data.display()),
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn first_start_builds_the_demo_repository() {
    let dir = tempfile::tempdir().unwrap();
    let (host, url) = start_with(dir.path(), Some(setup(dir.path()))).await;
    let results = wait_for_results(&url, 6).await;
    let results = results.as_array().unwrap();
    let failed: Vec<&serde_json::Value> = results.iter().filter(|r| r["ok"] == false).collect();
    assert_eq!(
        failed.len(),
        1,
        "the fifth commit breaks a test: {results:#?}"
    );
    let log_hash = failed[0]["log_hash"].as_str().unwrap();
    let log = get_text(&format!("{url}/log/{log_hash}")).await;
    assert!(
        log.contains("FAIL sort") && log.contains("ok   count"),
        "{log}"
    );
    let status = get_text(&format!("{url}/status")).await;
    assert!(
        status.contains("host-linux-amd64-localdev") && status.contains("passed"),
        "{status}"
    );
    let metrics = get_text(&format!("{url}/metrics")).await;
    assert!(
        metrics.contains("xb_coordinator_builds_total{outcome=\"failed\"} 1"),
        "{metrics}"
    );
    // Every buildlet process is gone and its work directory removed.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(buildlet_pids(dir.path()).is_empty());
    let left: Vec<_> = std::fs::read_dir(dir.path().join("buildlets"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "{left:?}");
    drop(host);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_buildlet_process_that_dies_loses_no_build() {
    let dir = tempfile::tempdir().unwrap();
    let (host, url) = start_with(dir.path(), Some(setup(dir.path()))).await;
    // Kill the first buildlet process that runs a build.
    let mut killed = false;
    for _ in 0..600 {
        if let Some(pid) = buildlet_pids(dir.path()).first() {
            tokio::time::sleep(Duration::from_millis(300)).await;
            killed = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status()
                .unwrap()
                .success();
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(killed);
    let results = wait_for_results(&url, 6).await;
    assert_eq!(results.as_array().unwrap().len(), 6);
    let metrics = get_text(&format!("{url}/metrics")).await;
    assert!(
        metrics.contains("xb_coordinator_builds_total{outcome=\"requeued\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("xb_coordinator_builds_total{outcome=\"failed\"} 1"),
        "{metrics}"
    );
    drop(host);
}
