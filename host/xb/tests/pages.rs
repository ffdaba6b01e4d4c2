//! The pages of `xb serve`: the build grid rendered by the bundled dashboard plugin from
//! the recorded corpus and results recorded through the store, its JSON, bad input,
//! caching until the results or corpus change, faults (last good page, 500 naming the
//! plugin version), the log viewer, and devapp's pages.

mod common;

use common::{builder_names, corpus_commits, record_grid, record_ok, start_host};
use std::sync::atomic::Ordering::Relaxed;
use xb::serve::Host;

async fn get(url: &str) -> (u16, String, reqwest::header::HeaderMap) {
    let resp = reqwest::get(url).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, resp.text().await.unwrap(), headers)
}

fn calls(host: &Host, name: &str) -> u64 {
    let v = host.state.registry.serving(name).unwrap().version;
    v.stats.calls.load(Relaxed)
}

/// A host with 40 commits of the build repo × 12 builders recorded.
async fn grid_host(dir: &std::path::Path) -> (Host, String, Vec<String>, Vec<String>) {
    let (host, url) = start_host(dir).await;
    let commits = corpus_commits(&host, "build", 40);
    let logs = record_grid(&host.dashboard.store, "build", &commits, &builder_names(12));
    (host, url, commits, logs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grid_shows_commits_builders_and_results() {
    let dir = tempfile::tempdir().unwrap();
    let (_host, url, commits, logs) = grid_host(dir.path()).await;

    // The only repo with results is the default view.
    let (status, html, headers) = get(&format!("{url}/")).await;
    assert_eq!(status, 200, "{html}");
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(headers["x-rendered-by"]
        .to_str()
        .unwrap()
        .starts_with("dashboard 0.1.0"));
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    assert!(html.contains("Build dashboard: build"), "{html}");
    // 30 rows, newest first, each naming its commit and the Go commit built against.
    assert_eq!(
        html.matches("<th scope=\"row\" class=\"hash\">").count(),
        30
    );
    assert!(html.contains(&format!(
        "title=\"{}\">{}</code>",
        commits[0],
        &commits[0][..7]
    )));
    assert!(
        !html.contains(&commits[30][..12]),
        "page 0 stops at 30 commits"
    );
    assert!(html.contains("title=\"built against Go 0000000000000000000000000000000000000001\""));
    // Columns grouped by OS with Go's short names; linux first.
    let linux = html
        .find("<th scope=\"colgroup\" colspan=\"2\">linux</th>")
        .expect("linux group");
    let windows = html.find(">windows</th>").expect("windows group");
    assert!(linux < windows);
    assert!(
        html.contains("title=\"linux-amd64: its last 3 results failed\">x64"),
        "{html}"
    );
    assert!(html.contains("<th scope=\"col\" class=\"unsupported\" title=\"plan9-amd64\">x64</th>"));
    // Failure cells link to their log's page; the newest failure is part of a streak.
    assert!(html.contains(&format!(
        "<td class=\"fail streak\"><a href=\"/logs/{}\" title=\"linux-amd64: failed, see the log\">fail</a></td>",
        logs[0]
    )));
    assert!(html.contains("<td class=\"ok\">ok</td>"));
    assert!(html.contains("rel=\"next\">older</a>"));
    assert!(!html.contains("rel=\"prev\""));
    // No scripts, no outside resources.
    assert!(!html.contains("<script"));
    for outside in ["src=\"http", "href=\"http", "@import", "url("] {
        assert!(!html.contains(outside), "{outside}: {html}");
    }

    // Page 1: the other 10 commits, a way back, and no older page.
    let (status, html, _) = get(&format!("{url}/?repo=build&page=1")).await;
    assert_eq!(status, 200);
    assert_eq!(
        html.matches("<th scope=\"row\" class=\"hash\">").count(),
        30
    );
    assert!(html.contains(&commits[30][..7]));
    assert!(html.contains("rel=\"prev\">newer</a>"));

    // Go's BuildStatus JSON.
    let (status, body, headers) = get(&format!("{url}/?repo=build&mode=json")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["content-type"], "application/json");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let builders = v["builders"].as_array().unwrap();
    assert_eq!(builders.len(), 12);
    // Go's order: first-class ports (darwin, linux, windows) by name, then the others.
    assert_eq!(builders[0], "darwin-386");
    let linux = builders.iter().position(|b| b == "linux-amd64").unwrap();
    let revs = v["revisions"].as_array().unwrap();
    assert_eq!(revs.len(), 30);
    let r0 = &revs[0];
    assert_eq!(r0["repo"], "build");
    assert_eq!(r0["revision"], commits[0].as_str());
    assert_eq!(r0["goRevision"], "0000000000000000000000000000000000000001");
    assert_eq!(r0["branch"], "master");
    assert!(r0["date"].as_str().unwrap().ends_with('Z'));
    assert_eq!(r0["parentRevisions"].as_array().unwrap().len(), 1);
    assert_eq!(r0["results"].as_array().unwrap().len(), 12);
    // Failure links are absolute, based on the Host the request was made to.
    assert_eq!(
        r0["results"][linux],
        format!("{url}/log/{}", logs[0]).as_str()
    );
    assert!(r0["results"].as_array().unwrap().iter().any(|c| c == "ok"));

    // Failures as text.
    let (status, text, _) = get(&format!("{url}/?repo=build&mode=failures")).await;
    assert_eq!(status, 200);
    assert!(
        text.starts_with(&format!(
            "{} linux-amd64 {url}/log/{}\n",
            commits[0], logs[0]
        )),
        "{text}"
    );

    // The Go repo is not in this corpus: asked for, it is a clear error.
    let (status, html, _) = get(&format!("{url}/?repo=go")).await;
    assert_eq!(status, 400, "{html}");
    assert!(html.contains("go master"), "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_builder_that_does_not_build_the_repo_shows_not_applicable_cells() {
    let dir = tempfile::tempdir().unwrap();
    let (host, url, commits, logs) = grid_host(dir.path()).await;
    // The bundled local builders' linux-amd64-demo builds only the demo repository;
    // linux-arm64-new is no builders plugin's, so its empty cells are not built yet.
    record_ok(
        &host.dashboard.store,
        "linux-amd64-demo",
        "build",
        &commits[2],
    );
    record_ok(
        &host.dashboard.store,
        "linux-arm64-new",
        "build",
        &commits[2],
    );
    let (status, html, _) = get(&format!("{url}/")).await;
    assert_eq!(status, 200, "{html}");
    let na = "<td class=\"na\" title=\"linux-amd64-demo: not applicable, it does not build this\">–</td>";
    let pending = "<td class=\"none\" title=\"linux-arm64-new: not built yet\">…</td>";
    assert_eq!(html.matches(na).count(), 29, "{html}");
    assert_eq!(html.matches(pending).count(), 29, "{html}");
    assert_eq!(html.matches("<td class=\"na\"").count(), 29);
    assert!(html.contains("<dl class=\"legend\""), "{html}");
    assert!(html.contains("not applicable: the builder does not build this repository or branch"));
    // In Go's JSON both are "".
    let (_, body, _) = get(&format!("{url}/?repo=build&mode=json")).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let demo = v["builders"]
        .as_array()
        .unwrap()
        .iter()
        .position(|b| b == "linux-amd64-demo")
        .unwrap();
    assert_eq!(v["revisions"][0]["results"][demo], "");
    assert_eq!(v["revisions"][2]["results"][demo], "ok");

    // Another Host, another base for the links (and not the cached page of the first).
    let resp = reqwest::Client::new()
        .get(format!("{url}/?repo=build&mode=json"))
        .header("host", "build.example.test:8080")
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = resp.json().await.unwrap();
    let linux = v["builders"]
        .as_array()
        .unwrap()
        .iter()
        .position(|b| b == "linux-amd64")
        .unwrap();
    assert_eq!(
        v["revisions"][0]["results"][linux],
        format!("http://build.example.test:8080/log/{}", logs[0]).as_str()
    );

    // Taking the builders plugin out of service shows at once, not when the cached page
    // ages out: no plugin says what linux-amd64-demo builds any more.
    let registry = host.state.registry.clone();
    let local = registry
        .list()
        .into_iter()
        .find(|s| s.serving.builders.iter().any(|b| b == "linux-amd64-demo"))
        .unwrap()
        .name;
    tokio::task::spawn_blocking(move || registry.remove(&local).unwrap())
        .await
        .unwrap();
    let (status, html, _) = get(&format!("{url}/")).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(html.matches("<td class=\"na\"").count(), 0, "{html}");
    let pending = "<td class=\"none\" title=\"linux-amd64-demo: not built yet\">…</td>";
    assert_eq!(html.matches(pending).count(), 29, "{html}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_parameters_are_a_clear_400_never_a_500() {
    let dir = tempfile::tempdir().unwrap();
    let (_host, url, _, _) = grid_host(dir.path()).await;
    let cases = [
        ("page=-1", "negative page"),
        ("page=abc", "invalid page value"),
        ("page=99999999999", "past the last page"),
        ("branch=%3Cscript%3Ealert(1)%3C/script%3E", "invalid branch"),
        ("repo=%3Cimg%20src=x%3E", "invalid repo"),
        ("repo=nosuchrepo", "nosuchrepo"),
        ("repo=build&branch=nosuchbranch", "nosuchbranch"),
        ("mode=xml", "unknown mode"),
        ("repo=build&hash=%3Cb%3E", "invalid hash"),
        (
            "repo=build&hash=0123456789012345678901234567890123456789",
            "no commit",
        ),
    ];
    for (q, want) in cases {
        let (status, html, _) = get(&format!("{url}/?{q}")).await;
        assert_eq!(status, 400, "?{q}: {html}");
        assert!(html.contains(want), "?{q}: {html}");
        assert!(
            !html.contains("<script>alert") && !html.contains("<img"),
            "?{q}: {html}"
        );
    }
    // A page past the end is an empty page.
    let (status, html, _) = get(&format!("{url}/?repo=build&page=900")).await;
    assert_eq!(status, 200);
    assert!(html.contains("No commits on this page."));
    // devapp's parameters too.
    let (status, html, _) = get(&format!("{url}/dev/reviews?owner=%3Cb%3E")).await;
    assert_eq!(status, 400, "{html}");
    assert!(
        html.contains("owner must be a Gerrit account id, not &quot;&lt;b&gt;&quot;"),
        "{html}"
    );
    let (status, _, _) = get(&format!("{url}/dev/nosuchpage")).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_is_cached_until_the_results_change() {
    let dir = tempfile::tempdir().unwrap();
    let (host, url, commits, _) = grid_host(dir.path()).await;
    let before = calls(&host, "dashboard");
    let (_, first, _) = get(&format!("{url}/?repo=build")).await;
    let (_, second, _) = get(&format!("{url}/?repo=build")).await;
    assert_eq!(first, second);
    assert_eq!(
        calls(&host, "dashboard"),
        before + 1,
        "the second request is served from the cache"
    );
    // The same parameters in another order are the same page.
    get(&format!("{url}/?page=0&repo=build")).await;
    assert_eq!(
        calls(&host, "dashboard"),
        before + 2,
        "page=0 is another query string"
    );
    get(&format!("{url}/?repo=build&page=0")).await;
    assert_eq!(calls(&host, "dashboard"), before + 2);

    // A new result: rendered again, and the new builder shows.
    host.dashboard
        .store
        .record(&dashboard::NewResult {
            key: dashboard::ResultKey::post_submit(
                "linux-riscv64",
                "build",
                &commits[0],
                "0000000000000000000000000000000000000001",
            ),
            ok: true,
            started: dashboard::store::now(),
            run_time: std::time::Duration::from_secs(1),
            log: None,
        })
        .unwrap();
    let (_, third, _) = get(&format!("{url}/?repo=build")).await;
    assert_eq!(calls(&host, "dashboard"), before + 3);
    assert!(third.contains("title=\"linux-riscv64\">riscv64"), "{third}");
}

/// A dashboard component that misbehaves by the number of query parameters: 0 renders
/// a page, 1 traps, 2 loops until its deadline, 3 answers status 700, 4 answers a body
/// of 9 MiB.
fn misbehaving_dashboard() -> Vec<u8> {
    let wat = r#"(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (local.get $p) (i32.add (local.get 3) (i32.const 8))))
    (local.get $p))
  ;; describe: name "dashboard" (9 bytes at 200), version "9.9.9" (5 at 300), kind 3.
  (data (i32.const 0) "\c8\00\00\00\09\00\00\00\2c\01\00\00\05\00\00\00\03\00\00\00\00\00\00\00\00\00\00\00")
  (data (i32.const 200) "dashboard")
  (data (i32.const 300) "9.9.9")
  (data (i32.const 700) "text/html")
  (data (i32.const 900) "<!doctype html><body><p>fine</p></body>")
  (func (export "xbuild:platform/plugin@0.2.0#describe") (result i32) (i32.const 0))
  (func (export "xbuild:platform/render@0.2.0#render")
    (param i32 i32 i32 i32 i32 i32) (result i32)
    (if (i32.eq (local.get 5) (i32.const 1)) (then unreachable))
    (if (i32.eq (local.get 5) (i32.const 2)) (then (loop $l (br $l))))
    (i32.store16 (i32.const 800) (select (i32.const 700) (i32.const 200) (i32.eq (local.get 5) (i32.const 3))))
    (i32.store (i32.const 804) (i32.const 700))
    (i32.store (i32.const 808) (i32.const 9))
    (i32.store (i32.const 812) (i32.const 900))
    (i32.store (i32.const 816) (i32.const 40))
    (if (i32.eq (local.get 5) (i32.const 4))
      (then
        (drop (memory.grow (i32.const 150)))
        (i32.store (i32.const 812) (i32.const 0))
        (i32.store (i32.const 816) (i32.const 9437184))))
    (i32.const 800))
)"#;
    let mut resolve = wit_parser::Resolve::default();
    let pkg = resolve
        .push_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../wit"))
        .unwrap()
        .0;
    let world = resolve.select_world(&[pkg], Some("dashboard")).unwrap();
    let mut module = wat::parse_str(wat).unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_faulting_plugin_gives_the_last_good_page_or_a_500_naming_its_version() {
    let dir = tempfile::tempdir().unwrap();
    let (host, url, _, _) = grid_host(dir.path()).await;
    // Rendered by the bundled dashboard: the last good page of `?repo=build`.
    let (status, good, _) = get(&format!("{url}/?repo=build")).await;
    assert_eq!(status, 200);

    let reg = host.state.registry.clone();
    let slot =
        tokio::task::spawn_blocking(move || reg.load_and_swap(&misbehaving_dashboard(), "test"))
            .await
            .unwrap()
            .unwrap();
    let named = format!("dashboard 9.9.9 ({})", slot.serving.id);

    // It traps on that page: the last good page, saying why.
    let (status, page, headers) = get(&format!("{url}/?repo=build")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("This is the last page that rendered"),
        "{page}"
    );
    assert!(page.contains(&format!("{named} failed")), "{page}");
    assert!(page.contains("Build dashboard: build"));
    assert!(page.len() > good.len());
    assert!(headers["x-stale"].to_str().unwrap().contains(&named));

    // No earlier page: a 500 that names the version and the fault.
    for (q, fault) in [
        ("a=1", "trap"),
        ("a=1&b=2", "deadline"),
        ("a=1&b=2&c=3", "rendered HTTP status 700"),
        ("a=1&b=2&c=3&d=4", "over the cap"),
    ] {
        let (status, page, headers) = get(&format!("{url}/?{q}")).await;
        assert_eq!(status, 500, "?{q}: {page}");
        assert!(page.contains(&named), "?{q}: {page}");
        assert!(
            page.to_lowercase().contains(&fault.to_lowercase()),
            "?{q}: {page}"
        );
        assert_eq!(headers["x-rendered-by"].to_str().unwrap(), named);
    }
    // It renders its own page fine.
    let (status, page, _) = get(&format!("{url}/")).await;
    assert_eq!(status, 200);
    assert!(page.contains("fine"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_build_log_names_its_failing_step_and_command() {
    let dir = tempfile::tempdir().unwrap();
    let (_host, url, commits, logs) = grid_host(dir.path()).await;
    let (status, html, headers) = get(&format!("{url}/logs/{}", logs[0])).await;
    assert_eq!(status, 200, "{html}");
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let step = html
        .find("<strong id=\"failed-step\">test</strong>")
        .expect("failing step");
    let cmd = html
        .find("<code id=\"failed-command\">go test -short ./...</code>")
        .expect("command");
    let log = html.find("<pre id=\"log\">").unwrap();
    assert!(step < log && cmd < log, "the failure is above the log");
    assert!(html.contains(&format!("--- FAIL: TestThing ({})", commits[0])));
    assert!(html.contains(&format!("href=\"/log/{}\"", logs[0])));

    let (status, _, _) = get(&format!("{url}/logs/not-a-hash")).await;
    assert_eq!(status, 400);
    let (status, _, _) = get(&format!("{url}/logs/{}", "0".repeat(40))).await;
    assert_eq!(status, 404);
    let (status, _, _) = get(&format!("{url}/logs/live/12345")).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devapp_pages_render_from_the_recorded_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let (host, url) = start_host(dir.path()).await;
    let resp = reqwest::get(format!("{url}/dev")).await.unwrap();
    assert_eq!(resp.url().path(), "/dev/", "relative links need the slash");
    let (status, index, _) = get(&format!("{url}/dev/")).await;
    assert_eq!(status, 200, "{index}");
    for page in ["release", "reviews", "stats"] {
        assert!(index.contains(&format!("<a href=\"{page}\">")), "{index}");
    }
    let (status, release, _) = get(&format!("{url}/dev/release")).await;
    assert_eq!(status, 200, "{release}");
    // Cached; a build result coming in does not touch devapp's pages (the corpus would).
    let before = calls(&host, "devapp");
    let key = dashboard::ResultKey::go("linux-amd64", "0123456789abcdef0123456789abcdef01234567");
    host.dashboard
        .store
        .record(&dashboard::NewResult {
            key,
            ok: true,
            started: dashboard::store::now(),
            run_time: std::time::Duration::from_secs(1),
            log: None,
        })
        .unwrap();
    let (_, again, _) = get(&format!("{url}/dev/release")).await;
    assert_eq!(again, release);
    assert_eq!(calls(&host, "devapp"), before, "served from the cache");
    assert!(
        release.contains("<h2 id=\"h-pending-cls\">Pending CLs"),
        "{release}"
    );
    assert!(release.contains("Pending Proposals"));
    assert!(release.contains("Closed Last Week"));
    assert!(
        release.contains("class=\"change\""),
        "open changes are listed: {release}"
    );
    assert!(
        release.contains("https://go.dev/issue/"),
        "milestoned issues are listed"
    );

    let (status, reviews, _) = get(&format!("{url}/dev/reviews")).await;
    assert_eq!(status, 200, "{reviews}");
    assert!(reviews.contains("<h2>build</h2>"), "{reviews}");
    assert!(reviews.contains("<h2>scratch</h2>"), "{reviews}");
    let rows = |html: &str| html.matches("<tr><td>").count();
    assert_eq!(
        rows(&reviews),
        8 + 2,
        "the recorded corpus's open changes: x/build's and scratch's"
    );
    // Filters: project, owner, reviewer; the form's empty fields filter nothing.
    let (_, mine, _) = get(&format!(
        "{url}/dev/reviews?project=build&owner=5060&reviewer="
    ))
    .await;
    assert_eq!(rows(&mine), 7, "all but the first-time author's: {mine}");
    for q in ["project=nosuch", "owner=1", "reviewer=1"] {
        let (status, none, _) = get(&format!("{url}/dev/reviews?{q}")).await;
        assert_eq!(status, 200);
        assert!(none.contains("No open change matches."), "?{q}: {none}");
    }

    let (status, stats, _) = get(&format!("{url}/dev/stats")).await;
    assert_eq!(status, 200, "{stats}");
    assert_eq!(stats.matches("<svg class=\"chart\"").count(), 3);
    assert!(stats.contains("<polyline class=\"all\""));
    assert!(stats.contains("Open CLs (1 Year)"));
}

/// A registry in `dir` serving the bundled dashboard over a made-up grid.
fn dashboard_over(dir: &std::path::Path, grid: xb::synth::Grid) -> runtime::Handle {
    let reg = xb::data::DataDir::new(dir).unwrap().registry().unwrap();
    let grid = std::sync::Arc::new(grid);
    reg.runtime().set_host_data(runtime::HostData {
        corpus: grid.clone(),
        results: grid,
        ..Default::default()
    });
    let wasm = std::fs::read(common::bundled("dashboard.wasm")).unwrap();
    reg.load(&wasm, "dashboard.wasm").unwrap();
    reg.serving("dashboard").unwrap()
}

fn render(h: &runtime::Handle, query: &[(&str, &str)]) -> (u16, String) {
    render_at(h, "", query)
}

/// As [`render`], the page reached at `base`.
fn render_at(h: &runtime::Handle, base: &str, query: &[(&str, &str)]) -> (u16, String) {
    let opts = runtime::CallOptions {
        base_url: base.into(),
        ..h.rt.defaults().clone()
    };
    let resp = h
        .plugin()
        .with_options(opts)
        .render(&runtime::Request {
            method: "GET".into(),
            path: "/".into(),
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        })
        .unwrap();
    (resp.status, String::from_utf8(resp.body).unwrap())
}

#[test]
fn subjects_and_authors_with_markup_come_out_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let grid = xb::synth::Grid::new(
        3,
        4,
        "net/http: <script>alert(\"x\")</script> & <b>bold</b>",
        "Eve<img src=x onerror=alert(1)>O'Hara & co",
    );
    let h = dashboard_over(dir.path(), grid);
    let (status, html) = render(&h, &[]);
    assert_eq!(status, 200, "{html}");
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains("<b>bold"), "{html}");
    assert!(html.contains(
        "net/http: &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt; #0"
    ));
    assert!(html.contains("<td class=\"user\" title=\"gopher@example.com\">Eve&lt;img src=x onerror=alert(1)&gt;O&#39;Hara &amp; co</td>"));
    // JSON keeps the text, escaped as Go's encoder escapes it.
    let (status, json) = render(&h, &[("mode", "json")]);
    assert_eq!(status, 200);
    assert!(!json.contains('<'), "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(v["revisions"][0]["desc"]
        .as_str()
        .unwrap()
        .starts_with("net/http: <script>"));
    assert_eq!(
        v["revisions"][0]["author"],
        "Eve<img src=x onerror=alert(1)>O'Hara & co <gopher@example.com>"
    );
}

#[test]
fn the_grid_of_30_commits_by_60_builders() {
    let dir = tempfile::tempdir().unwrap();
    let h = dashboard_over(
        dir.path(),
        xb::synth::Grid::new(30, 60, "runtime: fix", "Gopher"),
    );
    let (status, html) = render(&h, &[]);
    assert_eq!(status, 200);
    assert_eq!(html.matches("<th scope=\"row\"").count(), 30);
    assert_eq!(html.matches("<th scope=\"col\"").count(), 60);
    // (commit + builder) % 7 == 0 fails: 257 of the 1,800 cells.
    assert_eq!(html.matches("<td class=\"fail").count(), 257);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_build_shows_as_running_and_links_its_live_log() {
    let dir = tempfile::tempdir().unwrap();
    let (host, url, commits, _) = grid_host(dir.path()).await;
    host.dashboard
        .store
        .set_building(&dashboard::Building {
            builder: "linux-riscv64".into(),
            repo: "build".into(),
            commit: commits[0].clone(),
            go_commit: "0000000000000000000000000000000000000001".into(),
            url: "/logs/live/7".into(),
            expires: maintner::time::Time::from_nanos(
                dashboard::store::now().nanos() + 600_000_000_000,
            ),
        })
        .unwrap();
    let (status, html, _) = get(&format!("{url}/?repo=build")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("<td class=\"running\"><a href=\"/logs/live/7\" title=\"linux-riscv64: building now, live log\">running</a></td>"),
        "{html}"
    );
}

/// The local pool runs this build's `xb buildlet`; no env/ folder overrides it.
fn build_setup(dir: &std::path::Path) -> xb::builds::BuildSetup {
    let env_dir = dir.join("no-env");
    std::fs::create_dir_all(&env_dir).unwrap();
    xb::builds::BuildSetup {
        buildlet: vec![env!("CARGO_BIN_EXE_xb").into(), "buildlet".into()],
        env_dir,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_live_log_page_streams_a_build_and_ends_with_its_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let (_host, url) = common::start_with(dir.path(), Some(build_setup(dir.path()))).await;
    // A build's marker names its live page; take the first one seen.
    let mut live = None;
    for _ in 0..3000 {
        let markers = common::get_json(&format!("{url}/api/building")).await;
        if let Some(m) = markers.as_array().and_then(|a| a.first()) {
            live = Some(m["url"].as_str().unwrap().to_string());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let live = live.expect("no build was marked running");
    assert!(live.starts_with("/logs/live/"), "{live}");
    // The page streams until the build ends: the top first, the log, then the outcome
    // (unless the build ended before the request: then the static page).
    let (status, page, headers) = get(&format!("{url}{live}")).await;
    assert_eq!(status, 200, "{page}");
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let log = page.find("<pre id=\"log\">").unwrap();
    let step = page.find(":: step ").expect("the log's steps");
    let outcome = page.find("id=\"outcome\"").expect("the outcome");
    match page.find("<p id=\"ended\">The build ended.</p>") {
        Some(ended) => assert!(log < step && step < outcome && outcome < ended, "{page}"),
        None => assert!(outcome < log && log < step, "{page}"),
    }
    assert!(page.ends_with("</body></html>\n"));

    // The failing commit's page, once ended, names its failing step at the top.
    for _ in 0..1200 {
        let status = common::get_json(&format!("{url}/status.json")).await;
        let failed = status["recent"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["state"].as_str().unwrap_or("").starts_with("failed"))
            .cloned();
        if let Some(b) = failed {
            let (_, page, _) = get(&format!("{url}/logs/live/{}", b["id"])).await;
            // Ended: the static page, the failure above the log.
            let outcome = page
                .find("<section class=\"fail\" id=\"outcome\"")
                .expect("a failure");
            assert!(page.contains("<strong id=\"failed-step\">"), "{page}");
            assert!(outcome < page.find("<pre id=\"log\">").unwrap(), "{page}");
            assert!(page.contains(&format!("href=\"/status/logs/{}\"", b["id"])));
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the demo's failing build never ended");
}

/// The builders of a made-up builders plugin: every one builds Go, linux-riscv64 has
/// no result yet, and of the sub-repositories only amd64 builders build tools.
struct MadeUpBuilders;

impl runtime::BuilderSetView for MadeUpBuilders {
    fn builders(&self) -> Vec<String> {
        [
            "darwin-amd64",
            "linux-amd64",
            "linux-riscv64",
            "windows-amd64",
        ]
        .map(String::from)
        .to_vec()
    }
    fn post_submit(&self, repo: &str, _branch: &str, go_branch: &str) -> Vec<String> {
        assert_eq!(go_branch, "master");
        let all = self.builders();
        match repo {
            "tools" => all.into_iter().filter(|b| b.ends_with("amd64")).collect(),
            _ => all,
        }
    }
}

fn dashboard_with_subrepos(dir: &std::path::Path) -> (runtime::Handle, xb::synth::Grid) {
    let grid = || {
        xb::synth::Grid::new(40, 3, "cmd/go: a change", "Gopher").with_subrepos(&["net", "tools"])
    };
    let reg = xb::data::DataDir::new(dir).unwrap().registry().unwrap();
    let data = std::sync::Arc::new(grid());
    reg.runtime().set_host_data(runtime::HostData {
        corpus: data.clone(),
        results: data,
        builders: std::sync::Arc::new(MadeUpBuilders),
    });
    let wasm = std::fs::read(common::bundled("dashboard.wasm")).unwrap();
    reg.load(&wasm, "dashboard.wasm").unwrap();
    (reg.serving("dashboard").unwrap(), grid())
}

#[test]
fn the_go_grid_shows_subrepositories_at_tip_and_builders_yet_to_build() {
    let dir = tempfile::tempdir().unwrap();
    let (h, grid) = dashboard_with_subrepos(dir.path());
    let tip = &grid.commits[0].hash;
    let (status, html) = render(&h, &[]);
    assert_eq!(status, 200, "{html}");
    // linux-riscv64 builds Go and has no result: a column of cells not built yet.
    let riscv = "<td class=\"none\" title=\"linux-riscv64: not built yet\">…</td>";
    let tip_at = html
        .find("<h2 id=\"tip\">Sub-repositories at tip</h2>")
        .expect("tip section");
    let (main, tip_html) = html.split_at(tip_at);
    assert_eq!(main.matches(riscv).count(), 30, "{main}");
    assert!(tip_html.contains(&format!(
        "built against Go <code title=\"{tip}\">{}</code>",
        &tip[..7]
    )));
    // One row per sub-repository, linking to its grid, in the grid's columns.
    assert_eq!(
        tip_html
            .matches("<th scope=\"row\" class=\"repo\">")
            .count(),
        2
    );
    assert!(
        tip_html.contains("<a href=\"?repo=net\">net</a>"),
        "{tip_html}"
    );
    assert!(tip_html.contains("<a href=\"?repo=tools\">tools</a>"));
    assert_eq!(
        tip_html.matches("<td class=\"ok\"").count() + tip_html.matches("<td class=\"fail").count(),
        6
    );
    // tools is built by amd64 builders only: its riscv cell is not applicable, net's
    // is not built yet.
    assert_eq!(tip_html.matches(riscv).count(), 1, "{tip_html}");
    assert_eq!(
        tip_html
            .matches("<td class=\"na\" title=\"linux-riscv64: not applicable, it does not build this\">–</td>")
            .count(),
        1
    );

    // In Go's JSON the sub-repositories follow Go's revisions, built against its tip;
    // failure links are absolute where the host knows its address.
    let (_, body) = render_at(&h, "https://build.example.com", &[("mode", "json")]);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let revs = v["revisions"].as_array().unwrap();
    assert_eq!(revs.len(), 32);
    assert_eq!(revs[30]["repo"], "net");
    assert_eq!(revs[31]["repo"], "tools");
    assert_eq!(revs[31]["goRevision"], tip.as_str());
    assert_eq!(revs[31]["goBranch"], "master");
    let links: Vec<&str> = revs
        .iter()
        .flat_map(|r| r["results"].as_array().unwrap())
        .filter_map(|c| c.as_str())
        .filter(|c| c.contains("/log/"))
        .collect();
    assert!(!links.is_empty());
    assert!(
        links
            .iter()
            .all(|l| l.starts_with("https://build.example.com/log/")),
        "{links:?}"
    );

    // Older pages, and a sub-repository's own grid, have no tip section.
    for q in [&[("page", "1")][..], &[("repo", "net")][..]] {
        let (status, html) = render(&h, q);
        assert_eq!(status, 200, "{q:?}: {html}");
        assert!(!html.contains("Sub-repositories at tip"), "{q:?}");
    }
}

#[test]
fn a_hash_view_shows_exactly_the_commits_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let (h, grid) = dashboard_with_subrepos(dir.path());
    let (a, b) = (&grid.commits[3].hash, &grid.commits[35].hash);
    let (status, html) = render(&h, &[("hash", b.as_str()), ("hash", a.as_str())]);
    assert_eq!(status, 200, "{html}");
    assert_eq!(html.matches("<th scope=\"row\" class=\"hash\">").count(), 2);
    let at = |h: &str| html.find(&format!("<code title=\"{h}\">")).unwrap();
    let (at_a, at_b) = (at(a), at(b));
    assert!(at_b < at_a, "in the order asked");
    assert!(html.contains("commits asked for by hash"));
    assert!(!html.contains("Sub-repositories at tip"));
    assert!(!html.contains("rel=\"next\""));
    let (_, body) = render(&h, &[("hash", a.as_str()), ("mode", "json")]);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["revisions"].as_array().unwrap().len(), 1);
    assert_eq!(v["revisions"][0]["revision"], a.as_str());
    // A hash the corpus does not have, or not a hash: a 400 that says which.
    let (status, html) = render(&h, &[("hash", "f".repeat(40).as_str())]);
    assert_eq!(status, 400);
    assert!(html.contains("no commit"), "{html}");
    let (status, html) = render(&h, &[("hash", "abc<b>")]);
    assert_eq!(status, 400);
    assert!(
        html.contains("invalid hash &quot;abc&lt;b&gt;&quot;"),
        "{html}"
    );
}

/// A render asks the builders plugins what they build (the `site` import) from inside
/// its own call. With one instance slot, that nested call must not wait for the slot
/// its caller holds: it would wait for ever, and every page with it.
#[test]
fn a_render_that_asks_the_builders_plugins_needs_no_second_slot() {
    use std::sync::Arc;
    let config = runtime::RuntimeConfig {
        pool: runtime::PoolSizes {
            instances: 1,
            ..Default::default()
        },
        ..Default::default()
    };
    let rt = Arc::new(runtime::Runtime::new(config).unwrap());
    let reg = Arc::new(runtime::Registry::in_memory(rt.clone()));
    for file in ["dashboard.wasm", "local_builders.wasm"] {
        let wasm = std::fs::read(common::bundled(file)).unwrap();
        reg.load(&wasm, file).unwrap();
    }
    let grid = Arc::new(xb::synth::Grid::new(5, 2, "cmd/go: a change", "Gopher"));
    rt.set_host_data(runtime::HostData {
        corpus: grid.clone(),
        results: grid,
        builders: Arc::new(xb::dashboard::PluginBuilderSet::new(reg.clone())),
    });
    let dashboard = reg.serving("dashboard").unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(render(&dashboard, &[])));
    let (status, html) = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the render waited for the slot its own call holds");
    assert_eq!(status, 200, "{html}");
    let builders = reg.serving_kind(runtime::Kind::Builders);
    let asked: u64 = builders
        .iter()
        .map(|h| h.version.stats.calls.load(Relaxed))
        .sum();
    assert!(asked > 0, "the builders plugin was asked what it builds");
}
