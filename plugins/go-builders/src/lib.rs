//! `go-builders`: Go's builder configuration of July 2017 (golang.org/x/build's
//! dashboard/builders.go) as a builders plugin: its host types, its builders, which work
//! each takes, and the build plan the coordinator ran for it.
//!
//! Of Go's 68 builders, 67 are here: every one but linux-amd64-localdev, which the
//! local-builders plugin defines (one builder belongs to one plugin). That is
//! - Kubernetes (21): linux-386, linux-386-387, linux-amd64, linux-amd64-alpine,
//!   misc-vet-vetall, misc-compile, misc-compile-ppc, misc-compile-netbsd,
//!   misc-compile-plan9, linux-amd64-nocgo, linux-amd64-noopt, linux-amd64-ssacheck,
//!   linux-amd64-racecompile, linux-amd64-race, linux-386-clang, linux-amd64-clang,
//!   linux-386-sid, linux-amd64-sid, nacl-386, nacl-amd64p32, linux-s390x-crosscompile;
//! - GCE VMs (16): freebsd-amd64-gce93, freebsd-amd64-gce101, freebsd-amd64-110,
//!   freebsd-amd64-race, freebsd-386-gce101, freebsd-386-110, openbsd-amd64-60,
//!   openbsd-386-60, netbsd-amd64-8branch, netbsd-386-8branch, plan9-386,
//!   windows-amd64-2008, windows-386-2008, windows-amd64-2012, windows-amd64-2016,
//!   windows-amd64-race;
//! - reverse (30): linux-arm, linux-arm-nativemake, linux-arm-arm5spacemonkey,
//!   darwin-amd64-10_8, darwin-amd64-10_10, darwin-amd64-10_11, darwin-386-10_11,
//!   darwin-amd64-10_12, android-arm-sdk19, android-arm64-sdk21, android-386-sdk21,
//!   android-amd64-sdk21, darwin-arm-a5ios, darwin-arm64-a7ios, darwin-arm-a1549ios,
//!   darwin-arm64-a1549ios, android-arm-wiko-fever, android-arm64-wiko-fever,
//!   solaris-amd64-oracledev, solaris-amd64-oraclerel, solaris-amd64-smartosbuildlet,
//!   linux-ppc64-buildlet, linux-ppc64le-buildlet, linux-arm64-buildlet,
//!   linux-arm64-packet, linux-mips, linux-mipsle, linux-mips64, linux-mips64le,
//!   linux-s390x-ibm.
//!
//! The 42 host types are those these builders use (see `hosts::HOSTS` for the three of
//! Go's 45 left out). The 18 builders with `trybot` are Go's TrybotBuilderNames.
//!
//! What the WIT records cannot carry shapes the plan or the notes instead: CompileOnly
//! and StopAfterMake change the steps; MaxAtOnce, GoDeps, SkipSnapshot and RunBench are
//! stated in a builder's notes for the host's scheduler and readers.

wit_bindgen::generate!({
    path: "../../wit",
    world: "builders",
});

mod builders;
mod hosts;
mod plan;
mod policy;
mod shard;

use builders::{Conf, BUILDERS};
use exports::xbuild::platform::builder_config::{
    BuildPlan, Builder, Guest as BuilderConfig, HostType, PoolKind, Work,
};
use exports::xbuild::platform::plugin::Guest as Plugin;
use hosts::{Host, Pool, HOSTS};
use xbuild::platform::types::{Description, EnvVar, PluginKind, WorkKind};

struct GoBuilders;

impl Plugin for GoBuilders {
    fn describe() -> Description {
        let trybots = BUILDERS.iter().filter(|b| b.try_bot).count();
        Description {
            name: "go-builders".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            kind: PluginKind::Builders,
            summary: format!(
                "Go's builders of 2017: {} builders ({trybots} trybots) on {} host types",
                BUILDERS.len(),
                HOSTS.len()
            ),
        }
    }
}

impl BuilderConfig for GoBuilders {
    fn host_types() -> Vec<HostType> {
        HOSTS.iter().map(host_type).collect()
    }

    fn builders() -> Vec<Builder> {
        BUILDERS.iter().map(builder).collect()
    }

    fn builds(name: String, work: Work) -> bool {
        builders::find(&name)
            .is_some_and(|b| plan::check_repo(&work.repo).is_ok() && policy::takes(b, &work))
    }

    fn plan(name: String, work: Work) -> Result<BuildPlan, String> {
        let b = builders::find(&name).ok_or_else(|| format!("unknown builder {name:?}"))?;
        plan::check_repo(&work.repo)?;
        if !policy::takes(b, &work) {
            let kind = match work.kind {
                WorkKind::Try => "try",
                WorkKind::PostSubmit => "post-submit",
                WorkKind::Release => "release",
            };
            return Err(format!(
                "{name} does not build {}@{} ({kind})",
                work.repo, work.branch
            ));
        }
        plan::plan(b, &work)
    }

    fn shard_tests(_builder: String, tests: Vec<String>, shards: u32) -> Vec<Vec<String>> {
        shard::shard(tests, shards)
    }
}

fn var(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: value.into(),
    }
}

fn env(pairs: &[(&str, &str)]) -> Vec<EnvVar> {
    pairs.iter().map(|(name, value)| var(name, value)).collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn host_type(h: &Host) -> HostType {
    let (pool, image, expect_num) = match h.pool {
        Pool::Kube(image) => (PoolKind::Kubernetes, image, 0),
        Pool::Vm(image) => (PoolKind::Vm, image, 0),
        Pool::Reverse { expect, .. } => (PoolKind::Reverse, "", expect),
    };
    HostType {
        name: h.name.into(),
        pool,
        image: image.into(),
        expect_num,
        hermetic: h.hermetic(),
        env: env(h.env),
        host_arch: h.arch.into(),
        owners: strings(h.owners),
        notes: h.notes.into(),
    }
}

fn builder(b: &Conf) -> Builder {
    Builder {
        name: b.name.into(),
        host_type: b.host.into(),
        goos: b.goos().into(),
        goarch: b.goarch().into(),
        trybot: b.try_bot,
        try_only: b.try_only,
        env: env(b.env),
        helpers: b.helpers,
        try_helpers: b.try_helpers(),
        build_timeout: b.build_timeout(),
        test_timeout_scale: b.timeout_scale(),
        repos: policy::repos(b),
        try_repos: policy::try_repos(b),
        known_issues: b.known_issues.to_vec(),
        notes: b.notes(),
    }
}

export!(GoBuilders);
