//! The real `go-builders` plugin (Go's builder configuration of 2017), end to end
//! through the runtime: the checks of Go's dashboard/builders_test.go that apply to it,
//! its build plans and its sharding.

mod common;

use runtime::{Builder, Handle, HostType, Kind, PoolKind, Step, Work, WorkKind};
use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

fn plugin() -> &'static Handle {
    static HANDLE: OnceLock<Handle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let reg = common::registry();
        reg.load(&common::bundled("go_builders"), "go_builders.wasm")
            .unwrap();
        reg.serving("go-builders").unwrap()
    })
}

fn builders() -> Vec<Builder> {
    plugin().plugin().builders().unwrap()
}

fn builder(name: &str) -> Builder {
    builders()
        .into_iter()
        .find(|b| b.name == name)
        .unwrap_or_else(|| panic!("no builder {name}"))
}

fn hosts() -> HashMap<String, HostType> {
    let hosts = plugin().plugin().host_types().unwrap();
    hosts.into_iter().map(|h| (h.name.clone(), h)).collect()
}

fn work(kind: WorkKind, repo: &str, branch: &str) -> Work {
    let subrepo = repo != "go";
    Work {
        kind,
        repo: repo.into(),
        branch: branch.into(),
        commit: "0123456789abcdef0123456789abcdef01234567".into(),
        go_branch: subrepo.then(|| "master".into()),
        go_commit: subrepo.then(|| "89abcdef0123456789abcdef0123456789abcdef".into()),
    }
}

/// The builders that take `work`, sorted.
fn takers(work: &Work) -> Vec<String> {
    let p = plugin().plugin();
    let mut names: Vec<String> = builders()
        .into_iter()
        .map(|b| b.name)
        .filter(|b| p.builds(b, work).unwrap())
        .collect();
    names.sort();
    names
}

fn plan(builder: &str, work: &Work) -> runtime::BuildPlan {
    plugin()
        .plugin()
        .plan(builder, work)
        .unwrap()
        .unwrap_or_else(|e| panic!("{builder}: {e}"))
}

fn go_plan(builder: &str) -> Vec<Step> {
    plan(builder, &work(WorkKind::PostSubmit, "go", "master")).steps
}

