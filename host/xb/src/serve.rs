//! `xb serve`: the HTTP server and the background work that keeps plugins current.
//!
//! Routes:
//! - `GET /healthz`, `GET /metrics` (Prometheus text);
//! - maintnerd: `GET /maintner/logs` (the log, for followers), `GET /maintner/trywork`,
//!   `POST /maintner/webhook/github`;
//! - the dashboard (crate `dashboard`): Go's machine API `POST /result`, `GET /log/{hash}`,
//!   `POST /clear-results`, `POST /building`, `GET /commit`, `GET /packages` (builder
//!   keys from `<data>/builder-master.key`), and `GET /api/results`, `GET /api/building`;
//! - the pages (`pages.rs`): the build dashboard at `/`, devapp under `/dev/`, build logs
//!   at `/logs/{hash}` and, while a build runs, `/logs/live/{id}`;
//! - `GET /plugins` — what serves, as JSON; `GET /builders` — every builder of every
//!   serving builders plugin, as JSON;
//! - admin API, `Authorization: Bearer <data>/admin.token`:
//!   `POST /admin/plugins` (body: a component; `?swap=true` makes it serve, and the
//!   answer is its slot; without, the answer is the version and whether it serves),
//!   `POST /admin/plugins/{name}/swap?version=ID`, `POST /admin/plugins/{name}/rollback`,
//!   `DELETE /admin/plugins/{name}` (out of service; rollback serves it again).

use crate::builds::{self, BuildSetup};
use crate::dashboard::{PluginBuilders, StoreResults};
use crate::data::DataDir;
use crate::plugins::load_bundled;
use anyhow::{Context, Result};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use coordinator::gomote::{Gomote, GomoteConfig};
use coordinator::pool::reverse::Fleet;
use coordinator::Coordinator;
use runtime::{Kind, Registry, SlotInfo};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;

#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub bundled: PathBuf,
    /// A recorded corpus log to start from when the data directory has none.
    pub seed_corpus: Option<PathBuf>,
    /// maintnerd's pollers and webhook.
    pub maintner: maintnerd::cli::ServeArgs,
    /// How often the CLI's changes and the watched directory are checked.
    pub watch_interval: Duration,
    /// How to build; `None`: no coordinator.
    pub build: Option<BuildSetup>,
    /// The TLS listener, where reverse buildlets register.
    pub tls: Option<TlsListen>,
    /// How the bot's decisions are carried out.
    pub bot: bot::execute::Mode,
}

/// Where and with what certificate to listen with TLS.
#[derive(Debug, Clone)]
pub struct TlsListen {
    pub addr: SocketAddr,
    /// Certificate chain and key (PEM); `None`: a self-signed one in `<data>/tls/`.
    pub cert_key: Option<(PathBuf, PathBuf)>,
}

pub struct AppState {
    pub registry: Arc<Registry>,
    pub admin_token: String,
    pub coordinator: Option<Arc<Coordinator>>,
    /// The corpus log's writer, for work the CLI hands over (`xb corpus import-git`).
    pub corpus: Option<CorpusWriter>,
}

/// The writer of the served corpus log and the data directory it lives in.
pub struct CorpusWriter {
    pub ingest: maintnerd::ingest::Ingest,
    pub data_dir: PathBuf,
}

/// Everything `xb serve` runs, started but not yet listening.
pub struct Host {
    pub state: Arc<AppState>,
    pub maintner: maintnerd::Maintnerd,
    pub dashboard: Arc<dashboard::Dashboard>,
    pub coordinator: Option<Arc<Coordinator>>,
    pub pages: Arc<crate::pages::Pages>,
    /// Reverse buildlets: their registrations and the machines that joined.
    pub acceptor: Option<buildlet::Acceptor>,
    pub fleet: Option<Fleet>,
    /// Remote buildlets for people.
    pub gomote: Option<Gomote>,
    watcher: tokio::task::JoinHandle<()>,
    bot: tokio::task::JoinHandle<()>,
    data: std::path::PathBuf,
}

