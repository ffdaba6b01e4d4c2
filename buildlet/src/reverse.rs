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
use std::pin::Pin;
use std::task::{Context, Poll};
use subtle::ConstantTimeEq;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
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

/// Registers over `io` the way Go's buildlet does (`GET /reverse` with no `Upgrade`,
/// then revdial v1) and serves `buildlet` on each connection the coordinator dials back,
/// until the session ends. This is what lets our buildlet join a coordinator that only
/// speaks revdial v1, and it is the Go buildlet's side in tests.
pub async fn serve_revdial_v1<I>(
    mut io: I,
    cfg: &ReverseConfig,
    buildlet: Arc<Buildlet>,
) -> Result<(), ReverseError>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let head = format!(
        "GET /reverse HTTP/1.1\r\nHost: {}\r\n{HDR_HOST_TYPE}: {}\r\n{HDR_KEY}: {}\r\n\
         {HDR_HOSTNAME}: {}\r\n{HDR_VERSION}: {PROTOCOL_VERSION}\r\n\r\n",
        cfg.coordinator, cfg.host_type, cfg.key, cfg.hostname
    );
    let io_err = |source| ReverseError::Dial {
        addr: cfg.coordinator.clone(),
        source,
    };
    io.write_all(head.as_bytes()).await.map_err(io_err)?;
    // Byte by byte, so nothing after the head (the first revdial frame) is consumed.
    let mut resp = Vec::new();
    while !resp.ends_with(b"\r\n\r\n") && resp.len() < MAX_HEAD {
        let mut b = [0u8; 1];
        if io.read(&mut b).await.map_err(io_err)? == 0 {
            break;
        }
        resp.push(b[0]);
    }
    if !resp.starts_with(b"HTTP/1.1 101 ") {
        let mut body = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), io.read_to_end(&mut body)).await;
        let text = String::from_utf8_lossy(&resp);
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .and_then(|c| StatusCode::from_u16(c).ok())
            .unwrap_or(StatusCode::BAD_GATEWAY);
        return Err(ReverseError::Refused {
            status,
            body: String::from_utf8_lossy(&body).trim_end().to_string(),
        });
    }
    let mut listener = crate::revdial::Listener::new(io);
    loop {
        tokio::select! {
            conn = listener.accept() => match conn {
                Ok(conn) => drop(tokio::spawn(crate::h1::serve_conn(conn, buildlet.router()))),
                Err(e) => return Err(ReverseError::Dial {
                    addr: cfg.coordinator.clone(),
                    source: e,
                }),
            },
            _ = buildlet.halted() => return Ok(()),
        }
    }
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

    /// Checks a registration's headers as Go's coordinator does (`handleReverse`): TLS,
    /// one kind of mode header, as many keys as modes, each key valid. Legacy
    /// `X-Go-Builder-Type` modes register as the first mode.
    fn check(&self, h: &HeaderMap, over_tls: bool) -> Result<Registration, (StatusCode, String)> {
        if self.require_tls && !over_tls {
            return Err((
                StatusCode::INTERNAL_SERVER_ERROR,
                "buildlet registration requires SSL".into(),
            ));
        }
        if h.contains_key(HDR_HOST_TYPE) && h.contains_key(HDR_BUILDER_TYPE) {
            return Err((
                StatusCode::BAD_REQUEST,
                "only one of X-Go-Host-Type and X-Go-Builder-Type may be given".into(),
            ));
        }
        let hv = |name: &str| {
            h.get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok().map(str::to_string))
                .collect::<Vec<_>>()
        };
        let mut modes = hv(HDR_HOST_TYPE);
        modes.extend(hv(HDR_BUILDER_TYPE));
        let keys = hv(HDR_KEY);
        if modes.is_empty() || modes.len() != keys.len() {
            return Err((
                StatusCode::PRECONDITION_FAILED,
                format!("{} modes but {} keys", modes.len(), keys.len()),
            ));
        }
        if let Some((mode, _)) = modes.iter().zip(&keys).find(|(m, k)| !(self.check)(m, k)) {
            tracing::warn!(%mode, "reverse registration with a bad key");
            return Err((StatusCode::PRECONDITION_FAILED, "bad key for mode".into()));
        }
        Ok(Registration {
            host_type: modes.swap_remove(0),
            hostname: hv(HDR_HOSTNAME).pop().unwrap_or_else(|| "unknown".into()),
            version: hv(HDR_VERSION).pop().unwrap_or_default(),
        })
    }

    /// Handles one `GET /reverse` that asks for HTTP/2 (`Upgrade: buildlet-h2`):
    /// validates, answers 101 and, once upgraded, checks the buildlet's `/status`
    /// before handing it over. Go's revdial v1 registrations are taken earlier, by
    /// [`Acceptor::serve_conn`], since they need the raw connection.
    pub async fn handle(&self, mut req: Request) -> Response {
        let over_tls = req.extensions().get::<ConnectedOverTls>().is_some();
        let reg = match self.check(req.headers(), over_tls) {
            Ok(reg) => reg,
            Err((status, msg)) => return (status, format!("{msg}\n")).into_response(),
        };
        if !wants_h2(req.headers()) {
            return (
                StatusCode::BAD_REQUEST,
                "a revdial v1 registration must be the first request of its connection\n",
            )
                .into_response();
        }
        let on_upgrade = hyper::upgrade::on(&mut req);
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let upgraded = match on_upgrade.await {
                Ok(u) => u,
                Err(e) => {
                    return tracing::warn!(hostname = %reg.hostname, "reverse upgrade failed: {e}")
                }
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
                Err(e) => {
                    return tracing::warn!(hostname = %reg.hostname, "reverse HTTP/2 handshake: {e}")
                }
            };
            tokio::spawn(conn);
            let client = Client::from_h2(reg.hostname.clone(), send);
            reg.admit(client, "h2", &tx).await;
        });
        Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header(header::CONNECTION, "Upgrade")
            .header(header::UPGRADE, UPGRADE_TOKEN)
            .body(Body::empty())
            .expect("valid response")
    }

    /// Serves one accepted connection of the coordinator: a Go buildlet's revdial v1
    /// registration (`GET /reverse` as the first request, no `Upgrade`) is taken here
    /// on the raw stream, as Go's coordinator hijacks it; anything else goes to `app`
    /// over HTTP/1.1 (with upgrades, for our buildlets' HTTP/2), its requests marked
    /// [`ConnectedOverTls`] when `over_tls`.
    pub async fn serve_conn<I>(&self, mut io: I, app: axum::Router, over_tls: bool)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let head = match tokio::time::timeout(HEADER_TIMEOUT, read_head(&mut io)).await {
            Ok(Ok(h)) => h,
            _ => return, // silent, slow or oversized: drop it
        };
        let io = Rewind::new(head.clone(), io);
        if let Some(headers) = revdial_registration(&head) {
            return self.register_revdial(io, &headers, over_tls).await;
        }
        let app = if over_tls {
            app.layer(axum::Extension(ConnectedOverTls))
        } else {
            app
        };
        let svc = TowerToHyperService::new(app);
        // Go's HTTP client (gomote's) never sends `TE: trailers`; the shim asks for the
        // trailers that carry a proxied `/exec` result.
        let served = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(crate::h1::TrailersShim::new(io)), svc)
            .with_upgrades()
            .await;
        if let Err(e) = served {
            tracing::debug!("coordinator connection: {e}");
        }
    }

    async fn register_revdial<I>(&self, mut io: Rewind<I>, h: &HeaderMap, over_tls: bool)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        io.skip_head();
        let reg = match self.check(h, over_tls) {
            Ok(reg) => reg,
            Err((status, msg)) => {
                let body = format!("{msg}\n");
                let resp = format!(
                    "HTTP/1.1 {} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    status.as_u16(),
                    status.canonical_reason().unwrap_or(""),
                    body.len()
                );
                let _ = io.write_all(resp.as_bytes()).await;
                let _ = io.shutdown().await;
                return;
            }
        };
        if io
            .write_all(b"HTTP/1.1 101 Switching Protocols\r\n\r\n")
            .await
            .is_err()
        {
            return;
        }
        let dialer = crate::revdial::Dialer::new(io);
        let client = Client::from_revdial(reg.hostname.clone(), dialer);
        reg.admit(client, "revdial v1", &self.tx).await;
    }
}