fn command_line(s: &Step) -> String {
    [s.command.as_str()]
        .into_iter()
        .chain(s.args.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Go's TrybotBuilderNames in July 2017.
const GO_TRYBOTS: [&str; 18] = [
    "darwin-amd64-10_11",
    "freebsd-amd64-110",
    "linux-386",
    "linux-amd64",
    "linux-amd64-race",
    "linux-amd64-racecompile",
    "linux-amd64-ssacheck",
    "linux-arm",
    "misc-compile",
    "misc-compile-netbsd",
    "misc-compile-plan9",
    "misc-compile-ppc",
    "misc-vet-vetall",
    "nacl-386",
    "nacl-amd64p32",
    "openbsd-amd64-60",
    "windows-386-2008",
    "windows-amd64-2016",
];

/// The trybots that also build subrepos (the coordinator's subTryBuilders).
const SUBREPO_TRYBOTS: [&str; 7] = [
    "darwin-amd64-10_11",
    "freebsd-amd64-110",
    "linux-386",
    "linux-amd64",
    "openbsd-amd64-60",
    "windows-386-2008",
    "windows-amd64-2016",
];

/// Builders that never build post-submit.
const TRY_ONLY: [&str; 13] = [
    "freebsd-386-110",
    "freebsd-386-gce101",
    "freebsd-amd64-gce101",
    "freebsd-amd64-gce93",
    "linux-s390x-crosscompile",
    "misc-compile",
    "misc-compile-netbsd",
    "misc-compile-plan9",
    "misc-compile-ppc",
    "netbsd-386-8branch",
    "netbsd-amd64-8branch",
    "openbsd-386-60",
    "plan9-386",
];

#[test]
fn loads_and_serves_beside_local_builders() {
    let reg = common::registry();
    reg.load(&common::local_builders(), "local_builders.wasm")
        .unwrap();
    let loaded = reg
        .load(&common::bundled("go_builders"), "go_builders.wasm")
        .unwrap();
    assert!(
        loaded.serving,
        "no builder of go-builders clashes with local-builders"
    );
    let d = reg
        .serving("go-builders")
        .unwrap()
        .plugin()
        .describe()
        .unwrap();
    assert_eq!(d.kind, Kind::Builders);
    assert_eq!(
        d.summary,
        "Go's builders of 2017: 67 builders (18 trybots) on 42 host types"
    );
}

#[test]
fn names_are_goos_goarch_with_an_optional_suffix() {
    let all = builders();
    assert_eq!(all.len(), 67, "Go's 68 but linux-amd64-localdev");
    for b in &all {
        assert!(!b.goos.is_empty() && !b.goos.contains('-'), "{}", b.name);
        assert!(
            !b.goarch.is_empty() && !b.goarch.contains('-'),
            "{}",
            b.name
        );
        let prefix = format!("{}-{}", b.goos, b.goarch);
        assert!(
            b.name == prefix || b.name.starts_with(&format!("{prefix}-")),
            "{} is not {prefix}[-suffix]",
            b.name
        );
    }
    assert!(!all.iter().any(|b| b.name == "linux-amd64-localdev"));
    let nacl = builder("nacl-amd64p32");
    assert_eq!(
        (nacl.goos.as_str(), nacl.goarch.as_str()),
        ("nacl", "amd64p32")
    );
}

#[test]
fn every_host_type_is_used_and_every_builder_host_exists() {
    let hosts = hosts();
    assert_eq!(hosts.len(), 42);
    let used: BTreeSet<String> = builders().into_iter().map(|b| b.host_type).collect();
    let defined: BTreeSet<String> = hosts.keys().cloned().collect();
    assert_eq!(used, defined);
}

#[test]
fn host_types_have_the_pool_of_their_machines() {
    let hosts = hosts();
    let kube = &hosts["host-linux-kubestd"];
    assert_eq!(kube.pool, PoolKind::Kubernetes);
    assert_eq!(kube.image, "linux-x86-std-kube:latest");
    assert_eq!(kube.host_arch, "linux-amd64");
    assert!(kube.hermetic);
    assert_eq!(hosts["host-nacl-kube"].pool, PoolKind::Kubernetes);
    let openbsd = &hosts["host-openbsd-amd64-60"];
    assert_eq!(
        (openbsd.pool, openbsd.image.as_str()),
        (PoolKind::Vm, "openbsd-amd64-60")
    );
    assert!(openbsd.hermetic, "VMs are fresh per build");
    let mac = &hosts["host-darwin-10_11"];
    assert_eq!(
        (mac.pool, mac.expect_num, mac.hermetic),
        (PoolKind::Reverse, 15, false)
    );
    assert!(mac.image.is_empty());
    let arm = &hosts["host-linux-arm-scaleway"];
    assert_eq!(
        (arm.pool, arm.expect_num, arm.hermetic),
        (PoolKind::Reverse, 50, true)
    );
    assert_eq!(arm.host_arch, "linux-arm");
    // Builders per pool, as Go counted them (less the reverse localdev builder).
    let all = builders();
    let on = |pool| {
        all.iter()
            .filter(|b| hosts[&b.host_type].pool == pool)
            .count()
    };
    assert_eq!(on(PoolKind::Kubernetes), 21);
    assert_eq!(on(PoolKind::Vm), 16);
    assert_eq!(on(PoolKind::Reverse), 30);
}

#[test]
fn host_env_owners_and_notes() {
    let hosts = hosts();
    let env = |h: &str| -> Vec<(String, String)> {
        hosts[h]
            .env
            .iter()
            .map(|v| (v.name.clone(), v.value.clone()))
            .collect()
    };
    assert_eq!(
        env("host-linux-kubestd"),
        [("GOROOT_BOOTSTRAP".into(), "/go1.4".into())]
    );
    assert_eq!(
        env("host-plan9-386-gce"),
        [("GO_TEST_TIMEOUT_SCALE".into(), "2".into())]
    );
    assert_eq!(hosts["host-linux-mips"].owners, ["MIPSbkirby"]);
    assert_eq!(hosts["host-linux-s390x"].owners, ["mundaym"]);
    assert!(
        hosts["host-linux-kubestd"].owners.is_empty(),
        "golang-dev's"
    );
    for h in hosts.values() {
        assert!(h.owners.iter().all(|o| !o.is_empty()), "{}", h.name);
        assert!(!h.notes.is_empty(), "{} has no notes", h.name);
        assert!(h.host_arch.contains('-'), "{}: {}", h.name, h.host_arch);
    }
}

#[test]
fn trybot_set_for_go_master_and_new_release_branches() {
    for branch in ["master", "release-branch.go1.11", "release-branch.go1.22"] {
        let try_go = takers(&work(WorkKind::Try, "go", branch));
        assert_eq!(try_go, GO_TRYBOTS, "go@{branch}");
    }
    let marked: Vec<String> = {
        let mut v: Vec<String> = builders()
            .into_iter()
            .filter(|b| b.trybot)
            .map(|b| b.name)
            .collect();
        v.sort();
        v
    };
    assert_eq!(marked, GO_TRYBOTS);
}

#[test]
fn release_branches_older_than_go1_11_are_not_built() {
    for branch in [
        "release-branch.go1.10",
        "release-branch.go1.8",
        "release-branch.go1.1",
        "release-branch.go1",
        "release-branch.r60",
    ] {
        for kind in [WorkKind::Try, WorkKind::PostSubmit] {
            assert!(takers(&work(kind, "go", branch)).is_empty(), "go@{branch}");
        }
        // A subrepo's master built against an old Go is refused too.
        let mut old_go = work(WorkKind::PostSubmit, "net", "master");
        old_go.go_branch = Some(branch.into());
        assert!(takers(&old_go).is_empty(), "net against go@{branch}");
    }
}

#[test]
fn subrepo_trybots_and_post_submit() {
    for repo in ["net", "tools", "sys"] {
        assert_eq!(
            takers(&work(WorkKind::Try, repo, "master")),
            SUBREPO_TRYBOTS,
            "{repo}"
        );
    }
    assert_eq!(
        takers(&work(WorkKind::PostSubmit, "net", "master")),
        [
            "darwin-386-10_11",
            "darwin-amd64-10_10",
            "darwin-amd64-10_11",
            "darwin-amd64-10_8",
            "freebsd-amd64-110",
            "linux-386",
            "linux-amd64",
            "linux-amd64-nocgo",
            "openbsd-amd64-60",
            "windows-386-2008",
            "windows-amd64-2016",
        ]
    );
    for repo in [
        "build",
        "exp",
        "mobile",
        "pkgsite-metrics",
        "vulndb",
        "website",
    ] {
        for kind in [WorkKind::Try, WorkKind::PostSubmit] {
            assert!(
                takers(&work(kind, repo, "master")).is_empty(),
                "{repo} is opt-in"
            );
        }
    }
}

#[test]
fn post_submit_set_is_every_builder_but_the_try_only_ones() {
    let post = takers(&work(WorkKind::PostSubmit, "go", "master"));
    assert_eq!(post.len(), 67 - TRY_ONLY.len());
    let all: BTreeSet<String> = builders().into_iter().map(|b| b.name).collect();
    let expected: Vec<String> = all
        .into_iter()
        .filter(|b| !TRY_ONLY.contains(&b.as_str()))
        .collect();
    assert_eq!(post, expected);
    for name in TRY_ONLY {
        assert!(builder(name).try_only, "{name}");
    }
}

#[test]
fn builder_repo_branch_table() {
    use Takes::*;
    #[derive(Debug, PartialEq)]
    enum Takes {
        None,
        Both,
        OnlyPost,
        OnlyTry,
    }
    let table = [
        ("linux-amd64", "go", "master", Both),
        ("linux-amd64", "go", "release-branch.go1.11", Both),
        ("linux-amd64", "go", "release-branch.go1.9", None),
        ("linux-amd64", "net", "master", Both),
        ("linux-amd64", "website", "master", None),
        // Not a repo of Go's: the builders of Go test Go's repos only.
        ("linux-amd64", "demo", "master", None),
        ("linux-amd64-nocgo", "net", "master", OnlyPost),
        ("linux-amd64-nocgo", "go", "master", OnlyPost),
        ("linux-amd64-race", "go", "master", Both),
        ("linux-amd64-race", "net", "master", None),
        ("misc-compile", "go", "master", OnlyTry),
        ("misc-compile", "net", "master", None),
        ("linux-s390x-crosscompile", "go", "master", None),
        ("plan9-386", "go", "master", None),
        ("plan9-386", "net", "master", None),
        ("darwin-amd64-10_12", "go", "master", OnlyPost),
        ("darwin-amd64-10_12", "net", "master", None),
        ("darwin-amd64-10_11", "tools", "master", Both),
        ("windows-amd64-2008", "net", "master", None),
        ("linux-arm", "go", "dev.ssa", Both),
        ("linux-arm", "sys", "master", None),
        ("nonexistent-builder", "go", "master", None),
    ];
    let p = plugin().plugin();
    for (b, repo, branch, want) in table {
        let post = p
            .builds(b, &work(WorkKind::PostSubmit, repo, branch))
            .unwrap();
        let try_ = p.builds(b, &work(WorkKind::Try, repo, branch)).unwrap();
        let got = match (post, try_) {
            (true, true) => Both,
            (true, false) => OnlyPost,
            (false, true) => OnlyTry,
            (false, false) => None,
        };
        assert_eq!(got, want, "{b} {repo}@{branch}");
    }
}

#[test]
fn release_builds_may_use_try_only_builders() {
    let p = plugin().plugin();
    let release = work(WorkKind::Release, "go", "release-branch.go1.11");
    assert!(p.builds("linux-s390x-crosscompile", &release).unwrap());
    assert!(p.builds("freebsd-amd64-gce101", &release).unwrap());
    assert!(!p
        .builds(
            "linux-s390x-crosscompile",
            &work(WorkKind::Release, "net", "master")
        )
        .unwrap());
}

#[test]
fn env_is_builder_name_flaky_net_host_then_builder() {
    let names = |b: &str| -> Vec<String> {
        plan(b, &work(WorkKind::PostSubmit, "go", "master"))
            .env
            .iter()
            .map(|v| format!("{}={}", v.name, v.value))
            .collect()
    };
    assert_eq!(
        names("linux-arm"),
        [
            "GO_BUILDER_NAME=linux-arm",
            "GO_BUILDER_FLAKY_NET=1",
            "GOROOT_BOOTSTRAP=/usr/local/go",
            "GO_TEST_TIMEOUT_SCALE=1",
        ]
    );
    assert_eq!(
        names("linux-386"),
        [
            "GO_BUILDER_NAME=linux-386",
            "GOROOT_BOOTSTRAP=/go1.4",
            "GOARCH=386",
            "GOHOSTARCH=386",
            "GO_TEST_TIMEOUT_SCALE=1",
        ]
    );
    // The host's scale is kept, not repeated.
    assert_eq!(
        names("linux-mips"),
        [
            "GO_BUILDER_NAME=linux-mips",
            "GOROOT_BOOTSTRAP=/usr/local/go-bootstrap-mips",
            "GOARCH=mips",
            "GOHOSTARCH=mips",
            "GO_TEST_TIMEOUT_SCALE=4",
        ]
    );
}

#[test]
fn timeouts_scale_with_go_test_timeout_scale() {
    let mips = builder("linux-mips");
    assert_eq!(mips.test_timeout_scale, 4);
    assert_eq!(mips.build_timeout, 4 * 45 * 60);
    let test = go_plan("linux-mips").pop().unwrap();
    assert_eq!(test.timeout, 4 * 20 * 60);
    assert_eq!(builder("linux-amd64").test_timeout_scale, 1);
    assert_eq!(go_plan("linux-amd64")[1].timeout, 20 * 60);
}

#[test]
fn helpers_for_try_fall_back_to_post_submit() {
    for (name, post, try_) in [
        ("linux-amd64", 6, 6),
        ("linux-386", 1, 3),
        ("linux-amd64-race", 2, 5),
        ("windows-amd64-2016", 0, 5),
        ("nacl-386", 3, 3),
        ("misc-vet-vetall", 5, 5),
        ("linux-arm", 2, 7),
        ("linux-mips", 0, 0),
    ] {
        let b = builder(name);
        assert_eq!((b.helpers, b.try_helpers), (post, try_), "{name}");
    }
}

#[test]
fn known_issues_and_notes() {
    assert_eq!(
        builder("netbsd-amd64-8branch").known_issues,
        [19339, 19652, 20852]
    );
    assert!(builder("linux-amd64").known_issues.is_empty());
    assert_eq!(
        builder("linux-amd64-ssacheck").notes,
        "SSA internal checks enabled; compiles tests without running them; \
         needs commit f65abf6ddc8d1f3d403a9195fd74eaffa022b07f"
    );
    assert!(builder("plan9-386").notes.contains("at most 2 at once"));
}

#[test]
fn go_plan_is_make_then_sharded_dist_test() {
    let steps = go_plan("linux-amd64");
    let lines: Vec<String> = steps.iter().map(command_line).collect();
    assert_eq!(
        lines,
        ["go/src/make.bash", "go/bin/go tool dist test -no-rebuild"]
    );
    assert_eq!(
        (steps[0].dir.as_str(), steps[1].dir.as_str()),
        ("go/src", "go/src")
    );
    assert!(!steps[0].shardable && steps[1].shardable);
    assert_eq!(steps[0].env[0].name, "GOBIN");
    assert_eq!(steps[0].env[0].value, "");
}

#[test]
fn make_script_per_os() {
    for (b, make) in [
        ("windows-amd64-2016", "go/src/make.bat"),
        ("plan9-386", "go/src/make.rc"),
        ("nacl-386", "go/src/naclmake.bash"),
        ("freebsd-amd64-110", "go/src/make.bash"),
        ("darwin-amd64-10_11", "go/src/make.bash"),
    ] {
        // A release build, since plan9-386 takes no other work.
        let steps = plan(b, &work(WorkKind::Release, "go", "master")).steps;
        assert_eq!(steps[0].command, make, "{b}");
        assert!(steps.last().unwrap().shardable, "{b}");
    }
}

#[test]
fn unsplittable_builders_run_their_all_script() {
    let one = |b: &str| {
        let steps = go_plan(b);
        assert_eq!(steps.len(), 1, "{b}");
        assert!(!steps[0].shardable);
        command_line(&steps[0])
    };
    assert_eq!(one("android-arm-sdk19"), "go/src/androidtest.bash");
    assert_eq!(one("darwin-arm64-a1549ios"), "go/src/iostest.bash -restart");
    let misc = plan("misc-compile-ppc", &work(WorkKind::Try, "go", "master")).steps;
    assert_eq!(
        command_line(&misc[0]),
        "go/src/buildall.bash ^(linux-ppc64|linux-ppc64le)$"
    );
}

#[test]
fn race_compile_only_and_make_only_builders() {
    let lines = |b: &str| -> Vec<String> { go_plan(b).iter().map(command_line).collect() };
    assert_eq!(
        lines("linux-amd64-race"),
        [
            "go/src/make.bash",
            "go/bin/go install -race std",
            "go/bin/go tool dist test -no-rebuild -race",
        ]
    );
    assert_eq!(
        lines("windows-amd64-race")[0],
        "go/src/make.bat",
        "race.bat is split like race.bash"
    );
    assert_eq!(
        lines("linux-amd64-racecompile"),
        [
            "go/src/make.bash",
            "go/bin/go install -race cmd/compile",
            "go/bin/go build -a -gcflags=-c=8 std cmd",
        ]
    );
    assert_eq!(
        lines("linux-amd64-ssacheck"),
        [
            "go/src/make.bash",
            "go/bin/go tool dist test -no-rebuild -compile-only"
        ]
    );
    assert_eq!(lines("linux-arm-nativemake"), ["go/src/make.bash"]);
}

#[test]
fn subrepo_plan_tests_the_repo_with_the_go_just_built() {
    let steps = plan("linux-amd64", &work(WorkKind::PostSubmit, "net", "master")).steps;
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0].command, "go/src/make.bash");
    let test = &steps[1];
    assert_eq!(command_line(test), "go/bin/go test -short ./...");
    assert_eq!(test.dir, "net");
    assert!(!test.shardable, "subrepo tests ran on one buildlet");
    assert!(test
        .env
        .iter()
        .any(|v| v.name == "GOROOT" && v.value.is_empty()));
}

