//! The async buildlet client (Go's `buildlet.Client`, `buildlet/buildletclient.go`): every endpoint as a method, over a direct
//! HTTP/1.1 connection (optionally TLS with a pinned certificate) or over the HTTP/2
//! connection of a reverse buildlet.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use futures_util::TryStreamExt;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio_util::io::{ReaderStream, StreamReader};

use crate::exec::PROCESS_STATE;

/// Boxed error of request bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// Body type of requests the client sends.
pub type ReqBody = UnsyncBoxBody<Bytes, BoxError>;

/// Header timeout of the Go client for `/exec`, `/status` and `/workdir`.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// What went wrong, split the way a caller must react to it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command ran and failed; the text is its `Process-State` (`exit status 1`, ...).
    #[error("remote command failed: {0}")]
    Remote(String),
    /// The buildlet answered but refused the request.
    #[error("buildlet refused {endpoint}: {status}: {body}")]
    Refused {
        endpoint: String,
        status: StatusCode,
        body: String,
    },
    /// The connection failed: the buildlet should be considered broken.
    #[error("transport: {context}")]
    Transport {
        context: String,
        #[source]
        source: BoxError,
    },
    /// No answer (or no end of the command) in time.
    #[error("{what} timed out after {after:?}")]
    Timeout { what: String, after: Duration },
    /// The response lacked the `Process-State` trailer.
    #[error("/exec response has no Process-State trailer (buildlet built with old Go?)")]
    MissingTrailer,
    /// The buildlet answered something this client does not understand.
    #[error("bad response from {endpoint}: {msg}")]
    Protocol { endpoint: String, msg: String },
    /// Writing exec output to the caller's writer failed.
    #[error("writing command output")]
    Output(#[source] io::Error),
}

impl Error {
    /// Makes a transport error of `context` and its cause.
    fn transport<E: Into<BoxError>>(context: impl Into<String>) -> impl FnOnce(E) -> Self {
        let context = context.into();
        move |e| Error::Transport {
            context,
            source: e.into(),
        }
    }
}

/// `/status` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
pub struct Status {
    #[serde(rename = "Version")]
    pub version: u32,
}

/// Options of [`Client::exec`] (Go's `ExecOpts`).
#[derive(Debug, Clone, Default)]
pub struct ExecOpts {
    pub args: Vec<String>,
    /// Working directory, relative to the work dir.
    pub dir: Option<String>,
    /// `KEY=value` pairs added to the environment.
    pub extra_env: Vec<String>,
    /// PATH elements (`$PATH`, `$WORKDIR` expand); `Some(vec![])` empties PATH.
    pub path: Option<Vec<String>>,
    /// Run `cmd` from the system (`mode=sys`) rather than from the work dir.
    pub system_level: bool,
    pub debug: bool,
    /// Overall limit; on expiry the connection is dropped, which kills the command.
    pub timeout: Option<Duration>,
}

/// Options of [`Client::list_dir`].
#[derive(Debug, Clone, Default)]
pub struct ListDirOpts {
    pub recursive: bool,
    pub digest: bool,
    pub skip: Vec<String>,
}

/// One `/ls` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub line: String,
}

impl DirEntry {
    fn field(&self, i: usize) -> Option<&str> {
        self.line.split('\t').nth(i)
    }
    /// Relative name; directories end in `/`.
    pub fn name(&self) -> &str {
        self.field(1).unwrap_or("")
    }
    /// Go's `FileMode.String()`.
    pub fn mode(&self) -> &str {
        self.field(0).unwrap_or("")
    }
    pub fn is_dir(&self) -> bool {
        self.name().ends_with('/')
    }
    pub fn size(&self) -> Option<u64> {
        self.field(2)?.parse().ok()
    }
    pub fn mod_time(&self) -> Option<&str> {
        self.field(3)
    }
    /// SHA-1 hex (with `digest`).
    pub fn digest(&self) -> Option<&str> {
        self.field(4)
    }
}

/// Outcome of [`Client::put_tar_from_url`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    Written,
    /// `dir=go1.4` already existed.
    Skipped,
}

