//! The service as `xb serve` runs it (pollers, log server, try work, webhook), and the
//! `corpus` CLI functions, over loopback.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use maintnerd::cli::{self, CorpusCommand};
use maintnerd::fakegithub::{self, FakeGitHub};
use maintnerd::fixture::{self, FixtureOptions};
use maintnerd::service::{Config, GerritConfig, GitHubRepoConfig, TryWorkResponse};
use maintnerd::{webhook, Maintnerd};

fn testdata() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

async fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_polls_serves_try_work_logs_and_wakes_on_webhook() {
    let tmp = tempfile::tempdir().unwrap();
    let history = fixture::read_history(&testdata().join("golang-build-commits.jsonl")).unwrap();
    let remote = tmp.path().join("build.git");
    let fx = fixture::build(
        &history[..400],
        &remote,
        &FixtureOptions {
            merged_changes: Some(20),
        },
    )
    .unwrap();
    let fake = FakeGitHub::start().await.unwrap();
    fakegithub::populate(&fake, "golang", "go", 40, 3, &testdata().join("github")).unwrap();

    let data = tmp.path().join("data");
    let mut config = Config::new(&data);
    config.github_api = fake.base();
    config.github = vec![GitHubRepoConfig {
        owner: "golang".into(),
        repo: "go".into(),
    }];
    config.gerrit = vec![GerritConfig {
        project: "go.googlesource.com/build".into(),
        remote: remote.to_str().unwrap().into(),
    }];
    config.webhook_secret = Some(b"hook secret".to_vec());
    config.long_poll = Duration::from_secs(1);
    let mut svc = Maintnerd::open(config).unwrap();
    svc.start_pollers();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = svc.router();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let base = format!("http://{addr}");
    let client = reqwest::Client::new();

    let corpus = svc.corpus();
    eventually("GitHub and Gerrit ingested", || {
        let c = corpus.read().unwrap();
        let s = c.stats();
        (s.github_issues == 40 && s.gerrit_cls as usize == fx.changes.len()).then_some(())
    })
    .await;

    let resp: TryWorkResponse = client
        .get(format!("{base}/maintner/trywork"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut got: Vec<i32> = resp.waiting.iter().map(|w| w.cl).collect();
    let mut want: Vec<i32> = fx
        .changes
        .iter()
        .filter(|c| c.state.is_try_work())
        .map(|c| c.number)
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert!(resp
        .waiting
        .iter()
        .all(|w| w.project == "build" && w.branch == "master"));

    // A webhook makes the GitHub poller look again now, not in 15 minutes.
    let mut issue = serde_json::json!({
        "id": 999_000_041, "number": 41, "title": "x/build: new after webhook",
        "user": {"login": "gopher", "id": 77}, "labels": [], "state": "open", "locked": false,
        "assignees": [], "milestone": null, "created_at": "2019-06-30T00:00:00Z",
        "updated_at": "2019-06-30T00:00:00Z", "closed_at": null, "body": "hi"
    });
    issue["comments"] = 0.into();
    fake.put_issue("golang", "go", issue);
    let payload = br#"{"action":"opened","repository":{"full_name":"golang/go"}}"#;
    let resp = client
        .post(format!("{base}/maintner/webhook/github"))
        .header("X-GitHub-Event", "issues")
        .header(
            "X-Hub-Signature-256",
            webhook::sign(b"hook secret", payload),
        )
        .body(payload.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    eventually("issue 41 ingested after the webhook", || {
        (corpus.read().unwrap().stats().github_issues == 41).then_some(())
    })
    .await;

    // A follower (the CLI's sync) gets the same corpus through /maintner/logs. The
    // pollers stop first: the GitHub poller may still be fetching issue 41's comments
    // and events, and the leader's log must hold still to be compared.
    svc.stop().await;
    let follower_dir = tmp.path().join("follower");
    let out = cli::execute(
        CorpusCommand::Sync {
            url: format!("{base}/maintner/logs"),
            follow: false,
        },
        &follower_dir,
    )
    .await
    .unwrap();
    assert!(out.starts_with("synced"), "{out}");
    let leader_size = svc.ingest().log().total_size();
    assert!(out.contains(&format!("{leader_size} bytes")), "{out}");
    let stats = cli::execute(CorpusCommand::Stats, &follower_dir)
        .await
        .unwrap();
    let leader = corpus.read().unwrap().stats().to_string();
    assert!(
        stats.ends_with(&leader),
        "follower:\n{stats}\nleader:\n{leader}"
    );
}

#[tokio::test]
async fn cli_import_git_stats_and_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let history = fixture::read_history(&testdata().join("golang-build-commits.jsonl")).unwrap();
    let repo = tmp.path().join("build.git");
    fixture::build(
        &history[..120],
        &repo,
        &FixtureOptions {
            merged_changes: Some(0),
        },
    )
    .unwrap();
    let data = tmp.path().join("data");
    let out = cli::execute(
        CorpusCommand::ImportGit {
            repo: repo.to_str().unwrap().into(),
            name: None,
        },
        &data,
    )
    .await
    .unwrap();
    assert!(out.contains("imported 120 new commits"), "{out}");
    assert!(out.contains("as build"), "{out}");
    let again = cli::execute(
        CorpusCommand::ImportGit {
            repo: repo.to_str().unwrap().into(),
            name: Some("build".into()),
        },
        &data,
    )
    .await
    .unwrap();
    assert!(again.contains("imported 0 new commits"), "{again}");

    let stats = cli::execute(CorpusCommand::Stats, &data).await.unwrap();
    assert!(stats.contains("git_commits: 120"), "{stats}");
    let ok = cli::execute(CorpusCommand::Verify, &data).await.unwrap();
    assert!(ok.contains("120 records"), "{ok}");

    // A damaged log: verify names the file and fails.
    let seg = data.join("log").join("0000.growing.mutlog");
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes.extend_from_slice(b"REC@zz+10=garbage");
    std::fs::write(&seg, &bytes).unwrap();
    let err = cli::execute(CorpusCommand::Verify, &data)
        .await
        .unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("0000.growing.mutlog"), "{msg}");
}

#[test]
fn corpus_command_parses_as_a_clap_subcommand() {
    use clap::{Parser, Subcommand};
    #[derive(Parser)]
    struct Xb {
        #[command(subcommand)]
        cmd: Top,
    }
    #[derive(Subcommand)]
    enum Top {
        #[command(subcommand)]
        Corpus(CorpusCommand),
    }
    let xb = Xb::try_parse_from([
        "xb",
        "corpus",
        "sync",
        "http://127.0.0.1:1/maintner/logs",
        "--follow",
    ])
    .unwrap();
    let Top::Corpus(CorpusCommand::Sync { url, follow }) = xb.cmd else {
        panic!("not sync")
    };
    assert_eq!(url, "http://127.0.0.1:1/maintner/logs");
    assert!(follow);
    assert!(
        Xb::try_parse_from(["xb", "corpus", "import-git"]).is_err(),
        "repo is required"
    );
    assert!(Xb::try_parse_from(["xb", "corpus", "verify"]).is_ok());
}

#[test]
fn serve_args_become_a_config() {
    use clap::Parser;
    #[derive(Parser)]
    struct Serve {
        #[command(flatten)]
        maintner: cli::ServeArgs,
    }
    let tmp = tempfile::tempdir().unwrap();
    let token = tmp.path().join("token");
    std::fs::write(&token, "gopherbot:s3cret\n").unwrap();
    let args = Serve::try_parse_from([
        "serve",
        "--watch-github=golang/go,golang/vscode-go",
        "--watch-gerrit=go.googlesource.com/build,go.googlesource.com/net=/srv/net.git",
        "--watch-git=website=/srv/website.git",
        "--github-token-file",
        token.to_str().unwrap(),
        "--github-interval=60",
    ])
    .unwrap();
    let c = args.maintner.config(tmp.path()).unwrap();
    let gh: Vec<String> = c
        .github
        .iter()
        .map(|r| format!("{}/{}", r.owner, r.repo))
        .collect();
    assert_eq!(gh, vec!["golang/go", "golang/vscode-go"]);
    assert_eq!(c.gerrit[0].remote, "https://go.googlesource.com/build");
    assert_eq!(c.gerrit[1].project, "go.googlesource.com/net");
    assert_eq!(c.gerrit[1].remote, "/srv/net.git");
    assert_eq!(
        (c.git[0].name.as_str(), c.git[0].remote.as_str()),
        ("website", "/srv/website.git")
    );
    assert_eq!(c.github_token.as_deref(), Some("s3cret"));
    assert_eq!(c.github_interval, Duration::from_secs(60));
    assert!(c.webhook_secret.is_none());

    let bad = Serve::try_parse_from(["serve", "--watch-github=golang"]).unwrap();
    let err = bad.maintner.config(tmp.path()).unwrap_err();
    assert!(err.to_string().contains("want owner/repo"), "{err}");
}

/// Builds a git repository of the first `n` commits of x/build; returns its path.
fn small_repo(tmp: &Path, n: usize) -> PathBuf {
    let history = fixture::read_history(&testdata().join("golang-build-commits.jsonl")).unwrap();
    let repo = tmp.join("build.git");
    fixture::build(
        &history[..n],
        &repo,
        &FixtureOptions {
            merged_changes: Some(0),
        },
    )
    .unwrap();
    repo
}

#[tokio::test]
async fn a_second_writer_is_refused_with_the_name_of_the_running_one() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = small_repo(tmp.path(), 20);
    let data = tmp.path().join("data");
    let import = || CorpusCommand::ImportGit {
        repo: repo.to_str().unwrap().into(),
        name: None,
    };
    let out = cli::execute(import(), &data).await.unwrap();
    assert!(out.contains("imported 20 new commits"), "{out}");
    // What `xb serve` runs holds the log of the data directory.
    let svc = Maintnerd::open(Config::new(&data)).unwrap();
    let before = std::fs::read(data.join("log").join("0000.growing.mutlog")).unwrap();
    let me = format!("pid {}", std::process::id());
    for cmd in [
        import(),
        CorpusCommand::Sync {
            url: "http://127.0.0.1:1/maintner/logs".into(),
            follow: false,
        },
        CorpusCommand::Repair { dry_run: true },
    ] {
        let err = cli::execute(cmd, &data).await.unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("held by another writer"), "{msg}");
        assert!(msg.contains(&me), "{msg}");
    }
    // Readers do not need the lock.
    let stats = cli::execute(CorpusCommand::Stats, &data).await.unwrap();
    assert!(stats.contains("git_commits: 20"), "{stats}");
    let after = std::fs::read(data.join("log").join("0000.growing.mutlog")).unwrap();
    assert_eq!(before, after, "refused writers wrote nothing");
    drop(svc);
    let out = cli::execute(import(), &data).await.unwrap();
    assert!(out.contains("imported 0 new commits"), "{out}");
}

