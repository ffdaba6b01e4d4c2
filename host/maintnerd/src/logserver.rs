//! The log server: the HTTP protocol of spec §1.4, mounted under `/maintner/logs`.
//!
//! - `GET /maintner/logs[?startseg=N][&waitsizenot=S]`: JSON array of segments
//!   (`number`, `size`, `sha224`, `url`), header `X-Sum-Segment-Size`. With `waitsizenot`,
//!   blocks until the total size differs from S, or answers `304` after the long-poll timeout
//!   (55 s, like Go) so clients and proxies know the server is alive.
//! - `GET /maintner/logs/N`: the bytes of segment N (Range requests supported).
//!
//! Unlike Go's server, which redirects finished segments to Cloud Storage, every segment is
//! served here; URLs are relative (`/maintner/logs/N`), resolved against the index URL.
//! Only GET and HEAD are accepted; anything else is `400 bad method`, as in Go.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use serde::{Deserialize, Serialize};

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
}

impl Default for LogServerOptions {
    fn default() -> Self {
        LogServerOptions {
            long_poll: Duration::from_secs(55),
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
    let segs = s.log.segments();
    let total: u64 = segs.iter().map(|s| s.size).sum();
    let list: Vec<LogSegmentJson> = segs
        .into_iter()
        .filter(|seg| seg.number as i64 >= startseg)
        .map(|seg| LogSegmentJson {
            number: seg.number as i64,
            size: seg.size as i64,
            sha224: seg.sha224,
            url: format!("/maintner/logs/{}", seg.number),
        })
        .collect();
    let body = serde_json::to_vec_pretty(&list).expect("segments serialize");
    let mut resp = Response::new(Body::from(body));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert("x-sum-segment-size", HeaderValue::from(total));
    resp
}

async fn serve_segment(
    State(s): State<LogServer>,
    method: Method,
    Path(n): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !is_get_or_head(&method) {
        return bad("bad method");
    }
    let Ok(n) = n.parse::<u32>() else {
        return bad("bad path");
    };
    if !s.log.segments().iter().any(|seg| seg.number == n) {
        return bad("bad segment number");
    }
    let data = match s.log.read_segment(n).await {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(segment = n, error = %e, "reading segment for a follower");
            return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
        }
    };
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    ranged(data, range)
}

/// Serves `data`, honouring a single `bytes=` range like Go's `http.ServeContent`.
fn ranged(data: Vec<u8>, range: Option<&str>) -> Response {
    let len = data.len() as u64;
    let octets = HeaderValue::from_static("application/octet-stream");
    let Some((start, end)) = range.and_then(|r| parse_range(r, len)) else {
        if range.is_some_and(|r| r.starts_with("bytes=") && !r.contains(',')) && len > 0 {
            let mut resp = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            let cr = HeaderValue::from_str(&format!("bytes */{len}")).expect("ascii");
            resp.headers_mut().insert(header::CONTENT_RANGE, cr);
            return resp;
        }
        let mut resp = Response::new(Body::from(data));
        resp.headers_mut().insert(header::CONTENT_TYPE, octets);
        resp.headers_mut()
            .insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        return resp;
    };
    let part = data[start as usize..=end as usize].to_vec();
    let mut resp = Response::new(Body::from(part));
    *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, octets);
    let cr = HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")).expect("ascii");
    h.insert(header::CONTENT_RANGE, cr);
    resp
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