/// Options of a direct connection.
#[derive(Clone, Default)]
pub struct ClientOptions {
    /// HTTP Basic password.
    pub password: Option<String>,
    /// Basic user name (the Go client says `gomote`).
    pub user: Option<String>,
    /// TLS with this client config (e.g. [`crate::tls::pinned_client_config`]).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Talk to the remote buildlet of this name through a coordinator (`addr`), which
    /// forwards requests carrying `X-Buildlet-Proxy` (gomote).
    pub proxy_name: Option<String>,
}

/// The header naming the remote buildlet a coordinator forwards a request to.
pub const PROXY_HEADER: &str = "X-Buildlet-Proxy";

enum Transport {
    Direct {
        addr: String,
        tls: Option<tokio_rustls::TlsConnector>,
        idle: Mutex<Vec<http1::SendRequest<ReqBody>>>,
    },
    H2(http2::SendRequest<ReqBody>),
    /// HTTP/1.1 over connections dialed back through revdial v1 (Go's reverse buildlets).
    Revdial {
        dialer: crate::revdial::Dialer,
        idle: Mutex<Vec<http1::SendRequest<ReqBody>>>,
    },
}

/// A handle on one buildlet. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    auth: Option<String>,
    name: String,
    proxy_name: Option<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("name", &self.inner.name)
            .finish()
    }
}

const POOL_MAX: usize = 16;

