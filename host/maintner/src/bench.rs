//! Benchmarks: a generator of a synthetic log with the shape of the Go project's
//! (issues with comments and events, a long git history, Gerrit changes with NoteDB votes),
//! the corpus load benchmark (`xb bench corpus-load LOGDIR`), and try-work latency after
//! one new mutation.
//!
//! ```text
//! cargo run --release -p maintner --example gen_log -- /tmp/synth-log
//! cargo run --release -p maintner --example corpus_load -- /tmp/synth-log
//! ```

use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::disklog::{DiskLog, LogError, SyncPolicy};
use crate::maintpb::{GithubLabel, GithubMilestone, GithubMutation, Mutation};
use crate::synth::{self, gerrit_person, GerritSim, Hasher, IssueSpec};
use crate::Corpus;

/// The shape of the synthetic log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenSpec {
    pub issues: u32,
    pub comments: u32,
    pub changes: u32,
    pub commits: u32,
}

impl Default for GenSpec {
    /// The realistic shape from the issue: 40k issues, 200k comments, 6k changes, 80k
    /// commits.
    fn default() -> Self {
        GenSpec {
            issues: 40_000,
            comments: 200_000,
            changes: 6_000,
            commits: 80_000,
        }
    }
}

/// What [`generate`] wrote.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GenReport {
    pub mutations: u64,
    pub bytes: u64,
    pub segments: usize,
}

/// A small deterministic generator (so every run writes the same log).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }

    /// Between `min` and `min + spread - 1` words.
    fn words(&mut self, min: u64, spread: u64) -> String {
        let n = min + self.below(spread);
        self.text(n)
    }

    fn text(&mut self, words: u64) -> String {
        const VOCAB: &[&str] = &[
            "the",
            "go",
            "command",
            "runtime",
            "fails",
            "when",
            "building",
            "with",
            "module",
            "cache",
            "error",
            "test",
            "panic",
            "linux",
            "amd64",
            "reproduce",
            "version",
            "expected",
            "got",
            "output",
            "goroutine",
            "stack",
            "trace",
            "please",
            "fix",
            "this",
            "issue",
            "also",
            "happens",
            "on",
            "darwin",
            "windows",
            "arm64",
            "compiler",
            "gc",
            "memory",
            "allocation",
            "slow",
            "benchmark",
            "regression",
            "since",
            "release",
        ];
        let mut s = String::new();
        for i in 0..words {
            if i > 0 {
                s.push(if i % 13 == 0 { '\n' } else { ' ' });
            }
            s.push_str(VOCAB[self.below(VOCAB.len() as u64) as usize]);
        }
        s
    }
}

const OWNER: &str = "golang";
const REPO: &str = "go";
const PROJECT: &str = "go.googlesource.com/go";
const START: i64 = 1_500_000_000;

/// Writes a synthetic log of shape `spec` into `dir` (which should be empty).
pub fn generate(dir: &Path, spec: &GenSpec) -> Result<GenReport, LogError> {
    let mut log = DiskLog::open_with(dir, SyncPolicy::Manual)?;
    let mut rng = Rng(42);
    let mut n = 0u64;
    let mut put = |log: &mut DiskLog, m: Mutation| -> Result<(), LogError> {
        n += 1;
        log.append_batch(std::slice::from_ref(&m)).map(|_| ())
    };
    put(&mut log, repo_mutation())?;
    github(&mut log, &mut rng, spec, &mut put)?;
    gerrit(&mut log, &mut rng, spec, &mut put)?;
    log.sync()?;
    Ok(GenReport {
        mutations: n,
        bytes: log.total_size(),
        segments: log.segments().len(),
    })
}

const LABELS: &[&str] = &[
    "NeedsFix",
    "NeedsInvestigation",
    "NeedsDecision",
    "Documentation",
    "Proposal",
    "Testing",
    "FrozenDueToAge",
    "OS-Linux",
    "OS-Windows",
    "OS-Darwin",
    "WaitingForInfo",
    "release-blocker",
    "Performance",
    "compiler/runtime",
    "gopls",
    "Tools",
    "help wanted",
    "ExpertNeeded",
];

fn repo_mutation() -> Mutation {
    Mutation {
        github: Some(GithubMutation {
            owner: OWNER.into(),
            repo: REPO.into(),
            labels: LABELS
                .iter()
                .enumerate()
                .map(|(i, l)| GithubLabel {
                    id: 1000 + i as i64,
                    name: (*l).into(),
                })
                .collect(),
            milestones: (0..30)
                .map(|i| GithubMilestone {
                    id: 5000 + i,
                    title: format!("Go1.{i}"),
                    closed: Some(crate::maintpb::BoolChange { val: i < 25 }),
                    number: i + 1,
                })
                .collect(),
        }),
        ..Default::default()
    }
}

