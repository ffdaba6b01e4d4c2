//! Reverse mode (Go's `cmd/buildlet/reverse.go` and the coordinator's `reverse.go`), with
//! HTTP/2 in place of revdial.
//!
//! The buildlet dials the coordinator and sends `GET /reverse` with the seed's headers
//! (`X-Go-Host-Type`, `X-Go-Builder-Key`, `X-Go-Builder-Hostname`,
//! `X-Go-Builder-Version`) plus `Upgrade: buildlet-h2` / `X-Revdial-Version: h2`. The
//! coordinator answers `101 Switching Protocols`; from then on the buildlet is the HTTP/2
//! *server* on that connection and the coordinator sends ordinary buildlet requests as
//! the HTTP/2 *client*, multiplexed with flow control and PING keep-alives (revdial v1
//! had neither). The buildlet reconnects with exponential backoff when the connection
//! drops.
//!
//! [`Acceptor`] is the coordinator side: an axum handler for `GET /reverse` that checks
//! the key, upgrades, and yields a [`ReverseBuildlet`] whose [`Client`] talks over it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::{header, HeaderMap, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::ServerName;
use subtle::ConstantTimeEq;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;

use crate::client::{Client, HEADER_TIMEOUT};
use crate::server::Buildlet;
use crate::PROTOCOL_VERSION;

/// Token of the `Upgrade` header for HTTP/2 over the registration connection.
pub const UPGRADE_TOKEN: &str = "buildlet-h2";
pub const HDR_HOST_TYPE: &str = "X-Go-Host-Type";
pub const HDR_BUILDER_TYPE: &str = "X-Go-Builder-Type";
pub const HDR_KEY: &str = "X-Go-Builder-Key";
pub const HDR_HOSTNAME: &str = "X-Go-Builder-Hostname";
pub const HDR_VERSION: &str = "X-Go-Builder-Version";
pub const HDR_REVDIAL: &str = "X-Revdial-Version";

const KEEPALIVE: Duration = Duration::from_secs(30);

/// The seed's build key: hex HMAC-MD5 of the host type under the master key.
pub fn builder_key(master_key: &[u8], host_type: &str) -> String {
    let mut m = Hmac::<md5::Md5>::new_from_slice(master_key).expect("HMAC takes any key length");
    m.update(host_type.as_bytes());
    hex::encode(m.finalize().into_bytes())
}