impl Client {
    /// A client of the buildlet listening on `addr` (`host:port`).
    pub fn new(addr: impl Into<String>, opts: ClientOptions) -> Self {
        let addr = addr.into();
        let auth = opts.password.map(|p| {
            let user = opts.user.unwrap_or_else(|| "gomote".into());
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{p}"))
            )
        });
        let tls = opts.tls.map(tokio_rustls::TlsConnector::from);
        Client {
            inner: Arc::new(Inner {
                name: addr.clone(),
                transport: Transport::Direct {
                    addr,
                    tls,
                    idle: Mutex::new(Vec::new()),
                },
                auth,
                proxy_name: opts.proxy_name,
            }),
        }
    }

    /// A client sending requests over an HTTP/2 connection (a reverse buildlet's).
    pub fn from_h2(name: impl Into<String>, send: http2::SendRequest<ReqBody>) -> Self {
        Client {
            inner: Arc::new(Inner {
                name: name.into(),
                transport: Transport::H2(send),
                auth: None,
                proxy_name: None,
            }),
        }
    }

    /// A client of a Go reverse buildlet, over its revdial v1 session.
    pub fn from_revdial(name: impl Into<String>, dialer: crate::revdial::Dialer) -> Self {
        Client {
            inner: Arc::new(Inner {
                name: name.into(),
                transport: Transport::Revdial {
                    dialer,
                    idle: Mutex::new(Vec::new()),
                },
                auth: None,
                proxy_name: None,
            }),
        }
    }

    /// Name for logs (address or host name).
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// True when the underlying HTTP/2 connection is gone (always false for direct clients,
    /// which reconnect per request as needed).
    pub fn is_closed(&self) -> bool {
        match &self.inner.transport {
            Transport::H2(s) => s.is_closed(),
            Transport::Revdial { dialer, .. } => dialer.is_closed(),
            Transport::Direct { .. } => false,
        }
    }

    /// Sends a request as it is (path and query, method, headers, body) and returns the
    /// response unread: what a coordinator forwarding gomote requests needs.
    pub async fn round_trip(&self, req: Request<ReqBody>) -> Result<Response<Incoming>, Error> {
        self.send(req).await
    }

    async fn send(&self, mut req: Request<ReqBody>) -> Result<Response<Incoming>, Error> {
        if let Some(a) = &self.inner.auth {
            req.headers_mut().insert(
                header::AUTHORIZATION,
                a.parse().expect("base64 is a valid header"),
            );
        }
        if let Some(p) = &self.inner.proxy_name {
            req.headers_mut().insert(
                PROXY_HEADER,
                p.parse()
                    .map_err(Error::transport("X-Buildlet-Proxy header"))?,
            );
        }
        match &self.inner.transport {
            Transport::H2(send) => {
                // HTTP/2 wants :scheme and :authority.
                let pq = req
                    .uri()
                    .path_and_query()
                    .map_or("/", |p| p.as_str())
                    .to_string();
                *req.uri_mut() = format!("http://buildlet{pq}")
                    .parse()
                    .map_err(Error::transport("request URI"))?;
                let mut send = send.clone();
                send.ready()
                    .await
                    .map_err(Error::transport("reverse connection"))?;
                send.send_request(req)
                    .await
                    .map_err(Error::transport("request"))
            }
            Transport::Direct { addr, tls, idle } => {
                req.headers_mut().insert(
                    header::HOST,
                    addr.parse().map_err(Error::transport("Host header"))?,
                );
                let send = match take_idle(idle) {
                    Some(s) => s,
                    None => dial(addr, tls.as_ref()).await?,
                };
                send_h1(idle, send, req).await
            }
            Transport::Revdial { dialer, idle } => {
                req.headers_mut()
                    .insert(header::HOST, http::HeaderValue::from_static("revdial"));
                let send = match take_idle(idle) {
                    Some(s) => s,
                    None => {
                        let conn = dialer.dial().await.map_err(Error::transport("revdial"))?;
                        handshake(conn).await?
                    }
                };
                send_h1(idle, send, req).await
            }
        }
    }

    /// Sends `req` and waits at most `timeout` for the response headers.
    async fn send_timeout(
        &self,
        req: Request<ReqBody>,
        timeout: Option<Duration>,
    ) -> Result<Response<Incoming>, Error> {
        let what = format!("{} {}", req.method(), req.uri().path());
        match timeout {
            Some(t) => tokio::time::timeout(t, self.send(req))
                .await
                .map_err(|_| Error::Timeout { what, after: t })?,
            None => self.send(req).await,
        }
    }

    /// Sends and requires 200, returning the body.
    async fn call(
        &self,
        req: Request<ReqBody>,
        timeout: Option<Duration>,
    ) -> Result<Incoming, Error> {
        let endpoint = req.uri().path().to_string();
        let resp = self.send_timeout(req, timeout).await?;
        if resp.status() != StatusCode::OK {
            return Err(refused(endpoint, resp).await);
        }
        Ok(resp.into_body())
    }

    async fn call_text(
        &self,
        req: Request<ReqBody>,
        timeout: Option<Duration>,
    ) -> Result<String, Error> {
        let endpoint = req.uri().path().to_string();
        let body = self
            .call(req, timeout)
            .await?
            .collect()
            .await
            .map_err(Error::transport("response body"))?
            .to_bytes();
        String::from_utf8(body.to_vec()).map_err(|e| Error::Protocol {
            endpoint,
            msg: e.to_string(),
        })
    }

    /// `GET /status`.
    pub async fn status(&self) -> Result<Status, Error> {
        let body = self.call_text(get("/status"), Some(HEADER_TIMEOUT)).await?;
        serde_json::from_str(&body).map_err(|e| Error::Protocol {
            endpoint: "/status".into(),
            msg: format!("{e}: {body:?}"),
        })
    }

    /// `GET /workdir`: the absolute work directory on the buildlet.
    pub async fn work_dir(&self) -> Result<String, Error> {
        self.call_text(get("/workdir"), Some(HEADER_TIMEOUT)).await
    }

    /// `PUT /writetgz?dir=`: extracts the `.tar.gz` read from `tgz` (streamed) into `dir`.
    pub async fn put_tar(
        &self,
        tgz: impl AsyncRead + Send + 'static,
        dir: &str,
    ) -> Result<(), Error> {
        let req = request(
            Method::PUT,
            &format!("/writetgz?{}", query(&[("dir", dir)])),
            stream_body(tgz),
        );
        self.call_text(req, None).await.map(drop)
    }

    /// `POST /writetgz?dir=` with `url=`: the buildlet fetches the tarball itself.
    pub async fn put_tar_from_url(&self, url: &str, dir: &str) -> Result<PutOutcome, Error> {
        let req = form_request(
            &format!("/writetgz?{}", query(&[("dir", dir)])),
            &[("url", url)],
        );
        let body = self.call_text(req, None).await?;
        Ok(if body == "SKIP" {
            PutOutcome::Skipped
        } else {
            PutOutcome::Written
        })
    }

    /// `PUT /write?path=&mode=`: writes one file (streamed), `mode` being its permissions.
    pub async fn put(
        &self,
        data: impl AsyncRead + Send + 'static,
        path: &str,
        mode: u32,
    ) -> Result<(), Error> {
        let q = query(&[("path", path), ("mode", &mode.to_string())]);
        self.call_text(
            request(Method::PUT, &format!("/write?{q}"), stream_body(data)),
            None,
        )
        .await
        .map(drop)
    }

    /// `GET /tgz?dir=`: the directory as a `.tar.gz` stream.
    pub async fn get_tar(&self, dir: &str) -> Result<impl AsyncRead + Send + Unpin, Error> {
        let body = self
            .call(
                get(&format!(
                    "/tgz?{}",
                    query(&[("dir", dir), ("pargzip", "0")])
                )),
                None,
            )
            .await?;
        let stream = body.into_data_stream().map_err(io::Error::other);
        Ok(StreamReader::new(stream))
    }

    /// `POST /removeall` of each path (none: no request, like Go).
    pub async fn remove_all(&self, paths: &[&str]) -> Result<(), Error> {
        if paths.is_empty() {
            return Ok(());
        }
        let form: Vec<_> = paths.iter().map(|p| ("path", *p)).collect();
        self.call_text(form_request("/removeall", &form), None)
            .await
            .map(drop)
    }

    /// `GET /ls`.
    pub async fn list_dir(&self, dir: &str, opts: &ListDirOpts) -> Result<Vec<DirEntry>, Error> {
        let mut q = vec![
            ("dir", dir.to_string()),
            ("recursive", opts.recursive.to_string()),
            ("digest", opts.digest.to_string()),
        ];
        q.extend(opts.skip.iter().map(|s| ("skip", s.clone())));
        let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let body = self
            .call_text(get(&format!("/ls?{}", query(&q))), None)
            .await?;
        Ok(body
            .lines()
            .map(|l| DirEntry {
                line: l.trim().to_string(),
            })
            .filter(|d| !d.line.is_empty())
            .collect())
    }

    /// `POST /halt`: the buildlet stops its commands and exits about a second later.
    pub async fn halt(&self) -> Result<(), Error> {
        self.call_text(
            request(Method::POST, "/halt", empty()),
            Some(Duration::from_secs(2)),
        )
        .await
        .map(drop)
    }

    /// `POST /exec`: runs `cmd` and copies its output to `output` while it runs.
    /// `Ok(())` means `Process-State: ok`; [`Error::Remote`] carries any other state.
    pub async fn exec(
        &self,
        cmd: &str,
        opts: &ExecOpts,
        output: &mut (impl AsyncWrite + Unpin + ?Sized),
    ) -> Result<(), Error> {
        let mut form: Vec<(&str, &str)> = vec![("cmd", cmd)];
        if opts.system_level {
            form.push(("mode", "sys"));
        }
        if let Some(d) = &opts.dir {
            form.push(("dir", d));
        }
        if opts.debug {
            form.push(("debug", "true"));
        }
        form.extend(opts.args.iter().map(|a| ("cmdArg", a.as_str())));
        form.extend(opts.extra_env.iter().map(|e| ("env", e.as_str())));
        match &opts.path {
            Some(p) if p.is_empty() => form.push(("path", "$EMPTY")),
            Some(p) => form.extend(p.iter().map(|e| ("path", e.as_str()))),
            None => {}
        }
        let run = async {
            let resp = self
                .send_timeout(form_request("/exec", &form), Some(HEADER_TIMEOUT))
                .await?;
            if resp.status() != StatusCode::OK {
                return Err(refused("/exec".into(), resp).await);
            }
            copy_exec_output(resp.into_body(), output).await
        };
        match opts.timeout {
            Some(t) => tokio::time::timeout(t, run)
                .await
                .map_err(|_| Error::Timeout {
                    what: format!("exec {cmd}"),
                    after: t,
                })?,
            None => run.await,
        }
    }
}

