//! The loop that ties the coordinator together.
//!
//! Two tasks: the finder wakes on every corpus change (a subscription, not a poll), on
//! [`Coordinator::rescan`] and at a slow interval (for builders plugins swapped and
//! results cleared), and queues what is wanted and not yet recorded, queued or running.
//! The dispatcher wakes when work is queued or a machine comes back, asks the scheduler
//! for an order and starts builds while pools have machines. Each build is a task of its
//! own; its outcome goes to the results store, or back to the queue if its buildlet was
//! lost.

use crate::builders::{self, BuilderSet, BuildsCache, Defined};
use crate::finder::{self, RepoWatch};
use crate::gomote::Gomote;
use crate::livelog::LiveLog;
use crate::mirror::Mirror;
use crate::model::{BuildSpec, WorkKind};
use crate::pool::{BoxFuture, Lease, Pools};
use crate::runner::{self, Outcome, RunContext};
use crate::schedule::{self, Queued};
use crate::stats::Latency;
use crate::trybots::{GerritConfig, Reviews};
use dashboard::model::{Building, NewResult, ResultKey};
use dashboard::store::{now, Store};
use maintner::time::Time;
use maintner::Corpus;
use runtime::Registry;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// Finished builds kept for the status page.
const RECENT: usize = 50;

#[derive(Clone, Debug)]
pub struct Config {
    pub repos: Vec<RepoWatch>,
    /// Newest commits per watched branch considered for post-submit builds.
    pub window: u32,
    pub trybots: bool,
    /// Builds running at once, over all pools.
    pub max_builds: usize,
    /// A build lost with its buildlet this many times is recorded as failed.
    pub max_attempts: u32,
    pub step_timeout_cap: Option<Duration>,
    /// How often the finder looks again without a corpus change.
    pub rescan: Duration,
    /// Git mirrors and source tarballs.
    pub mirror_dir: PathBuf,
    /// Where try results are posted; `None`: recorded only.
    pub gerrit: Option<GerritConfig>,
}

impl Config {
    pub fn new(mirror_dir: PathBuf, repos: Vec<RepoWatch>) -> Config {
        Config {
            repos,
            window: 10,
            trybots: true,
            max_builds: 64,
            max_attempts: 3,
            step_timeout_cap: None,
            rescan: Duration::from_secs(30),
            mirror_dir,
            gerrit: None,
        }
    }
}

/// What the coordinator works with, owned elsewhere.
pub struct Parts {
    pub registry: Arc<Registry>,
    pub corpus: Arc<RwLock<Corpus>>,
    /// Changes whenever mutations were applied to the corpus.
    pub corpus_changed: watch::Receiver<u64>,
    pub store: Store,
    pub pools: Pools,
}

/// A build that started.
#[derive(Clone)]
pub struct Active {
    pub id: u64,
    pub spec: BuildSpec,
    pub machine: String,
    pub started: Time,
    pub log: LiveLog,
    /// Stops its task (a try build whose patch set is obsolete).
    pub abort: Option<tokio::task::AbortHandle>,
}

/// A build that ended, kept for the status page.
#[derive(Clone)]
pub struct Finished {
    pub id: u64,
    pub spec: BuildSpec,
    /// `passed`, `failed: step …`, `lost: …`, `requeued: …`.
    pub outcome: String,
    pub ok: bool,
    pub log_hash: String,
    pub finished: Time,
    pub duration: Duration,
    pub log: LiveLog,
}

#[derive(Default)]
pub struct Counters {
    pub queued: AtomicU64,
    pub started: AtomicU64,
    pub passed: AtomicU64,
    pub failed: AtomicU64,
    pub lost: AtomicU64,
    pub requeued: AtomicU64,
    pub dropped: AtomicU64,
    pub fallbacks: AtomicU64,
    pub finder_passes: AtomicU64,
}

#[derive(Default)]
pub(crate) struct State {
    pub queue: BTreeMap<u64, Queued>,
    /// Queued or running builds, by result key.
    pub known: HashMap<ResultKey, u64>,
    pub active: BTreeMap<u64, Active>,
    pub recent: VecDeque<Finished>,
    pub latency: Latency,
    pub next_id: u64,
    pub builders: BuilderSet,
    pub last_fallback: Option<String>,
    /// The builds of each current try set, by (change, patch set).
    pub try_sets: HashMap<(i32, i32), Vec<BuildSpec>>,
}

