//! The builders of Go's dashboard/builders.go (`Builders`), July 2017, and what Go's
//! BuildConfig methods derive from a builder's name and flags.

use crate::hosts::{self, Env, Host};

/// One BuildConfig. Fields Go left at their zero value take `BASE`'s.
pub struct Conf {
    pub name: &'static str,
    pub host: &'static str,
    pub notes: &'static str,
    /// Part of the default trybot set.
    pub try_bot: bool,
    /// Never built post-submit.
    pub try_only: bool,
    /// Compile the tests, do not run them.
    pub compile_only: bool,
    /// Network tests are flaky: GO_BUILDER_FLAKY_NET=1.
    pub flaky_net: bool,
    /// The build is make.bash alone.
    pub stop_after_make: bool,
    /// Too slow a link to take the post-make snapshot; such builders have no helpers.
    pub skip_snapshot: bool,
    /// Benchmarks on trybots of the go repo.
    pub run_bench: bool,
    /// Concurrency cap for this builder; 0 means none.
    pub max_at_once: u32,
    /// Packages to `go install -race` after make; a "-race" builder defaults to std.
    pub race_packages: &'static [&'static str],
    /// Commits the tested commit must contain, else the builder skips it.
    pub go_deps: &'static [&'static str],
    pub helpers: u32,
    /// Helpers on trybots; 0 falls back to `helpers`.
    pub try_helpers: u32,
    pub env: Env,
    pub all_script_args: &'static [&'static str],
    pub known_issues: &'static [u32],
}

const BASE: Conf = Conf {
    name: "",
    host: "",
    notes: "",
    try_bot: false,
    try_only: false,
    compile_only: false,
    flaky_net: false,
    stop_after_make: false,
    skip_snapshot: false,
    run_bench: false,
    max_at_once: 0,
    race_packages: &[],
    go_deps: &[],
    helpers: 0,
    try_helpers: 0,
    env: &[],
    all_script_args: &[],
    known_issues: &[],
};

/// Builders that also test the x/ repos (Go's BuildSubrepos allow-list; darwin-amd64-10_12
/// stayed off it until go.dev/issue/18751 was addressed).
const SUBREPO_BUILDERS: &[&str] = &[
    "darwin-amd64-10_8",
    "darwin-amd64-10_10",
    "darwin-amd64-10_11",
    "darwin-386-10_11",
    "freebsd-386-gce101",
    "freebsd-amd64-gce101",
    "freebsd-386-110",
    "freebsd-amd64-110",
    "linux-386",
    "linux-amd64",
    "linux-amd64-nocgo",
    "openbsd-386-60",
    "openbsd-amd64-60",
    "plan9-386",
    "windows-amd64-2016",
    "windows-386-2008",
];

/// All-scripts after which the coordinator can snapshot and shard (Go's SplitMakeRun).
const SPLIT_SCRIPTS: &[&str] = &[
    "all.bash",
    "all.bat",
    "race.bash",
    "race.bat",
    "all.rc",
    "nacltest.bash",
];

/// A dist test chunk gets 20 minutes (the coordinator's execTimeout).
const TEST_TIMEOUT_SECS: u32 = 20 * 60;
/// A VM or pod was deleted 45 minutes after it was created (vmDeleteTimeout), so a whole
/// build had to fit in that.
const BUILD_TIMEOUT_SECS: u32 = 45 * 60;

