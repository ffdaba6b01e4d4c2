//! `xb bench build-go`: builds and tests a real Go tree (Debian's `golang-src`, in
//! `/usr/lib/go-1.19`) with the go-builders plugin's plan for a builder, on the local
//! pool — make.bash on the main buildlet, then `go tool dist test` either there alone or
//! split by the plugin over helper buildlets that receive the built tree — and reports
//! the wall time of each phase. It takes minutes to hours, so it is a benchmark, not a
//! test.

use anyhow::{bail, Context, Result};
use coordinator::builders::BuilderSet;
use coordinator::livelog::LiveLog;
use coordinator::mirror::Mirror;
use coordinator::pool::local::{LocalConfig, LocalPool};
use coordinator::pool::Pools;
use coordinator::runner::{self, Outcome, RunContext};
use coordinator::{BuildSpec, Work, WorkKind};
use runtime::{EnvVar, Registry, Runtime, RuntimeConfig};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Options {
    /// A Go installation with its sources (`src/`, `test/`, `misc/`, `api/`); it is
    /// also the bootstrap toolchain.
    pub goroot: PathBuf,
    pub builder: String,
    /// Helper buildlets for the tests; 0 runs them all on the main buildlet.
    pub helpers: u32,
    /// Where the Go repository, the buildlets' work directories and the log go.
    pub dir: PathBuf,
    /// Longest the build and each step may run, instead of the plan's (a loaded or
    /// small machine needs longer than Go's builders had).
    pub timeout: Option<Duration>,
    /// Go on after a failing test (`go tool dist test -k`).
    pub keep_going: bool,
    /// Directory of the bundled plugin components (go-builders.wasm).
    pub bundled: PathBuf,
}

/// What one run measured.
pub struct Report {
    pub outcome: Outcome,
    pub total: Duration,
    /// Until the test step began: sources onto the buildlet and make.bash.
    pub make: Duration,
    pub log: PathBuf,
    pub summary: String,
}

pub async fn run(o: &Options) -> Result<Report> {
    let repo = go_repository(&o.goroot, &o.dir.join("go.git"))?;
    let rev = git(&repo, &["rev-parse", "HEAD"])?;
    let rt = Arc::new(Runtime::new(RuntimeConfig::default())?);
    let registry = Registry::in_memory(rt);
    let wasm = o.bundled.join("go_builders.wasm");
    let bytes = std::fs::read(&wasm).with_context(|| {
        format!(
            "{} (build the plugins: cargo xtask plugins)",
            wasm.display()
        )
    })?;
    registry.load(&bytes, &wasm.display().to_string())?;
    let set = BuilderSet::load(&registry);
    let Some(def) = set.get(&o.builder) else {
        bail!("go-builders has no builder {:?}", o.builder);
    };
    let mut def = def.clone();
    def.builder.helpers = o.helpers;

    let work = Work {
        kind: WorkKind::PostSubmit,
        repo: "go".into(),
        branch: "master".into(),
        commit: rev.clone(),
        go_branch: None,
        go_commit: None,
        commit_time: maintner::time::Time::from_nanos(0),
    };
    let mut plan = coordinator::builders::plan(&def, &work).map_err(anyhow::Error::msg)?;
    // The host type's bootstrap path is its image's; here the bootstrap Go is `goroot`.
    let bootstrap = o.goroot.display().to_string();
    plan.env.retain(|e| e.name != "GOROOT_BOOTSTRAP");
    plan.env.push(EnvVar {
        name: "GOROOT_BOOTSTRAP".into(),
        value: bootstrap.clone(),
    });
    // Go's builders reach the internet, and on a builder (GO_BUILDER_NAME set) Go's
    // tests use it: net looks up google.com, say. Here tests stay on this machine;
    // without the name they skip what needs an external network.
    plan.env.retain(|e| e.name != "GO_BUILDER_NAME");
    for step in &mut plan.steps {
        step.env.retain(|e| e.name != "GO_BUILDER_NAME");
        if o.keep_going && step.shardable {
            step.args.push("-k".into());
        }
    }

    if let Some(t) = o.timeout {
        let secs = u32::try_from(t.as_secs()).unwrap_or(u32::MAX);
        def.builder.build_timeout = secs;
        for step in &mut plan.steps {
            step.timeout = secs;
        }
    }
    let host_type = def.builder.host_type.clone();
    let mut pools = Pools::new();
    let xb = std::env::current_exe()?.display().to_string();
    pools.add(Arc::new(LocalPool::new(
        LocalConfig {
            host_type: host_type.clone(),
            command: vec![xb, "buildlet".into()],
            count: 1 + o.helpers,
            env: vec![("GOROOT_BOOTSTRAP".into(), bootstrap)],
            dir: o.dir.join("buildlets"),
        },
        pools.notifier(),
    )));
    let mirror = Mirror::new(
        &o.dir.join("mirror"),
        HashMap::from([("go".to_string(), repo.display().to_string())]),
    );
    let cx = RunContext {
        mirror: Arc::new(mirror),
        pools: pools.clone(),
        step_timeout_cap: None,
    };
    let spec = BuildSpec {
        builder: o.builder.clone(),
        host_type: host_type.clone(),
        work,
    };
    let pool = pools.get(&host_type).expect("added above");
    let main = pool.reserve().context("no buildlet free")?.await?;
    let log = LiveLog::default();
    let started = Instant::now();
    let make = tokio::spawn(watch_for(log.clone(), "\n:: step test"));
    let outcome = runner::run(&cx, &spec, &def, &plan, &main, &log).await;
    let total = started.elapsed();
    let make = if make.is_finished() {
        make.await.unwrap_or(total)
    } else {
        make.abort();
        total
    };
    drop(main);
    let text = log.text();
    let file = o.dir.join(format!("build-go-{}-helpers.log", o.helpers));
    std::fs::write(&file, &text)?;
    Ok(Report {
        outcome,
        total,
        make,
        log: file,
        summary: summarize(&text),
    })
}