type Put<'a> = dyn FnMut(&mut DiskLog, Mutation) -> Result<(), LogError> + 'a;

fn github(
    log: &mut DiskLog,
    rng: &mut Rng,
    spec: &GenSpec,
    put: &mut Put<'_>,
) -> Result<(), LogError> {
    let per_issue = u64::from(spec.comments / spec.issues.max(1));
    let mut comment_id = 1_000_000i64;
    let mut event_id = 5_000_000i64;
    let mut comments_left = u64::from(spec.comments);
    for n in 1..=spec.issues as i32 {
        let created = START + i64::from(n) * 600;
        let labels: Vec<(i64, &str)> = (0..rng.below(3))
            .map(|_| {
                let i = rng.below(LABELS.len() as u64) as usize;
                (1000 + i as i64, LABELS[i])
            })
            .collect();
        let milestone = rng.below(30) as i64;
        let title = format!("cmd/go: {}", rng.text(4));
        let body = rng.words(3, 8);
        let login = format!("user{}", rng.below(5000));
        put(
            log,
            synth::new_issue(&IssueSpec {
                owner: OWNER,
                repo: REPO,
                number: n,
                id: 100_000_000 + i64::from(n),
                user: (10_000 + rng.below(5000) as i64, &login),
                created,
                updated: created + 3600,
                title: &title,
                body: &body,
                labels: &labels,
                milestone: (milestone < 28).then(|| (5000 + milestone, "", milestone + 1)),
                closed: rng.below(3) > 0,
                pull_request: rng.below(10) == 0,
            }),
        )?;
        // One page of comments per issue, as the poller logs them.
        let count = if n == spec.issues as i32 {
            comments_left
        } else {
            rng.below(2 * per_issue + 1).min(comments_left)
        };
        comments_left -= count;
        if count > 0 {
            let bodies: Vec<(i64, (i64, String), i64, String)> = (0..count)
                .map(|i| {
                    comment_id += 1;
                    let u = rng.below(5000) as i64;
                    (
                        comment_id,
                        (10_000 + u, format!("user{u}")),
                        created + 60 * (i as i64 + 1),
                        rng.words(2, 5),
                    )
                })
                .collect();
            let list: Vec<_> = bodies
                .iter()
                .map(|(id, (u, l), t, b)| (*id, (*u, l.as_str()), *t, b.as_str()))
                .collect();
            put(log, synth::comments(OWNER, REPO, n, &list))?;
        }
        let mut evs: Vec<(i64, &str, i64, i64, &str)> = Vec::new();
        for (_, name) in &labels {
            event_id += 1;
            evs.push((event_id, "labeled", 10_000, created + 30, name));
        }
        event_id += 1;
        evs.push((event_id, "closed", 10_000, created + 3600, ""));
        put(log, synth::events(OWNER, REPO, n, &evs))?;
    }
    Ok(())
}

fn gerrit(
    log: &mut DiskLog,
    rng: &mut Rng,
    spec: &GenSpec,
    put: &mut Put<'_>,
) -> Result<(), LogError> {
    let mut sim = GerritSim::new(PROJECT, START, Hasher::with_salt(7));
    let changes = spec.changes.max(1);
    // The history, with a change every so often.
    let history_per_change = (spec.commits / changes).max(1);
    let gobot = ("Gopher Robot", 5976);
    let mut cl = 10_000;
    for i in 0..spec.commits {
        let author = format!("Dev {0} <dev{0}@golang.org>", rng.below(800));
        let subject = format!("cmd/compile: {}", rng.text(4));
        let fixes = match rng.below(4) {
            0 => format!("Fixes #{}\n\n", 1 + rng.below(40_000)),
            _ => String::new(),
        };
        let msg = format!(
            "{subject}\n\n{fixes}Change-Id: I{:040x}\n",
            rng.below(u64::MAX)
        );
        let files = [
            (
                "src/cmd/compile/ssa.go",
                rng.below(40) as i64,
                rng.below(20) as i64,
            ),
            ("src/cmd/compile/ssa_test.go", rng.below(30) as i64, 0),
        ];
        let files = &files[..1 + (i % 2) as usize];
        put(log, sim.branch_commit("master", &author, &msg, files))?;
        if i % history_per_change == history_per_change - 1 && cl < 10_000 + changes as i32 {
            cl += 1;
            change(log, rng, &mut sim, cl, gobot, put)?;
        }
    }
    Ok(())
}

