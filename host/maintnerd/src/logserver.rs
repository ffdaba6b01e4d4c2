//! The log server: the HTTP protocol of Go's maintnerd (`serveJSONLogsIndex` and
//! `serveLogFile` in Go's maintner/maintnerd/gcslog), mounted under `/maintner/logs`.
//!
//! - `GET /maintner/logs[?startseg=N][&waitsizenot=S]`: JSON array of segments
//!   (`number`, `size`, `sha224`, `url`), tab-indented as Go's `json.MarshalIndent`, header
//!   `X-Sum-Segment-Size`. With `waitsizenot`, blocks until the total size differs from S,
//!   or answers `304` after the long-poll timeout (55 s, like Go) so clients and proxies
//!   know the server is alive.
//! - `GET /maintner/logs/N`: the bytes of segment N as they are now.
//! - `GET /maintner/logs/NNNN.<sha224>.mutlog`: a finished segment by its content name;
//!   `404` once segment NNNN is not those bytes.
//!
//! Segments are streamed from disk (with single `bytes=` Range requests, as Go's
//! `http.ServeContent`), never read into memory whole.
//!
//! A finished segment is listed with an absolute URL naming its content, as Go lists the
//! Cloud Storage object `NNNN.<sha224>.mutlog`; only the growing segment gets the relative
//! URL `/maintner/logs/N`. (Go's follower stores a segment as finished only when its URL is
//! on `storage.googleapis.com`; it keeps others under growing names, which our reader
//! accepts, see `maintner::DiskLog::open_read_only`.) Only GET and HEAD are accepted;
//! anything else is `400 bad method`, as in Go.

use std::collections::HashMap;
use std::io::{Seek, SeekFrom};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use maintner::disklog::{frozen_file_name, parse_file_name, SegmentName};
use maintner::SegmentInfo;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

use crate::store::SharedLog;

/// One element of the JSON index (Go's `maintner.LogSegmentJSON`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogSegmentJson {
    pub number: i64,
    pub size: i64,
    pub sha224: String,
    pub url: String,
}

/// Server settings.
#[derive(Debug, Clone)]
pub struct LogServerOptions {
    /// How long `waitsizenot` blocks before answering 304 (Go: 55 s).
    pub long_poll: Duration,
    /// Scheme and host the absolute segment URLs start with (e.g.
    /// `https://maintner.example.com`); by default `http://` and the request's `Host`.
    pub public_url: Option<String>,
}

impl Default for LogServerOptions {
    fn default() -> Self {
        LogServerOptions {
            long_poll: Duration::from_secs(55),
            public_url: None,
        }
    }
}

#[derive(Clone)]
struct LogServer {
    log: SharedLog,
    opts: LogServerOptions,
}

/// The routes `/maintner/logs` and `/maintner/logs/{n}`.
pub fn router(log: SharedLog, opts: LogServerOptions) -> Router {
    Router::new()
        .route("/maintner/logs", any(serve_index))
        .route("/maintner/logs/{n}", any(serve_segment))
        .with_state(LogServer { log, opts })
}

fn bad(msg: &str) -> Response {
    (StatusCode::BAD_REQUEST, msg.to_string()).into_response()
}

fn is_get_or_head(m: &Method) -> bool {
    m == Method::GET || m == Method::HEAD
}

async fn serve_index(
    State(s): State<LogServer>,
    method: Method,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if !is_get_or_head(&method) {
        return bad("bad method");
    }
    let startseg = match q.get("startseg").map(|v| v.parse::<i64>()) {
        None | Some(Err(_)) => 0,
        Some(Ok(n)) if n < 0 => return bad("bad startseg"),
        Some(Ok(n)) => n,
    };
    if let Some(v) = q.get("waitsizenot") {
        let Ok(not) = v.parse::<u64>() else {
            return bad("bad waitsizenot");
        };
        let mut rx = s.log.subscribe();
        let changed =
            tokio::time::timeout(s.opts.long_poll, rx.wait_for(|&size| size != not)).await;
        if changed.is_err() {
            return StatusCode::NOT_MODIFIED.into_response();
        }
    }
    let base = s.opts.public_url.clone().or_else(|| {
        let host = headers.get(header::HOST)?.to_str().ok()?;
        Some(format!("http://{host}"))
    });
    let base = base.as_deref().unwrap_or("").trim_end_matches('/');
    let segs = s.log.segments();
    let total: u64 = segs.iter().map(|s| s.size).sum();
    let list: Vec<LogSegmentJson> = segs
        .into_iter()
        .filter(|seg| seg.number as i64 >= startseg)
        .map(|seg| LogSegmentJson {
            number: seg.number as i64,
            size: seg.size as i64,
            url: if seg.growing {
                format!("/maintner/logs/{}", seg.number)
            } else {
                format!(
                    "{base}/maintner/logs/{}",
                    frozen_file_name(seg.number, &seg.sha224)
                )
            },
            sha224: seg.sha224,
        })
        .collect();
    let mut resp = Response::new(Body::from(go_indented_json(&list)));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert("x-sum-segment-size", HeaderValue::from(total));
    resp
}

