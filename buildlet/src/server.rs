//! The buildlet's HTTP handlers (Go's `cmd/buildlet/buildlet.go`) as an axum [`Router`], the same in
//! listen and reverse mode.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use base64::Engine;
use bytes::Bytes;
use futures_util::StreamExt as _;
use http::{header, HeaderMap, Method, StatusCode, Version};
use subtle::ConstantTimeEq;
use tokio::sync::watch;
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::exec::{self, ProcessTable};
use crate::fetch::Fetcher;
use crate::listing::{self, LsOpts};
use crate::paths::{is_root, rel_path};
use crate::untar::{is_escape, untar, UntarError};
use crate::workdir::WorkDir;
use crate::PROTOCOL_VERSION;

/// What `/halt` does to the machine once the buildlet has stopped its commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HaltAction {
    /// End the buildlet process only (the default: never touches the machine).
    #[default]
    Exit,
    /// Power the machine off (`/bin/halt -n -f -p`); only with an explicit flag.
    PowerOff,
    /// Reboot the machine.
    Reboot,
}

/// Server settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// HTTP Basic password (username ignored); `None` disables auth.
    pub password: Option<String>,
    /// Limit on a request body (`/write`, compressed `/writetgz`).
    pub max_upload_bytes: u64,
    /// Limit on the bytes a tarball may expand to.
    pub max_untar_bytes: u64,
    /// Server-side limit on one `/exec` (the seed has none).
    pub exec_timeout: Option<Duration>,
    /// Delay between answering `/halt` and halting (the seed's 1 s).
    pub halt_delay: Duration,
    pub halt_action: HaltAction,
    /// Whether `POST /writetgz url=` may fetch.
    pub allow_url_fetch: bool,
    /// How `POST /writetgz url=` fetches: TLS roots, timeouts.
    pub fetch: Fetcher,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            password: None,
            max_upload_bytes: 4 << 30,
            max_untar_bytes: 16 << 30,
            exec_timeout: None,
            halt_delay: Duration::from_secs(1),
            halt_action: HaltAction::Exit,
            allow_url_fetch: true,
            fetch: Fetcher::default(),
        }
    }
}

/// A running buildlet: its work dir, settings and commands.
pub struct Buildlet {
    wd: Arc<WorkDir>,
    cfg: Config,
    processes: Arc<ProcessTable>,
    base_env: Vec<String>,
    /// Turns true once `/halt` has taken effect.
    halted: watch::Sender<bool>,
}

impl Buildlet {
    /// Prepares a buildlet on `wd`. The environment of commands starts from this
    /// process's, plus `WORKDIR` and `GOROOT_BOOTSTRAP=$WORKDIR/go1.4` (as Go's
    /// `handleExec` sets them).
    pub fn new(wd: WorkDir, cfg: Config) -> Arc<Self> {
        let w = wd.path().display().to_string();
        let mut env: Vec<String> = std::env::vars_os()
            .filter_map(|(k, v)| {
                Some(format!(
                    "{}={}",
                    k.into_string().ok()?,
                    v.into_string().ok()?
                ))
            })
            .collect();
        env.push(format!("WORKDIR={w}"));
        env.push(format!("GOROOT_BOOTSTRAP={w}/go1.4"));
        Arc::new(Buildlet {
            wd: Arc::new(wd),
            cfg,
            processes: Arc::default(),
            base_env: exec::dedup_env(env),
            halted: watch::Sender::new(false),
        })
    }

    pub fn work_dir(&self) -> &WorkDir {
        &self.wd
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Resolves once `/halt` was requested (and its delay has passed). Running commands
    /// have been killed by then.
    pub async fn halted(&self) {
        let mut rx = self.halted.subscribe();
        let _ = rx.wait_for(|h| *h).await;
    }

    /// Kills every running command's process group.
    pub fn kill_all(&self) {
        self.processes.kill_all();
    }

    /// The router with every endpoint.
    pub fn router(self: &Arc<Self>) -> Router {
        let authed = Router::new()
            .route("/writetgz", any(write_tgz))
            .route("/write", any(write))
            .route("/exec", any(exec_handler))
            .route("/halt", any(halt))
            .route("/tgz", any(tgz))
            .route("/removeall", any(remove_all))
            .route("/workdir", any(workdir))
            .route("/status", any(status))
            .route("/ls", any(ls))
            .route("/connect-ssh", any(connect_ssh))
            .route("/debug/goroutines", any(debug_goroutines))
            .route("/debug/x", any(debug_x))
            .route_layer(middleware::from_fn_with_state(
                self.clone(),
                require_password,
            ));
        Router::new()
            .route("/", any(root))
            .route("/healthz", any(|| async { "ok" }))
            .merge(authed)
            .fallback(|| async { text(StatusCode::NOT_FOUND, "404 page not found") })
            .with_state(self.clone())
    }
}

type St = State<Arc<Buildlet>>;

/// A `text/plain` response like Go's `http.Error` (which appends a newline).
fn text(status: StatusCode, msg: &str) -> Response {
    let body = if status.is_success() {
        msg.to_string()
    } else {
        format!("{msg}\n")
    };
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// An error and its sources, `: `-separated, as Go prints a wrapped error.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        out.push_str(": ");
        out.push_str(&s.to_string());
        next = s.source();
    }
    out
}