pub(crate) struct Inner {
    pub cfg: Config,
    pub registry: Arc<Registry>,
    pub corpus: Arc<RwLock<Corpus>>,
    pub store: Store,
    pub pools: Pools,
    pub run: RunContext,
    pub state: Mutex<State>,
    pub counters: Counters,
    pub reviews: Option<Arc<Reviews>>,
    /// The remote buildlets handed to people, when gomote is served.
    pub remote: std::sync::OnceLock<Gomote>,
    wake: Notify,
    rescan: Notify,
}

/// A running coordinator; dropping it stops finding and dispatching (builds that run
/// finish in their tasks).
pub struct Coordinator {
    pub(crate) inner: Arc<Inner>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Coordinator {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Coordinator {
    /// Lists `gomote`'s remote buildlets on the status page (once; later calls are ignored).
    pub fn show_remote(&self, gomote: Gomote) {
        let _ = self.inner.remote.set(gomote);
    }

    /// Starts finding, dispatching and (with a Gerrit configured) posting try results.
    /// Fails only when the trybot journal cannot be opened.
    pub fn start(cfg: Config, parts: Parts) -> anyhow::Result<Coordinator> {
        let remotes = cfg
            .repos
            .iter()
            .map(|r| (r.name.clone(), r.remote.clone()))
            .collect();
        let run = RunContext {
            mirror: Arc::new(Mirror::new(&cfg.mirror_dir, remotes)),
            pools: parts.pools.clone(),
            step_timeout_cap: cfg.step_timeout_cap,
        };
        let reviews = match &cfg.gerrit {
            Some(g) => Some(Arc::new(Reviews::open(g.clone())?)),
            None => None,
        };
        let inner = Arc::new(Inner {
            reviews: reviews.clone(),
            cfg,
            registry: parts.registry,
            corpus: parts.corpus,
            store: parts.store,
            pools: parts.pools,
            run,
            state: Mutex::default(),
            counters: Counters::default(),
            remote: Default::default(),
            wake: Notify::new(),
            rescan: Notify::new(),
        });
        let mut tasks = vec![
            tokio::spawn(find_loop(inner.clone(), parts.corpus_changed)),
            tokio::spawn(dispatch_loop(inner.clone())),
        ];
        if let Some(r) = reviews {
            tasks.push(tokio::spawn(r.post_loop()));
        }
        Ok(Coordinator { inner, tasks })
    }

    /// Look for work now (after a retry cleared a result, a plugin was swapped).
    pub fn rescan(&self) {
        self.inner.rescan.notify_one();
    }

    pub fn counters(&self) -> &Counters {
        &self.inner.counters
    }
}

async fn find_loop(inner: Arc<Inner>, mut corpus_changed: watch::Receiver<u64>) {
    let mut cache = BuildsCache::default();
    loop {
        let (i, c) = (inner.clone(), std::mem::take(&mut cache));
        match tokio::task::spawn_blocking(move || i.find_pass(c)).await {
            Ok(c) => cache = c,
            Err(e) => tracing::error!(error = %e, "the finder panicked"),
        }
        let seen = inner.state.lock().unwrap().builders.versions.clone();
        tokio::select! {
            _ = builders_swapped(&inner.registry, &seen) => {},
            r = corpus_changed.changed() => if r.is_err() {
                // The corpus is gone: only rescans from now on.
                corpus_changed = watch::Sender::new(0).subscribe();
                std::future::pending::<()>().await;
            },
            _ = inner.rescan.notified() => {},
            _ = tokio::time::sleep(inner.cfg.rescan) => {},
        }
    }
}

/// Resolves when the serving builders plugins are no longer `seen` (a load, swap,
/// rollback or removal, from the admin API, the CLI or the watched directory).
async fn builders_swapped(registry: &Registry, seen: &[runtime::VersionId]) {
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let mut now: Vec<runtime::VersionId> = registry
            .serving_kind(runtime::Kind::Builders)
            .into_iter()
            .map(|h| h.version.id.clone())
            .collect();
        now.sort();
        if now != seen {
            return;
        }
    }
}

async fn dispatch_loop(inner: Arc<Inner>) {
    loop {
        let i = inner.clone();
        let started = tokio::task::spawn_blocking(move || i.dispatch()).await;
        for (q, def, lease) in started.unwrap_or_default() {
            let id = q.id;
            let task = tokio::spawn(build(inner.clone(), q, def, lease));
            if let Some(a) = inner.state.lock().unwrap().active.get_mut(&id) {
                a.abort = Some(task.abort_handle());
            }
        }
        tokio::select! {
            _ = inner.wake.notified() => {},
            _ = inner.pools.freed() => {},
        }
    }
}

type Start = (Queued, Defined, BoxFuture<anyhow::Result<Lease>>);

impl Inner {
    /// Queue every wanted build that is not recorded, queued or running; drop queued
    /// work whose builder is gone or whose try set is obsolete. Blocking.
    fn find_pass(&self, mut cache: BuildsCache) -> BuildsCache {
        self.counters.finder_passes.fetch_add(1, Relaxed);
        let set = BuilderSet::load(&self.registry);
        cache.retain(&set.versions);
        let found = {
            let corpus = self.corpus.read().unwrap();
            finder::find(
                &corpus,
                &set,
                &mut cache,
                &self.cfg.repos,
                self.cfg.window,
                self.cfg.trybots,
            )
        };
        let mut try_sets: HashMap<(i32, i32), Vec<BuildSpec>> = HashMap::new();
        for b in &found.builds {
            if let WorkKind::Try { change, patch_set } = b.work.kind {
                try_sets
                    .entry((change, patch_set))
                    .or_default()
                    .push(b.clone());
            }
        }
        let fresh: Vec<BuildSpec> = {
            let st = self.state.lock().unwrap();
            found
                .builds
                .into_iter()
                .filter(|b| !st.known.contains_key(&b.key()))
                .collect()
        };
        let fresh: Vec<BuildSpec> = fresh
            .into_iter()
            .filter(|b| !self.store.has_result(&b.key()).unwrap_or(false))
            .collect();
        let mut st = self.state.lock().unwrap();
        let t = now();
        let mut added = 0;
        for spec in fresh {
            let key = spec.key();
            if st.known.contains_key(&key) {
                continue;
            }
            st.next_id += 1;
            let id = st.next_id;
            st.known.insert(key, id);
            st.queue.insert(
                id,
                Queued {
                    id,
                    spec,
                    enqueued: t,
                    attempts: 0,
                },
            );
            added += 1;
        }
        let stale: Vec<u64> = st
            .queue
            .values()
            .filter(|q| {
                !set.builders.contains_key(&q.spec.builder)
                    || matches!(q.spec.work.kind, WorkKind::Try { change, patch_set }
                        if !found.try_sets.contains(&(change, patch_set)))
            })
            .map(|q| q.id)
            .collect();
        for id in &stale {
            if let Some(q) = st.queue.remove(id) {
                st.known.remove(&q.spec.key());
            }
        }
        cancel_obsolete(&mut st, &found.try_sets);
        st.builders = set;
        st.try_sets = try_sets;
        drop(st);
        self.review_try_sets(None);
        self.counters.queued.fetch_add(added, Relaxed);
        self.counters.dropped.fetch_add(stale.len() as u64, Relaxed);
        if added > 0 {
            tracing::info!(added, "queued builds");
            self.wake.notify_one();
        }
        cache
    }