/// A data directory `name` under `dir` whose log holds a small repo of `commits` commits.
async fn imported(dir: &Path, name: &str, commits: usize) -> PathBuf {
    let repo = small_repo(dir, commits);
    let data = dir.join(name);
    cli::execute(
        CorpusCommand::ImportGit {
            repo: repo.to_str().unwrap().into(),
            name: None,
        },
        &data,
    )
    .await
    .unwrap();
    data
}

#[tokio::test]
async fn stats_reads_up_to_a_torn_tail_and_changes_nothing_repair_cuts_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = imported(tmp.path(), "data", 20).await;
    let seg = data.join("log").join("0000.growing.mutlog");
    let mut bytes = std::fs::read(&seg).unwrap();
    let good = bytes.len();
    bytes.extend_from_slice(format!("REC@{good:x}+400=cut short").as_bytes());
    std::fs::write(&seg, &bytes).unwrap();

    let stats = cli::execute(CorpusCommand::Stats, &data).await.unwrap();
    assert!(stats.contains("git_commits: 20"), "{stats}");
    assert!(stats.contains("not loaded:"), "{stats}");
    assert!(stats.contains("xb corpus repair cuts them"), "{stats}");
    assert_eq!(std::fs::read(&seg).unwrap(), bytes, "stats wrote nothing");
    let err = cli::execute(CorpusCommand::Verify, &data)
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("repair --dry-run"), "{err:#}");
    assert_eq!(std::fs::read(&seg).unwrap(), bytes, "verify wrote nothing");

    let out = cli::execute(CorpusCommand::Repair { dry_run: false }, &data)
        .await
        .unwrap();
    assert!(out.contains("dropped bytes are in"), "{out}");
    assert_eq!(std::fs::read(&seg).unwrap(), bytes[..good]);
    let ok = cli::execute(CorpusCommand::Verify, &data).await.unwrap();
    assert!(ok.contains("20 records"), "{ok}");
}