/// A refused request: status and message, sent like Go's `http.Error`.
#[derive(Debug)]
struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        text(self.0, &self.1)
    }
}

type Reply = Result<Response, Refusal>;

fn bad(msg: impl Into<String>) -> Refusal {
    Refusal(StatusCode::BAD_REQUEST, msg.into())
}

fn fail(status: StatusCode, msg: impl Into<String>) -> Refusal {
    Refusal(status, msg.into())
}

fn require_method(req: &Request, ok: &[Method], msg: &str) -> Result<(), Refusal> {
    if ok.contains(req.method()) {
        Ok(())
    } else {
        Err(bad(msg))
    }
}

async fn require_password(State(b): St, req: Request, next: Next) -> Response {
    if let Some(want) = &b.cfg.password {
        let got = basic_password(req.headers()).unwrap_or_default();
        if !bool::from(got.as_bytes().ct_eq(want.as_bytes())) {
            return text(StatusCode::FORBIDDEN, "invalid password");
        }
    }
    next.run(req).await
}

/// The password of an HTTP Basic `Authorization` header (the username is ignored).
fn basic_password(h: &HeaderMap) -> Option<String> {
    let v = h.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    Some(s.split_once(':')?.1.to_string())
}

/// Query parameters (repeatable).
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(s: &[u8]) -> Self {
        Form(form_urlencoded::parse(s).into_owned().collect())
    }
    fn query(req: &Request) -> Self {
        Self::parse(req.uri().query().unwrap_or("").as_bytes())
    }
    fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }
    fn all(&self, k: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .collect()
    }
    fn bool(&self, k: &str) -> bool {
        matches!(
            self.get(k),
            Some("1" | "t" | "T" | "true" | "TRUE" | "True")
        )
    }
}

/// Reads an url-encoded request body (forms are small; 1 MiB cap).
async fn post_form(req: Request) -> Result<Form, Refusal> {
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .map_err(|e| bad(format!("reading form body: {e}")))?;
    Ok(Form::parse(&body))
}

async fn root() -> Response {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64",
        a => a,
    };
    text(
        StatusCode::OK,
        &format!("buildlet running on {}-{arch}\n", std::env::consts::OS),
    )
}

async fn status(req: Request) -> Reply {
    require_method(&req, &[Method::GET], "requires GET method")?;
    let body = format!("{{\"Version\":{PROTOCOL_VERSION}}}\n");
    Ok((
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response())
}

async fn workdir(State(b): St, req: Request) -> Reply {
    require_method(&req, &[Method::GET], "requires GET method")?;
    Ok(text(StatusCode::OK, &b.wd.path().display().to_string()))
}

async fn halt(State(b): St, req: Request) -> Reply {
    require_method(&req, &[Method::POST], "requires POST method")?;
    tracing::info!(delay = ?b.cfg.halt_delay, "halt requested");
    let b2 = b.clone();
    tokio::spawn(async move {
        tokio::time::sleep(b2.cfg.halt_delay).await;
        b2.kill_all();
        b2.halted.send_replace(true);
    });
    Ok(StatusCode::OK.into_response())
}

async fn connect_ssh() -> Refusal {
    bad("ssh is not supported by this buildlet")
}

async fn debug_goroutines(State(b): St) -> Response {
    text(
        StatusCode::OK,
        &format!(
            "running commands (pgid command):\n{}",
            b.processes.describe()
        ),
    )
}

async fn debug_x(req: Request) -> Response {
    let n = Form::query(&req)
        .get("n")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    text(StatusCode::OK, &"X".repeat(n.min(1 << 20)))
}

/// What went wrong with a body while it was read, as opposed to what its reader made
/// of the bytes (a bad tarball is the client's mistake; a body that breaks is not).
#[derive(Default)]
struct BodyFault {
    over_limit: AtomicBool,
    broken: AtomicBool,
}

/// Request bodies are streamed into a blocking reader, counting bytes against the limit.
fn body_reader(body: Body, limit: u64, fault: Arc<BodyFault>) -> impl io::Read {
    let seen = AtomicU64::new(0);
    let stream = body.into_data_stream().map(move |chunk| {
        let chunk: Bytes = chunk.map_err(|e| {
            fault.broken.store(true, Ordering::Relaxed);
            io::Error::other(e)
        })?;
        if seen.fetch_add(chunk.len() as u64, Ordering::Relaxed) + chunk.len() as u64 > limit {
            fault.over_limit.store(true, Ordering::Relaxed);
            return Err(io::Error::other(format!(
                "request body larger than {limit} bytes"
            )));
        }
        Ok(chunk)
    });
    SyncIoBridge::new(StreamReader::new(stream))
}

fn too_large(limit: u64) -> Refusal {
    fail(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("request body larger than the limit of {limit} bytes"),
    )
}

fn check_content_length(h: &HeaderMap, limit: u64) -> Result<(), Refusal> {
    let n: Option<u64> = h
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok());
    match n {
        Some(n) if n > limit => Err(too_large(limit)),
        _ => Ok(()),
    }
}

