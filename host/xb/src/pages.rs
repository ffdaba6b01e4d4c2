//! The pages people look at: the build dashboard at `/` and devapp under `/dev/`, each
//! rendered by the serving plugin of its kind from the current corpus and results, and
//! the build log viewer (`/logs/{hash}`, `/logs/live/{id}`, see `logview.rs`).
//!
//! A rendered page is kept until the corpus, the results or the serving plugins change
//! (a dashboard shows what the builders plugins build), or [`MAX_AGE`] passes:
//! running-build markers expire, and other processes may write the results.
//! Rendering runs on a blocking thread under the plugin's deadline, so a slow page
//! never holds up the server, the corpus or the coordinator. A plugin that faults gets
//! a 500 page naming its version; when the same page rendered before, that last good
//! page is served instead, with a banner saying why it is not current.

use crate::logview;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use runtime::{CorpusQueries, Kind, Registry};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a page is served from the cache at most.
pub const MAX_AGE: Duration = Duration::from_secs(60);
/// Pages kept; the cache starts over when it is full.
const CACHE_ENTRIES: usize = 512;

/// Pages only name their own resources: no scripts at all, styles inline.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'";

pub struct Pages {
    registry: Arc<Registry>,
    corpus: Arc<dyn CorpusQueries>,
    results: dashboard::Store,
    coordinator: Option<Arc<coordinator::Coordinator>>,
    /// The configured public URL, no trailing slash; `None`: the request's Host.
    public_url: Option<String>,
    cache: Mutex<HashMap<String, Cached>>,
    /// The last page each path and query rendered to without a fault.
    last_good: Mutex<HashMap<String, Page>>,
}

/// What the data looked like when a page was rendered.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Stamp {
    corpus: u64,
    results: u64,
    plugins: u64,
}

struct Cached {
    page: Page,
    stamp: Stamp,
    at: Instant,
}

#[derive(Clone)]
struct Page {
    status: u16,
    content_type: String,
    body: Arc<[u8]>,
    /// "name version (id)" of the plugin that rendered it.
    plugin: String,
}

impl Pages {
    pub fn new(
        registry: Arc<Registry>,
        corpus: Arc<dyn CorpusQueries>,
        results: dashboard::Store,
        coordinator: Option<Arc<coordinator::Coordinator>>,
        public_url: Option<String>,
    ) -> Arc<Pages> {
        Arc::new(Pages {
            registry,
            corpus,
            results,
            coordinator,
            public_url: public_url.map(|u| u.trim_end_matches('/').to_string()),
            cache: Mutex::default(),
            last_good: Mutex::default(),
        })
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/", get(dashboard_page))
            // devapp's links are relative to its index, so the index ends in a slash.
            .route("/dev", get(|| async { Redirect::permanent("/dev/") }))
            .route("/dev/", get(devapp_page))
            .route("/dev/{*rest}", get(devapp_rest))
            .route("/logs/{hash}", get(log_page))
            .route("/logs/live/{id}", get(live_log_page))
            .with_state(self.clone())
    }

    /// What `kind`'s pages are rendered from: devapp reads only the corpus, so build
    /// results coming in leave its pages current.
    fn stamp(&self, kind: Kind) -> Stamp {
        Stamp {
            corpus: self.corpus.generation(),
            results: match kind {
                Kind::Devapp => 0,
                _ => self.results.changes(),
            },
            plugins: self.registry.serving_changes(),
        }
    }

    /// Where the pages are reached, for links other tools follow.
    pub fn base_url(&self, headers: &HeaderMap) -> String {
        base_url(self.public_url.as_deref(), headers)
    }

