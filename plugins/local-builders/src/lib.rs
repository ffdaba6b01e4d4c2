//! `local-builders`: builders whose buildlets are processes on the coordinator's own
//! machine. `linux-amd64-localdev` builds Go and its subrepos; `linux-amd64-demo` builds
//! the demo repository `xb serve` creates (a make step, then its tests sharded over a
//! helper). It is the embedded default of `xb serve` and the smallest complete example
//! of a builders plugin.

wit_bindgen::generate!({
    path: "../../wit",
    world: "builders",
});

use exports::xbuild::platform::builder_config::{
    BuildPlan, Builder, Guest as BuilderConfig, HostType, PoolKind, RepoRule, Step, Work,
};
use exports::xbuild::platform::plugin::Guest as Plugin;
use xbuild::platform::types::{Description, EnvVar, PluginKind, WorkKind};

const BUILDER: &str = "linux-amd64-localdev";
const DEMO: &str = "linux-amd64-demo";
const HOST_TYPE: &str = "host-linux-amd64-localdev";

struct LocalBuilders;

impl Plugin for LocalBuilders {
    fn describe() -> Description {
        Description {
            name: "local-builders".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            kind: PluginKind::Builders,
            summary: format!("{BUILDER}: builds on this machine, with buildlets on loopback"),
        }
    }
}

impl BuilderConfig for LocalBuilders {
    fn host_types() -> Vec<HostType> {
        vec![HostType {
            name: HOST_TYPE.into(),
            pool: PoolKind::Local,
            image: String::new(),
            expect_num: 0,
            hermetic: true,
            env: vec![env("GOROOT_BOOTSTRAP", "/usr/local/go-bootstrap")],
            host_arch: "linux-amd64".into(),
            owners: vec![],
            notes: "Buildlet processes started by the coordinator on loopback".into(),
        }]
    }

    fn builders() -> Vec<Builder> {
        vec![builder(), demo_builder()]
    }

    fn builds(name: String, work: Work) -> bool {
        find(&name).is_some_and(|b| takes(&b, &work))
    }

    fn plan(name: String, work: Work) -> Result<BuildPlan, String> {
        let b = find(&name).ok_or_else(|| format!("unknown builder {name:?}"))?;
        if !takes(&b, &work) {
            return Err(format!(
                "{name} does not build {}@{}",
                work.repo, work.branch
            ));
        }
        Ok(BuildPlan {
            builder: b.name.clone(),
            env: build_env(&b),
            steps: steps(&b, &work),
        })
    }

    fn shard_tests(_builder: String, tests: Vec<String>, shards: u32) -> Vec<Vec<String>> {
        shard(tests, shards)
    }
}

fn env(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: value.into(),
    }
}

fn rule(repo: &str, branches: &[&str], exclude: bool) -> RepoRule {
    RepoRule {
        repo: repo.into(),
        branches: branches.iter().map(|b| b.to_string()).collect(),
        exclude,
    }
}

fn builder() -> Builder {
    Builder {
        name: BUILDER.into(),
        host_type: HOST_TYPE.into(),
        goos: "linux".into(),
        goarch: "amd64".into(),
        trybot: true,
        try_only: false,
        env: vec![env("GO_DISABLE_OUTBOUND_NETWORK", "1")],
        helpers: 0,
        try_helpers: 1,
        build_timeout: 3600,
        test_timeout_scale: 1,
        // buildRepoByDefault: go and the x/ repos, except the opt-in ones.
        repos: vec![
            rule("build", &[], true),
            rule("exp", &[], true),
            rule("mobile", &[], true),
            rule("pkgsite-metrics", &[], true),
            rule("vulndb", &[], true),
            rule("website", &[], true),
            rule("demo", &[], true),
            rule("*", &[], false),
        ],
        try_repos: vec![rule("go", &[], false), rule("*", &["master"], false)],
        known_issues: vec![],
        notes: "Runs on the coordinator's machine; for development and small installations".into(),
    }
}