impl Host {
    /// Open everything in the data directory: plugin store and bundled plugins, the
    /// corpus (seeded from a recorded one if empty) with its pollers, the watcher.
    pub async fn start(data: &DataDir, cfg: &ServeConfig) -> Result<Host> {
        // Flags and secret files first: a bad one stops the start before any work.
        cfg.maintner.config(&data.maintner())?;
        let (registry, bundled) = {
            let data = data.clone();
            let dir = cfg.bundled.clone();
            tokio::task::spawn_blocking(move || -> Result<_> {
                let reg = data.registry()?;
                let bundled = load_bundled(&reg, &dir)?;
                Ok((reg, bundled))
            })
            .await??
        };
        for b in &bundled {
            tracing::info!(plugin = %b, "bundled plugin");
        }
        let mut maintner_args = cfg.maintner.clone();
        let demo = match &cfg.build {
            Some(b) if b.demo => {
                let remote = crate::demo::ensure(data.path())?;
                maintner_args.watch_gerrit.push(format!(
                    "{}={}",
                    crate::demo::PROJECT,
                    remote.display()
                ));
                Some(remote)
            }
            _ => None,
        };
        let mut maintner = open_maintner(data, cfg, &maintner_args).await?;
        maintner.start_pollers();
        if cfg.build.as_ref().is_some_and(|b| b.dev_keys) {
            use_dev_key(data)?;
        }
        let dashboard = open_dashboard(data, &registry, maintner.corpus()).await?;
        registry.runtime().set_host_data(runtime::HostData {
            corpus: Arc::new(runtime::MaintnerCorpus(maintner.corpus())),
            results: Arc::new(StoreResults(dashboard.store.clone())),
            builders: Arc::new(crate::dashboard::PluginBuilderSet::new(registry.clone())),
        });
        std::fs::create_dir_all(data.incoming())?;
        let watcher = spawn_watcher(registry.clone(), data.incoming(), cfg.watch_interval);
        let (coordinator, fleet, pools) = match &cfg.build {
            Some(setup) => {
                let (c, f, p) = start_coordinator(
                    data,
                    setup,
                    &registry,
                    &maintner,
                    &dashboard,
                    demo.as_deref(),
                )
                .await?;
                (Some(c), Some(f), Some(p))
            }
            None => (None, None, None),
        };
        let pages = crate::pages::Pages::new(
            registry.clone(),
            Arc::new(runtime::MaintnerCorpus(maintner.corpus())),
            dashboard.store.clone(),
            coordinator.clone(),
            cfg.build
                .as_ref()
                .and_then(|b| b.gerrit.as_ref())
                .map(|g| g.public_url.clone()),
        );
        let bot = crate::botserve::spawn(
            cfg.bot.clone(),
            data,
            registry.clone(),
            maintner.corpus(),
            maintner.ingest().subscribe(),
        )?;
        let gomote = pools.map(|pools| {
            let key = dashboard.key.clone();
            let cfg = GomoteConfig {
                check_key: Arc::new(move |user, k| {
                    bool::from(key.builder_key(user).as_bytes().ct_eq(k.as_bytes()))
                }),
                idle_timeout: Duration::from_secs(30 * 60),
                sweep_every: Duration::from_secs(60),
                create_wait: Duration::from_secs(10 * 60),
            };
            let g = Gomote::new(cfg, registry.clone(), pools);
            tokio::spawn(g.clone().sweep_loop());
            if let Some(c) = &coordinator {
                c.show_remote(g.clone());
            }
            g
        });
        let acceptor = fleet.as_ref().map(|fleet| {
            let key = dashboard.key.clone();
            let (acceptor, rx) = buildlet::Acceptor::new(
                move |host_type, k| {
                    bool::from(key.builder_key(host_type).as_bytes().ct_eq(k.as_bytes()))
                },
                true,
            );
            tokio::spawn(fleet.clone().admit_from(rx));
            acceptor
        });
        let state = Arc::new(AppState {
            registry,
            admin_token: data.admin_token()?,
            coordinator: coordinator.clone(),
            corpus: Some(CorpusWriter {
                ingest: maintner.ingest().clone(),
                data_dir: maintner.data_dir().to_path_buf(),
            }),
        });
        Ok(Host {
            state,
            maintner,
            dashboard,
            coordinator,
            pages,
            acceptor,
            fleet,
            gomote,
            watcher,
            bot,
            data: data.path().to_path_buf(),
        })
    }

