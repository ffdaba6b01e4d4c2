//! The host types of Go's dashboard/builders.go (`Hosts`), July 2017: how a machine for a
//! build is obtained, and the environment every build on it starts from.

/// Environment pairs, in order.
pub type Env = &'static [(&'static str, &'static str)];

/// Exactly one way to get a machine: Go's HostConfig panicked unless exactly one of
/// KubeImage, VMImage and IsReverse was set; here the type says so.
pub enum Pool {
    /// A pod from this container image.
    Kube(&'static str),
    /// A GCE VM from this image.
    Vm(&'static str),
    /// Dedicated machines that dial in; `hermetic` is HermeticReverse (a fresh
    /// environment per connection).
    Reverse { expect: u32, hermetic: bool },
}

pub struct Host {
    pub name: &'static str,
    pub pool: Pool,
    pub env: Env,
    /// GOOS-GOARCH of the machine itself (the buildlet binary it runs).
    pub arch: &'static str,
    /// GitHub handles; none means golang-dev.
    pub owners: &'static [&'static str],
    pub notes: &'static str,
}

impl Host {
    /// Containers and VMs are always fresh; reverse hosts say (Go's IsHermetic).
    pub fn hermetic(&self) -> bool {
        match self.pool {
            Pool::Reverse { hermetic, .. } => hermetic,
            Pool::Kube(_) | Pool::Vm(_) => true,
        }
    }
}

pub fn find(name: &str) -> Option<&'static Host> {
    HOSTS.iter().find(|h| h.name == name)
}

const BOOTSTRAP_GO14: Env = &[("GOROOT_BOOTSTRAP", "/go1.4")];
const MAC_GO14: Env = &[("GOROOT_BOOTSTRAP", "/Users/gopher/go1.4")];
const OSU_GO: Env = &[("GOROOT_BOOTSTRAP", "/usr/local/go-bootstrap")];
const ORACLE_GO: Env = &[("GOROOT_BOOTSTRAP", "/opt/local/go-solaris-amd64-bootstrap")];
const CLANG: Env = &[("CC", "clang")];
const MIPS: &[&str] = &["MIPSbkirby"];
const ELIAS: &[&str] = &["eliasnaur"];
const ORACLE: &[&str] = &["binarycrusader"];
const PLAN9_NOTES: &str =
    "Plan 9 from 0intro; GCE VM is built from script in build/env/plan9-386; \
    n1-highcpu-4 for one whole core and enough memory for its ramfs";

const fn reverse(expect: u32, hermetic: bool) -> Pool {
    Pool::Reverse { expect, hermetic }
}

/// A reverse host made for one mobile builder: Go's addBuilder created "host-<name>"
/// for android and darwin-arm builders that named no host type.
const fn mobile(name: &'static str, notes: &'static str) -> Host {
    Host {
        name,
        pool: reverse(0, false),
        env: &[],
        arch: "darwin-amd64",
        owners: &[],
        notes,
    }
}