#[test]
fn bad_work_gets_a_clear_refusal() {
    let p = plugin().plugin();
    let mut no_go = work(WorkKind::PostSubmit, "net", "master");
    no_go.go_commit = None;
    let err = p.plan("linux-amd64", &no_go).unwrap().unwrap_err();
    assert!(err.contains("needs go-commit"), "{err}");
    for repo in ["../etc", "", ".git", "a/b"] {
        let w = work(WorkKind::PostSubmit, repo, "master");
        assert!(!p.builds("linux-amd64", &w).unwrap(), "{repo:?}");
        let err = p.plan("linux-amd64", &w).unwrap().unwrap_err();
        assert!(err.contains("not a plain name"), "{repo:?}: {err}");
    }
    let err = p
        .plan(
            "linux-amd64",
            &work(WorkKind::PostSubmit, "website", "master"),
        )
        .unwrap()
        .unwrap_err();
    assert!(err.contains("does not build website@master"), "{err}");
    let err = p
        .plan(
            "linux-amd64-localdev",
            &work(WorkKind::PostSubmit, "go", "master"),
        )
        .unwrap()
        .unwrap_err();
    assert!(err.contains("unknown builder"), "{err}");
}

/// Estimated seconds of the slow tests used below (Go's coordinator table); others 1 s.
fn estimate(test: &str) -> f64 {
    match test {
        "cgo_test" => 45.6,
        "go_test:cmd/go" => 36.0,
        "go_test:runtime" => 21.02,
        _ => 1.0,
    }
}