    pub fn router(&self) -> Router {
        let r = router(self.state.clone())
            .merge(self.maintner.router())
            .merge(self.dashboard.router())
            .merge(self.pages.router())
            .merge(crate::botserve::router(&self.data));
        let r = match &self.coordinator {
            Some(c) => r.merge(c.router()),
            None => r,
        };
        let r = match (&self.coordinator, &self.fleet) {
            (Some(c), Some(f)) => r.merge(c.reverse_router(f.clone())),
            _ => r,
        };
        let r = match &self.acceptor {
            Some(a) => r.merge(a.clone().router()),
            None => r,
        };
        match &self.gomote {
            Some(g) => r
                .merge(g.router())
                .layer(middleware::from_fn_with_state(g.clone(), Gomote::proxy)),
            None => r,
        }
    }

    /// Stops the watcher and the pollers, then forces the corpus log to disk (waiting
    /// for an append in progress to finish).
    pub fn shutdown(mut self) -> Result<()> {
        self.watcher.abort();
        self.bot.abort();
        self.maintner.shutdown();
        self.maintner
            .ingest()
            .log()
            .sync()
            .context("flushing the corpus log")
    }
}

/// Start the host and serve until SIGINT or SIGTERM.
pub async fn serve(data: DataDir, cfg: ServeConfig) -> Result<()> {
    let stop = shutdown_signal()?;
    let host = Host::start(&data, &cfg).await?;
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("listening on {}", cfg.listen))?;
    let (stopped, mut stopping) = tokio::sync::watch::channel(false);
    if let Some(tls) = &cfg.tls {
        let server = tls_server(&data, tls)?;
        let l = tokio::net::TcpListener::bind(tls.addr)
            .await
            .with_context(|| format!("listening on {}", tls.addr))?;
        tracing::info!(addr = %l.local_addr()?, "TLS listener (reverse buildlets, gomote)");
        let acceptor = host.acceptor.clone().unwrap_or_else(|| {
            buildlet::Acceptor::new(|_, _| false, true).0 // no coordinator: nothing registers
        });
        let mut stop_tls = stopping.clone();
        tokio::spawn(buildlet::reverse::serve(
            l,
            acceptor,
            host.router(),
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(server))),
            async move {
                let _ = stop_tls.wait_for(|s| *s).await;
            },
        ));
    }
    let addr = listener.local_addr()?;
    std::fs::write(data.serve_addr(), reachable(addr).to_string())
        .with_context(|| format!("writing {}", data.serve_addr().display()))?;
    tracing::info!(%addr, data = %data.path().display(), "xb serving");
    tokio::spawn(async move {
        stop.await;
        let _ = stopped.send(true);
    });
    axum::serve(listener, host.router())
        .with_graceful_shutdown(async move {
            let _ = stopping.wait_for(|s| *s).await;
        })
        .await?;
    let _ = std::fs::remove_file(data.serve_addr());
    host.shutdown()?;
    tracing::info!("xb stopped");
    Ok(())
}

/// `addr` as a client on this machine dials it: a wildcard listener is reached on
/// loopback.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, addr.port()))
        }
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port()))
        }
        _ => addr,
    }
}

/// The TLS listener's configuration: the named certificate, or a self-signed one for
/// `localhost` and `127.0.0.1` kept in `<data>/tls/` (made on first use).
pub fn tls_server(data: &DataDir, tls: &TlsListen) -> Result<rustls::ServerConfig> {
    let (cert, key) = match &tls.cert_key {
        Some(ck) => ck.clone(),
        None => {
            let dir = data.path().join("tls");
            let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
            if !cert.exists() || !key.exists() {
                std::fs::create_dir_all(&dir)?;
                let (c, k) = buildlet::tls::self_signed(&["localhost", "127.0.0.1"])?;
                crate::data::write_private(&key, &k)?;
                std::fs::write(&cert, c)?;
                tracing::info!(cert = %cert.display(), "made a self-signed TLS certificate");
            }
            (cert, key)
        }
    };
    Ok(buildlet::tls::server_config(&cert, &key)?)
}