/// How long after it started `log` first holds `marker`.
async fn watch_for(log: LiveLog, marker: &'static str) -> Duration {
    let t = Instant::now();
    loop {
        if log.text().contains(marker) {
            return t.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The shard lines and Go's test verdicts from a build log.
fn summarize(log: &str) -> String {
    let mut out = String::new();
    let (mut ok, mut failed) = (0, vec![]);
    for line in log.lines() {
        if line.starts_with(":: step test:") || line.starts_with(":: shard ") {
            out.push_str(line);
            out.push('\n');
        } else if line.starts_with("ok ") {
            ok += 1;
        } else if let Some(pkg) = line.strip_prefix("FAIL\t") {
            failed.push(pkg.split('\t').next().unwrap_or(pkg).to_string());
        }
    }
    out.push_str(&format!("packages ok: {ok}; failed: {}", failed.len()));
    if !failed.is_empty() {
        out.push_str(&format!(" ({})", failed.join(", ")));
    }
    out.push('\n');
    out
}

/// A git repository holding `goroot`'s Go tree in one commit (made once, then reused).
fn go_repository(goroot: &Path, repo: &Path) -> Result<PathBuf> {
    if repo.join(".git").is_dir() {
        return Ok(repo.to_path_buf());
    }
    for dir in ["src", "misc", "test", "api"] {
        if !goroot.join(dir).is_dir() {
            bail!(
                "{} has no {dir}/: a Go tree with its sources is needed (Debian: golang-src)",
                goroot.display()
            );
        }
    }
    let tmp = repo.with_extension("partial");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    for dir in ["src", "misc", "test", "api"] {
        // `dir/.` copies what a symlinked directory (Debian's layout) points at.
        let status = Command::new("cp")
            .arg("-a")
            .arg(goroot.join(dir).join("."))
            .arg(tmp.join(dir))
            .status()?;
        if !status.success() {
            bail!("copying {} failed", goroot.join(dir).display());
        }
    }
    git(&tmp, &["init", "--quiet", "--initial-branch=master"])?;
    git(&tmp, &["add", "-A"])?;
    git(
        &tmp,
        &[
            "commit",
            "--quiet",
            "-m",
            "Go tree from the local installation",
        ],
    )?;
    std::fs::rename(&tmp, repo)?;
    Ok(repo.to_path_buf())
}

fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let who = ["-c", "user.name=xb", "-c", "user.email=xb@localhost"];
    let out = maintnerd::git::run(dir, &[&who[..], args].concat(), None, &[])
        .with_context(|| format!("git {}", args.join(" ")))?;
    Ok(String::from_utf8_lossy(&out).trim().to_string())
}