    /// Start what the scheduler puts first while machines last. Blocking (the
    /// scheduler is a plugin call).
    fn dispatch(&self) -> Vec<Start> {
        let free: BTreeMap<String, u32> = self
            .pools
            .iter()
            .map(|p| (p.host_type().to_string(), p.capacity().free))
            .filter(|(_, f)| *f > 0)
            .collect();
        let (candidates, running) = {
            let st = self.state.lock().unwrap();
            let c: Vec<Queued> = st
                .queue
                .values()
                .filter(|q| free.contains_key(&q.spec.host_type))
                .cloned()
                .collect();
            (c, st.active.len())
        };
        if candidates.is_empty() || running >= self.cfg.max_builds {
            return vec![];
        }
        let decision = schedule::decide(&self.registry, &candidates, &free);
        let mut st = self.state.lock().unwrap();
        if let Some(why) = &decision.fallback {
            if st.last_fallback.as_ref() != Some(why) {
                tracing::warn!(reason = %why, "scheduling first-in-first-out");
            }
            self.counters.fallbacks.fetch_add(1, Relaxed);
        }
        st.last_fallback = decision.fallback;
        let mut out = vec![];
        for id in decision.order {
            if st.active.len() >= self.cfg.max_builds {
                break;
            }
            let Some(q) = st.queue.get(&id) else { continue };
            let Some(def) = st.builders.get(&q.spec.builder).cloned() else {
                continue;
            };
            let Some(pool) = self.pools.get(&q.spec.host_type) else {
                continue;
            };
            let Some(lease) = pool.reserve() else {
                continue;
            };
            let q = st.queue.remove(&id).expect("looked up above");
            let wait = now().nanos().saturating_sub(q.enqueued.nanos()).max(0) as u64;
            st.latency
                .record(&q.spec.host_type, Duration::from_nanos(wait));
            st.active.insert(
                id,
                Active {
                    id,
                    spec: q.spec.clone(),
                    machine: "starting".into(),
                    started: now(),
                    log: LiveLog::default(),
                    abort: None,
                },
            );
            self.counters.started.fetch_add(1, Relaxed);
            out.push((q, def, lease));
        }
        drop(st);
        for (q, _, _) in &out {
            if let WorkKind::Try { change, patch_set } = q.spec.work.kind {
                self.review_try_sets(Some((change, patch_set)));
            }
        }
        out
    }