/// The coordinator's accept loop: each connection (TLS when `tls` is set, with
/// `TCP_NODELAY`) goes through [`Acceptor::serve_conn`] until `shutdown` resolves.
/// `app` should route `/reverse` to the acceptor ([`Acceptor::router`]) for our
/// buildlets' HTTP/2 registrations.
pub async fn serve(
    listener: tokio::net::TcpListener,
    acceptor: Acceptor,
    app: axum::Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => r?,
            _ = &mut shutdown => return Ok(()),
        };
        let _ = tcp.set_nodelay(true);
        let (acceptor, app, tls) = (acceptor.clone(), app.clone(), tls.clone());
        tokio::spawn(async move {
            match tls {
                None => acceptor.serve_conn(tcp, app, false).await,
                Some(tls) => match tokio::time::timeout(HEADER_TIMEOUT, tls.accept(tcp)).await {
                    Ok(Ok(s)) => acceptor.serve_conn(s, app, true).await,
                    _ => tracing::debug!(%peer, "TLS handshake failed"),
                },
            }
        });
    }
}

/// A registration that passed its key check.
struct Registration {
    host_type: String,
    hostname: String,
    version: String,
}

impl Registration {
    /// Checks `/status` over the new connection (Go's coordinator does the same, with
    /// its 10 s header timeout) and hands the buildlet over.
    async fn admit(self, client: Client, via: &str, tx: &mpsc::Sender<ReverseBuildlet>) {
        let Registration {
            host_type,
            hostname,
            version,
        } = self;
        match tokio::time::timeout(HEADER_TIMEOUT, client.status()).await {
            Ok(Ok(st)) if st.version >= 1 => {}
            other => {
                return tracing::warn!(%hostname, "reverse buildlet failed its status check: {other:?}")
            }
        }
        tracing::info!(%hostname, %host_type, %version, via, "reverse buildlet registered");
        let _ = tx
            .send(ReverseBuildlet {
                host_type,
                hostname,
                version,
                client,
            })
            .await;
    }
}