/// What Go's `json.MarshalIndent(v, "", "\t")` writes.
fn go_indented_json(v: &impl Serialize) -> Vec<u8> {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    v.serialize(&mut serde_json::Serializer::with_formatter(&mut out, fmt))
        .expect("segments serialize");
    out
}

async fn serve_segment(
    State(s): State<LogServer>,
    method: Method,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !is_get_or_head(&method) {
        return bad("bad method");
    }
    let (n, want_sha) = match (name.parse::<u32>(), parse_file_name(&name)) {
        (Ok(n), _) => (n, None),
        (_, Some(SegmentName::Frozen { number, sha224 })) => (number, Some(sha224)),
        _ => return bad("bad path"),
    };
    let (file, seg) = match s.log.open_segment(n).await {
        Ok(Some(opened)) => opened,
        Ok(None) => return bad("bad segment number"),
        Err(e) => {
            tracing::error!(segment = n, error = %e, "opening a segment for a follower");
            return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
        }
    };
    if want_sha.is_some_and(|sha| seg.growing || sha != seg.sha224) {
        return (StatusCode::NOT_FOUND, "no such segment").into_response();
    }
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    ranged(file, &seg, range)
}

/// Serves the first `seg.size` bytes of `file`, honouring a single `bytes=` range like Go's
/// `http.ServeContent`. The body is read from disk as the client takes it.
fn ranged(file: std::fs::File, seg: &SegmentInfo, range: Option<&str>) -> Response {
    let len = seg.size;
    let (status, start, end) = match range.map(|r| (r, parse_range(r, len))) {
        None => (StatusCode::OK, 0, len),
        Some((_, Some((a, b)))) => (StatusCode::PARTIAL_CONTENT, a, b + 1),
        Some((r, None)) if r.starts_with("bytes=") && !r.contains(',') && len > 0 => {
            let mut resp = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            let cr = HeaderValue::from_str(&format!("bytes */{len}")).expect("ascii");
            resp.headers_mut().insert(header::CONTENT_RANGE, cr);
            return resp;
        }
        Some((_, None)) => (StatusCode::OK, 0, len),
    };
    let body = match section(file, start, end - start) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(file = %seg.path.display(), error = %e, "reading a segment for a follower");
            return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
        }
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if status == StatusCode::PARTIAL_CONTENT {
        let cr = format!("bytes {start}-{}/{len}", end - 1);
        h.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&cr).expect("ascii"),
        );
    }
    resp
}

/// A body streaming `n` bytes of `file` from `start`, 64 KiB at a time.
fn section(mut file: std::fs::File, start: u64, n: u64) -> std::io::Result<Body> {
    file.seek(SeekFrom::Start(start))?;
    let reader = tokio::fs::File::from_std(file).take(n);
    Ok(Body::from_stream(
        tokio_util::io::ReaderStream::with_capacity(reader, 64 << 10),
    ))
}

/// `bytes=a-b`, `bytes=a-`, `bytes=-n` → inclusive (start, end) within `len`.
fn parse_range(r: &str, len: u64) -> Option<(u64, u64)> {
    let spec = r.strip_prefix("bytes=")?;
    if spec.contains(',') || len == 0 {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (len.saturating_sub(n), len - 1)
        }
        (a, "") => (a.parse().ok()?, len - 1),
        (a, b) => (a.parse().ok()?, b.parse::<u64>().ok()?.min(len - 1)),
    };
    (start <= end && start < len).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=50-500", 100), Some((50, 99)));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
    }
}
