//! A loaded plugin version: its identity (sha256 of the component), what it says it
//! is, and an `InstancePre` to make a fresh instance for every call.

use crate::bindings::{builders, dashboard, devapp, gopherbot, scheduler};
use crate::host::HostState;
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The sha256 of a component, in hex: a version's identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VersionId(Arc<str>);

impl VersionId {
    pub fn of(bytes: &[u8]) -> Self {
        VersionId(hex::encode(Sha256::digest(bytes)).into())
    }

    /// Accepts a full 64-digit lowercase hex id.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| VersionId(s.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 digits, as shown to people.
    pub fn short(&self) -> &str {
        &self.0[..12]
    }
}

impl fmt::Display for VersionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short())
    }
}

/// The plugin kinds, one WIT world each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Builders,
    Scheduler,
    Gopherbot,
    Dashboard,
    Devapp,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Builders,
        Kind::Scheduler,
        Kind::Gopherbot,
        Kind::Dashboard,
        Kind::Devapp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Builders => "builders",
            Kind::Scheduler => "scheduler",
            Kind::Gopherbot => "gopherbot",
            Kind::Dashboard => "dashboard",
            Kind::Devapp => "devapp",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The interface (besides `plugin`) that components of this kind export.
    pub fn export(self) -> &'static str {
        match self {
            Kind::Builders => "builder-config",
            Kind::Scheduler => "scheduling",
            Kind::Gopherbot => "bot",
            Kind::Dashboard | Kind::Devapp => "render",
        }
    }

    /// The `xbuild:platform` interfaces its world imports.
    pub fn imports(self) -> &'static [&'static str] {
        match self {
            Kind::Builders | Kind::Scheduler => &["types", "log", "clock"],
            Kind::Gopherbot => &["types", "log", "clock", "corpus"],
            Kind::Dashboard => &["types", "http-types", "log", "clock", "corpus", "results"],
            Kind::Devapp => &["types", "http-types", "log", "clock", "corpus"],
        }
    }

    pub(crate) fn from_wit(k: crate::bindings::types::PluginKind) -> Kind {
        use crate::bindings::types::PluginKind as P;
        match k {
            P::Builders => Kind::Builders,
            P::Scheduler => Kind::Scheduler,
            P::Gopherbot => Kind::Gopherbot,
            P::Dashboard => Kind::Dashboard,
            P::Devapp => Kind::Devapp,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a plugin says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description {
    pub name: String,
    pub version: String,
    pub kind: Kind,
    pub summary: String,
}

impl From<crate::bindings::types::Description> for Description {
    fn from(d: crate::bindings::types::Description) -> Self {
        Description {
            name: d.name,
            version: d.version,
            kind: Kind::from_wit(d.kind),
            summary: d.summary,
        }
    }
}

/// Pre-linked instance factory, typed by world.
#[derive(Clone)]
pub(crate) enum KindPre {
    Builders(builders::BuildersPre<HostState>),
    Scheduler(scheduler::SchedulerPre<HostState>),
    Gopherbot(gopherbot::GopherbotPre<HostState>),
    Dashboard(dashboard::DashboardPre<HostState>),
    Devapp(devapp::DevappPre<HostState>),
}

impl KindPre {
    pub(crate) fn kind(&self) -> Kind {
        match self {
            KindPre::Builders(_) => Kind::Builders,
            KindPre::Scheduler(_) => Kind::Scheduler,
            KindPre::Gopherbot(_) => Kind::Gopherbot,
            KindPre::Dashboard(_) => Kind::Dashboard,
            KindPre::Devapp(_) => Kind::Devapp,
        }
    }
}

/// Counters of one version, exported at `/metrics`.
#[derive(Debug, Default)]
pub struct VersionStats {
    pub calls: AtomicU64,
    pub faults_deadline: AtomicU64,
    pub faults_memory: AtomicU64,
    pub faults_fuel: AtomicU64,
    pub faults_trap: AtomicU64,
    pub faults_contract: AtomicU64,
    pub nanos: AtomicU64,
    pub fuel: AtomicU64,
}

impl VersionStats {
    pub fn faults(&self) -> u64 {
        [
            &self.faults_deadline,
            &self.faults_memory,
            &self.faults_fuel,
            &self.faults_trap,
            &self.faults_contract,
        ]
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .sum()
    }

    pub(crate) fn count_fault(&self, fault: &crate::error::Fault) {
        use crate::error::Fault as F;
        let counter = match fault {
            F::Deadline { .. } => &self.faults_deadline,
            F::MemoryCap { .. } => &self.faults_memory,
            F::OutOfFuel { .. } => &self.faults_fuel,
            F::Trap(_) => &self.faults_trap,
            F::Contract(_) => &self.faults_contract,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// A validated, loaded plugin version.
pub struct PluginVersion {
    pub id: VersionId,
    pub description: Description,
    pub size: usize,
    pub stats: VersionStats,
    pub(crate) pre: KindPre,
    /// "name@version", for log lines.
    pub(crate) label: Arc<str>,
}

impl PluginVersion {
    pub fn kind(&self) -> Kind {
        self.pre.kind()
    }
    pub fn name(&self) -> &str {
        &self.description.name
    }
}

impl fmt::Debug for PluginVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginVersion")
            .field("id", &self.id)
            .field("description", &self.description)
            .finish()
    }
}