impl Conf {
    pub fn host(&self) -> &'static Host {
        hosts::find(self.host).expect("every builder's host type is in HOSTS")
    }

    /// The text before the first '-'.
    pub fn goos(&self) -> &'static str {
        self.name.split('-').next().unwrap_or("")
    }

    /// The second dash-separated component.
    pub fn goarch(&self) -> &'static str {
        self.name.split('-').nth(1).unwrap_or("")
    }

    pub fn is_race(&self) -> bool {
        self.name.ends_with("-race")
    }

    pub fn race_packages(&self) -> &'static [&'static str] {
        match self.race_packages {
            [] if self.is_race() => &["std"],
            pkgs => pkgs,
        }
    }

    /// Go's AllScript, under go/src.
    pub fn all_script(&self) -> &'static str {
        let windows = self.goos() == "windows";
        match self.name {
            _ if self.is_race() && windows => "race.bat",
            _ if self.is_race() => "race.bash",
            _ if windows => "all.bat",
            n if n.starts_with("plan9-") => "all.rc",
            n if n.starts_with("nacl-") => "nacltest.bash",
            n if n.starts_with("android-") => "androidtest.bash",
            n if n.starts_with("darwin-arm") => "iostest.bash",
            n if n.starts_with("misc-compile") => "buildall.bash",
            _ => "all.bash",
        }
    }

    /// Go's AllScriptArgs: iOS builders restart their device first.
    pub fn all_script_args(&self) -> &'static [&'static str] {
        if self.name.starts_with("darwin-arm") {
            &["-restart"]
        } else {
            self.all_script_args
        }
    }

    /// Go's MakeScript, under go/src.
    pub fn make_script(&self) -> &'static str {
        match self.goos() {
            "windows" => "make.bat",
            "plan9" => "make.rc",
            "nacl" => "naclmake.bash",
            _ => "make.bash",
        }
    }

    /// Whether make, then the sharded dist tests, replaces the all-script.
    pub fn split_make_run(&self) -> bool {
        SPLIT_SCRIPTS.contains(&self.all_script())
    }

    pub fn builds_subrepos(&self) -> bool {
        self.split_make_run() && SUBREPO_BUILDERS.contains(&self.name)
    }

    /// Go's NumTestHelpers(true).
    pub fn try_helpers(&self) -> u32 {
        if self.try_helpers != 0 {
            self.try_helpers
        } else {
            self.helpers
        }
    }

    /// GO_TEST_TIMEOUT_SCALE from the builder's env, else the host's, else 1.
    pub fn timeout_scale(&self) -> u32 {
        [self.env, self.host().env]
            .iter()
            .flat_map(|env| env.iter())
            .find(|(k, _)| *k == "GO_TEST_TIMEOUT_SCALE")
            .and_then(|(_, v)| v.parse().ok())
            .filter(|&s| s > 0)
            .unwrap_or(1)
    }

    pub fn test_timeout(&self) -> u32 {
        TEST_TIMEOUT_SECS * self.timeout_scale()
    }

    pub fn build_timeout(&self) -> u32 {
        BUILD_TIMEOUT_SECS * self.timeout_scale()
    }

    /// Go's Env(): GO_BUILDER_NAME, GO_BUILDER_FLAKY_NET if set, the host's env, the
    /// builder's env, in that order.
    pub fn env(&self) -> Vec<(&'static str, &'static str)> {
        let mut env = vec![("GO_BUILDER_NAME", self.name)];
        if self.flaky_net {
            env.push(("GO_BUILDER_FLAKY_NET", "1"));
        }
        env.extend(self.host().env);
        env.extend(self.env);
        env
    }

    /// The seed's notes, then what its flags mean for a reader of the builder list.
    pub fn notes(&self) -> String {
        let mut parts: Vec<String> = vec![self.notes.to_string()];
        let flag = |on: bool, text: &str| on.then(|| text.to_string());
        parts.extend(flag(
            self.compile_only,
            "compiles tests without running them",
        ));
        parts.extend(flag(self.stop_after_make, "stops after make"));
        parts.extend(flag(self.skip_snapshot, "no post-make snapshot"));
        parts.extend(flag(self.run_bench, "runs benchmarks on go trybots"));
        parts.extend(
            (self.max_at_once > 0).then(|| format!("at most {} at once", self.max_at_once)),
        );
        parts.extend(self.go_deps.iter().map(|d| format!("needs commit {d}")));
        parts.retain(|p| !p.is_empty());
        parts.join("; ")
    }
}

pub fn find(name: &str) -> Option<&'static Conf> {
    BUILDERS.iter().find(|b| b.name == name)
}

