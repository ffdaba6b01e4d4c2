//! Remote buildlets for people (Go's gomote, the coordinator's `remote.go`):
//! `POST /buildlet/create` takes a machine of a builder's host type from the pools for a
//! user, `GET /buildlet/list` lists the user's machines, and any request carrying
//! `X-Buildlet-Proxy: <name>` is forwarded to that machine, its response (exec output
//! and trailers) streamed back. Users authenticate as `user-<name>` with the key
//! HMAC-MD5(master key, `user-<name>`). A machine idle for 30 minutes is taken back
//! by a sweep every minute.

use crate::builders::BuilderSet;
use crate::pool::{Lease, Pools};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use base64::Engine;
use buildlet::client::PROXY_HEADER;
use buildlet::ConnectedOverTls;
use http_body_util::BodyExt;
use runtime::Registry;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// The oldest gomote client accepted (Go's `gomoteVersion` check).
pub const MIN_CLIENT_VERSION: &str = "20160922";

/// Checks a user's key: `(user, key) -> valid` (user is `user-<name>`).
pub type KeyCheck = Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

/// A refused request: its status and message.
struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        error(self.0, &self.1)
    }
}

/// Settings of remote buildlets.
#[derive(Clone)]
pub struct GomoteConfig {
    pub check_key: KeyCheck,
    pub idle_timeout: Duration,
    pub sweep_every: Duration,
    /// How long `create` waits for a free machine.
    pub create_wait: Duration,
}

/// Go's `RemoteBuildlet` JSON.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct RemoteBuildlet {
    pub user: String,
    pub name: String,
    pub host_type: String,
    pub builder_type: String,
    /// RFC 3339.
    pub created: String,
    pub expires: String,
}

struct Held {
    info: RemoteBuildlet,
    expires: SystemTime,
    lease: Lease,
}

/// The remote buildlets handed out.
#[derive(Clone)]
pub struct Gomote {
    cfg: GomoteConfig,
    registry: Arc<Registry>,
    pools: Pools,
    held: Arc<Mutex<BTreeMap<String, Held>>>,
}

impl Gomote {
    pub fn new(cfg: GomoteConfig, registry: Arc<Registry>, pools: Pools) -> Gomote {
        Gomote {
            cfg,
            registry,
            pools,
            held: Arc::default(),
        }
    }

    /// `/buildlet/create` and `/buildlet/list`. Apply [`Gomote::proxy`] as a middleware
    /// on the whole server so proxied requests are caught whatever their path.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/buildlet/create", post(create))
            .route("/buildlet/list", get(list))
            .with_state(self.clone())
    }

    /// Takes back machines idle past their expiry, every `sweep_every`, until dropped.
    pub async fn sweep_loop(self) {
        loop {
            tokio::time::sleep(self.cfg.sweep_every).await;
            let now = SystemTime::now();
            let expired: Vec<Held> = {
                let mut h = self.held.lock().unwrap();
                let names: Vec<String> = h
                    .iter()
                    .filter(|(_, b)| b.expires <= now)
                    .map(|(n, _)| n.clone())
                    .collect();
                names.iter().filter_map(|n| h.remove(n)).collect()
            };
            for b in expired {
                tracing::info!(name = %b.info.name, user = %b.info.user, "remote buildlet expired");
            }
        }
    }

    /// Every remote buildlet and the machine it is, for the status page.
    pub fn all(&self) -> Vec<(RemoteBuildlet, String)> {
        self.held
            .lock()
            .unwrap()
            .values()
            .map(|b| (b.info.clone(), b.lease.name.clone()))
            .collect()
    }

    /// The middleware forwarding `X-Buildlet-Proxy` requests; others pass on.
    pub async fn proxy(State(g): State<Gomote>, req: Request, next: Next) -> Response {
        let Some(name) = req
            .headers()
            .get(PROXY_HEADER)
            .and_then(|v| v.to_str().ok())
        else {
            return next.run(req).await;
        };
        let name = name.to_string();
        if req.extensions().get::<ConnectedOverTls>().is_none() {
            return error(StatusCode::BAD_REQUEST, "gomote proxy requires TLS");
        }
        let user = match g.user(req.headers()) {
            Ok(u) => u,
            Err(r) => return r.into_response(),
        };
        let client = {
            let mut h = g.held.lock().unwrap();
            let Some(b) = h.get_mut(&name) else {
                return error(
                    StatusCode::BAD_GATEWAY,
                    &format!("unknown or expired buildlet {name:?}"),
                );
            };
            if b.info.user != user {
                return error(StatusCode::UNAUTHORIZED, "not your buildlet");
            }
            b.expires = SystemTime::now() + g.cfg.idle_timeout;
            b.info.expires = rfc3339(b.expires);
            b.lease.client.clone()
        };
        if req.method() == axum::http::Method::POST && req.uri().path() == "/halt" {
            g.held.lock().unwrap().remove(&name);
            tracing::info!(%name, %user, "remote buildlet destroyed");
            return (StatusCode::OK, "").into_response();
        }
        let (mut parts, body) = req.into_parts();
        parts.headers.remove(PROXY_HEADER);
        parts.headers.remove(header::AUTHORIZATION);
        parts.headers.remove(header::HOST);
        let body = body.map_err(|e| -> buildlet::client::BoxError { e.into() });
        let fwd = http::Request::from_parts(parts, body.boxed_unsync());
        match client.round_trip(fwd).await {
            Ok(resp) => resp.map(Body::new),
            Err(e) => error(StatusCode::BAD_GATEWAY, &format!("buildlet {name}: {e}")),
        }
    }

    /// The authenticated user (`user-<name>`), or the refusal.
    fn user(&self, h: &HeaderMap) -> Result<String, Refusal> {
        let Some((user, key)) = basic_auth(h) else {
            return Err(Refusal(
                StatusCode::BAD_REQUEST,
                "gomote requires HTTP Basic auth".into(),
            ));
        };
        if !user.starts_with("user-") || !(self.cfg.check_key)(&user, &key) {
            return Err(Refusal(StatusCode::UNAUTHORIZED, "bad user or key".into()));
        }
        Ok(user)
    }

    /// Takes a machine of `host_type`, waiting for one to come free.
    async fn lease(&self, host_type: &str) -> Result<Lease, Refusal> {
        let Some(pool) = self.pools.get(host_type).cloned() else {
            return Err(Refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("no pool for host type {host_type}"),
            ));
        };
        let wait = async {
            loop {
                let freed = self.pools.freed();
                if let Some(l) = pool.reserve() {
                    return l.await;
                }
                freed.await;
            }
        };
        match tokio::time::timeout(self.cfg.create_wait, wait).await {
            Ok(Ok(lease)) => Ok(lease),
            Ok(Err(e)) => Err(Refusal(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}"))),
            Err(_) => Err(Refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "no machine came free in time".into(),
            )),
        }
    }
}