#[test]
fn shards_are_complete_and_balanced_longest_first() {
    let mut tests: Vec<String> = ["cgo_test", "go_test:cmd/go", "go_test:runtime"]
        .map(String::from)
        .to_vec();
    tests.extend((0..60).map(|i| format!("go_test:pkg{i:02}")));
    let p = plugin().plugin();
    let shards = p.shard_tests("linux-amd64", &tests, 3).unwrap();
    assert_eq!(shards.len(), 3);
    // Every test in exactly one shard, each shard in list order.
    let mut all: Vec<String> = shards.concat();
    all.sort();
    let mut want = tests.clone();
    want.sort();
    assert_eq!(all, want);
    for s in &shards {
        let pos: Vec<usize> = s
            .iter()
            .map(|t| tests.iter().position(|x| x == t).unwrap())
            .collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "{s:?}");
    }
    // The three slow tests go to three shards, and the shards end within one
    // short test of each other.
    for slow in &tests[..3] {
        assert_eq!(shards.iter().filter(|s| s.contains(slow)).count(), 1);
    }
    assert!(shards
        .iter()
        .all(|s| tests[..3].iter().filter(|t| s.contains(t)).count() == 1));
    let loads: Vec<f64> = shards
        .iter()
        .map(|s| s.iter().map(|t| estimate(t)).sum())
        .collect();
    let (max, min) = loads
        .iter()
        .fold((0f64, f64::MAX), |(a, b), &l| (a.max(l), b.min(l)));
    assert!(max - min <= 1.0 + 1e-9, "loads {loads:?}");
}