fn wants_h2(h: &HeaderMap) -> bool {
    h.get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case(UPGRADE_TOKEN))
}

const MAX_HEAD: usize = 64 << 10;

/// Reads until the end of the first request head (or EOF); returns what was read.
async fn read_head<I: AsyncRead + Unpin>(io: &mut I) -> std::io::Result<Bytes> {
    let mut buf = Vec::with_capacity(1024);
    loop {
        if buf.windows(4).any(|w| w == b"\r\n\r\n") {
            return Ok(buf.into());
        }
        if buf.len() >= MAX_HEAD {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
        let mut chunk = [0u8; 4096];
        let n = io.read(&mut chunk).await?;
        if n == 0 {
            return Ok(buf.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The headers of `head` when it is Go's revdial v1 registration: `GET /reverse`
/// without `Upgrade: buildlet-h2`.
fn revdial_registration(head: &[u8]) -> Option<HeaderMap> {
    let mut hs = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut hs);
    req.parse(head).ok()?.is_complete().then_some(())?;
    if req.method != Some("GET") || req.path != Some("/reverse") {
        return None;
    }
    let mut h = HeaderMap::new();
    for x in req.headers.iter() {
        let name = header::HeaderName::from_bytes(x.name.as_bytes()).ok()?;
        h.append(name, http::HeaderValue::from_bytes(x.value).ok()?);
    }
    (!wants_h2(&h)).then_some(h)
}

/// A connection whose first bytes were read already: they are read again first.
struct Rewind<I> {
    prefix: Bytes,
    inner: I,
}

impl<I> Rewind<I> {
    fn new(prefix: Bytes, inner: I) -> Self {
        Rewind { prefix, inner }
    }

    /// Drops the request head from the prefix, keeping what followed it.
    fn skip_head(&mut self) {
        if let Some(end) = self.prefix.windows(4).position(|w| w == b"\r\n\r\n") {
            let _ = self.prefix.split_to(end + 4);
        }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Rewind<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.prefix.is_empty() {
            return Pin::new(&mut self.inner).poll_read(cx, buf);
        }
        let n = self.prefix.len().min(buf.remaining());
        buf.put_slice(&self.prefix.split_to(n));
        Poll::Ready(Ok(()))
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Rewind<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
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
