//! Helpers shared by the xb integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// A guest plugin built by `cargo xtask plugins`, by file name (`local_builders.wasm`).
pub fn bundled(file: &str) -> PathBuf {
    let path = bundled_dir().join(file);
    assert!(
        path.is_file(),
        "{} is missing: build the plugins with `cargo xtask plugins`",
        path.display()
    );
    path
}

/// A bot rule in another language, by file name (`gopherbot_py.wasm`), as
/// `plugins/polyglot/build.sh` (run by `cargo xtask plugins`) builds it.
pub fn polyglot(file: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../plugins/target/polyglot")
        .join(file);
    assert!(
        path.is_file(),
        "{} is missing: build it with `cargo xtask plugins` (or plugins/polyglot/build.sh)",
        path.display()
    );
    path
}

/// The directory of the plugins `xb serve` bundles, once they are built.
pub fn bundled_dir() -> PathBuf {
    let dir = Path::new(xb::plugins::BUNDLED_DIR);
    assert!(
        dir.join("local_builders.wasm").is_file(),
        "the bundled plugins are not built in {}: run `cargo xtask plugins`",
        dir.display()
    );
    dir.to_path_buf()
}

/// GET a URL on the test server and return the body, asserting 200.
pub async fn get_text(url: &str) -> String {
    let resp = reqwest::get(url).await.unwrap();
    assert_eq!(resp.status(), 200, "GET {url}");
    resp.text().await.unwrap()
}

/// GET a URL and parse the body as JSON.
pub async fn get_json(url: &str) -> serde_json::Value {
    let body = get_text(url).await;
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: {e}: {body}"))
}

/// The recorded corpus committed with the sources.
pub const RECORDED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../plugin-tests/corpus/log");

/// The whole host as `xb serve` starts it on `dir` (seeded with the recorded corpus),
/// listening on loopback; returns it and its URL.
pub async fn start_host(dir: &std::path::Path) -> (xb::serve::Host, String) {
    start_with(dir, None).await
}

/// As [`start_host`], building as `build` says.
pub async fn start_with(
    dir: &std::path::Path,
    build: Option<xb::builds::BuildSetup>,
) -> (xb::serve::Host, String) {
    start_bot(dir, build, bot::execute::Mode::DryRun).await
}

/// As [`start_with`], the bot's executor in `mode`.
pub async fn start_bot(
    dir: &std::path::Path,
    build: Option<xb::builds::BuildSetup>,
    mode: bot::execute::Mode,
) -> (xb::serve::Host, String) {
    let data = xb::data::DataDir::new(dir).unwrap();
    let cfg = xb::serve::ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        bundled: bundled_dir(),
        seed_corpus: Some(RECORDED.into()),
        maintner: Default::default(),
        watch_interval: std::time::Duration::from_millis(50),
        build,
        tls: None,
        bot: mode,
    };
    let host = xb::serve::Host::start(&data, &cfg).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = host.router();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (host, url)
}

/// The newest `n` commits of `repo`'s master branch in the host's corpus.
pub fn corpus_commits(host: &xb::serve::Host, repo: &str, n: u32) -> Vec<String> {
    let corpus = host.maintner.corpus();
    let c = corpus.read().unwrap();
    let page = c
        .commits(&maintner::query::CommitQuery {
            repo: repo.into(),
            branch: Some("master".into()),
            limit: n,
            cursor: None,
        })
        .unwrap();
    page.items.into_iter().map(|c| c.hash).collect()
}

/// A failing build's log as the coordinator's runner writes it.
pub fn failed_log(builder: &str, commit: &str) -> String {
    format!(
        "{builder} build@{}\nbuilder {builder} on local-1\n\n:: step make: ./make.bash\nok\n\n\
:: step test: go test -short ./...\n--- FAIL: TestThing ({commit})\n\n\
:: Failed(\"step test: exit status 1\") after 2.5s\n",
        &commit[..10]
    )
}

/// Results for every commit on every builder; builder `j` fails on commit `i` when
/// `(i * 7 + j * 3) % 11 == 0`, and the first builder fails on the three newest
/// commits (a streak). Returns the hashes of the failures' logs, newest first.
pub fn record_grid(
    store: &dashboard::Store,
    repo: &str,
    commits: &[String],
    builders: &[String],
) -> Vec<String> {
    let mut logs = vec![];
    for (i, commit) in commits.iter().enumerate() {
        for (j, builder) in builders.iter().enumerate() {
            let fail = (i * 7 + j * 3) % 11 == 0 || (j == 0 && i < 3);
            let go_commit = if repo == "go" {
                ""
            } else {
                "0000000000000000000000000000000000000001"
            };
            let hash = store
                .record(&dashboard::NewResult {
                    key: dashboard::ResultKey::post_submit(builder, repo, commit, go_commit),
                    ok: !fail,
                    started: dashboard::store::now(),
                    run_time: std::time::Duration::from_secs(60),
                    log: fail.then(|| failed_log(builder, commit)),
                })
                .unwrap();
            if fail {
                logs.push(hash);
            }
        }
    }
    logs
}

/// One passing result of `builder` for `commit` of a sub-repository, against the Go
/// commit `record_grid` uses.
pub fn record_ok(store: &dashboard::Store, builder: &str, repo: &str, commit: &str) {
    let go_commit = "0000000000000000000000000000000000000001";
    store
        .record(&dashboard::NewResult {
            key: dashboard::ResultKey::post_submit(builder, repo, commit, go_commit),
            ok: true,
            started: dashboard::store::now(),
            run_time: std::time::Duration::from_secs(60),
            log: None,
        })
        .unwrap();
}

/// Builder names across OSes, race and -temp builders: `n` of them.
pub fn builder_names(n: usize) -> Vec<String> {
    let os = [
        "linux", "windows", "darwin", "freebsd", "openbsd", "netbsd", "plan9", "android",
    ];
    let arch = ["amd64", "386", "arm64", "arm"];
    (0..n)
        .map(|i| {
            let base = format!("{}-{}", os[i % os.len()], arch[(i / os.len()) % arch.len()]);
            match i / (os.len() * arch.len()) {
                0 => base,
                1 => format!("{base}-race"),
                k => format!("{base}-x{k}-temp"),
            }
        })
        .collect()
}

/// Serves `host` on a TLS listener of 127.0.0.1 with the data directory's self-signed
/// certificate (made if missing), as `xb serve`'s `listen_tls` does; returns its port.
pub async fn serve_tls(host: &xb::serve::Host, dir: &Path) -> u16 {
    let data = xb::data::DataDir::new(dir).unwrap();
    let tls = xb::serve::TlsListen {
        addr: "127.0.0.1:0".parse().unwrap(),
        cert_key: None,
    };
    let server = xb::serve::tls_server(&data, &tls).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(buildlet::reverse::serve(
        listener,
        host.acceptor.clone().unwrap(),
        host.router(),
        Some(tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(server))),
        std::future::pending(),
    ));
    port
}