const KUBE: &str = "host-linux-kubestd";
const GOARCH_386: Env = &[("GOARCH", "386"), ("GOHOSTARCH", "386")];
const GOARCH_AMD64: Env = &[("GOARCH", "amd64"), ("GOHOSTARCH", "amd64")];
const NETBSD_ISSUES: &[u32] = &[19339, 19652, 20852];

/// Go's misc-compile trybots: buildall.bash cross-compiles std for the ports matching
/// `rx`, which have no trybot of their own.
const fn misc_compile(
    name: &'static str,
    notes: &'static str,
    rx: &'static [&'static str],
) -> Conf {
    Conf {
        name,
        host: KUBE,
        notes,
        try_bot: true,
        try_only: true,
        compile_only: true,
        all_script_args: rx,
        ..BASE
    }
}

/// A builder on a mobile host of its own ("host-<name>").
const fn mobile(name: &'static str, host: &'static str, notes: &'static str, env: Env) -> Conf {
    Conf {
        name,
        host,
        notes,
        env,
        ..BASE
    }
}

pub const BUILDERS: &[Conf] = &[
    Conf {
        name: "freebsd-amd64-gce93",
        host: "host-freebsd-93-gce",
        notes: "disabled until the GCE bugfix is deployed",
        try_only: true,
        ..BASE
    },
    Conf {
        name: "freebsd-amd64-gce101",
        host: "host-freebsd-101-gce",
        notes: "disabled until the GCE bugfix is deployed",
        try_only: true,
        ..BASE
    },
    Conf {
        name: "freebsd-amd64-110",
        host: "host-freebsd-110",
        try_bot: true,
        try_helpers: 4,
        ..BASE
    },
    Conf {
        name: "freebsd-amd64-race",
        host: "host-freebsd-110",
        ..BASE
    },
    Conf {
        name: "freebsd-386-gce101",
        host: "host-freebsd-101-gce",
        notes: "disabled until FreeBSD on GCE is fixed",
        try_only: true,
        env: GOARCH_386,
        ..BASE
    },
    Conf {
        name: "freebsd-386-110",
        host: "host-freebsd-110",
        notes: "disabled until FreeBSD on GCE is fixed",
        try_only: true,
        env: GOARCH_386,
        ..BASE
    },
    Conf {
        name: "linux-386",
        host: KUBE,
        try_bot: true,
        env: GOARCH_386,
        helpers: 1,
        try_helpers: 3,
        ..BASE
    },
    Conf {
        name: "linux-386-387",
        host: KUBE,
        notes: "GO386=387",
        env: &[("GOARCH", "386"), ("GOHOSTARCH", "386"), ("GO386", "387")],
        ..BASE
    },
    Conf {
        name: "linux-amd64",
        host: KUBE,
        notes: "3 helpers for the tests and 3 for the benchmarks finish a trybot run in 5 minutes",
        try_bot: true,
        helpers: 6,
        run_bench: true,
        ..BASE
    },
    Conf {
        name: "linux-amd64-alpine",
        host: "host-linux-x86-alpine",
        ..BASE
    },
    // cmd/dist recognizes the "-vetall" suffix and runs only "go vet std cmd".
    Conf {
        name: "misc-vet-vetall",
        host: KUBE,
        notes: "Runs vet over the standard library.",
        try_bot: true,
        helpers: 5,
        ..BASE
    },
    misc_compile(
        "misc-compile",
        "cross-compiles std for linux-arm64, linux-mips64*, nacl-arm, solaris-amd64, freebsd-arm and darwin-386",
        &["^(linux-arm64|linux-mips64.*|nacl-arm|solaris-amd64|freebsd-arm|darwin-386)$"],
    ),
    misc_compile(
        "misc-compile-ppc",
        "cross-compiles std for linux-ppc64 and linux-ppc64le",
        &["^(linux-ppc64|linux-ppc64le)$"],
    ),
    misc_compile(
        "misc-compile-netbsd",
        "cross-compiles std for netbsd",
        &["^netbsd-"],
    ),
    misc_compile(
        "misc-compile-plan9",
        "cross-compiles std for plan9",
        &["^plan9-"],
    ),
    Conf {
        name: "linux-amd64-nocgo",
        host: KUBE,
        notes: "cgo disabled",
        // Without cgo, os/user needs USER to find the user name.
        env: &[("CGO_ENABLED", "0"), ("USER", "root")],
        ..BASE
    },
    Conf {
        name: "linux-amd64-noopt",
        host: KUBE,
        notes: "optimizations and inlining disabled",
        env: &[("GO_GCFLAGS", "-N -l")],
        ..BASE
    },
    Conf {
        name: "linux-amd64-ssacheck",
        host: KUBE,
        notes: "SSA internal checks enabled",
        try_bot: true,
        compile_only: true,
        env: &[("GO_GCFLAGS", "-d=ssa/check/on,dclstack")],
        // The commit that adds dclstack.
        go_deps: &["f65abf6ddc8d1f3d403a9195fd74eaffa022b07f"],
        ..BASE
    },
    Conf {
        name: "linux-amd64-racecompile",
        host: KUBE,
        notes: "race-enabled cmd/compile",
        try_bot: true,
        compile_only: true,
        skip_snapshot: true,
        stop_after_make: true,
        race_packages: &["cmd/compile"],
        // The commit that adds cmd/compile -c (go.dev/issue/20222).
        go_deps: &["22f1b56dab29d397d2bdbdd603d85e60fb678089"],
        ..BASE
    },
    Conf {
        name: "linux-amd64-race",
        host: KUBE,
        try_bot: true,
        helpers: 2,
        try_helpers: 5,
        ..BASE
    },
    Conf {
        name: "linux-386-clang",
        host: "host-linux-clang",
        notes: "Debian jessie + clang 3.9 instead of gcc",
        env: &[("CC", "/usr/bin/clang"), ("GOHOSTARCH", "386")],
        ..BASE
    },
    Conf {
        name: "linux-amd64-clang",
        host: "host-linux-clang",
        notes: "Debian jessie + clang 3.9 instead of gcc",
        env: &[("CC", "/usr/bin/clang")],
        ..BASE
    },
    Conf {
        name: "linux-386-sid",
        host: "host-linux-sid",
        notes: "Debian sid (unstable)",
        env: &[("GOHOSTARCH", "386")],
        ..BASE
    },
    Conf {
        name: "linux-amd64-sid",
        host: "host-linux-sid",
        notes: "Debian sid (unstable)",
        ..BASE
    },
    Conf {
        name: "linux-arm",
        host: "host-linux-arm-scaleway",
        try_bot: true,
        flaky_net: true,
        helpers: 2,
        try_helpers: 7,
        ..BASE
    },
    Conf {
        name: "linux-arm-nativemake",
        host: "host-linux-arm-scaleway",
        notes: "runs make.bash on real ARM hardware, but does not run tests",
        stop_after_make: true,
        ..BASE
    },
    Conf {
        name: "linux-arm-arm5spacemonkey",
        host: "host-linux-arm5spacemonkey",
        env: &[("GOARM", "5")],
        ..BASE
    },
    Conf {
        name: "nacl-386",
        host: "host-nacl-kube",
        try_bot: true,
        helpers: 3,
        env: &[
            ("GOOS", "nacl"),
            ("GOARCH", "386"),
            ("GOHOSTOS", "linux"),
            ("GOHOSTARCH", "amd64"),
        ],
        ..BASE
    },
    Conf {
        name: "nacl-amd64p32",
        host: "host-nacl-kube",
        try_bot: true,
        helpers: 3,
        env: &[
            ("GOOS", "nacl"),
            ("GOARCH", "amd64p32"),
            ("GOHOSTOS", "linux"),
            ("GOHOSTARCH", "amd64"),
        ],
        ..BASE
    },
    Conf {
        name: "openbsd-amd64-60",
        host: "host-openbsd-amd64-60",
        try_bot: true,
        helpers: 2,
        try_helpers: 5,
        ..BASE
    },
    Conf {
        name: "openbsd-386-60",
        host: "host-openbsd-386-60",
        notes: "disabled until OpenBSD works on GCE again",
        max_at_once: 2,
        try_only: true,
        ..BASE
    },
    Conf {
        name: "netbsd-amd64-8branch",
        host: "host-netbsd-8branch",
        notes: "disabled until NetBSD runs again",
        max_at_once: 1,
        try_only: true,
        known_issues: NETBSD_ISSUES,
        ..BASE
    },
    Conf {
        name: "netbsd-386-8branch",
        host: "host-netbsd-8branch",
        notes: "disabled until NetBSD runs again",
        env: GOARCH_386,
        max_at_once: 1,
        try_only: true,
        known_issues: NETBSD_ISSUES,
        ..BASE
    },
    Conf {
        name: "plan9-386",
        host: "host-plan9-386-gce",
        notes: "disabled until Plan 9 works on GCE again",
        helpers: 1,
        max_at_once: 2,
        try_only: true,
        ..BASE
    },
    Conf {
        name: "windows-amd64-2008",
        host: "host-windows-amd64-2008",
        env: GOARCH_AMD64,
        ..BASE
    },
    Conf {
        name: "windows-386-2008",
        host: "host-windows-amd64-2008",
        env: GOARCH_386,
        try_bot: true,
        try_helpers: 5,
        ..BASE
    },
    Conf {
        name: "windows-amd64-2012",
        host: "host-windows-amd64-2012",
        env: GOARCH_AMD64,
        ..BASE
    },
    Conf {
        name: "windows-amd64-2016",
        host: "host-windows-amd64-2016",
        env: GOARCH_AMD64,
        try_bot: true,
        try_helpers: 5,
        ..BASE
    },
    Conf {
        name: "windows-amd64-race",
        host: "host-windows-amd64-2008",
        notes: "Only runs -race tests (./race.bat)",
        env: GOARCH_AMD64,
        ..BASE
    },
    Conf {
        name: "darwin-amd64-10_8",
        host: "host-darwin-10_8",
        ..BASE
    },
    Conf {
        name: "darwin-amd64-10_10",
        host: "host-darwin-10_10",
        ..BASE
    },
    Conf {
        name: "darwin-amd64-10_11",
        host: "host-darwin-10_11",
        try_bot: true,
        helpers: 2,
        try_helpers: 3,
        ..BASE
    },
    Conf {
        name: "darwin-386-10_11",
        host: "host-darwin-10_11",
        max_at_once: 1,
        env: GOARCH_386,
        ..BASE
    },
    Conf {
        name: "darwin-amd64-10_12",
        host: "host-darwin-10_12",
        ..BASE
    },
    mobile(
        "android-arm-sdk19",
        "host-android-arm-sdk19",
        "Android ARM device running android-19 (KitKat 4.4), attached to Mac Mini",
        &[("GOOS", "android"), ("GOARCH", "arm")],
    ),
    mobile(
        "android-arm64-sdk21",
        "host-android-arm64-sdk21",
        "Android arm64 device using the android-21 toolchain, attached to Mac Mini",
        &[("GOOS", "android"), ("GOARCH", "arm64")],
    ),
    mobile(
        "android-386-sdk21",
        "host-android-386-sdk21",
        "Android 386 device using the android-21 toolchain, attached to Mac Mini",
        &[("GOOS", "android"), ("GOARCH", "386")],
    ),
    mobile(
        "android-amd64-sdk21",
        "host-android-amd64-sdk21",
        "Android amd64 device using the android-21 toolchain, attached to Mac Mini",
        &[("GOOS", "android"), ("GOARCH", "amd64")],
    ),
    mobile(
        "darwin-arm-a5ios",
        "host-darwin-arm-a5ios",
        "iPhone 4S (A5 processor), via a Mac Mini; owned by crawshaw",
        &[("GOARCH", "arm"), ("GOHOSTARCH", "amd64")],
    ),
    mobile(
        "darwin-arm64-a7ios",
        "host-darwin-arm64-a7ios",
        "iPad Mini 3 (A7 processor), via a Mac Mini; owned by crawshaw",
        &[("GOARCH", "arm64"), ("GOHOSTARCH", "amd64")],
    ),
    mobile(
        "darwin-arm-a1549ios",
        "host-darwin-amd64-eliasnaur-ios",
        "iPhone 6 (model A1549), via a Mac Mini; owned by elias.naur",
        &[("GOARCH", "arm")],
    ),
    mobile(
        "darwin-arm64-a1549ios",
        "host-darwin-amd64-eliasnaur-ios",
        "iPhone 6 (model A1549), via a Mac Mini; owned by elias.naur",
        &[("GOARCH", "arm64")],
    ),
    mobile(
        "android-arm-wiko-fever",
        "host-darwin-amd64-eliasnaur-android",
        "Android Wiko Fever phone running Android 6.0, via a Mac Mini",
        &[
            ("GOARCH", "arm"),
            ("GOARM", "7"),
            ("CC_FOR_TARGET", "/Users/elias/android-ndk-standalone-arm/bin/clang"),
        ],
    ),
    mobile(
        "android-arm64-wiko-fever",
        "host-darwin-amd64-eliasnaur-android",
        "Android Wiko Fever phone running Android 6.0, via a Mac Mini",
        &[
            ("GOARCH", "arm64"),
            ("CC_FOR_TARGET", "/Users/elias/android-ndk-standalone-arm64/bin/clang"),
        ],
    ),
    Conf {
        name: "solaris-amd64-oracledev",
        host: "host-solaris-oracle-shawn",
        notes: "Oracle Solaris development version",
        ..BASE
    },
    Conf {
        name: "solaris-amd64-oraclerel",
        host: "host-solaris-oracle-amd64-oraclerel",
        notes: "Oracle Solaris release version",
        ..BASE
    },
    Conf {
        name: "solaris-amd64-smartosbuildlet",
        host: "host-solaris-amd64",
        ..BASE
    },
    Conf {
        name: "linux-ppc64-buildlet",
        host: "host-linux-ppc64-osu",
        flaky_net: true,
        ..BASE
    },
    Conf {
        name: "linux-ppc64le-buildlet",
        host: "host-linux-ppc64le-osu",
        flaky_net: true,
        ..BASE
    },
    Conf {
        name: "linux-arm64-buildlet",
        host: "host-linux-arm64-linaro",
        flaky_net: true,
        ..BASE
    },
    Conf {
        name: "linux-arm64-packet",
        host: "host-linux-arm64-packet",
        // Unknown; taken from the linaro machines.
        flaky_net: true,
        ..BASE
    },
    Conf {
        name: "linux-mips",
        host: "host-linux-mips",
        skip_snapshot: true,
        ..BASE
    },
    Conf {
        name: "linux-mipsle",
        host: "host-linux-mipsle",
        skip_snapshot: true,
        ..BASE
    },
    Conf {
        name: "linux-mips64",
        host: "host-linux-mips64",
        skip_snapshot: true,
        ..BASE
    },
    Conf {
        name: "linux-mips64le",
        host: "host-linux-mips64le",
        skip_snapshot: true,
        ..BASE
    },
    Conf {
        name: "linux-s390x-ibm",
        host: "host-linux-s390x",
        ..BASE
    },
    Conf {
        name: "linux-s390x-crosscompile",
        host: "host-s390x-cross-kube",
        notes: "s390x cross-compile builder for releases; doesn't run tests",
        compile_only: true,
        // Try-only but outside the trybot set: only release builds use it.
        try_only: true,
        env: &[
            ("CGO_ENABLED", "1"),
            ("GOARCH", "s390x"),
            ("GOHOSTARCH", "amd64"),
            ("CC_FOR_TARGET", "s390x-linux-gnu-gcc"),
        ],
        ..BASE
    },
];
