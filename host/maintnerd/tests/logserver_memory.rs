//! The log server streams segments from disk: many followers fetching a 16 MiB segment at
//! once do not each cost a copy of it. (A test binary of its own: the resident set it
//! measures is this process's.)

use std::time::Duration;

use maintner::maintpb::{GithubIssueMutation, Mutation};
use maintner::{DiskLog, SyncPolicy};
use maintnerd::logserver::{self, LogServerOptions};
use maintnerd::store::SharedLog;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn rss_kb() -> u64 {
    maintner::bench::memory_kb().1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_stalled_downloads_of_a_16_mib_segment_hold_no_copy_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = SharedLog::new(DiskLog::open_with(dir.path(), SyncPolicy::Manual).unwrap());
    let body = "x".repeat(64 << 10);
    let ms: Vec<Mutation> = (0..255)
        .map(|n| Mutation {
            github_issue: Some(GithubIssueMutation {
                owner: "golang".into(),
                repo: "go".into(),
                number: n,
                body: body.clone(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    log.append_blocking(&ms).unwrap();
    log.sync().unwrap();
    drop(ms);
    let size = log.total_size();
    assert!(size > 16_000_000, "{size}");

    let app = logserver::router(log.clone(), LogServerOptions::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let before = rss_kb();
    // Followers that ask for the segment and then read only its first bytes.
    let mut conns = Vec::new();
    for _ in 0..30 {
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        c.write_all(b"GET /maintner/logs/0 HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut head = [0u8; 12];
        c.read_exact(&mut head).await.unwrap();
        assert_eq!(&head, b"HTTP/1.1 200");
        conns.push(c);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let grown_mib = rss_kb().saturating_sub(before) / 1024;
    // Whole copies would be 30 × 16 MiB = 480 MiB.
    assert!(
        grown_mib < 64,
        "resident set grew by {grown_mib} MiB for 30 stalled downloads"
    );
    drop(conns);
}