    /// Journals what the try sets call for (one set, or all). Blocking (sqlite).
    fn review_try_sets(&self, only: Option<(i32, i32)>) {
        let Some(reviews) = &self.reviews else { return };
        let sets: Vec<(Vec<BuildSpec>, bool)> = {
            let st = self.state.lock().unwrap();
            st.try_sets
                .iter()
                .filter(|(k, _)| only.is_none_or(|o| o == **k))
                .map(|(_, specs)| {
                    let started = specs.iter().any(|s| {
                        st.known
                            .get(&s.key())
                            .is_some_and(|id| st.active.contains_key(id))
                    });
                    (specs.clone(), started)
                })
                .collect()
        };
        for (specs, started) in sets {
            reviews.note(&specs, started, &self.store);
        }
    }

    fn log_of(&self, id: u64) -> LiveLog {
        self.state.lock().unwrap().active[&id].log.clone()
    }
}

async fn build(
    inner: Arc<Inner>,
    q: Queued,
    def: Defined,
    lease: BoxFuture<anyhow::Result<Lease>>,
) {
    let log = inner.log_of(q.id);
    let started = now();
    let clock = std::time::Instant::now();
    let outcome = match lease.await {
        Ok(lease) => {
            if let Some(a) = inner.state.lock().unwrap().active.get_mut(&q.id) {
                a.machine = lease.name.clone();
            }
            let outcome = run_on(&inner, &q, &def, &lease, &log).await;
            drop(lease);
            outcome
        }
        Err(e) => Outcome::Lost(format!("no buildlet: {e:#}")),
    };
    log.append(&format!("\n:: {outcome:?} after {:?}\n", clock.elapsed()));
    finish(&inner, q, outcome, started, clock.elapsed(), log).await;
}

async fn run_on(inner: &Inner, q: &Queued, def: &Defined, lease: &Lease, log: &LiveLog) -> Outcome {
    let spec = &q.spec;
    if spec.work.kind == WorkKind::PostSubmit {
        let marker = Building {
            builder: spec.builder.clone(),
            repo: spec.work.repo.clone(),
            commit: spec.work.commit.clone(),
            go_commit: spec.work.go_commit.clone().unwrap_or_default(),
            // xb serves this live log as a page; the text is at /status/logs/{id}.
            url: format!("/logs/live/{}", q.id),
            expires: Time::from_nanos(
                now().nanos() + i64::from(def.builder.build_timeout.max(60)) * 1_000_000_000,
            ),
        };
        let store = inner.store.clone();
        let _ = tokio::task::spawn_blocking(move || store.set_building(&marker)).await;
    }
    let (d, w) = (def.clone(), spec.work.clone());
    let plan = match tokio::task::spawn_blocking(move || builders::plan(&d, &w)).await {
        Ok(Ok(plan)) => plan,
        Ok(Err(msg)) => return Outcome::Failed(msg),
        Err(e) => return Outcome::Failed(format!("planning: {e}")),
    };
    runner::run(&inner.run, spec, def, &plan, lease, log).await
}

async fn finish(
    inner: &Arc<Inner>,
    mut q: Queued,
    outcome: Outcome,
    started: Time,
    duration: Duration,
    log: LiveLog,
) {
    // Readers of the live log see it end only once the build is listed as ended.
    let live = log.clone();
    let key = q.spec.key();
    let (ok, text) = match &outcome {
        Outcome::Passed => (true, "passed".to_string()),
        Outcome::Failed(why) => (false, format!("failed: {why}")),
        Outcome::Lost(why) if q.attempts + 1 < inner.cfg.max_attempts => {
            inner.counters.lost.fetch_add(1, Relaxed);
            inner.counters.requeued.fetch_add(1, Relaxed);
            tracing::warn!(build = %q.spec.title(), reason = %why, "buildlet lost; queued again");
            q.attempts += 1;
            let mut st = inner.state.lock().unwrap();
            st.active.remove(&q.id);
            push_recent(
                &mut st,
                finished(
                    &q,
                    format!("requeued: {why}"),
                    false,
                    String::new(),
                    duration,
                    log,
                ),
            );
            q.enqueued = now();
            st.queue.insert(q.id, q);
            drop(st);
            live.finish();
            inner.wake.notify_one();
            return;
        }
        Outcome::Lost(why) => (
            false,
            format!("lost {} times: {why}", inner.cfg.max_attempts),
        ),
    };
    let counter = if ok {
        &inner.counters.passed
    } else {
        &inner.counters.failed
    };
    counter.fetch_add(1, Relaxed);
    let result = NewResult {
        key: key.clone(),
        ok,
        started,
        run_time: duration,
        log: Some(log.text()),
    };
    let store = inner.store.clone();
    let hash = match tokio::task::spawn_blocking(move || store.record(&result)).await {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => {
            tracing::error!(build = %q.spec.title(), error = %e, "recording the result failed");
            String::new()
        }
        Err(e) => {
            tracing::error!(error = %e, "recording the result panicked");
            String::new()
        }
    };
    tracing::info!(build = %q.spec.title(), outcome = %text, "build finished");
    {
        let mut st = inner.state.lock().unwrap();
        st.active.remove(&q.id);
        st.known.remove(&key);
        push_recent(&mut st, finished(&q, text, ok, hash, duration, log));
    }
    live.finish();
    if let WorkKind::Try { change, patch_set } = q.spec.work.kind {
        let i = inner.clone();
        let _ =
            tokio::task::spawn_blocking(move || i.review_try_sets(Some((change, patch_set)))).await;
    }
    inner.wake.notify_one();
}

/// Stops the running builds of try sets that are no longer current (a new patch set
/// was uploaded, or the trybot request withdrawn), as Go's coordinator does.
fn cancel_obsolete(st: &mut State, current: &HashSet<(i32, i32)>) {
    let obsolete: Vec<u64> = st
        .active
        .values()
        .filter(|a| {
            matches!(a.spec.work.kind, WorkKind::Try { change, patch_set }
            if !current.contains(&(change, patch_set)))
        })
        .map(|a| a.id)
        .collect();
    for id in obsolete {
        let Some(a) = st.active.remove(&id) else {
            continue;
        };
        if let Some(h) = &a.abort {
            h.abort();
        }
        st.known.remove(&a.spec.key());
        tracing::info!(build = %a.spec.title(), "cancelled: its patch set is obsolete");
        a.log.append("\n:: cancelled: the try set is obsolete\n");
        a.log.finish();
        let f = Finished {
            id,
            spec: a.spec,
            outcome: "cancelled: obsolete patch set".into(),
            ok: false,
            log_hash: String::new(),
            finished: now(),
            duration: Duration::ZERO,
            log: a.log,
        };
        push_recent(st, f);
    }
}

fn finished(
    q: &Queued,
    outcome: String,
    ok: bool,
    log_hash: String,
    duration: Duration,
    log: LiveLog,
) -> Finished {
    Finished {
        id: q.id,
        spec: q.spec.clone(),
        outcome,
        ok,
        log_hash,
        finished: now(),
        duration,
        log,
    }
}

fn push_recent(st: &mut State, f: Finished) {
    if st.recent.len() == RECENT {
        st.recent.pop_back();
    }
    st.recent.push_front(f);
}

/// Host types that builds are queued for but no pool serves.
pub(crate) fn unserved(st: &State, pools: &Pools) -> HashSet<String> {
    st.queue
        .values()
        .map(|q| q.spec.host_type.clone())
        .filter(|h| pools.get(h).is_none())
        .collect()
}