/// One change's life: uploads, reviews, trybot runs; most get merged, some wait.
fn change(
    log: &mut DiskLog,
    rng: &mut Rng,
    sim: &mut GerritSim,
    cl: i32,
    gobot: (&str, i64),
    put: &mut Put<'_>,
) -> Result<(), LogError> {
    let owner_id = 1000 + rng.below(500) as i64;
    let owner = ("Owner", owner_id);
    let person = gerrit_person(owner.0, owner.1);
    let change_id = format!("I{:040x}", 0xc1_0000 + cl as u64);
    let title = format!("runtime: {}", rng.text(6));
    let reviewer = ("Reviewer", 2000 + rng.below(50) as i64);
    let patch_sets = 1 + rng.below(3);
    for ps in 1..=patch_sets {
        let files = [("src/runtime/proc.go", 10 + ps as i64, 2)];
        put(
            log,
            sim.upload(cl, &person, &title, &change_id, &files, None, &[]),
        )?;
        put(log, sim.vote(cl, owner, owner, "Run-TryBot", 1))?;
        let last = ps == patch_sets;
        let pending = last && rng.below(20) == 0;
        if !pending {
            put(log, sim.vote(cl, gobot, gobot, "TryBot-Result", 1))?;
        }
    }
    put(log, sim.vote(cl, reviewer, reviewer, "Code-Review", 2))?;
    if rng.below(10) < 8 {
        put(
            log,
            sim.meta(
                cl,
                &person,
                &format!("Update patch set {patch_sets}"),
                Some("Change has been successfully merged"),
                &["Status: merged".into()],
            ),
        )?;
    }
    Ok(())
}

/// Peak and current resident set of this process, from `/proc/self/status` (kB).
pub fn memory_kb() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// CPU time (user + system) this process has used, in seconds, from `/proc/self/stat`
/// (clock ticks of 1/100 s, the Linux default `CLK_TCK`).
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Resets the peak RSS counter (Linux `clear_refs` 5), so VmHWM measures what follows.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Go's maintner on this machine: a 61 MB log loads in about 1.8 s with 218 MB peak RSS.
pub const GO_LOAD_MB_PER_S: f64 = 61.0 / 1.8;
pub const GO_PEAK_RSS_MB_PER_LOG_MB: f64 = 218.0 / 61.0;

/// What [`corpus_load`] measured.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LoadReport {
    pub mutations: u64,
    pub log_bytes: u64,
    pub seconds: f64,
    /// CPU time of the load (both threads), seconds; on a busy machine this, not the wall
    /// time, says what the load costs.
    pub cpu_seconds: f64,
    pub mutations_per_s: f64,
    pub mb_per_s: f64,
    /// Peak RSS (VmHWM) during the load, kB.
    pub peak_rss_kb: u64,
    /// RSS before the load, kB (the process's baseline).
    pub baseline_rss_kb: u64,
    pub peak_rss_mb_per_log_mb: f64,
    pub issues: u64,
    pub comments: u64,
    pub changes: u64,
    pub commits: u64,
    pub try_work: u64,
}

const MB: f64 = 1024.0 * 1024.0;

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let log_mb = self.log_bytes as f64 / MB;
        writeln!(
            f,
            "loaded {} mutations, {:.1} MB in {:.3} s (CPU {:.2} s): {:.0} mutations/s, {:.1} MB/s",
            self.mutations,
            log_mb,
            self.seconds,
            self.cpu_seconds,
            self.mutations_per_s,
            self.mb_per_s
        )?;
        writeln!(
            f,
            "peak RSS {:.1} MB (baseline {:.1} MB): {:.2} MB per MB of log",
            self.peak_rss_kb as f64 / 1024.0,
            self.baseline_rss_kb as f64 / 1024.0,
            self.peak_rss_mb_per_log_mb
        )?;
        writeln!(
            f,
            "corpus: {} issues, {} comments, {} changes, {} commits, {} try work",
            self.issues, self.comments, self.changes, self.commits, self.try_work
        )?;
        write!(
            f,
            "vs Go maintner (61 MB in 1.8 s, 218 MB peak): {:.1}x the throughput, {:.2}x the memory per MB",
            self.mb_per_s / GO_LOAD_MB_PER_S,
            self.peak_rss_mb_per_log_mb / GO_PEAK_RSS_MB_PER_LOG_MB
        )
    }
}