/// The demo repository's builder: every branch, post-submit and try, with one helper
/// to shard its tests over.
fn demo_builder() -> Builder {
    Builder {
        name: DEMO.into(),
        host_type: HOST_TYPE.into(),
        goos: "linux".into(),
        goarch: "amd64".into(),
        trybot: true,
        try_only: false,
        env: vec![],
        helpers: 1,
        try_helpers: 1,
        build_timeout: 600,
        test_timeout_scale: 1,
        repos: vec![rule("demo", &[], false)],
        try_repos: vec![rule("demo", &[], false)],
        known_issues: vec![],
        notes: "Builds the demo repository of xb serve".into(),
    }
}

fn find(name: &str) -> Option<Builder> {
    LocalBuilders::builders()
        .into_iter()
        .find(|b| b.name == name)
}

/// BuildsRepoPostSubmit / BuildsRepoTryBot over the builder's rules.
fn takes(b: &Builder, work: &Work) -> bool {
    match work.kind {
        WorkKind::Try => b.trybot && matches(&b.try_repos, work) && matches(&b.repos, work),
        WorkKind::PostSubmit | WorkKind::Release => !b.try_only && matches(&b.repos, work),
    }
}

/// The first rule naming the repo (or "*") and one of the branch prefixes decides.
fn matches(rules: &[RepoRule], work: &Work) -> bool {
    rules
        .iter()
        .find(|r| {
            (r.repo == "*" || r.repo == work.repo)
                && (r.branches.is_empty()
                    || r.branches
                        .iter()
                        .any(|p| work.branch.starts_with(p.as_str())))
        })
        .is_some_and(|r| !r.exclude)
}

/// GO_BUILDER_NAME, then the host env, then the builder env (BuildConfig.Env order).
fn build_env(b: &Builder) -> Vec<EnvVar> {
    let host = LocalBuilders::host_types()
        .into_iter()
        .next()
        .expect("one host type");
    let scale = b.test_timeout_scale.to_string();
    let mut all = vec![env("GO_BUILDER_NAME", &b.name)];
    all.extend(host.env);
    all.extend(b.env.iter().cloned());
    all.push(env("GO_TEST_TIMEOUT_SCALE", &scale));
    all
}

fn step(
    name: &str,
    command: &str,
    args: &[&str],
    dir: &str,
    timeout: u32,
    shardable: bool,
) -> Step {
    Step {
        name: name.into(),
        command: command.into(),
        args: args.iter().map(|a| a.to_string()).collect(),
        env: vec![],
        dir: dir.into(),
        timeout,
        shardable,
    }
}

/// make.bash then the sharded dist tests for the go repo; `go test` for a subrepo
/// checked out under gopath, against the Go tree built first.
fn steps(b: &Builder, work: &Work) -> Vec<Step> {
    let test_timeout = 20 * 60 * b.test_timeout_scale;
    if b.name == DEMO {
        // `test.sh -list` lists the tests; `test.sh NAME...` runs some.
        return vec![
            step("make", "demo/make.sh", &[], "demo", 120, false),
            step("test", "demo/test.sh", &[], "demo", 300, true),
        ];
    }
    let make = step("make", "src/make.bash", &[], "go", 1800, false);
    if work.repo == "go" {
        return vec![
            make,
            step(
                "test",
                "bin/go",
                &["tool", "dist", "test", "-no-rebuild"],
                "go",
                test_timeout,
                true,
            ),
        ];
    }
    let dir = format!("gopath/src/golang.org/x/{}", work.repo);
    let mut test = step(
        "test",
        "../../../../../go/bin/go",
        &["test", "./..."],
        &dir,
        test_timeout,
        true,
    );
    test.env = vec![env("GOPATH", "$WORKDIR/gopath"), env("GO111MODULE", "on")];
    vec![make, test]
}

/// Contiguous groups whose sizes differ by at most one, in the input order.
fn shard(tests: Vec<String>, shards: u32) -> Vec<Vec<String>> {
    let n = (shards.max(1) as usize).min(tests.len());
    if n == 0 {
        return vec![];
    }
    let (base, extra) = (tests.len() / n, tests.len() % n);
    let mut rest = tests.into_iter();
    (0..n)
        .map(|i| rest.by_ref().take(base + usize::from(i < extra)).collect())
        .collect()
}

export!(LocalBuilders);