#[test]
fn sharding_edge_cases() {
    let p = plugin().plugin();
    let tests: Vec<String> = (0..3).map(|i| format!("go_test:p{i}")).collect();
    assert_eq!(p.shard_tests("linux-amd64", &tests, 10).unwrap().len(), 3);
    assert!(p.shard_tests("linux-amd64", &[], 4).unwrap().is_empty());
    let one = p.shard_tests("linux-amd64", &tests, 0).unwrap();
    assert_eq!(one, [tests], "no shards means one");
}

/// Go 1.19's own dist test list, over the main buildlet and linux-amd64's six helpers.
#[test]
fn shards_go_1_19s_dist_tests_over_seven_buildlets() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/go1.19-dist-test-list.txt"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let tests: Vec<String> = text.lines().map(String::from).collect();
    assert_eq!(tests.len(), 295);
    let shards = plugin()
        .plugin()
        .shard_tests("linux-amd64", &tests, 7)
        .unwrap();
    assert_eq!(shards.len(), 7);
    assert_eq!(shards.iter().map(Vec::len).sum::<usize>(), tests.len());
    // The seven slowest tests each lead a shard of their own.
    let slowest = [
        "cgo_test",
        "runtime:cpu124",
        "race",
        "go_test:cmd/go",
        "go_test:runtime",
        "testcshared",
        "testcarchive",
    ];
    for s in &shards {
        let slow: Vec<&str> = slowest
            .into_iter()
            .filter(|t| s.iter().any(|x| x == t))
            .collect();
        assert_eq!(slow.len(), 1, "{slow:?} share a shard");
    }
}