/// Loads the log in `dir` into a corpus and reports throughput and peak memory.
/// Run it in a fresh process for a meaningful peak RSS.
pub fn corpus_load(dir: &Path) -> Result<LoadReport, LogError> {
    let (report, _) = load_corpus(dir)?;
    Ok(report)
}

/// Like [`corpus_load`], also returning the corpus (for follow-up measurements).
pub fn load_corpus(dir: &Path) -> Result<(LoadReport, Corpus), LogError> {
    reset_peak_rss();
    let (_, baseline) = memory_kb();
    let cpu_start = cpu_seconds();
    let start = Instant::now();
    let log = DiskLog::open(dir)?;
    let corpus = Corpus::load(&log)?;
    let seconds = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_start;
    let (peak, after) = memory_kb();
    tracing::debug!(peak_kb = peak, rss_after_kb = after, "corpus load memory");
    let log_bytes = log.total_size();
    let s = corpus.stats();
    let log_mb = log_bytes as f64 / MB;
    let report = LoadReport {
        mutations: s.mutations.total,
        log_bytes,
        seconds,
        cpu_seconds: cpu,
        mutations_per_s: s.mutations.total as f64 / seconds,
        mb_per_s: log_mb / seconds,
        peak_rss_kb: peak,
        baseline_rss_kb: baseline,
        peak_rss_mb_per_log_mb: (peak as f64 / 1024.0) / log_mb.max(f64::MIN_POSITIVE),
        issues: s.github_issues,
        comments: s.github_comments,
        changes: s.gerrit_cls,
        commits: s.git_commits,
        try_work: s.try_work,
    };
    Ok((report, corpus))
}

/// Try-work latency after one new mutation: p50, p99 and max of apply + `try_work()`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LatencyReport {
    pub samples: usize,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    /// Of which applying the mutation (re-evaluating only the change it touched).
    pub apply_p50_us: f64,
    pub apply_p99_us: f64,
    pub waiting: usize,
}

impl fmt::Display for LatencyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "try work after one mutation ({} samples, {} changes waiting): p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs (apply alone: p50 {:.1} µs, p99 {:.1} µs)",
            self.samples, self.waiting, self.p50_us, self.p99_us, self.max_us, self.apply_p50_us, self.apply_p99_us
        )
    }
}

/// Measures how long it takes, after one new Gerrit mutation (a vote, a result, a new
/// patch set), to apply it and read the try-work list. Adds `samples` mutations to a fresh
/// set of changes in the corpus's Go project.
pub fn trywork_latency(corpus: &mut Corpus, samples: usize) -> LatencyReport {
    let mut sim = GerritSim::new(PROJECT, START * 2, Hasher::with_salt(0xbe7c));
    let mut rng = Rng(9);
    let owner = ("Owner", 4242);
    let person = gerrit_person(owner.0, owner.1);
    let cls: Vec<i32> = (900_000..900_050).collect();
    for &cl in &cls {
        corpus.apply(&sim.upload(
            cl,
            &person,
            "net: bench",
            &format!("I{cl:040x}"),
            &[("a.go", 1, 1)],
            None,
            &[],
        ));
    }
    let mut times: Vec<Duration> = Vec::with_capacity(samples);
    let mut apply_times: Vec<Duration> = Vec::with_capacity(samples);
    let mut waiting = 0;
    for i in 0..samples {
        let cl = cls[rng.below(cls.len() as u64) as usize];
        let m = match i % 3 {
            0 => sim.vote(cl, owner, owner, "Run-TryBot", 1),
            1 => sim.vote(
                cl,
                ("Gopher Robot", 5976),
                ("Gopher Robot", 5976),
                "TryBot-Result",
                1,
            ),
            _ => sim.upload(
                cl,
                &person,
                "net: bench",
                &format!("I{cl:040x}"),
                &[("a.go", i as i64, 1)],
                None,
                &[],
            ),
        };
        let start = Instant::now();
        corpus.apply(&m);
        apply_times.push(start.elapsed());
        let work = corpus.try_work();
        times.push(start.elapsed());
        waiting = work.len();
    }
    times.sort();
    apply_times.sort();
    let q = |v: &[Duration], p: f64| {
        v.get(((v.len().max(1) - 1) as f64 * p) as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1e6)
    };
    LatencyReport {
        samples,
        p50_us: q(&times, 0.5),
        p99_us: q(&times, 0.99),
        max_us: q(&times, 1.0),
        apply_p50_us: q(&apply_times, 0.5),
        apply_p99_us: q(&apply_times, 0.99),
        waiting,
    }
}
