//! The dashboard inside `xb serve`: builders known from the serving builders plugins,
//! builder keys from the data directory (`xb dashboard key`), results posted over HTTP
//! and read back by a plugin through the WIT `results` import, and the `xb dashboard`
//! CLI changing the store of a running server.

mod common;

use common::start_host;
use std::process::Command;
use xb::serve::Host;

/// The builder of the bundled local-builders plugin.
const BUILDER: &str = "linux-amd64-localdev";
const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// Runs the `xb` binary on the data directory; returns its output, asserting success.
fn xb(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_xb"))
        .arg("--data")
        .arg(dir)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "xb {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn post(url: &str, body: String) -> String {
    let resp = reqwest::Client::new()
        .post(url)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
}

/// A dashboard plugin whose page is the builder of the first result `results-for("go",
/// [COMMIT])` returns (404 and an empty body when there is none).
fn results_probe() -> Vec<u8> {
    let wat = format!(
        r#"(module
  (import "xbuild:platform/results@0.2.0" "results-for"
    (func $results_for (param i32 i32 i32 i32 i32)))
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 4096))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
                           (i32.xor (i32.sub (local.get 2) (i32.const 1)) (i32.const -1))))
    (global.set $heap (i32.add (local.get $p) (local.get 3)))
    (local.get $p))
  ;; describe: name, version, kind (dashboard = 3), summary.
  (data (i32.const 0) "\c8\00\00\00\0d\00\00\00\2c\01\00\00\01\00\00\00\03\00\00\00\00\00\00\00\00\00\00\00")
  (data (i32.const 200) "results-probe")
  (data (i32.const 300) "1")
  (data (i32.const 400) "go")
  (data (i32.const 500) "{COMMIT}")
  ;; the commits list: one string at 500, 40 bytes.
  (data (i32.const 600) "\f4\01\00\00\28\00\00\00")
  (data (i32.const 700) "text/plain")
  (func (export "xbuild:platform/plugin@0.2.0#describe") (result i32) (i32.const 0))
  (func (export "xbuild:platform/render@0.2.0#render")
    (param i32 i32 i32 i32 i32 i32) (result i32)
    (local $list i32) (local $n i32)
    (call $results_for (i32.const 400) (i32.const 2) (i32.const 600) (i32.const 1) (i32.const 1000))
    (local.set $list (i32.load (i32.const 1000)))
    (local.set $n (i32.load (i32.const 1004)))
    (i32.store16 (i32.const 800) (select (i32.const 200) (i32.const 404) (local.get $n)))
    (i32.store (i32.const 804) (i32.const 700))
    (i32.store (i32.const 808) (i32.const 10))
    (i32.store (i32.const 812) (select (i32.load (local.get $list)) (i32.const 0) (local.get $n)))
    (i32.store (i32.const 816)
      (select (i32.load offset=4 (local.get $list)) (i32.const 0) (local.get $n)))
    (i32.const 800))
)"#
    );
    let mut resolve = wit_parser::Resolve::default();
    let pkg = resolve
        .push_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../wit"))
        .unwrap()
        .0;
    let world = resolve.select_world(&[pkg], Some("dashboard")).unwrap();
    let mut module = wat::parse_str(&wat).unwrap();
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .unwrap();
    wit_component::ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .validate(true)
        .encode()
        .unwrap()
}