#[derive(Deserialize)]
struct CreateForm {
    #[serde(default)]
    version: String,
    #[serde(default, rename = "builderType")]
    builder_type: String,
}

async fn create(
    State(g): State<Gomote>,
    headers: HeaderMap,
    Form(f): Form<CreateForm>,
) -> Response {
    let user = match g.user(&headers) {
        Ok(u) => u,
        Err(r) => return r.into_response(),
    };
    if f.version.as_str() < MIN_CLIENT_VERSION {
        return error(
            StatusCode::BAD_REQUEST,
            &format!(
                "gomote client version {:?} is too old; update it",
                f.version
            ),
        );
    }
    let reg = g.registry.clone();
    let set = tokio::task::spawn_blocking(move || BuilderSet::load(&reg)).await;
    let Some(def) = set.ok().and_then(|s| s.get(&f.builder_type).cloned()) else {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("unknown builder type {:?}", f.builder_type),
        );
    };
    let host_type = def.builder.host_type.clone();
    let lease = match g.lease(&host_type).await {
        Ok(l) => l,
        Err(r) => return r.into_response(),
    };
    let now = SystemTime::now();
    let expires = now + g.cfg.idle_timeout;
    let info = {
        let mut h = g.held.lock().unwrap();
        let name = (0..)
            .map(|n| format!("{user}-{}-{n}", f.builder_type))
            .find(|n| !h.contains_key(n))
            .expect("some number is free");
        let info = RemoteBuildlet {
            user: user.clone(),
            name: name.clone(),
            host_type,
            builder_type: f.builder_type.clone(),
            created: rfc3339(now),
            expires: rfc3339(expires),
        };
        h.insert(
            name,
            Held {
                info: info.clone(),
                expires,
                lease,
            },
        );
        info
    };
    tracing::info!(name = %info.name, %user, "remote buildlet created");
    json_indented(&info)
}

async fn list(State(g): State<Gomote>, headers: HeaderMap) -> Response {
    let user = match g.user(&headers) {
        Ok(u) => u,
        Err(r) => return r.into_response(),
    };
    let mine: Vec<RemoteBuildlet> = g
        .held
        .lock()
        .unwrap()
        .values()
        .filter(|b| b.info.user == user)
        .map(|b| b.info.clone())
        .collect();
    json_indented(&mine)
}

fn json_indented<T: Serialize>(v: &T) -> Response {
    let mut text = serde_json::to_string_pretty(v).expect("serializable");
    text.push('\n');
    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
}

fn error(status: StatusCode, msg: &str) -> Response {
    (status, format!("{msg}\n")).into_response()
}

fn basic_auth(h: &HeaderMap) -> Option<(String, String)> {
    let v = h.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, b64) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let (u, p) = std::str::from_utf8(&raw).ok()?.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

fn rfc3339(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    maintner::time::Time::from_unix(secs).rfc3339()
}
