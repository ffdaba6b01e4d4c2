//! The follower against servers that stall, lie about sizes or send short segments, over
//! loopback: each round ends with an error in bounded time and memory, and leaves no
//! segment (nor temporary file) behind.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use maintnerd::follower::{self, FollowError, SyncOptions, Timeouts};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What the fake server does with a request.
enum Answer {
    /// Writes these bytes (a whole HTTP response) and closes.
    Respond(Vec<u8>),
    /// Writes these bytes, then holds the connection open, silent.
    ThenStall(Vec<u8>),
    /// Writes these bytes, then more bytes for as long as the client reads.
    ThenEndless(Vec<u8>),
}

/// A loopback HTTP/1.1 server answering each request by its path; returns its base URL.
async fn server(answer: impl Fn(&str) -> Answer + Send + Sync + 'static) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        loop {
            let (conn, _) = listener.accept().await.unwrap();
            let answer = answer.clone();
            tokio::spawn(async move { serve(conn, &*answer).await });
        }
    });
    base
}

async fn serve(mut conn: TcpStream, answer: &(dyn Fn(&str) -> Answer + Send + Sync)) {
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&req);
    let path = text.split(' ').nth(1).unwrap_or("/").to_string();
    match answer(&path) {
        Answer::Respond(bytes) => {
            let _ = conn.write_all(&bytes).await;
        }
        Answer::ThenStall(bytes) => {
            let _ = conn.write_all(&bytes).await;
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Answer::ThenEndless(bytes) => {
            let _ = conn.write_all(&bytes).await;
            let chunk = vec![b'x'; 64 << 10];
            while conn.write_all(&chunk).await.is_ok() {}
        }
    }
}

fn response(headers: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 200 OK\r\nConnection: close\r\n{headers}\r\n").into_bytes();
    out.extend_from_slice(body);
    out
}

/// The index of one 1000-byte segment at `/seg`.
fn index() -> Answer {
    let body = format!(
        r#"[{{"number": 0, "size": 1000, "sha224": "{}", "url": "/seg"}}]"#,
        "ab".repeat(28)
    );
    let headers = format!(
        "Content-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    Answer::Respond(response(&headers, body.as_bytes()))
}

fn quick() -> SyncOptions {
    SyncOptions {
        timeouts: Timeouts {
            connect: Duration::from_secs(2),
            headers: Duration::from_millis(500),
            long_poll: Duration::from_secs(1),
            idle: Duration::from_millis(500),
        },
        ..Default::default()
    }
}

/// Runs one round against `base`; fails the test if it does not end within 20 s.
async fn round(base: &str, cache: &Path) -> FollowError {
    let opts = quick();
    let started = Instant::now();
    let r = bounded(follower::sync_with(
        &follower::client(&opts.timeouts),
        &format!("{base}/logs"),
        cache,
        &opts,
    ))
    .await;
    let err = r.expect_err("the round must fail");
    assert!(started.elapsed() < Duration::from_secs(10), "took too long");
    err
}

async fn bounded<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("the follower hung")
}

/// Nothing but the writer lock is left in the cache: no segment, no temporary file.
fn assert_nothing_kept(cache: &Path) {
    let names: Vec<String> = std::fs::read_dir(cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != maintner::lock::LOCK_FILE)
        .collect();
    assert!(names.is_empty(), "left behind: {names:?}");
}

#[tokio::test]
async fn a_server_that_never_answers_ends_the_round_with_an_error() {
    let base = server(|_| Answer::ThenStall(Vec::new())).await;
    let cache = tempfile::tempdir().unwrap();
    let err = round(&base, cache.path()).await;
    assert!(
        matches!(
            err,
            FollowError::TimedOut {
                what: "response headers",
                ..
            }
        ),
        "{err}"
    );
    assert_nothing_kept(cache.path());
}

#[tokio::test]
async fn a_segment_that_stalls_mid_body_times_out() {
    let base = server(|path| match path {
        "/logs" => index(),
        _ => Answer::ThenStall(response("Content-Length: 1000\r\n", &[b'x'; 100])),
    })
    .await;
    let cache = tempfile::tempdir().unwrap();
    let err = round(&base, cache.path()).await;
    assert!(
        matches!(
            err,
            FollowError::TimedOut {
                what: "response body bytes",
                ..
            }
        ),
        "{err}"
    );
    assert_nothing_kept(cache.path());
}

#[tokio::test]
async fn a_segment_longer_than_the_index_says_is_refused_as_it_passes_the_size() {
    // No length announced: the bytes just keep coming.
    let base = server(|path| match path {
        "/logs" => index(),
        _ => Answer::ThenEndless(response("", b"")),
    })
    .await;
    let cache = tempfile::tempdir().unwrap();
    let err = round(&base, cache.path()).await;
    assert!(
        matches!(err, FollowError::TooLong { expected: 1000, .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("more than the 1000 bytes"),
        "{err}"
    );
    assert_nothing_kept(cache.path());
}

#[tokio::test]
async fn a_segment_announcing_300_mb_for_1000_bytes_is_refused_before_its_body() {
    let base = server(|path| match path {
        "/logs" => index(),
        _ => Answer::ThenEndless(response("Content-Length: 314572800\r\n", b"")),
    })
    .await;
    let cache = tempfile::tempdir().unwrap();
    let err = round(&base, cache.path()).await;
    assert!(matches!(err, FollowError::TooLong { .. }), "{err}");
    assert_nothing_kept(cache.path());
}

#[tokio::test]
async fn a_short_segment_is_an_error_and_keeps_nothing() {
    let base = server(|path| match path {
        "/logs" => index(),
        _ => Answer::Respond(response("Content-Length: 500\r\n", &[b'x'; 500])),
    })
    .await;
    let cache = tempfile::tempdir().unwrap();
    let err = round(&base, cache.path()).await;
    assert!(
        matches!(
            err,
            FollowError::Short {
                got: 500,
                expected: 1000,
                ..
            }
        ),
        "{err}"
    );
    assert_nothing_kept(cache.path());
}

#[tokio::test]
async fn an_endless_index_is_refused_at_its_cap() {
    let base = server(|_| Answer::ThenEndless(response("", b"[{"))).await;
    let cache = tempfile::tempdir().unwrap();
    let err = round(&base, cache.path()).await;
    assert!(
        matches!(&err, FollowError::Index { what, .. } if what.contains("larger than")),
        "{err}"
    );
    assert_nothing_kept(cache.path());
}