/// Dev environment: the master key is Go's public development key, so Go's buildlets
/// and gomote in dev mode need no key files. An existing different key is kept.
fn use_dev_key(data: &DataDir) -> Result<()> {
    let path = data.path().join("builder-master.key");
    match std::fs::read_to_string(&path) {
        Ok(k) if k.trim() != DEV_MASTER_KEY => {
            tracing::warn!(key = %path.display(), "dev_keys is set but the data directory has its own master key; keeping it")
        }
        Ok(_) => {}
        Err(_) => crate::data::write_private(&path, DEV_MASTER_KEY)?,
    }
    Ok(())
}

/// Go's development master key (its buildlet's and gomote's dev mode).
pub const DEV_MASTER_KEY: &str = "gophers rule";

/// The pools and the coordinator, fed by the corpus's changes and recording into the
/// dashboard's store.
async fn start_coordinator(
    data: &DataDir,
    setup: &BuildSetup,
    registry: &Arc<Registry>,
    maintner: &maintnerd::Maintnerd,
    dashboard: &dashboard::Dashboard,
    demo: Option<&std::path::Path>,
) -> Result<(Arc<Coordinator>, Fleet, coordinator::pool::Pools)> {
    let (s, r, d) = (setup.clone(), registry.clone(), data.path().to_path_buf());
    let (pools, fleet) = tokio::task::spawn_blocking(move || builds::pools(&s, &r, &d)).await??;
    let cfg = builds::config(setup, data.path(), demo)?;
    let parts = coordinator::coordinator::Parts {
        registry: registry.clone(),
        corpus: maintner.corpus(),
        corpus_changed: maintner.ingest().subscribe(),
        store: dashboard.store.clone(),
        pools: pools.clone(),
    };
    Ok((Arc::new(Coordinator::start(cfg, parts)?), fleet, pools))
}

/// Resolves at SIGINT (Ctrl-C) or SIGTERM (what `kill` and service managers send):
/// either one stops taking connections and lets requests in flight finish. Both
/// handlers are installed now, so a signal that comes during start is not lost.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    Ok(async move {
        let name = tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        };
        tracing::info!(signal = %name, "shutting down: finishing requests in flight");
    })
}

/// Seed the corpus log if it is empty, then open maintnerd (loads the corpus).
async fn open_maintner(
    data: &DataDir,
    cfg: &ServeConfig,
    args: &maintnerd::cli::ServeArgs,
) -> Result<maintnerd::Maintnerd> {
    if let Some(recorded) = &cfg.seed_corpus {
        let n = data.seed_corpus(recorded)?;
        if n > 0 {
            tracing::info!(from = %recorded.display(), mutations = n, "seeded the corpus log with a recorded corpus");
        }
    }
    let config = args.config(&data.maintner())?;
    let svc = tokio::task::spawn_blocking(move || maintnerd::Maintnerd::open(config)).await??;
    let stats = svc
        .corpus()
        .read()
        .map(|c| c.stats().to_string())
        .unwrap_or_default();
    tracing::info!("corpus loaded: {}", stats.trim().replace('\n', "; "));
    Ok(svc)
}

/// The results store and its master key in the data directory; the builders it knows
/// are the serving builders plugins'.
async fn open_dashboard(
    data: &DataDir,
    registry: &Arc<Registry>,
    corpus: maintnerd::SharedCorpus,
) -> Result<Arc<dashboard::Dashboard>> {
    let dir = data.path().to_path_buf();
    let builders = Arc::new(PluginBuilders(registry.clone()));
    let d = tokio::task::spawn_blocking(move || dashboard::Dashboard::open(&dir, builders, corpus))
        .await??;
    Ok(Arc::new(d))
}

/// Follow the CLI's swaps and take components dropped into the watched directory.
pub fn spawn_watcher(
    reg: Arc<Registry>,
    incoming: PathBuf,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let (reg, dir) = (reg.clone(), incoming.clone());
            let r = tokio::task::spawn_blocking(move || {
                if let Err(e) = reg.reconcile() {
                    tracing::error!(error = %e, "following the plugin store failed");
                }
                reg.scan_incoming(&dir)
            })
            .await;
            for (file, outcome) in r.unwrap_or_default() {
                match outcome {
                    Ok(slot) => {
                        tracing::info!(file, plugin = %slot.name, version = %slot.serving.id, "loaded from the watched directory")
                    }
                    Err(e) => tracing::warn!(file, error = %e, "rejected"),
                }
            }
        }
    })
}

