//! The pages in a real browser: Chromium driven over WebDriver (chromedriver, Debian's
//! `chromium` and `chromium-driver` packages, installed by `.ci/run`), on loopback.
//! What a person would see is checked — the grid with a few hundred results, a failing
//! cell followed to its log and back, paging, the branch switcher, each devapp page,
//! a phone-width view — with no console errors, and each page is saved as a
//! screenshot under `target/browser/`.

mod common;

use base64::Engine;
use common::{builder_names, corpus_commits, record_grid, record_ok, start_host};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// A chromedriver process and one session of headless Chromium; both end on drop.
struct Browser {
    driver: Child,
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT/session/ID`
    session: String,
}

impl Browser {
    async fn start() -> Browser {
        assert!(
            std::path::Path::new(CHROMEDRIVER).exists(),
            "{CHROMEDRIVER} is missing: install Debian's chromium and chromium-driver (.ci/run does)"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if http.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,900"],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let mut b = Browser {
            driver,
            http,
            session: String::new(),
        };
        let v = b.call("POST", &format!("{base}/session"), Some(caps)).await;
        b.session = format!("{base}/session/{}", v["sessionId"].as_str().unwrap());
        b
    }

    async fn call(&self, method: &str, url: &str, body: Option<Value>) -> Value {
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self
                .http
                .post(url)
                .header("content-type", "application/json")
                .body(body.unwrap_or(json!({})).to_string()),
        };
        let text = req.send().await.unwrap().text().await.unwrap();
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: {e}: {text}"));
        if v["value"]["error"].is_string() {
            panic!("{method} {url}: {}", v["value"]);
        }
        v["value"].clone()
    }

    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call(method, &format!("{}{path}", self.session), body)
            .await
    }

    async fn go(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url }))).await;
    }

    async fn url(&self) -> String {
        self.cmd("GET", "/url", None)
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn back(&self) {
        self.cmd("POST", "/back", None).await;
    }

    /// Element ids of everything `css` selects.
    async fn all(&self, css: &str) -> Vec<String> {
        let v = self
            .cmd(
                "POST",
                "/elements",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| {
                e.as_object()
                    .unwrap()
                    .values()
                    .next()
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    async fn one(&self, css: &str) -> String {
        let all = self.all(css).await;
        assert!(
            !all.is_empty(),
            "nothing matches {css} on {}",
            self.url().await
        );
        all[0].clone()
    }

    async fn text(&self, css: &str) -> String {
        let id = self.one(css).await;
        let v = self.cmd("GET", &format!("/element/{id}/text"), None).await;
        v.as_str().unwrap().to_string()
    }

    async fn attr(&self, css: &str, name: &str) -> String {
        let id = self.one(css).await;
        let v = self
            .cmd("GET", &format!("/element/{id}/attribute/{name}"), None)
            .await;
        v.as_str().unwrap_or("").to_string()
    }

    async fn click(&self, css: &str) {
        let id = self.one(css).await;
        self.cmd("POST", &format!("/element/{id}/click"), None)
            .await;
    }

    async fn script(&self, js: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": js, "args": []})),
        )
        .await
    }

    async fn window(&self, width: u32, height: u32) {
        self.cmd(
            "POST",
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .await;
    }

    /// Saves a PNG of the viewport under `target/browser/`.
    async fn screenshot(&self, name: &str) {
        let v = self.cmd("GET", "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        let dir = artifacts();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// The browser console's warnings and errors since the last call.
    async fn console_problems(&self) -> Vec<String> {
        let v = self
            .cmd("POST", "/se/log", Some(json!({"type": "browser"})))
            .await;
        v.as_array()
            .unwrap()
            .iter()
            .filter(|e| e["level"] == "SEVERE" || e["level"] == "WARNING")
            .map(|e| e["message"].as_str().unwrap_or("").to_string())
            .collect()
    }
}

impl Drop for Browser {
    /// Ends the session (which closes Chromium) with a plain HTTP request, since drop
    /// cannot wait on async work, then stops the driver.
    fn drop(&mut self) {
        use std::io::{Read, Write};
        if let Some(rest) = self.session.strip_prefix("http://") {
            if let Some((addr, path)) = rest.split_once('/') {
                if let Ok(mut conn) = std::net::TcpStream::connect(addr) {
                    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
                    let _ = write!(
                        conn,
                        "DELETE /{path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
                    );
                    let _ = conn.read_to_end(&mut Vec::new());
                }
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn artifacts() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/browser"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_reads_the_grid_its_logs_and_devapp_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let (host, url) = start_host(dir.path()).await;
    let commits = corpus_commits(&host, "build", 40);
    let builders = builder_names(12);
    let logs = record_grid(&host.dashboard.store, "build", &commits, &builders);
    assert!(logs.len() > 20);
    // A builder that builds only the demo repository, with one result here.
    record_ok(
        &host.dashboard.store,
        "linux-amd64-demo",
        "build",
        &commits[1],
    );
    let b = Browser::start().await;

    // The grid: 30 commits × 13 builders, 481 results recorded.
    b.go(&format!("{url}/")).await;
    assert_eq!(b.text("h1").await, "Build dashboard: build master");
    assert_eq!(b.all("table.build tbody tr").await.len(), 30);
    assert_eq!(b.all("table.build thead th[scope=col]").await.len(), 13);
    // The demo builder's other cells are not applicable: marked, titled and explained.
    assert_eq!(b.all("td.na").await.len(), 29);
    assert_eq!(
        b.attr("td.na", "title").await,
        "linux-amd64-demo: not applicable, it does not build this"
    );
    assert!(b
        .text("dl.legend")
        .await
        .contains("not applicable: the builder does not build this repository or branch"));
    assert!(b.all("td.fail a").await.len() >= 30);
    assert!(b.all("td.fail.streak").await.len() == 3);
    assert_eq!(
        b.attr("th.broken", "title").await,
        "linux-amd64: its last 3 results failed"
    );
    b.screenshot("grid").await;

    // A failing cell leads to its log, the failing step and command on top.
    let href = b.attr("td.fail a", "href").await;
    b.click("td.fail a").await;
    assert!(href.starts_with("/logs/"), "{href}");
    assert_eq!(b.url().await, format!("{url}{href}"));
    assert_eq!(b.text("#failed-step").await, "test");
    assert_eq!(b.text("#failed-command").await, "go test -short ./...");
    assert!(b.text("#log").await.contains("--- FAIL: TestThing"));
    b.screenshot("log").await;

    // Back to the grid, then an older page and back to the newest.
    b.back().await;
    assert_eq!(b.url().await, format!("{url}/"));
    assert_eq!(b.all("table.build tbody tr").await.len(), 30);
    b.click("a[rel=next]").await;
    assert!(
        b.url().await.ends_with("?repo=build&page=1"),
        "{}",
        b.url().await
    );
    assert_eq!(b.all("table.build tbody tr").await.len(), 30);
    b.screenshot("grid-page-1").await;
    b.click("a[rel=prev]").await;
    assert!(b.url().await.ends_with("?repo=build"));

    // The branch switcher works without scripts: choose, press Show.
    b.click("#branch option").await;
    b.click("form button[type=submit]").await;
    // A form's navigation may still be under way when the click returns.
    let mut switched = b.url().await;
    for _ in 0..100 {
        if switched.contains("branch=") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        switched = b.url().await;
    }
    assert!(
        switched.contains("repo=build") && switched.contains("branch=master"),
        "{switched}"
    );
    assert_eq!(b.text("h1").await, "Build dashboard: build master");

    // At phone width the page does not scroll sideways; the table scrolls in its box.
    b.window(390, 844).await;
    b.go(&format!("{url}/")).await;
    let fits = b
        .script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
        .await;
    assert_eq!(fits, json!(true));
    b.screenshot("grid-phone").await;
    b.window(1280, 900).await;

    // devapp's pages.
    b.go(&format!("{url}/dev/")).await;
    assert_eq!(b.text("h1").await, "Go development dashboards");
    b.screenshot("dev-index").await;
    b.click("a[href=release]").await;
    assert_eq!(b.text("h1").await, "Release dashboard");
    assert!(!b.all("section#pending-cls li.change a").await.is_empty());
    b.screenshot("dev-release").await;
    b.go(&format!("{url}/dev/reviews")).await;
    assert_eq!(b.text("h1").await, "Open changes waiting for review");
    assert!(!b.all("section table tbody tr").await.is_empty());
    b.screenshot("dev-reviews").await;
    b.go(&format!("{url}/dev/stats")).await;
    assert_eq!(b.text("h1").await, "Open changes");
    assert_eq!(b.all("svg.chart").await.len(), 3);
    let drawn = b
        .script("return document.querySelector('svg.chart polyline.all').getBBox().width")
        .await;
    assert!(
        drawn.as_f64().unwrap() > 100.0,
        "the year's line is drawn: {drawn}"
    );
    b.screenshot("dev-stats").await;

    let problems = b.console_problems().await;
    assert!(problems.is_empty(), "console: {problems:#?}");
}