/// Renders the probe: (status, body).
async fn probe(host: &Host) -> (u16, String) {
    let reg = host.state.registry.clone();
    tokio::task::spawn_blocking(move || {
        let resp = reg
            .serving("results-probe")
            .unwrap()
            .plugin()
            .render(&runtime::Request {
                method: "GET".into(),
                path: "/".into(),
                query: vec![],
            })
            .unwrap();
        (resp.status, String::from_utf8(resp.body).unwrap())
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_flow_from_http_to_plugins_and_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let (host, url) = start_host(dir.path()).await;
    let reg = host.state.registry.clone();
    let probe_bytes = results_probe();
    tokio::task::spawn_blocking(move || reg.load_and_swap(&probe_bytes, "test"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(probe(&host).await, (404, String::new()));

    // The builder's key, from the master key the server created.
    let key = xb(dir.path(), &["dashboard", "key", BUILDER]);
    let key = key.trim();
    assert_eq!(key, host.dashboard.key.builder_key(BUILDER));
    assert_eq!(key.len(), 32);

    // What Go's coordinator posts for a failed build.
    let body = format!(
        r#"{{"Builder":"{BUILDER}","GoHash":"","Hash":"{COMMIT}","Log":"--- FAIL: TestX\n","OK":false,"PackagePath":"","RunTime":61000000000}}"#
    );
    let reply = post(
        &format!("{url}/result?version=1&key={key}&builder={BUILDER}"),
        body.clone(),
    )
    .await;
    assert_eq!(reply, "{\"Response\":null,\"Error\":\"\"}\n");
    // Builders are those of the serving plugins; none defines linux-riscv64.
    let master = std::fs::read_to_string(dir.path().join("builder-master.key")).unwrap();
    let reply = post(
        &format!("{url}/result?version=1&key={master}"),
        body.replace(BUILDER, "linux-riscv64"),
    )
    .await;
    assert_eq!(
        reply,
        "{\"Response\":null,\"Error\":\"unknown builder \\\"linux-riscv64\\\"\"}\n"
    );

    // The plugin sees the result through the `results` import.
    assert_eq!(probe(&host).await, (200, BUILDER.to_string()));
    let log_hash = dashboard::log_hash("--- FAIL: TestX\n");
    let log = reqwest::get(format!("{url}/log/{log_hash}")).await.unwrap();
    assert_eq!(log.text().await.unwrap(), "--- FAIL: TestX\n");

    // The CLI, another process on the same data directory.
    let listed = xb(dir.path(), &["dashboard", "results", "--builder", BUILDER]);
    assert!(listed.contains(BUILDER), "{listed}");
    assert!(listed.contains("FAIL"), "{listed}");
    assert!(listed.contains(&log_hash), "{listed}");
    let retried = xb(dir.path(), &["dashboard", "retry", BUILDER, &COMMIT[..10]]);
    assert_eq!(
        retried,
        format!("cleared {BUILDER} go at {COMMIT}: it builds again\n")
    );

    // The running server and its plugins see the CLI's change.
    let after: serde_json::Value = reqwest::get(format!("{url}/api/results"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after, serde_json::json!([]));
    assert_eq!(probe(&host).await, (404, String::new()));
    assert_eq!(xb(dir.path(), &["dashboard", "results"]), "no results\n");
    host.shutdown().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_and_packages_come_from_the_served_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let (host, url) = start_host(dir.path()).await;
    // The recorded corpus holds x/build.
    let packages = reqwest::get(format!("{url}/packages?kind=subrepo"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        packages,
        "{\"Response\":[{\"Kind\":\"subrepo\",\"Name\":\"build\",\"Path\":\"golang.org/x/build\",\"NextNum\":4877}],\"Error\":\"\"}\n"
    );
    let head = host
        .maintner
        .corpus()
        .read()
        .unwrap()
        .get_ref("go.googlesource.com", "build", "refs/heads/master")
        .unwrap()
        .unwrap();
    let commit: serde_json::Value = reqwest::get(format!(
        "{url}/commit?packagePath=golang.org/x/build&hash={head}"
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(commit["Error"], "");
    assert_eq!(commit["Response"]["Num"], 4876);
    assert_eq!(commit["Response"]["Branch"], "master");
    host.shutdown().unwrap();
}

#[test]
fn the_cli_says_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_xb"))
        .arg("--data")
        .arg(dir.path())
        .args(["dashboard", "retry", BUILDER, "abc"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("no post-submit result of {BUILDER} at abc")),
        "{err}"
    );
}