pub fn router(state: Arc<AppState>) -> Router {
    // The token is checked before a body is read, so an anonymous upload costs nothing;
    // an authorized one may be as large as the CLI takes.
    let admin = Router::new()
        .route("/admin/plugins", post(admin_load))
        .route("/admin/plugins/{name}/swap", post(admin_swap))
        .route("/admin/plugins/{name}/rollback", post(admin_rollback))
        .route("/admin/plugins/{name}", delete(admin_remove))
        .route("/admin/corpus/import-git", post(admin_import_git))
        .layer(DefaultBodyLimit::max(runtime::MAX_COMPONENT_BYTES as usize))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_admin));
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .route("/plugins", get(plugins))
        .route("/builders", get(builders))
        .merge(admin)
        .with_state(state)
}

async fn metrics(State(s): State<Arc<AppState>>) -> impl IntoResponse {
    let mut text = runtime::metrics::render(&s.registry);
    if let Some(c) = &s.coordinator {
        text.push_str(&c.metrics());
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

#[derive(Serialize)]
struct SlotJson {
    name: String,
    kind: &'static str,
    version: String,
    id: String,
    summary: String,
    history: Vec<String>,
    calls: u64,
    faults: u64,
}

impl From<&SlotInfo> for SlotJson {
    fn from(s: &SlotInfo) -> Self {
        let v = &s.serving;
        SlotJson {
            name: s.name.clone(),
            kind: s.kind.as_str(),
            version: v.description.version.clone(),
            id: v.id.as_str().to_string(),
            summary: v.description.summary.clone(),
            history: s.history.iter().map(|h| h.as_str().to_string()).collect(),
            calls: v.stats.calls.load(std::sync::atomic::Ordering::Relaxed),
            faults: v.stats.faults_total(),
        }
    }
}

async fn plugins(State(s): State<Arc<AppState>>) -> Json<Vec<SlotJson>> {
    Json(s.registry.list().iter().map(SlotJson::from).collect())
}

#[derive(Serialize)]
struct BuilderJson {
    plugin: String,
    name: String,
    host_type: String,
    goos: String,
    goarch: String,
    trybot: bool,
    try_only: bool,
}

/// Every builder of every serving builders plugin. A plugin that faults is skipped
/// (and counted), the others still answer.
async fn builders(State(s): State<Arc<AppState>>) -> Result<Json<Vec<BuilderJson>>, ApiError> {
    let handles = s.registry.serving_kind(Kind::Builders);
    let out = tokio::task::spawn_blocking(move || {
        let mut out = vec![];
        for h in handles {
            match h.plugin().builders() {
                Ok(list) => out.extend(list.into_iter().map(|b| BuilderJson {
                    plugin: h.version.name().to_string(),
                    name: b.name,
                    host_type: b.host_type,
                    goos: b.goos,
                    goarch: b.goarch,
                    trybot: b.trybot,
                    try_only: b.try_only,
                })),
                Err(e) => tracing::warn!(error = %e, "builders plugin failed; skipped"),
            }
        }
        out
    })
    .await
    .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Json(out))
}

#[derive(Deserialize)]
struct LoadQuery {
    #[serde(default)]
    swap: bool,
}

async fn admin_load(
    State(s): State<Arc<AppState>>,
    Query(q): Query<LoadQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let reg = s.registry.clone();
    if q.swap {
        let slot = blocking(move || reg.load_and_swap(&body, "admin upload")).await?;
        return Ok(Json(SlotJson::from(&slot)).into_response());
    }
    let loaded = blocking(move || reg.load(&body, "admin upload")).await?;
    Ok(Json(LoadedJson {
        version: VersionJson::from(&*loaded.version),
        serving: loaded.serving,
    })
    .into_response())
}

#[derive(Serialize)]
struct VersionJson {
    name: String,
    kind: &'static str,
    version: String,
    id: String,
}

impl From<&runtime::PluginVersion> for VersionJson {
    fn from(v: &runtime::PluginVersion) -> Self {
        VersionJson {
            name: v.name().to_string(),
            kind: v.kind().as_str(),
            version: v.description.version.clone(),
            id: v.id.as_str().to_string(),
        }
    }
}

#[derive(Serialize)]
struct LoadedJson {
    #[serde(flatten)]
    version: VersionJson,
    serving: bool,
}

/// What `xb corpus import-git` hands to the running server.
#[derive(Serialize, Deserialize)]
pub struct ImportGit {
    pub repo: String,
    pub name: Option<String>,
}

async fn admin_import_git(
    State(s): State<Arc<AppState>>,
    Json(req): Json<ImportGit>,
) -> Result<String, ApiError> {
    let Some(w) = &s.corpus else {
        return Err(ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            "this server has no corpus log".into(),
        ));
    };
    maintnerd::cli::import_git_into(w.ingest.clone(), &req.repo, req.name, &w.data_dir)
        .await
        .map_err(|e| ApiError(StatusCode::UNPROCESSABLE_ENTITY, format!("{e:#}")))
}

