//! Runs one build: sources onto the buildlet, then the plan's steps in order, each with
//! its output streamed to the build's live log. A shardable step lists its tests
//! (`COMMAND ARGS -list`, as `go tool dist test -list`), the builders plugin splits them,
//! and helper buildlets that receive the main buildlet's tree (`/tgz` → `/writetgz`) run a
//! shard each (`COMMAND ARGS TEST...`) beside the main one; a shard's output goes into the
//! live log, whole, when it ends.
//!
//! What went wrong decides what happens next: a command that fails or times out fails the
//! build; a buildlet that stops answering loses it, and the coordinator queues it again.

use crate::builders::Defined;
use crate::livelog::LiveLog;
use crate::mirror::{Mirror, MirrorError};
use crate::model::{BuildSpec, WorkKind};
use crate::pool::{Lease, Pools};
use buildlet::client::{Client, Error as BuildletError, ExecOpts};
use futures_util::stream::{FuturesUnordered, StreamExt};
use runtime::{BuildPlan, Step};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct RunContext {
    pub mirror: Arc<Mirror>,
    pub pools: Pools,
    /// No step runs longer than this, whatever its plan says.
    pub step_timeout_cap: Option<Duration>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    /// The build ran and failed: a step's command, its timeout, missing sources.
    Failed(String),
    /// The buildlet went away; the build may run again elsewhere.
    Lost(String),
}

impl Outcome {
    fn of_exec(step: &str, e: BuildletError) -> Outcome {
        match e {
            BuildletError::Remote(state) => Outcome::Failed(format!("step {step}: {state}")),
            BuildletError::Timeout { after, .. } => {
                Outcome::Failed(format!("step {step}: timed out after {after:?}"))
            }
            BuildletError::Output(e) => Outcome::Failed(format!("step {step}: {e}")),
            BuildletError::Refused { .. } => Outcome::Failed(format!("step {step}: {e}")),
            other => Outcome::Lost(format!("step {step}: {other}")),
        }
    }
}

/// Runs the build on `main` (and helpers it takes from the pool while sharding).
pub async fn run(
    cx: &RunContext,
    spec: &BuildSpec,
    def: &Defined,
    plan: &BuildPlan,
    main: &Lease,
    log: &LiveLog,
) -> Outcome {
    log.append(&format!(
        "{}\nbuilder {} on {}\n",
        spec.title(),
        spec.builder,
        main.name
    ));
    let timeout = Duration::from_secs(u64::from(def.builder.build_timeout.max(1)));
    let body = async {
        if let Err(o) = put_sources(cx, spec, &main.client, log).await {
            return o;
        }
        for step in &plan.steps {
            let outcome = if step.shardable {
                run_sharded(cx, spec, def, plan, step, main, log).await
            } else {
                exec_step(cx, plan, step, &step.args, &main.client, log).await
            };
            if outcome != Outcome::Passed {
                return outcome;
            }
        }
        Outcome::Passed
    };
    match tokio::time::timeout(timeout, body).await {
        Ok(o) => o,
        Err(_) => Outcome::Failed(format!("build timed out after {timeout:?}")),
    }
}

/// Where a repository's tree goes on the buildlet: `go` for Go, the repo name otherwise
/// (`net`, `demo`).
pub fn source_dir(repo: &str) -> &str {
    repo
}