/// [`WorkDir::symlink_escape`] off the async threads.
async fn symlink_escape(b: &Buildlet, rel: &Path, include_last: bool) -> Option<String> {
    let (wd, rel) = (b.wd.clone(), rel.to_path_buf());
    blocking(move || wd.symlink_escape(&rel, include_last)).await
}

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f)
        .await
        .expect("blocking file task panicked")
}

async fn write(State(b): St, req: Request) -> Reply {
    require_method(&req, &[Method::PUT], "requires PUT method")?;
    let q = Form::query(&req);
    let rel = match rel_path(q.get("path").unwrap_or(""), false) {
        Ok(p) if !is_root(&p) => p,
        Ok(_) => return Err(bad("bad path: names the work directory itself")),
        Err(e) => return Err(bad(format!("bad path: {e}"))),
    };
    let raw_mode = q.get("mode").unwrap_or("");
    // Go's os.FileMode: any type bit set (dir, symlink, device, ...) is not a regular file.
    const GO_MODE_TYPE: u32 = 1 << 31 | 1 << 27 | 1 << 26 | 1 << 25 | 1 << 24 | 1 << 21 | 1 << 19;
    let mode = match raw_mode.parse::<u32>() {
        Ok(m) if m & GO_MODE_TYPE == 0 => m & 0o777,
        _ => {
            return Err(bad(format!(
                "bad mode {raw_mode:?}: want a decimal os.FileMode of a regular file"
            )))
        }
    };
    if let Some(msg) = symlink_escape(&b, &rel, false).await {
        return Err(bad(format!("bad path: {msg}")));
    }
    let limit = b.cfg.max_upload_bytes;
    check_content_length(req.headers(), limit)?;
    let fault = Arc::new(BodyFault::default());
    let mut r = body_reader(req.into_body(), limit, fault.clone());
    let wd = b.wd.clone();
    let res = blocking(move || -> io::Result<()> {
        let mut f = wd.create_file(&rel)?;
        io::copy(&mut r, f.file())?;
        f.commit(mode, None)
    })
    .await;
    match res {
        Ok(()) => Ok(text(StatusCode::OK, "OK")),
        Err(_) if fault.over_limit.load(Ordering::Relaxed) => Err(too_large(limit)),
        Err(e) if is_escape(&e) => Err(bad(format!("bad path: {e}"))),
        Err(e) => Err(fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("write: {e}"),
        )),
    }
}