/// go/test takes 50 s in all, whatever number of pieces cmd/dist cuts it into.
#[test]
fn test_dir_pieces_weigh_their_share_of_fifty_seconds() {
    let p = plugin().plugin();
    let mut tests = vec!["test:0_1".to_string()];
    tests.extend((0..40).map(|i| format!("go_test:p{i:02}")));
    let shards = p.shard_tests("linux-amd64", &tests, 2).unwrap();
    assert_eq!(shards[0], ["test:0_1"]);
    assert_eq!(shards[1], tests[1..]);
    // Ten pieces of 5 s each spread over two shards like any 5-second tests.
    let tenths: Vec<String> = (0..10).map(|i| format!("test:{i}_10")).collect();
    let mut tests = tenths.clone();
    tests.extend((0..10).map(|i| format!("go_test:p{i:02}")));
    let shards = p.shard_tests("linux-amd64", &tests, 2).unwrap();
    for s in &shards {
        assert_eq!(s.iter().filter(|t| tenths.contains(t)).count(), 5, "{s:?}");
        assert_eq!(s.len(), 10, "{s:?}");
    }
}

/// Every host type has its folder in `env/`: a README saying how its machines are had,
/// and for containers the image and pod template.
#[test]
fn every_host_type_has_an_env_folder() {
    let env = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../env");
    let mut missing = vec![];
    for (name, h) in hosts() {
        let dir = env.join(&name);
        let mut want = vec!["README.md"];
        match h.pool {
            PoolKind::Kubernetes => want.extend(["Dockerfile", "pod.yaml"]),
            PoolKind::Local => want.push("local.toml"),
            PoolKind::Reverse | PoolKind::Vm => {}
        }
        for f in want {
            if !dir.join(f).is_file() {
                missing.push(format!("env/{name}/{f}"));
            }
        }
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap_or_default();
        if !readme.starts_with(&format!("# {name} ")) {
            missing.push(format!("env/{name}/README.md names another host type"));
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}
