//! The store state of one plugin call and the host side of the WIT imports: `log`,
//! `clock`, `corpus`, `results` and `site`. WASI is linked but grants nothing: no preopened
//! directories, no environment, no arguments, no network, stdio discarded. WASI's
//! HTTP interfaces are linked too, since a JavaScript component built by
//! componentize-js imports them (for `fetch`) whether it uses them or not; every
//! request is denied.

use crate::bindings::{clock, corpus, log, progress, results, site, types};
use std::sync::Arc;
use wasmtime::component::ResourceTable;
use wasmtime::ResourceLimiter;
use wasmtime_wasi::{
    Deterministic, HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView,
};
use wasmtime_wasi_http::{WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

/// What `clock.now` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The host's wall clock.
    Live,
    /// A fixed instant (replay: the time of the mutation being replayed).
    Fixed(types::Timestamp),
}

impl Clock {
    pub fn now(self) -> types::Timestamp {
        match self {
            Clock::Live => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0),
            Clock::Fixed(t) => t,
        }
    }
}

/// A query's answer as the `corpus` import returns it: a value or a message.
pub type Answer<T> = Result<T, String>;

/// The indexed queries a plugin makes of the corpus, as the host's `corpus` import
/// answers them. The maintner corpus implements them (see `corpus.rs`);
/// [`EmptyCorpus`] answers for a host that has none.
pub trait CorpusQueries: Send + Sync {
    fn generation(&self) -> u64;
    fn issues(&self, q: &corpus::IssueQuery) -> Answer<corpus::IssuePage>;
    fn issue(&self, id: &types::IssueRef) -> Answer<corpus::Issue>;
    fn issue_comments(
        &self,
        id: &types::IssueRef,
        limit: u32,
        cursor: Option<String>,
    ) -> Answer<corpus::CommentPage>;
    fn issue_events(
        &self,
        id: &types::IssueRef,
        limit: u32,
        cursor: Option<String>,
    ) -> Answer<corpus::EventPage>;
    fn changes(&self, q: &corpus::ChangeQuery) -> Answer<corpus::ChangePage>;
    fn change(&self, id: &types::ChangeRef) -> Answer<corpus::Change>;
    fn change_closed(&self, _id: &types::ChangeRef) -> Answer<Option<types::Timestamp>> {
        Err(NO_CORPUS.into())
    }
    fn change_messages(
        &self,
        id: &types::ChangeRef,
        limit: u32,
        cursor: Option<String>,
    ) -> Answer<corpus::MessagePage>;
    fn change_votes(
        &self,
        id: &types::ChangeRef,
        patch_set: Option<u32>,
    ) -> Answer<Vec<corpus::Vote>>;
    fn commits(&self, q: &corpus::CommitQuery) -> Answer<corpus::CommitPage>;
    fn commit(&self, _hash: &str) -> Answer<corpus::Commit> {
        Err(NO_CORPUS.into())
    }
    fn projects(&self) -> Vec<String> {
        vec![]
    }
    fn branches(&self, _repo: &str) -> Answer<Vec<String>> {
        Err(NO_CORPUS.into())
    }
    /// A bot rule says what it decides on now (see [`progress`]); only a view that
    /// pins traps on subjects keeps it.
    fn deciding(&self, _s: progress::Subject) {}
}

/// The build results a dashboard reads.
pub trait ResultsView: Send + Sync {
    fn results_for(&self, repo: &str, commits: &[String]) -> Vec<results::BuildResult>;
    fn running(&self, _repo: &str, _commits: &[String]) -> Vec<results::BuildRunning> {
        vec![]
    }
    fn repos(&self) -> Vec<String> {
        vec![]
    }
}

/// The builders a page may ask about: those of the serving builders plugins.
pub trait BuilderSetView: Send + Sync {
    /// The post-submit builders, sorted.
    fn builders(&self) -> Vec<String>;
    /// Those that build post-submit commits of `repo` on `branch` against Go's
    /// `go_branch`, sorted.
    fn post_submit(&self, repo: &str, branch: &str, go_branch: &str) -> Vec<String>;
}

/// No builders plugin: no builder is known, so none is said not to apply.
pub struct NoBuilders;

impl BuilderSetView for NoBuilders {
    fn builders(&self) -> Vec<String> {
        vec![]
    }
    fn post_submit(&self, _: &str, _: &str, _: &str) -> Vec<String> {
        vec![]
    }
}

/// A host without a corpus: every query says so.
pub struct EmptyCorpus;

const NO_CORPUS: &str = "no corpus is attached to this host";

