//! `xb serve` over real HTTP on loopback: bundled plugins, metrics, the admin API,
//! and the watcher following the CLI and the watched directory.

mod common;

use common::{get_json, get_text};
use runtime::Registry;
use std::sync::Arc;
use std::time::Duration;
use xb::data::DataDir;
use xb::plugins::{load_bundled, BUNDLED_DIR};
use xb::serve::{router, spawn_watcher, AppState};

struct Server {
    url: String,
    token: String,
    data: DataDir,
    registry: Arc<Registry>,
    _dir: tempfile::TempDir,
}

async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("data")).unwrap();
    let registry = data.registry().unwrap();
    load_bundled(&registry, std::path::Path::new(BUNDLED_DIR))
        .expect("bundled plugins: run `cargo xtask plugins`");
    let token = data.admin_token().unwrap();
    let state = Arc::new(AppState {
        registry: registry.clone(),
        admin_token: token.clone(),
        coordinator: None,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
    Server {
        url,
        token,
        data,
        registry,
        _dir: dir,
    }
}

impl Server {
    fn serving_id(&self) -> runtime::VersionId {
        self.registry
            .serving("local-builders")
            .unwrap()
            .version
            .id
            .clone()
    }
}

/// local-builders with one more custom section: same code, another version.
fn local_builders_variant(tag: u8) -> Vec<u8> {
    let mut v = bundled("local_builders.wasm");
    v.extend([0, 4, 3, b'v', tag, b'!']);
    v
}

fn bundled(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(BUNDLED_DIR).join(name)).unwrap()
}

#[tokio::test]
async fn serves_the_bundled_builders_and_metrics() {
    let s = start().await;
    let plugins: serde_json::Value = get_json(&format!("{}/plugins", s.url)).await;
    let names: Vec<_> = plugins
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["kind"].as_str().unwrap()))
        .collect();
    assert!(names.contains(&("local-builders", "builders")), "{names:?}");
    assert!(names.contains(&("gopherbot", "gopherbot")), "{names:?}");
    let builders = get_json(&format!("{}/builders", s.url)).await;
    assert_eq!(builders[0]["name"], "linux-amd64-localdev");
    assert_eq!(builders[0]["trybot"], true);
    let metrics = get_text(&format!("{}/metrics", s.url)).await;
    assert!(
        metrics.contains("xbuild_plugin_calls_total{kind=\"builders\",name=\"local-builders\""),
        "{metrics}"
    );
    assert!(
        metrics.contains("xbuild_plugin_serving{kind=\"builders\",name=\"local-builders\""),
        "{metrics}"
    );
}

#[tokio::test]
async fn the_admin_api_needs_the_token_and_rejects_bad_components() {
    let s = start().await;
    let http = reqwest::Client::new();
    let before = s.serving_id();
    let anon = http
        .post(format!("{}/admin/plugins", s.url))
        .body(b"x".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);
    let wrong = http
        .post(format!("{}/admin/plugins", s.url))
        .bearer_auth("nope")
        .body(b"x".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let bad = http
        .post(format!("{}/admin/plugins", s.url))
        .bearer_auth(&s.token)
        .body(b"not wasm".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    assert!(bad
        .text()
        .await
        .unwrap()
        .contains("not a WebAssembly component"));
    assert_eq!(s.serving_id(), before, "serving untouched");
    let none = http
        .post(format!("{}/admin/plugins/local-builders/rollback", s.url))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 409);
}

#[tokio::test]
async fn the_admin_api_swaps_and_rolls_back() {
    let s = start().await;
    let http = reqwest::Client::new();
    let first = s.serving_id();
    // A second version of the same plugin: same code, one more custom section.
    let v2 = local_builders_variant(b'2');
    let up = http
        .post(format!("{}/admin/plugins?swap=true", s.url))
        .bearer_auth(&s.token)
        .body(v2)
        .send()
        .await
        .unwrap();
    assert_eq!(up.status(), 200);
    let slot: serde_json::Value = serde_json::from_str(&up.text().await.unwrap()).unwrap();
    assert_ne!(slot["id"], first.as_str());
    assert_eq!(slot["history"][0], first.as_str());
    let back = http
        .post(format!("{}/admin/plugins/local-builders/rollback", s.url))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), 200);
    assert_eq!(s.serving_id(), first);
    let swap = http
        .post(format!(
            "{}/admin/plugins/local-builders/swap?version={}",
            s.url,
            &slot["id"].as_str().unwrap()[..10]
        ))
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap();
    assert_eq!(swap.status(), 200);
    assert_ne!(s.serving_id(), first);
}

#[tokio::test]
async fn the_watcher_follows_the_cli_and_the_watched_directory() {
    let s = start().await;
    std::fs::create_dir_all(s.data.incoming()).unwrap();
    let _w = spawn_watcher(
        s.registry.clone(),
        s.data.incoming(),
        Duration::from_millis(20),
    );
    let first = s.serving_id();

    // Drop a new version into the watched directory.
    let v2 = local_builders_variant(b'3');
    std::fs::write(s.data.incoming().join("local-builders-v3.wasm"), v2).unwrap();
    let changed = wait_until(|| s.serving_id() != first).await;
    assert!(changed, "watched directory version served");

    // Roll back from "another process": the CLI on the same data directory.
    let cli = |cmd| xb::plugins::run(cmd, &s.data).unwrap();
    let out = cli(xb::plugins::PluginCommand::Rollback {
        name: "local-builders".into(),
    });
    assert!(out.contains("rolled back"), "{out}");
    let followed = wait_until(|| s.serving_id() == first).await;
    assert!(followed, "server followed the CLI's rollback");

    // And its removal.
    cli(xb::plugins::PluginCommand::Remove {
        name: "local-builders".into(),
    });
    let followed = wait_until(|| s.registry.serving("local-builders").is_err()).await;
    assert!(followed, "server followed the CLI's removal");
}

#[tokio::test]
async fn the_admin_api_removes_a_plugin() {
    let s = start().await;
    let http = reqwest::Client::new();
    let url = format!("{}/admin/plugins/local-builders", s.url);
    let anon = http.delete(&url).send().await.unwrap();
    assert_eq!(anon.status(), 401);
    assert!(s.registry.serving("local-builders").is_ok());
    let first = s.serving_id();
    let gone = http
        .delete(&url)
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 200);
    let body: serde_json::Value = serde_json::from_str(&gone.text().await.unwrap()).unwrap();
    assert_eq!(body["removed"]["id"], first.as_str());
    let plugins = get_json(&format!("{}/plugins", s.url)).await;
    assert!(
        plugins
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["name"] != "local-builders"),
        "{plugins}"
    );
    let again = http
        .delete(&url)
        .bearer_auth(&s.token)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
    let events = s
        .registry
        .plugin_store()
        .unwrap()
        .events("local-builders")
        .unwrap();
    assert_eq!(events.last().unwrap().action, "remove");
}

async fn wait_until(mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..500 {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}
