//! `xb serve` over real HTTP on loopback: bundled plugins, metrics, the admin API,
//! and the watcher following the CLI and the watched directory.

mod common;

use common::{bundled_dir, get_json, get_text};
use runtime::Registry;
use std::sync::Arc;
use std::time::Duration;
use xb::data::DataDir;
use xb::plugins::load_bundled;
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
    load_bundled(&registry, &bundled_dir()).unwrap();
    let token = data.admin_token().unwrap();
    let state = Arc::new(AppState {
        registry: registry.clone(),
        admin_token: token.clone(),
        coordinator: None,
        corpus: None,
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

/// `component` with a custom section `name` holding `payload` appended: same code,
/// another version, as large as we like.
fn with_custom_section(mut component: Vec<u8>, name: &str, payload: &[u8]) -> Vec<u8> {
    fn leb128(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let mut content = vec![];
    leb128(name.len(), &mut content);
    content.extend_from_slice(name.as_bytes());
    content.extend_from_slice(payload);
    component.push(0);
    leb128(content.len(), &mut component);
    component.extend(content);
    component
}

fn bundled(name: &str) -> Vec<u8> {
    std::fs::read(common::bundled(name)).unwrap()
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
    assert!(names.contains(&("go-builders", "builders")), "{names:?}");
    let builders = get_json(&format!("{}/builders", s.url)).await;
    let builder = |name: &str| {
        let list = builders.as_array().unwrap();
        list.iter().find(|b| b["name"] == name).unwrap().clone()
    };
    assert_eq!(builder("linux-amd64-localdev")["plugin"], "local-builders");
    assert_eq!(builder("linux-amd64-localdev")["trybot"], true);
    assert_eq!(builder("linux-amd64")["plugin"], "go-builders");
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

/// Sends `head` and the first `sent` bytes of a body, then waits (at most 10 s) for
/// the answer's status line.
async fn status_line_after_partial_body(addr: &str, head: &str, sent: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(&vec![b'x'; sent]).await.unwrap();
    let mut got = vec![];
    let mut buf = [0u8; 1024];
    let read = async {
        while !got.windows(2).any(|w| w == b"\r\n") {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("no answer while the body was still unsent");
    let text = String::from_utf8_lossy(&got);
    text.lines().next().unwrap_or("").to_string()
}

#[tokio::test]
async fn bad_input_an_unauthenticated_2_mb_upload_is_refused_before_its_body_is_read() {
    let s = start().await;
    let addr = s.url.strip_prefix("http://").unwrap();
    // The body is declared but only its first kilobyte is sent: an answer can only
    // come from a server that does not wait for the rest.
    let head = "POST /admin/plugins?swap=true HTTP/1.1\r\nHost: x\r\n\
                Content-Length: 2000000\r\n\r\n";
    assert_eq!(
        status_line_after_partial_body(addr, head, 1024).await,
        "HTTP/1.1 401 Unauthorized"
    );
    let wrong = "POST /admin/plugins HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\n\
                 Content-Length: 2000000\r\n\r\n";
    assert_eq!(
        status_line_after_partial_body(addr, wrong, 1024).await,
        "HTTP/1.1 401 Unauthorized"
    );
}

#[tokio::test]
async fn bad_input_an_admin_upload_over_the_component_cap_is_refused() {
    let s = start().await;
    let addr = s.url.strip_prefix("http://").unwrap();
    let head = format!(
        "POST /admin/plugins HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Length: {}\r\n\r\n",
        s.token,
        runtime::MAX_COMPONENT_BYTES + 1
    );
    assert_eq!(
        status_line_after_partial_body(addr, &head, 1024).await,
        "HTTP/1.1 413 Payload Too Large"
    );
}

#[tokio::test]
async fn the_admin_api_takes_components_larger_than_2_mb() {
    let s = start().await;
    let first = s.serving_id();
    let big = with_custom_section(bundled("local_builders.wasm"), "pad", &[7; 3 << 20]);
    let up = reqwest::Client::new()
        .post(format!("{}/admin/plugins?swap=true", s.url))
        .bearer_auth(&s.token)
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(up.status(), 200, "{}", up.text().await.unwrap());
    assert_ne!(s.serving_id(), first);
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let s = start().await;
    let http = reqwest::Client::new();
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let r = http
            .post(format!("{}/admin/plugins/local-builders/rollback", s.url))
            .header("Authorization", format!("{scheme} {}", s.token))
            .send()
            .await
            .unwrap();
        // Authorized: nothing to roll back to, rather than 401.
        assert_eq!(r.status(), 409, "{scheme}");
    }
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