#[derive(Serialize)]
struct RemovedJson {
    name: String,
    removed: VersionJson,
}

async fn admin_remove(
    State(s): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<RemovedJson>, ApiError> {
    let reg = s.registry.clone();
    let n = name.clone();
    let removed = blocking(move || reg.remove(&n)).await?;
    Ok(Json(RemovedJson {
        name,
        removed: VersionJson::from(&*removed),
    }))
}

#[derive(Deserialize)]
struct SwapQuery {
    version: String,
}

async fn admin_swap(
    State(s): State<Arc<AppState>>,
    Path(name): Path<String>,
    Query(q): Query<SwapQuery>,
) -> Result<Json<SlotJson>, ApiError> {
    let reg = s.registry.clone();
    let slot = blocking(move || reg.swap(&name, &reg.resolve(&q.version)?)).await?;
    Ok(Json(SlotJson::from(&slot)))
}

async fn admin_rollback(
    State(s): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<SlotJson>, ApiError> {
    let reg = s.registry.clone();
    let slot = blocking(move || reg.rollback(&name)).await?;
    Ok(Json(SlotJson::from(&slot)))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> runtime::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(ApiError::from)
}

/// Lets a request through to the admin routes only with the admin token.
async fn require_admin(State(s): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let given = bearer_token(req.headers()).unwrap_or("");
    if !bool::from(given.as_bytes().ct_eq(s.admin_token.as_bytes())) {
        return ApiError(
            StatusCode::UNAUTHORIZED,
            "admin token required (Authorization: Bearer …)".into(),
        )
        .into_response();
    }
    // A body declared too large is refused before it is read; one sent in chunks is
    // cut off at the same size by the body limit.
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if let Some(size) = declared {
        if let Err(e) = runtime::check_component_size(size, "request body") {
            return ApiError::from(e).into_response();
        }
    }
    next.run(req).await
}

/// The token of an `Authorization: Bearer` header; the scheme name is case-insensitive
/// (RFC 9110 §11.1).
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim_start())
}

/// An error answered as text with a status.
pub struct ApiError(StatusCode, String);

impl From<runtime::Error> for ApiError {
    fn from(e: runtime::Error) -> Self {
        use runtime::Error as E;
        let status = match &e {
            E::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            E::NotAComponent { .. }
            | E::Invalid { .. }
            | E::Rejected { .. }
            | E::Link { .. }
            | E::Describe { .. }
            | E::WrongKind { .. }
            | E::SelfCheck { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            E::UnknownPlugin(_) | E::UnknownVersion(_) => StatusCode::NOT_FOUND,
            E::NothingToRollBack(_) | E::BuilderClash { .. } => StatusCode::CONFLICT,
            E::Fault { .. } => StatusCode::BAD_GATEWAY,
            E::NoStore
            | E::ReadOnly(_)
            | E::Io { .. }
            | E::Db { .. }
            | E::Corrupt { .. }
            | E::Engine(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, format!("{:#}", anyhow::Error::from(e)))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, format!("{}\n", self.1)).into_response()
    }
}
