//! The real `local-builders` plugin, end to end through the runtime.

mod common;

use runtime::{Kind, Work, WorkKind};

fn work(kind: WorkKind, repo: &str, branch: &str) -> Work {
    Work {
        kind,
        repo: repo.into(),
        branch: branch.into(),
        commit: "0123456789abcdef0123456789abcdef01234567".into(),
        go_branch: None,
        go_commit: None,
    }
}

#[test]
fn describes_itself_as_a_builders_plugin() {
    let reg = common::registry();
    let loaded = reg
        .load(&common::local_builders(), "local_builders.wasm")
        .unwrap();
    assert!(loaded.serving, "first version of a name serves at once");
    let d = reg
        .serving("local-builders")
        .unwrap()
        .plugin()
        .describe()
        .unwrap();
    assert_eq!(d.name, "local-builders");
    assert_eq!(d.kind, Kind::Builders);
    assert!(d.summary.contains("linux-amd64-localdev"), "{}", d.summary);
}

#[test]
fn lists_its_builder_on_a_local_host_type() {
    let reg = common::registry();
    reg.load(&common::local_builders(), "local_builders.wasm")
        .unwrap();
    let h = reg.serving("local-builders").unwrap();
    let p = h.plugin();
    let hosts = p.host_types().unwrap();
    let builders = p.builders().unwrap();
    assert_eq!(hosts.len(), 1);
    assert_eq!(hosts[0].pool, runtime::PoolKind::Local);
    assert_eq!(builders[0].name, "linux-amd64-localdev");
    assert_eq!(builders[0].host_type, hosts[0].name);
}

#[test]
fn builds_go_by_default_but_not_opt_in_repos() {
    let reg = common::registry();
    reg.load(&common::local_builders(), "local_builders.wasm")
        .unwrap();
    let h = reg.serving("local-builders").unwrap();
    let p = h.plugin();
    let b = "linux-amd64-localdev";
    assert!(p
        .builds(b, &work(WorkKind::PostSubmit, "go", "master"))
        .unwrap());
    assert!(p
        .builds(
            b,
            &work(WorkKind::PostSubmit, "net", "release-branch.go1.22")
        )
        .unwrap());
    assert!(!p
        .builds(b, &work(WorkKind::PostSubmit, "website", "master"))
        .unwrap());
    assert!(p
        .builds(b, &work(WorkKind::Try, "tools", "master"))
        .unwrap());
    assert!(!p
        .builds(b, &work(WorkKind::Try, "tools", "gopls-release-branch.0.4"))
        .unwrap());
    assert!(!p
        .builds("linux-arm64", &work(WorkKind::PostSubmit, "go", "master"))
        .unwrap());
}

#[test]
fn plans_make_then_sharded_tests_with_the_builder_env_in_order() {
    let reg = common::registry();
    reg.load(&common::local_builders(), "local_builders.wasm")
        .unwrap();
    let h = reg.serving("local-builders").unwrap();
    let plan = h
        .plugin()
        .plan("linux-amd64-localdev", &work(WorkKind::Try, "go", "master"))
        .unwrap()
        .unwrap();
    let names: Vec<_> = plan.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["make", "test"]);
    assert!(!plan.steps[0].shardable && plan.steps[1].shardable);
    assert_eq!(plan.env[0].name, "GO_BUILDER_NAME");
    assert_eq!(plan.env[0].value, "linux-amd64-localdev");
    let refused = h
        .plugin()
        .plan(
            "linux-amd64-localdev",
            &work(WorkKind::PostSubmit, "website", "master"),
        )
        .unwrap();
    assert!(refused.unwrap_err().contains("does not build website"));
}

#[test]
fn shards_tests_evenly_and_completely() {
    let reg = common::registry();
    reg.load(&common::local_builders(), "local_builders.wasm")
        .unwrap();
    let h = reg.serving("local-builders").unwrap();
    let tests: Vec<String> = (0..10).map(|i| format!("go_test:pkg{i}")).collect();
    let shards = h
        .plugin()
        .shard_tests("linux-amd64-localdev", &tests, 3)
        .unwrap();
    let sizes: Vec<usize> = shards.iter().map(Vec::len).collect();
    assert_eq!(sizes, [4, 3, 3]);
    assert_eq!(shards.concat(), tests);
    assert_eq!(
        h.plugin()
            .shard_tests("linux-amd64-localdev", &tests[..2], 5)
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn metered_calls_report_the_same_fuel_every_time() {
    let reg = common::registry();
    reg.load(&common::local_builders(), "local_builders.wasm")
        .unwrap();
    let h = reg.serving("local-builders").unwrap();
    let opts = runtime::CallOptions {
        fuel: Some(50_000_000),
        ..Default::default()
    };
    let fuel = || {
        let p = h.plugin().with_options(opts.clone());
        p.builders().unwrap();
        p.last_report().unwrap().fuel.unwrap()
    };
    let first = fuel();
    assert!(first > 0);
    assert_eq!(first, fuel(), "fuel is deterministic for the same call");
}
