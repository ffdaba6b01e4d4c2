//! Benchmarks: the corpus load benchmark (`xb bench corpus-load LOGDIR`), try-work latency
//! after one new mutation, and the synthetic log they run on ([`generate`]).
//!
//! They print what they measure and nothing else: comparisons with Go's maintner belong
//! beside a measurement of it (the crate README), not in the output.
//!
//! ```text
//! cargo run --release -p maintner --example gen_log -- /tmp/synth-log
//! cargo run --release -p maintner --example corpus_load -- /tmp/synth-log
//! ```

use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::disklog::{DiskLog, LogError};
use crate::synth::{gerrit_person, GerritSim, Hasher};
use crate::Corpus;

mod gen;

pub use gen::{generate, GenReport, GenSpec};
use gen::{Rng, PROJECT, START};

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

/// CPU time (user + system) the calling thread has used, in seconds.
pub fn thread_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec, which `ts` is.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0.0;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Resets the peak RSS counter (Linux `clear_refs` 5), so VmHWM measures what follows.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// What [`corpus_load`] measured.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LoadReport {
    pub mutations: u64,
    pub log_bytes: u64,
    pub seconds: f64,
    /// CPU time of the load (both threads), seconds; on a busy machine this, not the wall
    /// time, says what the load costs.
    pub cpu_seconds: f64,
    /// CPU time of the thread that applies the mutations (the calling one): the part of
    /// the load that cannot be spread over cores.
    pub apply_cpu_seconds: f64,
    pub mutations_per_s: f64,
    /// MiB of log per second.
    pub mb_per_s: f64,
    /// Peak RSS (VmHWM) during the load, kB.
    pub peak_rss_kb: u64,
    /// RSS before the load, kB (the process's baseline).
    pub baseline_rss_kb: u64,
    /// Peak RSS in MiB per MiB of log.
    pub peak_rss_mb_per_log_mb: f64,
    pub issues: u64,
    pub comments: u64,
    pub changes: u64,
    pub commits: u64,
    pub try_work: u64,
}

const MIB: f64 = 1024.0 * 1024.0;

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "loaded {} mutations, {:.1} MiB in {:.3} s (CPU {:.2} s, applying thread {:.2} s): {:.0} mutations/s, {:.1} MiB/s",
            self.mutations,
            self.log_bytes as f64 / MIB,
            self.seconds,
            self.cpu_seconds,
            self.apply_cpu_seconds,
            self.mutations_per_s,
            self.mb_per_s
        )?;
        writeln!(
            f,
            "peak RSS {:.1} MiB (baseline {:.1} MiB): {:.2} MiB per MiB of log",
            self.peak_rss_kb as f64 / 1024.0,
            self.baseline_rss_kb as f64 / 1024.0,
            self.peak_rss_mb_per_log_mb
        )?;
        writeln!(
            f,
            "corpus: {} issues, {} comments, {} changes, {} commits, {} try work",
            self.issues, self.comments, self.changes, self.commits, self.try_work
        )
    }
}

/// Several loads of one log, each in a fresh process: on a shared machine one run says
/// little, so the minimum and the median are what to compare.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadRuns(pub Vec<LoadReport>);

impl fmt::Display for LoadRuns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Minimum, median (the lower of two middles) and maximum.
        let stat = |pick: fn(&LoadReport) -> f64| {
            let mut v: Vec<f64> = self.0.iter().map(pick).collect();
            v.sort_by(f64::total_cmp);
            let at = |i: usize| v.get(i).copied().unwrap_or(0.0);
            (
                at(0),
                at(v.len().saturating_sub(1) / 2),
                at(v.len().saturating_sub(1)),
            )
        };
        let (wall, wall_med, _) = stat(|r| r.seconds);
        let (cpu, cpu_med, _) = stat(|r| r.cpu_seconds);
        let (apply, apply_med, _) = stat(|r| r.apply_cpu_seconds);
        let (rss, _, rss_max) = stat(|r| r.peak_rss_kb as f64 / 1024.0);
        writeln!(
            f,
            "{} runs, min / median: wall {wall:.3} / {wall_med:.3} s, CPU {cpu:.2} / {cpu_med:.2} s, applying thread {apply:.2} / {apply_med:.2} s; peak RSS {rss:.1}–{rss_max:.1} MiB",
            self.0.len()
        )
    }
}

/// Loads the log in `dir` (ours, or either layout of Go's: see
/// [`DiskLog::open_read_only`]) into a corpus and reports throughput and peak memory.
/// Changes nothing in `dir`. Run it in a fresh process for a meaningful peak RSS.
pub fn corpus_load(dir: &Path) -> Result<LoadReport, LogError> {
    let (report, _) = load_corpus(dir)?;
    Ok(report)
}

/// Like [`corpus_load`], also returning the corpus (for follow-up measurements).
pub fn load_corpus(dir: &Path) -> Result<(LoadReport, Corpus), LogError> {
    reset_peak_rss();
    let (_, baseline) = memory_kb();
    let cpu_start = cpu_seconds();
    let apply_cpu_start = thread_cpu_seconds();
    let start = Instant::now();
    let log = DiskLog::open_read_only(dir)?;
    let corpus = Corpus::load(&log)?;
    let seconds = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_start;
    let apply_cpu = thread_cpu_seconds() - apply_cpu_start;
    let (peak, after) = memory_kb();
    tracing::debug!(peak_kb = peak, rss_after_kb = after, "corpus load memory");
    let log_bytes = log.total_size();
    let s = corpus.stats();
    let log_mb = log_bytes as f64 / MIB;
    let report = LoadReport {
        mutations: s.mutations.total,
        log_bytes,
        seconds,
        cpu_seconds: cpu,
        apply_cpu_seconds: apply_cpu,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_report_prints_only_what_it_measured() {
        let r = LoadReport {
            mutations: 1000,
            log_bytes: 2 << 20,
            seconds: 0.5,
            cpu_seconds: 0.75,
            apply_cpu_seconds: 0.25,
            mutations_per_s: 2000.0,
            mb_per_s: 4.0,
            peak_rss_kb: 8 << 10,
            baseline_rss_kb: 1 << 10,
            peak_rss_mb_per_log_mb: 4.0,
            issues: 1,
            comments: 2,
            changes: 3,
            commits: 4,
            try_work: 5,
        };
        assert_eq!(
            r.to_string(),
            "loaded 1000 mutations, 2.0 MiB in 0.500 s (CPU 0.75 s, applying thread 0.25 s): 2000 mutations/s, 4.0 MiB/s\n\
             peak RSS 8.0 MiB (baseline 1.0 MiB): 4.00 MiB per MiB of log\n\
             corpus: 1 issues, 2 comments, 3 changes, 4 commits, 5 try work\n"
        );
    }
}