    /// The page of `kind`'s serving plugin for `path` and `query`, from the cache when
    /// nothing changed since it was rendered. `base` is where the page is reached.
    pub async fn render(
        self: &Arc<Self>,
        kind: Kind,
        path: String,
        query: Vec<(String, String)>,
        base: String,
    ) -> Response {
        let Some(handle) = self.registry.serving_kind(kind).into_iter().next() else {
            return plain(
                StatusCode::NOT_FOUND,
                format!("no {kind} plugin is serving\n"),
            );
        };
        let key = format!("{kind} {base}{path}?{}", encode_query(&query));
        let versioned = format!("{} {key}", handle.version.id);
        let stamp = self.stamp(kind);
        if let Some(page) = self.cached(&versioned, stamp) {
            return respond(&page, None);
        }
        let v = &handle.version;
        let plugin = format!("{} {} ({})", v.name(), v.description.version, v.id);
        let req = runtime::Request {
            method: "GET".into(),
            path,
            query,
        };
        let h = handle.clone();
        let opts = runtime::CallOptions {
            base_url: base.into(),
            ..h.rt.defaults().clone()
        };
        let rendered =
            tokio::task::spawn_blocking(move || h.plugin().with_options(opts).render(&req)).await;
        let fault = match rendered {
            Ok(Ok(resp)) => match HeaderValue::from_str(&resp.content_type) {
                Ok(_) => {
                    let page = Page {
                        status: resp.status,
                        content_type: resp.content_type,
                        body: resp.body.into(),
                        plugin,
                    };
                    self.keep(versioned, key, stamp, &page);
                    return respond(&page, None);
                }
                Err(_) => format!("content type {:?} is not a header value", resp.content_type),
            },
            Ok(Err(e)) => format!("{:#}", anyhow::Error::from(e)),
            Err(e) => format!("the render task failed: {e}"),
        };
        tracing::warn!(%plugin, error = %fault, "rendering a page");
        let last = self.last_good.lock().unwrap().get(&key).cloned();
        match last {
            Some(page) => respond(&page, Some(&format!("{plugin} failed: {fault}"))),
            None => fault_page(&plugin, &fault),
        }
    }

    fn cached(&self, key: &str, stamp: Stamp) -> Option<Page> {
        let cache = self.cache.lock().unwrap();
        let c = cache.get(key)?;
        (c.stamp == stamp && c.at.elapsed() < MAX_AGE).then(|| c.page.clone())
    }

    fn keep(&self, versioned: String, key: String, stamp: Stamp, page: &Page) {
        let mut cache = self.cache.lock().unwrap();
        if cache.len() >= CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(
            versioned,
            Cached {
                page: page.clone(),
                stamp,
                at: Instant::now(),
            },
        );
        drop(cache);
        if page.status < 500 {
            let mut last = self.last_good.lock().unwrap();
            if last.len() >= CACHE_ENTRIES {
                last.clear();
            }
            last.insert(key, page.clone());
        }
    }
}

/// The configured public URL, else `http://` and the request's Host (`xb serve` serves
/// pages over plain HTTP); "" when neither is usable, and links stay relative. A Host
/// with anything but a name or address and a port is not put in links.
fn base_url(public: Option<&str>, headers: &HeaderMap) -> String {
    if let Some(u) = public {
        return u.to_string();
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    match host {
        Some(h) if is_host(h) => format!("http://{h}"),
        _ => String::new(),
    }
}

fn is_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 255
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
}

/// The query in a canonical order, so the same page is one cache entry.
fn encode_query(q: &[(String, String)]) -> String {
    let mut pairs: Vec<String> = q.iter().map(|(k, v)| format!("{k:?}={v:?}")).collect();
    pairs.sort();
    pairs.join("&")
}

