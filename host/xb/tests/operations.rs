//! Operating `xb serve`: the real binary stopped by SIGTERM as gracefully as by Ctrl-C,
//! and settings refused at start.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// `line` without the terminal colour codes tracing adds.
fn plain(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            chars.by_ref().find(|c| c.is_ascii_alphabetic());
        } else {
            out.push(c);
        }
    }
    out
}

type Log = tokio::io::Lines<BufReader<tokio::process::ChildStderr>>;

/// Starts the real `xb serve` on `data` (loopback, no coordinator); returns it, its
/// address and its log.
async fn start_serve(data: &Path) -> (tokio::process::Child, String, Log) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_xb"))
        .arg("--data")
        .arg(data)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--no-seed",
            "--no-coordinator",
            "--listen-tls",
            "127.0.0.1:0",
        ])
        .arg("--bundled")
        .arg(common::bundled_dir())
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut log = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = log.next_line().await.unwrap() {
            let line = plain(&line);
            if line.contains("xb serving") {
                let at = line.find("addr=").expect("addr in the serving line") + 5;
                return line[at..].split_whitespace().next().unwrap().to_string();
            }
        }
        panic!("xb serve exited before serving");
    })
    .await
    .expect("xb serve did not start");
    (child, addr, log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_request_in_flight_finish_then_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, mut log) = start_serve(dir.path()).await;
    let token = std::fs::read_to_string(dir.path().join("admin.token")).unwrap();

    // An upload whose body is half sent when SIGTERM comes.
    let body = vec![b'x'; 1000];
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /admin/plugins HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        token.trim(),
        body.len()
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(&body[..500]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = child.id().unwrap().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(kill.success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    tcp.write_all(&body[500..]).await.unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).await.unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 422"),
        "the request in flight got its answer: {answer}"
    );
    assert!(answer.contains("not a WebAssembly component"), "{answer}");

    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("xb serve did not exit after SIGTERM")
        .unwrap();
    let mut rest = vec![];
    while let Some(line) = log.next_line().await.unwrap() {
        rest.push(plain(&line));
    }
    let rest = rest.join("\n");
    assert!(status.success(), "exit {status:?}; log:\n{rest}");
    assert!(rest.contains("signal=SIGTERM"), "{rest}");
    assert!(rest.contains("xb stopped"), "{rest}");
    // New connections are no longer taken.
    assert!(tokio::net::TcpStream::connect(&addr).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_an_empty_webhook_secret_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("webhook-secret");
    std::fs::write(&secret, " \n").unwrap();
    let data = xb::data::DataDir::new(dir.path().join("data")).unwrap();
    let cfg = xb::serve::ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        bundled: common::bundled_dir(),
        seed_corpus: None,
        maintner: maintnerd::cli::ServeArgs {
            webhook_secret_file: Some(secret),
            ..Default::default()
        },
        watch_interval: Duration::from_millis(50),
        build: None,
        tls: None,
        bot: bot::execute::Mode::DryRun,
    };
    let Err(err) = xb::serve::Host::start(&data, &cfg).await else {
        panic!("started with an empty webhook secret");
    };
    let msg = format!("{err:#}");
    assert!(msg.contains("webhook-secret is empty"), "{msg}");
}

/// Runs `xb --data DATA ARGS…` in `cwd`; returns its exit success, stdout and stderr.
fn xb(data: &Path, cwd: &Path, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xb"))
        .arg("--data")
        .arg(data)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.success(), text(out.stdout), text(out.stderr))
}