async fn put_sources(
    cx: &RunContext,
    spec: &BuildSpec,
    client: &Client,
    log: &LiveLog,
) -> Result<(), Outcome> {
    let w = &spec.work;
    let mut trees = vec![(w.repo.as_str(), w.commit.as_str())];
    if let (Some(go), true) = (&w.go_commit, w.repo != "go") {
        trees.push(("go", go.as_str()));
    }
    for (repo, rev) in trees {
        let tgz = cx.mirror.tarball(repo, rev).await.map_err(|e| match e {
            MirrorError::UnknownRevision { .. } | MirrorError::UnknownRepo(_) => {
                Outcome::Failed(format!("sources: {e}"))
            }
            MirrorError::Git(_) => Outcome::Failed(format!("sources: {e}")),
        })?;
        log.append(&format!(
            ":: sources {repo}@{rev} -> {}/\n",
            source_dir(repo)
        ));
        let file = tokio::fs::File::open(&tgz)
            .await
            .map_err(|e| Outcome::Failed(format!("sources: {}: {e}", tgz.display())))?;
        client
            .put_tar(file, source_dir(repo))
            .await
            .map_err(|e| Outcome::of_exec("sources", e))?;
        if let Some((path, text)) = version_file(repo, rev) {
            client
                .put(std::io::Cursor::new(text.into_bytes()), &path, 0o644)
                .await
                .map_err(|e| Outcome::of_exec("sources", e))?;
        }
    }
    Ok(())
}

/// A Go tree from `git archive` has no VERSION file, and make.bash outside a git
/// checkout refuses to run without one: Go's coordinator wrote `devel <rev>`.
pub fn version_file(repo: &str, rev: &str) -> Option<(String, String)> {
    (repo == "go").then(|| {
        (
            format!("{}/VERSION", source_dir(repo)),
            format!("devel {rev}"),
        )
    })
}

fn exec_opts(cx: &RunContext, plan: &BuildPlan, step: &Step, args: &[String]) -> ExecOpts {
    let mut t = Duration::from_secs(u64::from(step.timeout.max(1)));
    if let Some(cap) = cx.step_timeout_cap {
        t = t.min(cap);
    }
    ExecOpts {
        args: args.to_vec(),
        extra_env: plan
            .env
            .iter()
            .chain(&step.env)
            .map(|e| format!("{}={}", e.name, e.value))
            .collect(),
        dir: (!step.dir.is_empty()).then(|| step.dir.clone()),
        timeout: Some(t),
        ..Default::default()
    }
}

async fn exec_step(
    cx: &RunContext,
    plan: &BuildPlan,
    step: &Step,
    args: &[String],
    client: &Client,
    log: &LiveLog,
) -> Outcome {
    log.append(&format!(
        "\n:: step {}: {} {}\n",
        step.name,
        step.command,
        args.join(" ")
    ));
    let opts = exec_opts(cx, plan, step, args);
    match client.exec(&step.command, &opts, &mut log.writer()).await {
        Ok(()) => Outcome::Passed,
        Err(e) => Outcome::of_exec(&step.name, e),
    }
}