impl CorpusQueries for EmptyCorpus {
    fn generation(&self) -> u64 {
        0
    }
    fn issues(&self, _: &corpus::IssueQuery) -> Answer<corpus::IssuePage> {
        Err(NO_CORPUS.into())
    }
    fn issue(&self, _: &types::IssueRef) -> Answer<corpus::Issue> {
        Err(NO_CORPUS.into())
    }
    fn issue_comments(
        &self,
        _: &types::IssueRef,
        _: u32,
        _: Option<String>,
    ) -> Answer<corpus::CommentPage> {
        Err(NO_CORPUS.into())
    }
    fn issue_events(
        &self,
        _: &types::IssueRef,
        _: u32,
        _: Option<String>,
    ) -> Answer<corpus::EventPage> {
        Err(NO_CORPUS.into())
    }
    fn changes(&self, _: &corpus::ChangeQuery) -> Answer<corpus::ChangePage> {
        Err(NO_CORPUS.into())
    }
    fn change(&self, _: &types::ChangeRef) -> Answer<corpus::Change> {
        Err(NO_CORPUS.into())
    }
    fn change_messages(
        &self,
        _: &types::ChangeRef,
        _: u32,
        _: Option<String>,
    ) -> Answer<corpus::MessagePage> {
        Err(NO_CORPUS.into())
    }
    fn change_votes(&self, _: &types::ChangeRef, _: Option<u32>) -> Answer<Vec<corpus::Vote>> {
        Err(NO_CORPUS.into())
    }
    fn commits(&self, _: &corpus::CommitQuery) -> Answer<corpus::CommitPage> {
        Err(NO_CORPUS.into())
    }
}

/// No results recorded.
pub struct NoResults;

impl ResultsView for NoResults {
    fn results_for(&self, _: &str, _: &[String]) -> Vec<results::BuildResult> {
        vec![]
    }
}

/// The data a call's imports read from. Cheap to clone: everything is shared.
#[derive(Clone)]
pub struct HostData {
    pub corpus: Arc<dyn CorpusQueries>,
    pub results: Arc<dyn ResultsView>,
    pub builders: Arc<dyn BuilderSetView>,
}

impl std::fmt::Debug for HostData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HostData")
    }
}

impl Default for HostData {
    fn default() -> Self {
        HostData {
            corpus: Arc::new(EmptyCorpus),
            results: Arc::new(NoResults),
            builders: Arc::new(NoBuilders),
        }
    }
}

/// Caps memory and table growth for one store and remembers the peak, so a memory
/// bomb fails with a fault that says "memory" rather than an anonymous trap.
#[derive(Debug)]
pub struct CallLimiter {
    pub cap: usize,
    pub peak: usize,
    /// Set when a growth past the cap was refused.
    pub refused: Option<usize>,
}

const MAX_TABLE_ELEMENTS: usize = 100_000;

impl ResourceLimiter for CallLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.cap {
            self.refused = Some(desired);
            return Err(wasmtime::Error::msg(format!(
                "memory cap of {} bytes reached (asked to grow from {current} to {desired})",
                self.cap
            )));
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// Store state of one call.
pub struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    no_requests: NoRequests,
    table: ResourceTable,
    pub(crate) limiter: CallLimiter,
    clock: Clock,
    /// What `site.base-url` answers.
    base_url: Arc<str>,
    data: HostData,
    /// "name@version", the target of the plugin's log lines.
    plugin: Arc<str>,
}

impl HostState {
    pub fn new(plugin: Arc<str>, opts: &crate::CallOptions, data: HostData) -> Self {
        let clock = opts.clock;
        HostState {
            wasi: sandbox(clock),
            http: WasiHttpCtx::new(),
            no_requests: NoRequests,
            table: ResourceTable::new(),
            limiter: CallLimiter {
                cap: opts.memory,
                peak: 0,
                refused: None,
            },
            clock,
            base_url: opts.base_url.clone(),
            data,
            plugin,
        }
    }
}

impl HostState {
    /// The memory cap and the data of the next call on a kept instance (the clock,
    /// fixed in WASI's context too, stays the instance's).
    pub(crate) fn renew(&mut self, memory_cap: usize, data: HostData) {
        self.limiter.cap = memory_cap;
        self.data = data;
    }
}

/// WASI with nothing granted: no preopens, environment or arguments (the builder's
/// defaults), stdio discarded, and no network at all — not even socket creation, where
/// the default would allow sockets that every address check then refuses. On a fixed
/// (replay) clock, WASI's clocks and random numbers are fixed too, so a replay is
/// deterministic whichever clock or randomness the plugin reads.
fn sandbox(clock: Clock) -> WasiCtx {
    let mut b = WasiCtx::builder();
    b.allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
    if let Clock::Fixed(t) = clock {
        b.wall_clock(FixedClock(t))
            .monotonic_clock(FixedClock(t))
            .secure_random(Deterministic::new(REPLAY_RANDOM.to_vec()))
            .insecure_random(Deterministic::new(REPLAY_RANDOM.to_vec()))
            .insecure_random_seed(0);
    }
    b.build()
}

/// The bytes "random" numbers cycle through in replay.
pub const REPLAY_RANDOM: &[u8] = b"xbuild replay: deterministic, not random";

/// A clock stopped at the replayed instant.
struct FixedClock(types::Timestamp);

impl HostWallClock for FixedClock {
    fn resolution(&self) -> std::time::Duration {
        std::time::Duration::from_secs(1)
    }
    fn now(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.0.max(0) as u64)
    }
}