/// A page as the plugin made it; `stale` says why an older page is served instead.
fn respond(page: &Page, stale: Option<&str>) -> Response {
    let status = StatusCode::from_u16(page.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body: Body = match stale {
        Some(why) if page.content_type.starts_with("text/html") => {
            Body::from(with_banner(&page.body, why))
        }
        _ => Body::from(axum::body::Bytes::copy_from_slice(&page.body)),
    };
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    if let Ok(ct) = HeaderValue::from_str(&page.content_type) {
        h.insert(header::CONTENT_TYPE, ct);
    }
    if let Ok(p) = HeaderValue::from_str(&page.plugin) {
        h.insert("x-rendered-by", p);
    }
    if let Some(why) = stale {
        if let Ok(w) =
            HeaderValue::from_str(&format!("last good page; {why}").replace(['\r', '\n'], " "))
        {
            h.insert("x-stale", w);
        }
    }
    secure(resp)
}

/// The page with a notice at the top of its body.
fn with_banner(body: &[u8], why: &str) -> Vec<u8> {
    let html = String::from_utf8_lossy(body);
    let notice = format!(
        "<p role=\"alert\" style=\"background:#fff3c4;padding:.3em\">This is the last page \
that rendered; it may be out of date. {}</p>",
        web_esc(why)
    );
    match html.find("<body>") {
        Some(i) => format!("{}{notice}{}", &html[..i + 6], &html[i + 6..]).into_bytes(),
        None => format!("{notice}{html}").into_bytes(),
    }
}

fn fault_page(plugin: &str, fault: &str) -> Response {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>Page failed</title></head><body><h1>This page failed to render</h1>\
<p role=\"alert\">Plugin <strong>{}</strong> failed: {}</p></body></html>\n",
        web_esc(plugin),
        web_esc(fault)
    );
    let mut resp = (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response();
    if let Ok(p) = HeaderValue::from_str(plugin) {
        resp.headers_mut().insert("x-rendered-by", p);
    }
    secure(resp)
}

/// Headers every page carries: no sniffing, no scripts or outside resources.
pub(crate) fn secure(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    resp
}

pub(crate) fn web_esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn plain(status: StatusCode, text: String) -> Response {
    secure(
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            text,
        )
            .into_response(),
    )
}

type Q = Query<Vec<(String, String)>>;

async fn dashboard_page(State(p): State<Arc<Pages>>, headers: HeaderMap, Query(q): Q) -> Response {
    let base = p.base_url(&headers);
    p.render(Kind::Dashboard, "/".into(), q, base).await
}

async fn devapp_page(State(p): State<Arc<Pages>>, headers: HeaderMap, Query(q): Q) -> Response {
    let base = p.base_url(&headers);
    p.render(Kind::Devapp, "/".into(), q, base).await
}

async fn devapp_rest(
    State(p): State<Arc<Pages>>,
    Path(rest): Path<String>,
    headers: HeaderMap,
    Query(q): Q,
) -> Response {
    let base = p.base_url(&headers);
    p.render(Kind::Devapp, format!("/{rest}"), q, base).await
}

async fn log_page(State(p): State<Arc<Pages>>, Path(hash): Path<String>) -> Response {
    if hash.len() != 40 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return plain(
            StatusCode::BAD_REQUEST,
            format!("{hash:?} is not a log hash (40 hex digits)\n"),
        );
    }
    let (store, h) = (p.results.clone(), hash.clone());
    match store.run(move |s| s.log(&h)).await {
        Ok(Some(text)) => secure(logview::page(&hash, &text).into_response()),
        Ok(None) => plain(StatusCode::NOT_FOUND, format!("no log {hash}\n")),
        Err(e) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reading log {hash}: {e}\n"),
        ),
    }
}

async fn live_log_page(State(p): State<Arc<Pages>>, Path(id): Path<String>) -> Response {
    let log = p
        .coordinator
        .as_ref()
        .and_then(|c| id.parse().ok().and_then(|id| c.live_log(id)));
    match log {
        Some(log) => secure(logview::live(&id, log)),
        None => plain(
            StatusCode::NOT_FOUND,
            format!("no build {id:?} is running or recently ended (finished builds' logs are at /logs/<hash>)\n"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(h: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(header::HOST, HeaderValue::from_str(h).unwrap());
        m
    }

    #[test]
    fn links_are_based_on_the_public_url_else_the_requests_host() {
        let h = host("127.0.0.1:8080");
        assert_eq!(
            base_url(Some("https://build.example.com"), &h),
            "https://build.example.com"
        );
        assert_eq!(base_url(None, &h), "http://127.0.0.1:8080");
        assert_eq!(base_url(None, &host("[::1]:80")), "http://[::1]:80");
        assert_eq!(base_url(None, &HeaderMap::new()), "");
        for bad in ["evil.example/x?", "a\"b", "a b", "x@y"] {
            assert_eq!(base_url(None, &host(bad)), "", "{bad}");
        }
    }
}
