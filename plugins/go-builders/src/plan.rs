//! Go's build, as the coordinator ran it (Go's cmd/coordinator, buildStatus.build):
//! make, then the dist tests sharded over helpers, or the all-script in one piece for
//! the builders whose script cannot be split.
//!
//! The host puts the tree of `work.repo` at `work.commit` in a directory named after the
//! repo (`go/` for Go) and, for a subrepo, Go at `work.go-commit` in `go/`. Commands and
//! directories are relative to the buildlet's work directory. A shardable step is listed
//! by running it with `-list` and run as `COMMAND ARGS TEST...` per shard, which is
//! `go tool dist test`'s command line.

use crate::builders::Conf;
use crate::exports::xbuild::platform::builder_config::{BuildPlan, Step, Work};
use crate::var;
use crate::xbuild::platform::types::EnvVar;

const GO: &str = "go/bin/go";
const GO_SRC: &str = "go/src";

pub fn plan(b: &Conf, work: &Work) -> Result<BuildPlan, String> {
    let steps = if work.repo == "go" {
        go_steps(b)
    } else {
        subrepo_steps(b, work)?
    };
    Ok(BuildPlan {
        builder: b.name.into(),
        env: env(b),
        steps,
    })
}

/// A repo name becomes a directory of the work dir, so it must be a plain name.
pub fn check_repo(repo: &str) -> Result<(), String> {
    let plain = !repo.is_empty()
        && !repo.starts_with('.')
        && repo
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if plain {
        Ok(())
    } else {
        Err(format!(
            "repo {repo:?} is not a plain name (letters, digits, '-', '_', '.'); \
             it names the directory the host checks it out in"
        ))
    }
}

/// The builder's Env(), then GO_TEST_TIMEOUT_SCALE unless the host or builder sets it.
fn env(b: &Conf) -> Vec<EnvVar> {
    let mut env = crate::env(&b.env());
    if !env.iter().any(|v| v.name == "GO_TEST_TIMEOUT_SCALE") {
        env.push(var("GO_TEST_TIMEOUT_SCALE", &b.timeout_scale().to_string()));
    }
    env
}

fn step(name: &str, command: &str, args: &[&str], dir: &str, timeout: u32) -> Step {
    Step {
        name: name.into(),
        command: command.into(),
        args: args.iter().map(|a| a.to_string()).collect(),
        env: vec![],
        dir: dir.into(),
        timeout,
        shardable: false,
    }
}

fn go_steps(b: &Conf) -> Vec<Step> {
    if !b.split_make_run() {
        return vec![all_script(b)];
    }
    let mut steps = make_go(b);
    if !b.stop_after_make {
        steps.push(dist_test(b));
    }
    steps
}

fn subrepo_steps(b: &Conf, work: &Work) -> Result<Vec<Step>, String> {
    if work.go_commit.as_deref().unwrap_or("").is_empty() {
        return Err(format!(
            "work on {} needs go-commit: the Go tree to build and test it with",
            work.repo
        ));
    }
    let mut steps = make_go(b);
    steps.push(subrepo_test(b, &work.repo));
    Ok(steps)
}

/// The all-script alone, for builders whose script does everything in one run
/// (androidtest.bash, iostest.bash, buildall.bash).
fn all_script(b: &Conf) -> Step {
    let script = format!("{GO_SRC}/{}", b.all_script());
    step(
        "make_and_test",
        &script,
        b.all_script_args(),
        GO_SRC,
        b.build_timeout(),
    )
}

/// Go's RunMake: the make script with GOBIN cleared (so the tools land in go/bin),
/// then the race-enabled packages, then for linux-amd64-racecompile a build of std and
/// cmd with that race-enabled compiler running concurrently.
fn make_go(b: &Conf) -> Vec<Step> {
    let script = format!("{GO_SRC}/{}", b.make_script());
    let mut make = step("make", &script, &[], GO_SRC, b.build_timeout());
    make.env = vec![var("GOBIN", "")];
    let mut steps = vec![make];
    let race = b.race_packages();
    if !race.is_empty() {
        let args: Vec<&str> = ["install", "-race"].iter().chain(race).copied().collect();
        steps.push(step("install_race", GO, &args, GO_SRC, b.build_timeout()));
    }
    if b.name == "linux-amd64-racecompile" {
        let args = ["build", "-a", "-gcflags=-c=8", "std", "cmd"];
        steps.push(step(
            "build_std_cmd_c8",
            GO,
            &args,
            GO_SRC,
            b.build_timeout(),
        ));
    }
    steps
}

/// `go tool dist test`, listable and shardable. GOROOT is cleared so that go/bin/go
/// finds its own tree rather than one in the buildlet's environment.
fn dist_test(b: &Conf) -> Step {
    let mut args = vec!["tool", "dist", "test", "-no-rebuild"];
    if b.is_race() {
        args.push("-race");
    }
    if b.compile_only {
        args.push("-compile-only");
    }
    let mut test = step("test", GO, &args, GO_SRC, b.test_timeout());
    test.env = vec![var("GOROOT", "")];
    test.shardable = true;
    test
}

/// `go test -short ./...` in the subrepo's tree with the Go just built.
fn subrepo_test(b: &Conf, repo: &str) -> Step {
    let args = ["test", "-short", "./..."];
    let mut test = step("test", GO, &args, repo, b.test_timeout());
    test.env = vec![var("GOROOT", "")];
    test
}