async fn copy_exec_output(
    mut body: Incoming,
    output: &mut (impl AsyncWrite + Unpin + ?Sized),
) -> Result<(), Error> {
    let mut state = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(Error::transport("command output"))?;
        match frame.into_data() {
            Ok(data) => {
                output.write_all(&data).await.map_err(Error::Output)?;
                output.flush().await.map_err(Error::Output)?;
            }
            Err(frame) => {
                if let Ok(t) = frame.into_trailers() {
                    state = t
                        .get(PROCESS_STATE)
                        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
                }
            }
        }
    }
    match state.as_deref() {
        None => Err(Error::MissingTrailer),
        Some("ok") => Ok(()),
        Some(s) => Err(Error::Remote(s.to_string())),
    }
}

/// Sends over an HTTP/1.1 connection, which then waits in `idle` for the next request.
async fn send_h1(
    idle: &Mutex<Vec<http1::SendRequest<ReqBody>>>,
    mut send: http1::SendRequest<ReqBody>,
    mut req: Request<ReqBody>,
) -> Result<Response<Incoming>, Error> {
    req.headers_mut()
        .insert(header::TE, http::HeaderValue::from_static("trailers"));
    let fut = send.send_request(req);
    {
        let mut idle = idle.lock().unwrap();
        if idle.len() >= POOL_MAX {
            idle.remove(0);
        }
        idle.push(send);
    }
    fut.await.map_err(Error::transport("request"))
}