async fn write_tgz(State(b): St, req: Request) -> Reply {
    require_method(
        &req,
        &[Method::PUT, Method::POST],
        "requires PUT or POST method",
    )?;
    let q = Form::query(&req);
    let dir_param = q.get("dir").unwrap_or("").to_string();
    let dir = rel_path(&dir_param, true).map_err(|e| bad(format!("bogus dir: {e}")))?;
    if let Some(msg) = symlink_escape(&b, &dir, true).await {
        return Err(bad(format!("bogus dir: {msg}")));
    }
    let (wd, d) = (b.wd.clone(), dir.clone());
    match blocking(move || wd.create_dir_all(&d)).await {
        Ok(()) => {}
        Err(e) if is_escape(&e) => return Err(bad(format!("bogus dir: {e}"))),
        Err(e) => {
            return Err(fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("mkdir of base: {e}"),
            ))
        }
    }
    let limit = b.cfg.max_upload_bytes;
    let body = if req.method() == Method::POST {
        let form = post_form(req).await?;
        let url = form
            .get("url")
            .or(q.get("url"))
            .map(str::to_string)
            .ok_or_else(|| bad("missing url POST param"))?;
        if dir_param == "go1.4" && go14_present(&b).await {
            return Ok(text(StatusCode::OK, "SKIP"));
        }
        if !b.cfg.allow_url_fetch {
            return Err(fail(
                StatusCode::FORBIDDEN,
                "fetching URLs is disabled on this buildlet",
            ));
        }
        b.cfg.fetch.get(&url).await.map_err(|e| {
            fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("fetching {url}: {}", chain(&e)),
            )
        })?
    } else {
        check_content_length(req.headers(), limit)?;
        req.into_body()
    };
    let fault = Arc::new(BodyFault::default());
    let r = body_reader(body, limit, fault.clone());
    let (wd, max, t0) = (b.wd.clone(), b.cfg.max_untar_bytes, Instant::now());
    match blocking(move || untar(&wd, &dir, r, max)).await {
        Ok(st) => {
            tracing::info!(files = st.files, dirs = st.dirs, bytes = st.bytes, elapsed = ?t0.elapsed(), "extracted tarball");
            Ok(text(StatusCode::OK, "OK"))
        }
        Err(_) if fault.over_limit.load(Ordering::Relaxed) => Err(too_large(limit)),
        // The body broke (a fetch that stalled, a client gone): not a bad tarball.
        Err(e) if fault.broken.load(Ordering::Relaxed) => {
            Err(fail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
        }
        Err(e @ UntarError::TooLarge { .. }) => {
            Err(fail(StatusCode::PAYLOAD_TOO_LARGE, e.to_string()))
        }
        Err(e) if e.is_server_error() => {
            Err(fail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
        }
        Err(e) => Err(bad(e.to_string())),
    }
}

/// Whether `go1.4` is already a non-empty directory (the seed answers `SKIP` then).
async fn go14_present(b: &Buildlet) -> bool {
    let wd = b.wd.clone();
    blocking(move || {
        wd.dir()
            .read_dir("go1.4")
            .map(|mut r| r.next().is_some())
            .unwrap_or(false)
    })
    .await
}

async fn remove_all(State(b): St, req: Request) -> Reply {
    require_method(&req, &[Method::POST], "requires POST method")?;
    let q = Form::query(&req);
    let mut paths = post_form(req).await?.all("path");
    paths.extend(q.all("path"));
    if paths.is_empty() {
        return Err(bad("requires 'path' parameter"));
    }
    // Validate every path before removing any.
    let mut rels = Vec::new();
    for p in &paths {
        let rel =
            rel_path(p, false).map_err(|e| bad(format!("bad 'path' parameter {p:?}: {e}")))?;
        if let Some(msg) = symlink_escape(&b, &rel, false).await {
            return Err(bad(format!("bad 'path' parameter: {msg}")));
        }
        rels.push(rel);
    }
    let wd = b.wd.clone();
    match blocking(move || rels.iter().try_for_each(|r| wd.remove_all(r))).await {
        Ok(()) => Ok(StatusCode::OK.into_response()),
        Err(e) if is_escape(&e) => Err(bad(format!("bad 'path' parameter: {e}"))),
        Err(e) => Err(fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("removeall: {e}"),
        )),
    }
}

/// Opens a `dir` parameter (relative, may be empty) as a confined directory.
async fn open_dir_param(b: &Buildlet, dir: &str) -> Result<cap_std::fs::Dir, Refusal> {
    let rel = rel_path(dir, true).map_err(|e| bad(format!("bogus dir: {e}")))?;
    if let Some(msg) = symlink_escape(b, &rel, true).await {
        return Err(bad(format!("bogus dir: {msg}")));
    }
    let wd = b.wd.clone();
    blocking(move || wd.open_dir(&rel))
        .await
        .map_err(|e| bad(format!("bogus dir {dir:?}: {e}")))
}

async fn ls(State(b): St, req: Request) -> Reply {
    require_method(&req, &[Method::GET], "requires GET method")?;
    let q = Form::query(&req);
    let dir = open_dir_param(&b, q.get("dir").unwrap_or("")).await?;
    let opts = LsOpts {
        recursive: q.bool("recursive"),
        digest: q.bool("digest"),
        skip: q
            .all("skip")
            .into_iter()
            .map(|s| s.trim_matches('/').to_string())
            .collect::<HashSet<_>>(),
    };
    let res = blocking(move || {
        let mut out = Vec::new();
        listing::ls(&dir, &opts, &mut out).map(|_| out)
    })
    .await;
    match res {
        Ok(out) => Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], out).into_response()),
        Err(e) => Err(fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Walk error: {e}"),
        )),
    }
}

