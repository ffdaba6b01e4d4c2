//! Follower initial-sync throughput over loopback: a log server on 127.0.0.1 serving a
//! generated log of `MB` megabytes (default 64, i.e. four 16 MiB segments), and a follower
//! mirroring it into an empty cache with SHA-224 checks.
//!
//! ```text
//! cargo run --release -p maintnerd --example bench_follow -- [MB]
//! ```

use std::time::{Duration, Instant};

use maintner::maintpb::{GithubIssueMutation, Mutation};
use maintner::{DiskLog, SyncPolicy};
use maintnerd::follower::{self, SyncOptions};
use maintnerd::logserver::{self, LogServerOptions};
use maintnerd::store::SharedLog;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mb: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(64);
    let server_dir = tempfile::tempdir()?;
    let cache = tempfile::tempdir()?;
    let log = SharedLog::new(DiskLog::open_with(server_dir.path(), SyncPolicy::Manual)?);
    let body = "lorem ipsum dolor sit amet ".repeat(40);
    let mut n = 0;
    while log.total_size() < mb << 20 {
        let batch: Vec<Mutation> = (0..1000)
            .map(|i| Mutation {
                github_issue: Some(GithubIssueMutation {
                    owner: "golang".into(),
                    repo: "go".into(),
                    number: n * 1000 + i + 1,
                    body: body.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect();
        log.append_blocking(&batch)?;
        n += 1;
    }
    log.sync()?;
    let app = logserver::router(
        log.clone(),
        LogServerOptions {
            long_poll: Duration::from_secs(1),
            ..Default::default()
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/maintner/logs", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let t = Instant::now();
    let r = follower::sync_with(
        &reqwest::Client::new(),
        &url,
        cache.path(),
        &SyncOptions::default(),
    )
    .await?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "follower initial sync: {} segments, {} bytes ({} mutations) in {secs:.3}s = {:.1} MB/s",
        r.segments,
        r.total_bytes,
        n * 1000,
        r.total_bytes as f64 / secs / 1e6
    );
    Ok(())
}