/// Errors of one registration attempt.
#[derive(Debug, thiserror::Error)]
pub enum ReverseError {
    #[error("bad coordinator address {0:?}: want http://host:port or https://host:port")]
    BadCoordinator(String),
    #[error("dial {addr}: {source}")]
    Dial {
        addr: String,
        source: std::io::Error,
    },
    #[error("TLS with {addr}: {source}")]
    Tls {
        addr: String,
        source: std::io::Error,
    },
    #[error("http: {0}")]
    Http(#[from] hyper::Error),
    /// The coordinator refused the registration (not retried).
    #[error("coordinator refused registration: {status}: {body}")]
    Refused { status: StatusCode, body: String },
}

/// Settings of a reverse buildlet.
#[derive(Clone)]
pub struct ReverseConfig {
    /// `http://host:port` or `https://host[:port]`.
    pub coordinator: String,
    pub host_type: String,
    pub hostname: String,
    pub key: String,
    /// TLS client config for `https://` coordinators.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

/// Dials, registers and serves until `/halt` (then returns `Ok`) or until the
/// coordinator refuses the registration (returns the error). Connection failures are
/// retried with exponential backoff.
pub async fn run(cfg: ReverseConfig, buildlet: Arc<Buildlet>) -> Result<(), ReverseError> {
    let mut backoff = cfg.min_backoff;
    loop {
        let started = Instant::now();
        let res = tokio::select! {
            r = connect_and_serve(&cfg, &buildlet) => r,
            _ = buildlet.halted() => return Ok(()),
        };
        match res {
            Err(e @ ReverseError::Refused { .. }) | Err(e @ ReverseError::BadCoordinator(_)) => {
                return Err(e)
            }
            Err(e) => tracing::warn!("reverse connection: {e}"),
            Ok(()) => tracing::info!("reverse connection closed"),
        }
        if started.elapsed() > cfg.max_backoff {
            backoff = cfg.min_backoff; // it was up for a while: start over
        }
        tracing::info!(?backoff, "reconnecting");
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = buildlet.halted() => return Ok(()),
        }
        backoff = (backoff * 2).min(cfg.max_backoff);
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// One connection: register, then serve the buildlet over HTTP/2 until it closes.
pub async fn connect_and_serve(
    cfg: &ReverseConfig,
    buildlet: &Arc<Buildlet>,
) -> Result<(), ReverseError> {
    let bad = || ReverseError::BadCoordinator(cfg.coordinator.clone());
    let uri: http::Uri = cfg.coordinator.parse().map_err(|_| bad())?;
    let tls = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        _ => return Err(bad()),
    };
    let host = uri.host().ok_or_else(bad)?.to_string();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let addr = format!("{host}:{port}");
    let tcp = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::net::TcpStream::connect(&addr),
    )
    .await
    .map_err(|_| ReverseError::Dial {
        addr: addr.clone(),
        source: std::io::ErrorKind::TimedOut.into(),
    })?
    .map_err(|source| ReverseError::Dial {
        addr: addr.clone(),
        source,
    })?;
    let _ = tcp.set_nodelay(true);
    let io: Box<dyn Io> = if tls {
        let cfg_tls = cfg.tls.clone().ok_or_else(bad)?;
        let name =
            ServerName::try_from(host.trim_matches(['[', ']']).to_string()).map_err(|_| bad())?;
        let s = tokio::time::timeout(
            Duration::from_secs(30),
            tokio_rustls::TlsConnector::from(cfg_tls).connect(name, tcp),
        )
        .await
        .map_err(|_| ReverseError::Tls {
            addr: addr.clone(),
            source: std::io::ErrorKind::TimedOut.into(),
        })?
        .map_err(|source| ReverseError::Tls {
            addr: addr.clone(),
            source,
        })?;
        Box::new(s)
    } else {
        Box::new(tcp)
    };
    let (mut send, conn) =
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(io)).await?;
    tokio::spawn(conn.with_upgrades());
    let req = http::Request::get("/reverse")
        .header(
            header::HOST,
            uri.authority().map_or(addr.clone(), |a| a.to_string()),
        )
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, UPGRADE_TOKEN)
        .header(HDR_HOST_TYPE, &cfg.host_type)
        .header(HDR_KEY, &cfg.key)
        .header(HDR_HOSTNAME, &cfg.hostname)
        .header(HDR_VERSION, PROTOCOL_VERSION.to_string())
        .header(HDR_REVDIAL, "h2")
        .body(Empty::new())
        .map_err(|_| bad())?;
    let resp = send.send_request(req).await?;
    if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        return Err(ReverseError::Refused {
            status,
            body: String::from_utf8_lossy(&body).trim_end().to_string(),
        });
    }
    let upgraded = hyper::upgrade::on(resp).await?;
    tracing::info!(coordinator = %cfg.coordinator, host_type = %cfg.host_type, "registered; serving over HTTP/2");
    hyper::server::conn::http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .keep_alive_interval(KEEPALIVE)
        .keep_alive_timeout(Duration::from_secs(20))
        .adaptive_window(true)
        .serve_connection(upgraded, TowerToHyperService::new(buildlet.router()))
        .await?;
    Ok(())
}

/// A buildlet that registered with the coordinator.
#[derive(Debug, Clone)]
pub struct ReverseBuildlet {
    pub host_type: String,
    pub hostname: String,
    /// `X-Go-Builder-Version` as sent.
    pub version: String,
    /// Client over the registration connection; [`Client::is_closed`] turns true when it drops.
    pub client: Client,
}

/// Request extension a server inserts on connections that arrived over TLS; the
/// [`Acceptor`] refuses registrations without it when TLS is required (as the seed does).
#[derive(Debug, Clone, Copy)]
pub struct ConnectedOverTls;

type KeyCheck = dyn Fn(&str, &str) -> bool + Send + Sync;

/// Coordinator side of registration.
///
/// Serve it with `TCP_NODELAY` on accepted connections (with axum:
/// `axum::serve(listener.tap_io(|t| drop(t.set_nodelay(true))), router)`): requests to
/// the buildlet go out as small HTTP/2 frames, and with Nagle's algorithm each round trip
/// waits for a delayed ACK (about 40 ms instead of about 1 ms).
#[derive(Clone)]
pub struct Acceptor {
    check: Arc<KeyCheck>,
    require_tls: bool,
    tx: mpsc::Sender<ReverseBuildlet>,
}

impl Acceptor {
    /// `check(host_type, key)` decides whether the key is valid (e.g. compare with
    /// [`builder_key`] in constant time: see [`Acceptor::with_master_key`]). Registered
    /// buildlets arrive on the returned receiver.
    pub fn new(
        check: impl Fn(&str, &str) -> bool + Send + Sync + 'static,
        require_tls: bool,
    ) -> (Self, mpsc::Receiver<ReverseBuildlet>) {
        let (tx, rx) = mpsc::channel(64);
        (
            Acceptor {
                check: Arc::new(check),
                require_tls,
                tx,
            },
            rx,
        )
    }