fn take_idle(
    idle: &Mutex<Vec<http1::SendRequest<ReqBody>>>,
) -> Option<http1::SendRequest<ReqBody>> {
    let mut idle = idle.lock().unwrap();
    idle.retain(|s| !s.is_closed());
    let i = idle.iter().position(|s| s.is_ready())?;
    Some(idle.remove(i))
}

async fn dial(
    addr: &str,
    tls: Option<&tokio_rustls::TlsConnector>,
) -> Result<http1::SendRequest<ReqBody>, Error> {
    let tcp = tokio::time::timeout(HEADER_TIMEOUT, tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| Error::Timeout {
            what: format!("dial {addr}"),
            after: HEADER_TIMEOUT,
        })?
        .map_err(Error::transport(format!("dial {addr}")))?;
    let _ = tcp.set_nodelay(true);
    match tls {
        Some(c) => {
            let host = addr
                .rsplit_once(':')
                .map_or(addr, |(h, _)| h)
                .trim_matches(['[', ']']);
            let name = ServerName::try_from(host.to_string())
                .map_err(Error::transport(format!("TLS name of {addr}")))?;
            let s = c
                .connect(name, tcp)
                .await
                .map_err(Error::transport(format!("TLS with {addr}")))?;
            handshake(s).await
        }
        None => handshake(tcp).await,
    }
}

async fn handshake<I: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    io: I,
) -> Result<http1::SendRequest<ReqBody>, Error> {
    let (send, conn) = http1::handshake(TokioIo::new(io))
        .await
        .map_err(Error::transport("HTTP/1.1 handshake"))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!("buildlet connection: {e}");
        }
    });
    Ok(send)
}

async fn refused(endpoint: String, resp: Response<Incoming>) -> Error {
    let status = resp.status();
    let mut body = Vec::new();
    let mut b = resp.into_body();
    while let Some(Ok(f)) = b.frame().await {
        if let Ok(d) = f.into_data() {
            body.extend_from_slice(&d);
        }
        if body.len() >= 4096 {
            body.truncate(4096);
            break;
        }
    }
    Error::Refused {
        endpoint,
        status,
        body: String::from_utf8_lossy(&body).trim_end().to_string(),
    }
}

fn query(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn empty() -> ReqBody {
    Full::new(Bytes::new())
        .map_err(|e| match e {})
        .boxed_unsync()
}

fn stream_body(r: impl AsyncRead + Send + 'static) -> ReqBody {
    let s = ReaderStream::with_capacity(r, 256 << 10)
        .map_ok(Frame::data)
        .map_err(|e| Box::new(e) as BoxError);
    BodyExt::boxed_unsync(StreamBody::new(s))
}

fn request(method: Method, uri: &str, body: ReqBody) -> Request<ReqBody> {
    Request::builder()
        .method(method)
        .uri(uri)
        .body(body)
        .expect("valid request")
}

fn get(uri: &str) -> Request<ReqBody> {
    request(Method::GET, uri, empty())
}

fn form_request(uri: &str, form: &[(&str, &str)]) -> Request<ReqBody> {
    let body = Full::new(Bytes::from(query(form)))
        .map_err(|e| match e {})
        .boxed_unsync();
    let mut req = request(Method::POST, uri, body);
    req.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    req
}