async fn tgz(State(b): St, req: Request) -> Reply {
    require_method(&req, &[Method::GET], "requires GET method")?;
    let q = Form::query(&req);
    let dir = open_dir_param(&b, q.get("dir").unwrap_or("")).await?;
    let (tx, body) = crate::body::ChannelBody::new(8);
    tokio::task::spawn_blocking(move || {
        let w = io::BufWriter::with_capacity(64 << 10, crate::body::ChannelWriter(tx.clone()));
        let gz = flate2::write::GzEncoder::new(w, flate2::Compression::fast());
        if let Err(e) = listing::tar_dir(&dir, gz) {
            // Abort the response: the client sees a truncated body, not a valid archive.
            tracing::warn!("/tgz walk failed: {e}");
            let _ = tx.blocking_send(Err(e));
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "application/x-compressed")],
        Body::new(body),
    )
        .into_response())
}

async fn exec_handler(State(b): St, req: Request) -> Reply {
    require_method(&req, &[Method::POST], "requires POST method")?;
    if req.version() < Version::HTTP_11 {
        return Err(bad("HTTP/1.1 or higher required"));
    }
    let q = Form::query(&req);
    let form = post_form(req).await?;
    let cmd = build_command(&b, &q, &form).await?;
    let body = exec::start(cmd, b.processes.clone());
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(header::TRAILER, exec::PROCESS_STATE)
        .body(Body::new(body))
        .expect("valid response"))
}

/// Turns the `/exec` parameters into a command. `cmd`, `mode`, `dir` and `debug` may come
/// from the query or the body (the body wins, as with Go's `FormValue`); `cmdArg`, `env`
/// and `path` only from the body.
async fn build_command(b: &Buildlet, q: &Form, form: &Form) -> Result<exec::Command, Refusal> {
    let value = |k: &str| form.get(k).or(q.get(k)).unwrap_or("").to_string();
    let (cmd, dir) = (value("cmd"), value("dir"));
    let wd = b.wd.path().to_path_buf();
    let sys = match value("mode").as_str() {
        "" => false,
        "sys" => true,
        m => return Err(bad(format!("unknown mode {m:?}; want \"sys\" or empty"))),
    };
    let (program, default_dir) = if sys {
        if cmd.is_empty() {
            return Err(bad("requires 'cmd' parameter"));
        }
        (
            exec::look_path(&cmd, std::env::var_os("PATH").as_ref()),
            PathBuf::from("."),
        )
    } else {
        let rel = match rel_path(&cmd, false) {
            Ok(r) if !is_root(&r) => r,
            _ => return Err(bad("requires 'cmd' parameter")),
        };
        check_inside(b, &rel, "cmd").await?;
        let parent = rel
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty());
        (wd.join(&rel), parent.unwrap_or_else(|| PathBuf::from(".")))
    };
    let dir_rel = if dir.is_empty() {
        default_dir
    } else {
        rel_path(&dir, false).map_err(|e| bad(format!("bad 'dir' parameter: {e}")))?
    };
    check_inside(b, &dir_rel, "dir").await?;
    let mut env = b.base_env.clone();
    env.extend(form.all("env"));
    let env = exec::set_path_env(
        exec::dedup_env(env),
        &form.all("path"),
        &wd.display().to_string(),
    );
    Ok(exec::Command {
        program,
        args: form.all("cmdArg"),
        dir: if is_root(&dir_rel) {
            wd
        } else {
            wd.join(dir_rel)
        },
        env,
        debug: matches!(
            value("debug").as_str(),
            "1" | "t" | "T" | "true" | "TRUE" | "True"
        ),
        timeout: b.cfg.exec_timeout,
    })
}

/// Refuses a path that resolves (through symlinks) outside the work dir. A path that
/// does not exist is left for the start of the command to report, as Go does.
async fn check_inside(b: &Buildlet, rel: &Path, what: &str) -> Result<(), Refusal> {
    if let Some(msg) = symlink_escape(b, rel, true).await {
        return Err(bad(format!("bad '{what}' parameter: {msg}")));
    }
    let (wd, r) = (b.wd.clone(), rel.to_path_buf());
    match blocking(move || wd.dir().metadata(&r)).await {
        Err(e) if is_escape(&e) => Err(bad(format!(
            "bad '{what}' parameter {:?}: {e}",
            rel.display()
        ))),
        _ => Ok(()),
    }
}