/// Every host type some builder uses. Go's table also had host-linux-armhf-cross and
/// host-linux-armel-cross (the coordinator's own cross-compile step, never a builder's
/// host) and host-linux-amd64-localdev (the local-builders plugin's).
pub const HOSTS: &[Host] = &[
    Host {
        name: "host-linux-kubestd",
        pool: Pool::Kube("linux-x86-std-kube:latest"),
        env: BOOTSTRAP_GO14,
        arch: "linux-amd64",
        owners: &[],
        notes: "Kubernetes container on GKE.",
    },
    Host {
        name: "host-nacl-kube",
        pool: Pool::Kube("linux-x86-nacl:latest"),
        env: BOOTSTRAP_GO14,
        arch: "linux-amd64",
        owners: &[],
        notes: "Kubernetes container on GKE.",
    },
    Host {
        name: "host-s390x-cross-kube",
        pool: Pool::Kube("linux-s390x-stretch:latest"),
        env: BOOTSTRAP_GO14,
        arch: "linux-amd64",
        owners: &[],
        notes: "Kubernetes container on GKE.",
    },
    Host {
        name: "host-linux-x86-alpine",
        pool: Pool::Kube("linux-x86-alpine:latest"),
        env: &[("GOROOT_BOOTSTRAP", "/usr/lib/go")],
        arch: "linux-amd64",
        owners: &[],
        notes: "Kubernetes alpine container on GKE.",
    },
    Host {
        name: "host-linux-clang",
        pool: Pool::Kube("linux-x86-clang:latest"),
        env: BOOTSTRAP_GO14,
        arch: "linux-amd64",
        owners: &[],
        notes: "Kubernetes container on GKE with clang.",
    },
    Host {
        name: "host-linux-sid",
        pool: Pool::Kube("linux-x86-sid:latest"),
        env: BOOTSTRAP_GO14,
        arch: "linux-amd64",
        owners: &[],
        notes: "Debian sid, updated occasionally.",
    },
    Host {
        name: "host-linux-arm-scaleway",
        pool: reverse(50, true),
        env: &[("GOROOT_BOOTSTRAP", "/usr/local/go")],
        arch: "linux-arm",
        owners: &[],
        notes: "Scaleway ARM machines; dial in as linux-arm or linux-arm-arm5 too",
    },
    Host {
        name: "host-linux-arm5spacemonkey",
        pool: reverse(3, false),
        env: &[("GOROOT_BOOTSTRAP", "/usr/local/go")],
        arch: "linux-arm",
        owners: &["zeebo"],
        notes: "ARMv5 machines run by Space Monkey",
    },
    Host {
        name: "host-openbsd-amd64-60",
        pool: Pool::Vm("openbsd-amd64-60"),
        env: &[],
        arch: "openbsd-amd64",
        owners: &[],
        notes: "OpenBSD 6.0; GCE VM is built from script in build/env/openbsd-amd64",
    },
    Host {
        name: "host-openbsd-386-60",
        pool: Pool::Vm("openbsd-386-60"),
        env: &[],
        arch: "openbsd-386",
        owners: &[],
        notes: "OpenBSD 6.0; GCE VM is built from script in build/env/openbsd-386",
    },
    Host {
        name: "host-freebsd-93-gce",
        pool: Pool::Vm("freebsd-amd64-gce93"),
        env: &[],
        arch: "freebsd-amd64",
        owners: &[],
        notes: "FreeBSD 9.3 GCE VM",
    },
    Host {
        name: "host-freebsd-101-gce",
        pool: Pool::Vm("freebsd-amd64-gce101"),
        env: CLANG,
        arch: "freebsd-amd64",
        owners: &[],
        notes: "FreeBSD 10.1; GCE VM is built from script in build/env/freebsd-amd64",
    },
    Host {
        name: "host-freebsd-110",
        pool: Pool::Vm("freebsd-amd64-110"),
        env: CLANG,
        arch: "freebsd-amd64",
        owners: &[],
        notes: "FreeBSD 11.0; GCE VM is built from script in build/env/freebsd-amd64",
    },
    Host {
        name: "host-netbsd-8branch",
        pool: Pool::Vm("netbsd-amd64-8branch"),
        env: &[],
        arch: "netbsd-amd64",
        owners: &[],
        notes: "NetBSD 8.? from the netbsd-8 branch; GCE VM is built from script in build/env/netbsd-amd64",
    },
    Host {
        name: "host-plan9-386-gce",
        pool: Pool::Vm("plan9-386-v5"),
        env: &[("GO_TEST_TIMEOUT_SCALE", "2")],
        arch: "plan9-386",
        owners: &[],
        notes: PLAN9_NOTES,
    },
    Host {
        name: "host-windows-amd64-2008",
        pool: Pool::Vm("windows-amd64-server-2008r2-v4"),
        env: &[],
        arch: "windows-amd64",
        owners: &[],
        notes: "Windows Server 2008 R2 GCE VM",
    },
    Host {
        name: "host-windows-amd64-2012",
        pool: Pool::Vm("windows-amd64-server-2012r2-v4"),
        env: &[],
        arch: "windows-amd64",
        owners: &[],
        notes: "Windows Server 2012 R2 GCE VM",
    },
    Host {
        name: "host-windows-amd64-2016",
        pool: Pool::Vm("windows-amd64-server-2016-v4"),
        env: &[],
        arch: "windows-amd64",
        owners: &[],
        notes: "Windows Server 2016 GCE VM",
    },
    Host {
        name: "host-darwin-10_8",
        pool: reverse(1, false),
        env: MAC_GO14,
        arch: "darwin-amd64",
        owners: &[],
        notes: "MacStadium OS X 10.8 VM under VMWare ESXi",
    },
    Host {
        name: "host-darwin-10_10",
        pool: reverse(2, false),
        env: MAC_GO14,
        arch: "darwin-amd64",
        owners: &[],
        notes: "MacStadium OS X 10.10 VM under VMWare ESXi",
    },
    Host {
        name: "host-darwin-10_11",
        pool: reverse(15, false),
        env: MAC_GO14,
        arch: "darwin-amd64",
        owners: &[],
        notes: "MacStadium OS X 10.11 VM under VMWare ESXi",
    },
    Host {
        name: "host-darwin-10_12",
        pool: reverse(2, true),
        env: MAC_GO14,
        arch: "darwin-amd64",
        owners: &[],
        notes: "MacStadium OS X 10.12 VM under VMWare ESXi; destroyed after each build and recreated",
    },
    Host {
        name: "host-linux-s390x",
        pool: reverse(0, false),
        env: &[("GOROOT_BOOTSTRAP", "/var/buildlet/go-linux-s390x-bootstrap")],
        arch: "linux-s390x",
        owners: &["mundaym"],
        notes: "run by IBM",
    },
    Host {
        name: "host-linux-ppc64-osu",
        pool: reverse(5, false),
        env: OSU_GO,
        arch: "linux-ppc64",
        owners: &[],
        notes: "Debian jessie; run by Go team on osuosl.org",
    },
    Host {
        name: "host-linux-ppc64le-osu",
        pool: reverse(5, false),
        env: OSU_GO,
        arch: "linux-ppc64le",
        owners: &[],
        notes: "Debian jessie; run by Go team on osuosl.org",
    },
    Host {
        name: "host-linux-arm64-linaro",
        pool: reverse(5, true),
        env: OSU_GO,
        arch: "linux-arm64",
        owners: &[],
        notes: "Ubuntu xenial; run by Go team, from linaro",
    },
    Host {
        name: "host-linux-arm64-packet",
        pool: reverse(20, true),
        env: OSU_GO,
        arch: "linux-arm64",
        owners: &[],
        notes: "On 96 core packet.net host (Xenial) in Docker containers (Jessie); run by Go team",
    },
    Host {
        name: "host-solaris-amd64",
        pool: reverse(5, false),
        env: &[("GOROOT_BOOTSTRAP", "/root/go-solaris-amd64-bootstrap")],
        arch: "solaris-amd64",
        owners: &[],
        notes: "run by Go team on Joyent, on a SmartOS 'infrastructure container'",
    },
    Host {
        name: "host-solaris-oracle-amd64-oraclerel",
        pool: reverse(1, false),
        env: ORACLE_GO,
        arch: "solaris-amd64",
        owners: ORACLE,
        notes: "Oracle Solaris amd64 Release System",
    },
    Host {
        name: "host-solaris-oracle-shawn",
        pool: reverse(1, false),
        env: ORACLE_GO,
        arch: "solaris-amd64",
        owners: ORACLE,
        notes: "Oracle Solaris amd64 Development System",
    },
    Host {
        name: "host-linux-mips",
        pool: reverse(1, false),
        env: &[
            ("GOROOT_BOOTSTRAP", "/usr/local/go-bootstrap-mips"),
            ("GOARCH", "mips"),
            ("GOHOSTARCH", "mips"),
            ("GO_TEST_TIMEOUT_SCALE", "4"),
        ],
        arch: "linux-mips",
        owners: MIPS,
        notes: "Run by Brendan Kirby, imgtec.com",
    },
    Host {
        name: "host-linux-mipsle",
        pool: reverse(1, false),
        env: &[
            ("GOROOT_BOOTSTRAP", "/usr/local/go-bootstrap-mipsle"),
            ("GOARCH", "mipsle"),
            ("GOHOSTARCH", "mipsle"),
        ],
        arch: "linux-mipsle",
        owners: MIPS,
        notes: "Run by Brendan Kirby, imgtec.com",
    },
    Host {
        name: "host-linux-mips64",
        pool: reverse(1, false),
        env: &[
            ("GOROOT_BOOTSTRAP", "/usr/local/go-bootstrap-mips64"),
            ("GOARCH", "mips64"),
            ("GOHOSTARCH", "mips64"),
            ("GO_TEST_TIMEOUT_SCALE", "4"),
        ],
        arch: "linux-mips64",
        owners: MIPS,
        notes: "Run by Brendan Kirby, imgtec.com",
    },
    Host {
        name: "host-linux-mips64le",
        pool: reverse(1, false),
        env: &[
            ("GOROOT_BOOTSTRAP", "/usr/local/go-bootstrap-mips64le"),
            ("GOARCH", "mips64le"),
            ("GOHOSTARCH", "mips64le"),
        ],
        arch: "linux-mips64le",
        owners: MIPS,
        notes: "Run by Brendan Kirby, imgtec.com",
    },
    Host {
        name: "host-darwin-amd64-eliasnaur-android",
        pool: reverse(1, false),
        env: &[
            ("GOROOT_BOOTSTRAP", "/usr/local/go-bootstrap"),
            ("GOHOSTARCH", "amd64"),
            ("GOOS", "android"),
        ],
        arch: "darwin-amd64",
        owners: ELIAS,
        notes: "Mac Mini hosted by Elias Naur, running the android reverse buildlet",
    },
    Host {
        name: "host-darwin-amd64-eliasnaur-ios",
        pool: reverse(1, false),
        env: &[
            ("GOROOT_BOOTSTRAP", "/usr/local/go-bootstrap"),
            ("GOHOSTARCH", "amd64"),
        ],
        arch: "darwin-amd64",
        owners: ELIAS,
        notes: "Mac Mini hosted by Elias Naur, running the ios reverse buildlet",
    },
    mobile("host-android-arm-sdk19", "Mac Mini with an Android ARM device"),
    mobile("host-android-arm64-sdk21", "Mac Mini with an Android arm64 device"),
    mobile("host-android-386-sdk21", "Mac Mini with an Android 386 device"),
    mobile("host-android-amd64-sdk21", "Mac Mini with an Android amd64 device"),
    mobile("host-darwin-arm-a5ios", "Mac Mini with an iPhone 4S"),
    mobile("host-darwin-arm64-a7ios", "Mac Mini with an iPad Mini 3"),
];