/// A git repository at `dir` with `n` commits.
fn git_repo(dir: &Path, n: usize) {
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .args([
                "-c",
                "user.name=Gopher",
                "-c",
                "user.email=gopher@golang.org",
            ])
            .args(args)
            .current_dir(dir)
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    };
    std::fs::create_dir_all(dir).unwrap();
    git(&["init", "-q", "-b", "master"]);
    for i in 0..n {
        git(&[
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            &format!("commit {i}"),
        ]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_git_beside_a_running_server_is_handed_to_it() {
    let tmp = tempfile::tempdir().unwrap();
    git_repo(&tmp.path().join("tools"), 3);
    let data = tmp.path().join("data");
    let (mut child, addr, mut log) = start_serve(&data).await;
    tokio::spawn(async move { while let Ok(Some(_)) = log.next_line().await {} });
    assert_eq!(
        std::fs::read_to_string(data.join("serve.addr")).unwrap(),
        addr
    );

    // The repository is named relative to the CLI's directory, not the server's.
    let (ok, out, err) = xb(&data, tmp.path(), &["corpus", "import-git", "tools"]);
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!("held by xb serve at {addr}")),
        "{out}"
    );
    assert!(out.contains("imported 3 new commits"), "{out}");
    let (ok, out, err) = xb(&data, tmp.path(), &["corpus", "import-git", "tools"]);
    assert!(ok && out.contains("imported 0 new commits"), "{out}{err}");
    // Other writers are still refused, naming the holder.
    let (ok, _, err) = xb(&data, tmp.path(), &["corpus", "repair", "--dry-run"]);
    assert!(!ok && err.contains("held by another writer"), "{err}");
    // A repository the server cannot read is its error, reported by the CLI.
    let (ok, _, err) = xb(&data, tmp.path(), &["corpus", "import-git", "missing"]);
    assert!(!ok && err.contains("refused the import"), "{err}");

    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("xb serve did not exit after SIGTERM")
        .unwrap();
    assert!(status.success());
    assert!(!data.join("serve.addr").exists(), "removed when stopped");
    // The server logged the commits: a fresh load has them, and without a server the
    // CLI writes itself.
    let (ok, out, err) = xb(&data, tmp.path(), &["corpus", "stats"]);
    assert!(ok && out.contains("git_commits: 3"), "{out}{err}");
    let (ok, out, err) = xb(&data, tmp.path(), &["corpus", "import-git", "tools"]);
    assert!(
        ok && out.starts_with("imported 0 new commits"),
        "{out}{err}"
    );
}

/// Imports of one repository handed over at the same time run one after the other: both
/// succeed, and the log holds each commit once.
#[tokio::test]
async fn imports_handed_over_at_once_log_each_commit_once() {
    let tmp = tempfile::tempdir().unwrap();
    git_repo(&tmp.path().join("tools"), 60);
    let data = tmp.path().join("data");
    let (_child, _addr, mut log) = start_serve(&data).await;
    tokio::spawn(async move { while let Ok(Some(_)) = log.next_line().await {} });
    let import = || {
        let (data, cwd) = (data.clone(), tmp.path().to_owned());
        std::thread::spawn(move || xb(&data, &cwd, &["corpus", "import-git", "tools"]))
    };
    let runs = [import(), import(), import()].map(|t| t.join().unwrap());
    let mut imported = 0;
    for (ok, out, err) in &runs {
        assert!(ok, "{out}{err}");
        let n = out
            .split("imported ")
            .nth(1)
            .and_then(|s| s.split(' ').next());
        imported += n.and_then(|n| n.parse::<u32>().ok()).expect(out);
    }
    assert_eq!(imported, 60, "{runs:?}");
    let corpus = xb::data::DataDir::new(&data).unwrap().maintner();
    let log = maintner::disklog::DiskLog::open_read_only(corpus.join("log")).unwrap();
    let mut git = 0;
    log.for_each_mutation(|_, m| {
        git += u32::from(m.git.is_some());
        Ok::<_, maintner::disklog::LogError>(())
    })
    .unwrap();
    assert_eq!(git, 60);
}

#[tokio::test]
async fn import_git_is_refused_when_the_log_is_held_by_something_other_than_xb_serve() {
    let tmp = tempfile::tempdir().unwrap();
    git_repo(&tmp.path().join("tools"), 1);
    let data = xb::data::DataDir::new(tmp.path().join("data")).unwrap();
    // This test process holds the log, and a stale address is left behind.
    let held = maintnerd::Maintnerd::open(maintnerd::Config::new(&data.maintner())).unwrap();
    std::fs::write(data.serve_addr(), "127.0.0.1:1").unwrap();
    let import = maintnerd::cli::CorpusCommand::ImportGit {
        repo: tmp.path().join("tools").display().to_string(),
        name: None,
    };
    let err = xb::corpus::execute(import, &data).await.unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("held by another writer"), "{msg}");
    assert!(
        msg.contains(&format!("pid {}", std::process::id())),
        "{msg}"
    );
    drop(held);
}