/// A Go day file that ends in zeros (what a crash leaves) loads up to them, and `stats`
/// and `verify` point to the copy that leaves them out, not to `repair`, which writes no
/// day file; that copy holds every record before the zeros.
#[tokio::test]
async fn stats_and_verify_on_a_day_file_with_a_zero_tail_point_to_the_copy_that_leaves_it_out() {
    let tmp = tempfile::tempdir().unwrap();
    let ours = imported(tmp.path(), "ours", 20).await;
    // Our growing segment has a day file's framing: only the name differs.
    let data = tmp.path().join("go");
    std::fs::create_dir_all(data.join("log")).unwrap();
    let day = data.join("log").join("maintner-2017-07-01.mutlog");
    let mut bytes = std::fs::read(ours.join("log").join("0000.growing.mutlog")).unwrap();
    bytes.extend_from_slice(&[0; 5000]);
    std::fs::write(&day, &bytes).unwrap();

    let stats = cli::execute(CorpusCommand::Stats, &data).await.unwrap();
    assert!(stats.contains("git_commits: 20"), "{stats}");
    assert!(stats.contains("not loaded: 5000 bytes"), "{stats}");
    assert!(stats.contains("--seed-corpus"), "{stats}");
    assert!(!stats.contains("repair"), "{stats}");
    assert_eq!(std::fs::read(&day).unwrap(), bytes, "stats wrote nothing");
    let err = cli::execute(CorpusCommand::Verify, &data)
        .await
        .unwrap_err();
    let err = format!("{err:#}");
    assert!(
        err.contains("--seed-corpus") && !err.contains("repair"),
        "{err}"
    );

    let copy = tmp.path().join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    let n = maintner::disklog::copy_log(&data.join("log"), &copy.join("log")).unwrap();
    assert_eq!(n, 20);
    let ok = cli::execute(CorpusCommand::Verify, &copy).await.unwrap();
    assert!(ok.contains("20 records"), "{ok}");
}

/// A segment that cannot be read at all (here a directory where the growing segment
/// should be) is an error, but not damage: verify does not send the user to repair.
#[tokio::test]
async fn verify_sends_to_repair_only_for_damaged_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("log").join("0000.growing.mutlog")).unwrap();
    let err = cli::execute(CorpusCommand::Verify, tmp.path())
        .await
        .unwrap_err();
    let err = format!("{err:#}");
    assert!(
        err.contains("Is a directory") && !err.contains("repair"),
        "{err}"
    );
}