impl HostMonotonicClock for FixedClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        (self.0.max(0) as u64).saturating_mul(1_000_000_000)
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.no_requests,
        }
    }
}

/// `wasi:http/outgoing-handler` granting nothing: every request is denied before any
/// connection, as `HTTP-request-denied`.
struct NoRequests;

type ResponseFuture = Box<
    dyn std::future::Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<WasiBody>,
                Box<dyn std::future::Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            )>,
        > + Send,
>;

impl WasiHttpHooks for NoRequests {
    fn send_request(
        &mut self,
        _: http::Request<WasiBody>,
        _: Option<wasmtime_wasi_http::RequestOptions>,
        _: Box<dyn std::future::Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> ResponseFuture {
        Box::new(std::future::ready(Err(
            wasmtime_wasi_http::Error::HttpRequestDenied,
        )))
    }
}

impl types::Host for HostState {}
impl results::Host for HostState {
    fn results_for(&mut self, repo: String, commits: Vec<String>) -> Vec<results::BuildResult> {
        self.data.results.results_for(&repo, &commits)
    }
    fn running(&mut self, repo: String, commits: Vec<String>) -> Vec<results::BuildRunning> {
        self.data.results.running(&repo, &commits)
    }
    fn repos(&mut self) -> Vec<String> {
        self.data.results.repos()
    }
}

impl site::Host for HostState {
    fn base_url(&mut self) -> String {
        self.base_url.to_string()
    }
    fn builders(&mut self) -> Vec<String> {
        self.data.builders.builders()
    }
    fn post_submit_builders(
        &mut self,
        repo: String,
        branch: String,
        go_branch: String,
    ) -> Vec<String> {
        self.data.builders.post_submit(&repo, &branch, &go_branch)
    }
}

impl log::Host for HostState {
    fn log(&mut self, level: log::Level, message: String) {
        let plugin = &*self.plugin;
        match level {
            log::Level::Trace => tracing::trace!(plugin, "{message}"),
            log::Level::Debug => tracing::debug!(plugin, "{message}"),
            log::Level::Info => tracing::info!(plugin, "{message}"),
            log::Level::Warn => tracing::warn!(plugin, "{message}"),
            log::Level::Error => tracing::error!(plugin, "{message}"),
        }
    }
}

impl clock::Host for HostState {
    fn now(&mut self) -> types::Timestamp {
        self.clock.now()
    }
}

impl corpus::Host for HostState {
    fn generation(&mut self) -> u64 {
        self.data.corpus.generation()
    }
    fn issues(&mut self, query: corpus::IssueQuery) -> Answer<corpus::IssuePage> {
        self.data.corpus.issues(&query)
    }
    fn find_issue(&mut self, id: types::IssueRef) -> Answer<corpus::Issue> {
        self.data.corpus.issue(&id)
    }
    fn issue_comments(
        &mut self,
        id: types::IssueRef,
        limit: u32,
        cursor: Option<String>,
    ) -> Answer<corpus::CommentPage> {
        self.data.corpus.issue_comments(&id, limit, cursor)
    }
    fn issue_events(
        &mut self,
        id: types::IssueRef,
        limit: u32,
        cursor: Option<String>,
    ) -> Answer<corpus::EventPage> {
        self.data.corpus.issue_events(&id, limit, cursor)
    }
    fn changes(&mut self, query: corpus::ChangeQuery) -> Answer<corpus::ChangePage> {
        self.data.corpus.changes(&query)
    }
    fn find_change(&mut self, id: types::ChangeRef) -> Answer<corpus::Change> {
        self.data.corpus.change(&id)
    }
    fn change_closed(&mut self, id: types::ChangeRef) -> Answer<Option<types::Timestamp>> {
        self.data.corpus.change_closed(&id)
    }
    fn change_messages(
        &mut self,
        id: types::ChangeRef,
        limit: u32,
        cursor: Option<String>,
    ) -> Answer<corpus::MessagePage> {
        self.data.corpus.change_messages(&id, limit, cursor)
    }
    fn change_votes(
        &mut self,
        id: types::ChangeRef,
        patch_set: Option<u32>,
    ) -> Answer<Vec<corpus::Vote>> {
        self.data.corpus.change_votes(&id, patch_set)
    }
    fn commits(&mut self, query: corpus::CommitQuery) -> Answer<corpus::CommitPage> {
        self.data.corpus.commits(&query)
    }
    fn find_commit(&mut self, hash: String) -> Answer<corpus::Commit> {
        self.data.corpus.commit(&hash)
    }
    fn projects(&mut self) -> Vec<String> {
        self.data.corpus.projects()
    }
    fn branches(&mut self, repo: String) -> Answer<Vec<String>> {
        self.data.corpus.branches(&repo)
    }
}

impl progress::Host for HostState {
    fn deciding(&mut self, s: progress::Subject) {
        self.data.corpus.deciding(s)
    }
}

impl crate::bindings::http_types::Host for HostState {}