async fn run_sharded(
    cx: &RunContext,
    spec: &BuildSpec,
    def: &Defined,
    plan: &BuildPlan,
    step: &Step,
    main: &Lease,
    log: &LiveLog,
) -> Outcome {
    // The test list.
    let mut list_args = step.args.clone();
    list_args.push("-list".into());
    let mut listing = Vec::new();
    let opts = exec_opts(cx, plan, step, &list_args);
    if let Err(e) = main.client.exec(&step.command, &opts, &mut listing).await {
        log.append(&String::from_utf8_lossy(&listing));
        return Outcome::of_exec(&format!("{} (listing tests)", step.name), e);
    }
    let tests: Vec<String> = String::from_utf8_lossy(&listing)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    let wanted = match spec.work.kind {
        WorkKind::PostSubmit => def.builder.helpers,
        WorkKind::Try { .. } => def.builder.try_helpers,
    };
    let helpers = take_helpers(cx, spec, wanted, main, log).await;
    let machines: Vec<&Lease> = std::iter::once(main).chain(helpers.iter()).collect();
    let shards = shard(def, &tests, machines.len() as u32, log).await;
    log.append(&format!(
        "\n:: step {}: {} tests in {} shards over {} buildlets\n",
        step.name,
        tests.len(),
        shards.len(),
        machines.len()
    ));
    // Shards' outputs would interleave: each is kept apart and goes into the log when
    // its shard ends, so the log shows the step's progress while the others run.
    let mut runs: FuturesUnordered<_> = shards
        .iter()
        .enumerate()
        .map(|(i, tests)| {
            let machine = machines[i % machines.len()];
            log.append(&format!(
                ":: shard {}/{} starts on {}: {} tests\n",
                i + 1,
                shards.len(),
                machine.name,
                tests.len()
            ));
            let mut args = step.args.clone();
            args.extend(tests.iter().cloned());
            async move {
                let out = LiveLog::default();
                let opts = exec_opts(cx, plan, step, &args);
                let started = Instant::now();
                let r = machine
                    .client
                    .exec(&step.command, &opts, &mut out.writer())
                    .await;
                (
                    i,
                    machine.name.clone(),
                    args,
                    out.text(),
                    r,
                    started.elapsed(),
                )
            }
        })
        .collect();
    let mut outcome = Outcome::Passed;
    let mut rerun = vec![];
    while let Some((i, machine, args, text, r, took)) = runs.next().await {
        log.append(&format!(
            "\n:: shard {}/{} on {machine}, done in {:.1} s: {} {}\n{text}",
            i + 1,
            shards.len(),
            took.as_secs_f64(),
            step.command,
            args.join(" ")
        ));
        if let Err(e) = r {
            let o = Outcome::of_exec(&format!("{} shard {}", step.name, i + 1), e);
            if matches!(o, Outcome::Lost(_)) && i % machines.len() != 0 {
                // A helper that went away: its shard runs again on the main buildlet.
                rerun.push(args);
            } else if outcome == Outcome::Passed {
                outcome = o;
            }
        }
    }
    drop(runs);
    drop(helpers);
    for args in rerun {
        if outcome != Outcome::Passed {
            break;
        }
        outcome = exec_step(cx, plan, step, &args, &main.client, log).await;
    }
    outcome
}

/// Up to `wanted` helper buildlets free right now, each holding a copy of the main
/// buildlet's tree. A helper that fails to start or to receive the tree is left out.
async fn take_helpers(
    cx: &RunContext,
    spec: &BuildSpec,
    wanted: u32,
    main: &Lease,
    log: &LiveLog,
) -> Vec<Lease> {
    let Some(pool) = cx.pools.get(&spec.host_type) else {
        return vec![];
    };
    let starting = (0..wanted)
        .map_while(|_| pool.reserve())
        .map(|lease| async {
            let lease = match lease.await {
                Ok(l) => l,
                Err(e) => {
                    log.append(&format!(":: a helper failed to start: {e:#}\n"));
                    return None;
                }
            };
            let copied = async {
                let tgz = main.client.get_tar(".").await?;
                lease.client.put_tar(tgz, ".").await
            };
            match copied.await {
                Ok(()) => {
                    log.append(&format!(":: helper {} has the tree\n", lease.name));
                    Some(lease)
                }
                Err(e) => {
                    log.append(&format!(":: helper {} left out: {e}\n", lease.name));
                    None
                }
            }
        });
    // Helpers start and receive the tree at the same time.
    futures_util::future::join_all(starting)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// The plugin's split of the tests; one shard of everything if it faults.
async fn shard(def: &Defined, tests: &[String], n: u32, log: &LiveLog) -> Vec<Vec<String>> {
    if tests.is_empty() {
        return vec![];
    }
    let (handle, builder, list) = (def.plugin.clone(), def.builder.name.clone(), tests.to_vec());
    let r =
        tokio::task::spawn_blocking(move || handle.plugin().shard_tests(&builder, &list, n)).await;
    match r {
        Ok(Ok(shards)) => shards,
        Ok(Err(e)) => {
            log.append(&format!(
                ":: shard-tests faulted ({e}); running the tests as one shard\n"
            ));
            vec![tests.to_vec()]
        }
        Err(e) => {
            log.append(&format!(
                ":: shard-tests failed ({e}); running the tests as one shard\n"
            ));
            vec![tests.to_vec()]
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_go_tree_gets_the_version_file_go_wrote() {
        let rev = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(
            super::version_file("go", rev),
            Some(("go/VERSION".into(), format!("devel {rev}")))
        );
        assert_eq!(super::version_file("net", rev), None);
    }
}
