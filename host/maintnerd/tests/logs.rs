//! Log server and follower together over loopback: the `/logs` protocol of Go's
//! maintner/maintnerd/gcslog and the client of Go's maintner/netsource.go.

use std::path::Path;
use std::time::Duration;

use maintner::maintpb::{GithubIssueMutation, Mutation};
use maintner::DiskLog;
use maintnerd::follower::{self, FollowError, SyncOptions};
use maintnerd::logserver::{self, LogServerOptions};
use maintnerd::store::SharedLog;

fn issue(number: i32, title: &str) -> Mutation {
    Mutation {
        github_issue: Some(GithubIssueMutation {
            owner: "golang".into(),
            repo: "go".into(),
            number,
            title: title.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Serves `log` on an ephemeral loopback port; returns the index URL.
async fn serve(log: SharedLog, long_poll: Duration) -> String {
    let app = logserver::router(
        log,
        LogServerOptions {
            long_poll,
            ..Default::default()
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/maintner/logs")
}

fn mutations_in(dir: &Path) -> Vec<Mutation> {
    let log = DiskLog::open_read_only(dir).unwrap();
    let mut out = Vec::new();
    log.for_each_mutation(|_, m| {
        out.push(m);
        Ok::<_, maintner::LogError>(())
    })
    .unwrap();
    out
}

fn opts() -> SyncOptions {
    SyncOptions::default()
}

/// The segment files of `dir` with their bytes (not the writer lock).
fn dir_snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name() != maintner::lock::LOCK_FILE)
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().to_string(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn follower_mirrors_server_and_fetches_only_the_tail() {
    let server_dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let log = SharedLog::open(server_dir.path()).unwrap();
    let first: Vec<Mutation> = (1..=20).map(|n| issue(n, &format!("issue {n}"))).collect();
    log.append(first.clone()).await.unwrap();
    let url = serve(log.clone(), Duration::from_secs(5)).await;
    let client = reqwest::Client::new();

    let r = follower::sync_with(&client, &url, cache.path(), &opts())
        .await
        .unwrap();
    assert_eq!(r.total_bytes, log.total_size());
    assert_eq!(r.downloaded_bytes, log.total_size());
    assert_eq!(mutations_in(cache.path()), first);

    let before = log.total_size();
    log.append(vec![issue(21, "late")]).await.unwrap();
    let r = follower::sync_with(&client, &url, cache.path(), &opts())
        .await
        .unwrap();
    assert_eq!(
        r.downloaded_bytes,
        log.total_size() - before,
        "only the new bytes, by Range"
    );
    let got = mutations_in(cache.path());
    assert_eq!(got.len(), 21);
    assert_eq!(got[20], issue(21, "late"));

    // Nothing new: nothing downloaded.
    let r = follower::sync_with(&client, &url, cache.path(), &opts())
        .await
        .unwrap();
    assert_eq!(r.downloaded_bytes, 0);
}

#[tokio::test]
async fn long_poll_waits_for_new_data_then_times_out_with_304() {
    let server_dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let log = SharedLog::open(server_dir.path()).unwrap();
    log.append(vec![issue(1, "one")]).await.unwrap();
    let url = serve(log.clone(), Duration::from_millis(300)).await;
    let client = reqwest::Client::new();
    follower::sync_with(&client, &url, cache.path(), &opts())
        .await
        .unwrap();

    // The server answers 304 when nothing changes within its long-poll window.
    let size = log.total_size();
    let resp = client
        .get(format!("{url}?waitsizenot={size}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);

    // A waiting follower returns as soon as a mutation is appended.
    let waiting = {
        let (client, url, dir) = (client.clone(), url.clone(), cache.path().to_path_buf());
        tokio::spawn(async move {
            let o = SyncOptions {
                wait_for_change: true,
                ..Default::default()
            };
            follower::sync_with(&client, &url, &dir, &o).await
        })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        !waiting.is_finished(),
        "follower must block while nothing changes"
    );
    log.append(vec![issue(2, "two")]).await.unwrap();
    let r = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("follower woke up")
        .unwrap()
        .unwrap();
    assert!(r.downloaded_bytes > 0);
    assert_eq!(mutations_in(cache.path()).len(), 2);
}

#[tokio::test]
async fn index_and_segment_protocol_details() {
    let server_dir = tempfile::tempdir().unwrap();
    let log = SharedLog::open(server_dir.path()).unwrap();
    log.append((1..=5).map(|n| issue(n, "t")).collect())
        .await
        .unwrap();
    let url = serve(log.clone(), Duration::from_secs(1)).await;
    let client = reqwest::Client::new();

    let resp = client.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(
        resp.headers()["x-sum-segment-size"].to_str().unwrap(),
        log.total_size().to_string()
    );
    let index: serde_json::Value = resp.json().await.unwrap();
    let seg = &index[0];
    let keys: Vec<&String> = seg.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 4, "{seg}");
    assert_eq!(seg["number"], 0);
    assert_eq!(seg["size"], log.total_size());
    assert_eq!(seg["sha224"], log.segments()[0].sha224.as_str());

    // HEAD: the same headers, no body.
    let head = client.head(&url).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.headers()["x-sum-segment-size"].to_str().unwrap(),
        log.total_size().to_string()
    );
    assert!(head.bytes().await.unwrap().is_empty());

    let full = std::fs::read(&log.segments()[0].path).unwrap();
    let seg_url = format!("{url}/0");
    let resp = client
        .get(&seg_url)
        .header("Range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 206);
    assert_eq!(
        resp.headers()["content-range"].to_str().unwrap(),
        format!("bytes 10-19/{}", full.len())
    );
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &full[10..20]);

    for (req, want) in [
        (client.post(&url), "bad method"),
        (
            client.get(format!("{url}?waitsizenot=-3")),
            "bad waitsizenot",
        ),
        (client.get(format!("{url}?startseg=-1")), "bad startseg"),
        (client.get(format!("{url}/zero")), "bad path"),
        (client.get(format!("{url}/7")), "bad segment number"),
    ] {
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 400);
        assert_eq!(resp.text().await.unwrap(), want);
    }
    let empty: serde_json::Value = client
        .get(format!("{url}?startseg=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(empty, serde_json::json!([]));
}

#[tokio::test]
async fn follower_across_segments_freezes_what_the_server_sealed() {
    let server_dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let log = SharedLog::new(
        DiskLog::open_with(server_dir.path(), maintner::SyncPolicy::Manual).unwrap(),
    );
    // ~9 MiB: one growing segment.
    let body = "x".repeat(64 << 10);
    let big = |n: i32| {
        let mut m = issue(n, "big");
        m.github_issue.as_mut().unwrap().body = body.clone();
        m
    };
    log.append((1..=140).map(big).collect()).await.unwrap();
    let url = serve(log.clone(), Duration::from_secs(1)).await;
    let client = reqwest::Client::new();
    follower::sync_with(&client, &url, cache.path(), &opts())
        .await
        .unwrap();
    // Past 16 MiB: segment 0 is sealed on the server, segment 1 grows.
    log.append((141..=300).map(big).collect()).await.unwrap();
    assert_eq!(log.segments().len(), 2);
    let r = follower::sync_with(&client, &url, cache.path(), &opts())
        .await
        .unwrap();
    assert_eq!(r.segments, 2);
    let names: Vec<String> = dir_snapshot(cache.path())
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let sealed = maintner::disklog::frozen_file_name(0, &log.segments()[0].sha224);
    assert_eq!(names, vec![sealed, "0001.growing.mutlog".to_string()]);
    assert_eq!(mutations_in(cache.path()).len(), 300);
}

#[tokio::test]
async fn bad_input_segment_sha_mismatch_is_an_error_and_writes_nothing() {
    let server_dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let log = SharedLog::open(server_dir.path()).unwrap();
    log.append((1..=5).map(|n| issue(n, "t")).collect())
        .await
        .unwrap();
    // The bytes on the server's disk no longer match the SHA-224 it advertises.
    let path = log.segments()[0].path.clone();
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&path, &bytes).unwrap();
    let url = serve(log.clone(), Duration::from_secs(1)).await;

    let err = follower::sync_with(&reqwest::Client::new(), &url, cache.path(), &opts())
        .await
        .unwrap_err();
    match &err {
        FollowError::Checksum {
            segment, expected, ..
        } => {
            assert_eq!(*segment, 0);
            assert_eq!(expected, &log.segments()[0].sha224);
        }
        other => panic!("expected a checksum error, got {other}"),
    }
    assert!(err.to_string().contains("SHA-224"), "{err}");
    assert!(
        dir_snapshot(cache.path()).is_empty(),
        "nothing kept from a bad download"
    );
}

#[tokio::test]
async fn bad_input_server_split_is_detected_and_cache_kept() {
    let cache = tempfile::tempdir().unwrap();
    let a_dir = tempfile::tempdir().unwrap();
    let a = SharedLog::open(a_dir.path()).unwrap();
    a.append((1..=6).map(|n| issue(n, "original")).collect())
        .await
        .unwrap();
    let a_url = serve(a.clone(), Duration::from_secs(1)).await;
    let client = reqwest::Client::new();
    follower::sync_with(&client, &a_url, cache.path(), &opts())
        .await
        .unwrap();
    let before = dir_snapshot(cache.path());

    // The leader rewrote history: same start, different tail, and now longer than ours.
    let b_dir = tempfile::tempdir().unwrap();
    let b = SharedLog::open(b_dir.path()).unwrap();
    b.append((1..=3).map(|n| issue(n, "original")).collect())
        .await
        .unwrap();
    b.append((4..=12).map(|n| issue(n, "rewritten")).collect())
        .await
        .unwrap();
    let b_url = serve(b.clone(), Duration::from_secs(1)).await;
    let err = follower::sync_with(&client, &b_url, cache.path(), &opts())
        .await
        .unwrap_err();
    assert!(
        matches!(err, FollowError::Split { segment: 0, .. }),
        "{err}"
    );
    assert_eq!(
        dir_snapshot(cache.path()),
        before,
        "split leaves the cache alone"
    );

    // A leader that lost mutations (shorter than what we have) is a split too.
    let c_dir = tempfile::tempdir().unwrap();
    let c = SharedLog::open(c_dir.path()).unwrap();
    c.append((1..=4).map(|n| issue(n, "original")).collect())
        .await
        .unwrap();
    let c_url = serve(c.clone(), Duration::from_secs(1)).await;
    let err = follower::sync_with(&client, &c_url, cache.path(), &opts())
        .await
        .unwrap_err();
    assert!(matches!(err, FollowError::Split { .. }), "{err}");
    assert!(err.to_string().contains("history split"), "{err}");
    assert_eq!(dir_snapshot(cache.path()), before);
}

#[tokio::test]
async fn follow_into_keeps_a_shared_corpus_current() {
    let server_dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let log = SharedLog::open(server_dir.path()).unwrap();
    log.append((1..=3).map(|n| issue(n, "first")).collect())
        .await
        .unwrap();
    let url = serve(log.clone(), Duration::from_millis(500)).await;
    let corpus: maintnerd::SharedCorpus = Default::default();
    let task = {
        let (url, dir, corpus) = (url.clone(), cache.path().to_path_buf(), corpus.clone());
        tokio::spawn(async move { follower::follow_into(&url, &dir, corpus).await })
    };
    let issues = |c: &maintnerd::SharedCorpus| c.read().unwrap().stats().github_issues;
    let wait_for = |want: u64| {
        let corpus = corpus.clone();
        async move {
            for _ in 0..400 {
                if issues(&corpus) == want {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            panic!("corpus has {} issues, want {want}", issues(&corpus));
        }
    };
    wait_for(3).await;
    log.append((4..=5).map(|n| issue(n, "second")).collect())
        .await
        .unwrap();
    wait_for(5).await;
    assert_eq!(
        corpus.read().unwrap().mutation_counts().total,
        5,
        "each record applied once"
    );
    assert!(!task.is_finished());
    task.abort();
}

/// The index as Go's `serveJSONLogsIndex` writes it (`json.MarshalIndent(segs, "", "\t")`):
/// a finished segment gets an absolute URL naming its content, only the growing one the
/// relative `/logs/N`; finished segments are served by that URL, with Range.
#[tokio::test]
async fn index_bytes_are_gos_and_finished_segments_have_absolute_content_urls() {
    let server_dir = tempfile::tempdir().unwrap();
    let log = SharedLog::new(
        DiskLog::open_with(server_dir.path(), maintner::SyncPolicy::Manual).unwrap(),
    );
    let body = "x".repeat(64 << 10);
    let big = |n: i32| {
        let mut m = issue(n, "big");
        m.github_issue.as_mut().unwrap().body = body.clone();
        m
    };
    log.append((1..=300).map(big).collect()).await.unwrap();
    let segs = log.segments();
    assert_eq!(segs.len(), 2);
    let url = serve(log.clone(), Duration::from_secs(1)).await;
    let host = url.trim_end_matches("/maintner/logs");
    let frozen_name = maintner::disklog::frozen_file_name(0, &segs[0].sha224);
    let want = format!(
        "[\n\t{{\n\t\t\"number\": 0,\n\t\t\"size\": {},\n\t\t\"sha224\": \"{}\",\n\t\t\"url\": \"{host}/maintner/logs/{frozen_name}\"\n\t}},\n\t{{\n\t\t\"number\": 1,\n\t\t\"size\": {},\n\t\t\"sha224\": \"{}\",\n\t\t\"url\": \"/maintner/logs/1\"\n\t}}\n]",
        segs[0].size, segs[0].sha224, segs[1].size, segs[1].sha224
    );
    let client = reqwest::Client::new();
    let got = client.get(&url).send().await.unwrap().text().await.unwrap();
    assert_eq!(got, want);

    let frozen = std::fs::read(&segs[0].path).unwrap();
    let seg_url = format!("{host}/maintner/logs/{frozen_name}");
    let resp = client.get(&seg_url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.content_length(), Some(frozen.len() as u64));
    assert!(resp.bytes().await.unwrap() == frozen);
    let resp = client
        .get(&seg_url)
        .header("Range", "bytes=1000000-1000099")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 206);
    assert_eq!(
        resp.headers()["content-range"].to_str().unwrap(),
        format!("bytes 1000000-1000099/{}", frozen.len())
    );
    assert_eq!(
        resp.bytes().await.unwrap().as_ref(),
        &frozen[1000000..1000100]
    );
    // The tail of the growing segment, as a follower resuming asks for it.
    let growing = std::fs::read(&segs[1].path).unwrap();
    let resp = client
        .get(format!("{url}/1"))
        .header("Range", format!("bytes=100-{}", growing.len() - 1))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &growing[100..]);
    // A content name that is not (or no longer) the segment's.
    let stale = maintner::disklog::frozen_file_name(0, &"0".repeat(56));
    let resp = client.get(format!("{url}/{stale}")).send().await.unwrap();
    assert_eq!(resp.status(), 404);

    // With a public URL configured, that is what the absolute URLs start with.
    let app = logserver::router(
        log.clone(),
        LogServerOptions {
            public_url: Some("https://maintner.example.com/".into()),
            ..Default::default()
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let index: Vec<logserver::LogSegmentJson> = client
        .get(format!("http://{addr}/maintner/logs"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        index[0].url,
        format!("https://maintner.example.com/maintner/logs/{frozen_name}")
    );
}