    /// Keys are the seed's HMAC-MD5 of the host type under `master_key`.
    pub fn with_master_key(
        master_key: Vec<u8>,
        require_tls: bool,
    ) -> (Self, mpsc::Receiver<ReverseBuildlet>) {
        Self::new(
            move |ht, key| {
                bool::from(
                    builder_key(&master_key, ht)
                        .as_bytes()
                        .ct_eq(key.as_bytes()),
                )
            },
            require_tls,
        )
    }

    /// A router serving `GET /reverse` (merge it into the coordinator's).
    pub fn router(self) -> axum::Router {
        axum::Router::new().route(
            "/reverse",
            axum::routing::get(move |req: Request| async move { self.handle(req).await }),
        )
    }

    /// Handles one `GET /reverse`: validates, answers 101 and, once upgraded, checks the
    /// buildlet's `/status` before handing it over.
    pub async fn handle(&self, mut req: Request) -> Response {
        let err = |status: StatusCode, msg: &str| (status, format!("{msg}\n")).into_response();
        if self.require_tls && req.extensions().get::<ConnectedOverTls>().is_none() {
            return err(
                StatusCode::INTERNAL_SERVER_ERROR,
                "buildlet registration requires SSL",
            );
        }
        let h = req.headers();
        if h.contains_key(HDR_HOST_TYPE) && h.contains_key(HDR_BUILDER_TYPE) {
            return err(
                StatusCode::BAD_REQUEST,
                "only one of X-Go-Host-Type and X-Go-Builder-Type may be given",
            );
        }
        let wants_h2 = h
            .get(header::UPGRADE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case(UPGRADE_TOKEN));
        if !wants_h2 {
            return err(
                StatusCode::BAD_REQUEST,
                "buildlet binary is too old: want Upgrade: buildlet-h2",
            );
        }
        let hv = |name: &str, h: &HeaderMap| {
            h.get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_string))
                .collect::<Vec<_>>()
        };
        let types = hv(HDR_HOST_TYPE, h);
        let keys = hv(HDR_KEY, h);
        if types.len() != 1 || keys.len() != 1 {
            return err(
                StatusCode::PRECONDITION_FAILED,
                "want exactly one X-Go-Host-Type and one X-Go-Builder-Key",
            );
        }
        let (host_type, key) = (types[0].clone(), keys[0].clone());
        if !(self.check)(&host_type, &key) {
            return err(StatusCode::PRECONDITION_FAILED, "bad key for mode");
        }
        let hostname = hv(HDR_HOSTNAME, h)
            .pop()
            .unwrap_or_else(|| "unknown".into());
        let version = hv(HDR_VERSION, h).pop().unwrap_or_default();
        let on_upgrade = hyper::upgrade::on(&mut req);
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let upgraded = match on_upgrade.await {
                Ok(u) => u,
                Err(e) => return tracing::warn!(%hostname, "reverse upgrade failed: {e}"),
            };
            let conn = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
                .timer(TokioTimer::new())
                .keep_alive_interval(KEEPALIVE)
                .keep_alive_timeout(Duration::from_secs(20))
                .adaptive_window(true)
                .handshake(upgraded)
                .await;
            let (send, conn) = match conn {
                Ok(c) => c,
                Err(e) => return tracing::warn!(%hostname, "reverse HTTP/2 handshake: {e}"),
            };
            tokio::spawn(conn);
            let client = Client::from_h2(hostname.clone(), send);
            match tokio::time::timeout(HEADER_TIMEOUT, client.status()).await {
                Ok(Ok(st)) if st.version >= 1 => {}
                other => {
                    return tracing::warn!(%hostname, "reverse buildlet failed its status check: {other:?}")
                }
            }
            tracing::info!(%hostname, %host_type, %version, "reverse buildlet registered");
            let _ = tx
                .send(ReverseBuildlet {
                    host_type,
                    hostname,
                    version,
                    client,
                })
                .await;
        });
        Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header(header::CONNECTION, "Upgrade")
            .header(header::UPGRADE, UPGRADE_TOKEN)
            .body(Body::empty())
            .expect("valid response")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_key_is_hmac_md5_hex() {
        // RFC 2202 test case 2 for HMAC-MD5.
        assert_eq!(
            builder_key(b"Jefe", "what do ya want for nothing?"),
            "750c783e6ab0b503eaa86e310a5db738"
        );
    }
}
