//! Where builds run: buildlets of a host type, behind one trait.
//!
//! A pool hands out [`Lease`]s. [`Pool::reserve`] is synchronous, so the dispatcher
//! knows before it starts a build that a machine is its; getting the machine ready
//! (starting a process, cleaning a reverse machine) happens in the returned future.
//! Dropping a lease gives the machine back and cleans it.

pub mod fixed;
pub mod local;
pub mod reverse;

use buildlet::client::Client;
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::Notify;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A buildlet handed to one build.
pub struct Lease {
    pub client: Client,
    /// What the status page shows: `local-3 (pid 1234)`, an address.
    pub name: String,
    /// Gives the machine back when dropped.
    pub release: Box<dyn Send + Sync>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease").field("name", &self.name).finish()
    }
}

/// A machine as the status page lists it.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    pub name: String,
    /// `idle`, `starting`, `busy`, `dead: <why>`.
    pub state: String,
}

/// How many machines a pool has and how many it can hand out now.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Capacity {
    pub total: u32,
    pub free: u32,
}

pub trait Pool: Send + Sync {
    fn host_type(&self) -> &str;
    /// `local`, `fixed`, `reverse`, `kubernetes`.
    fn kind(&self) -> &'static str;
    fn capacity(&self) -> Capacity;
    /// Takes a free machine, or `None` when there is none; the future makes it ready.
    fn reserve(&self) -> Option<BoxFuture<anyhow::Result<Lease>>>;
    /// Every machine and its state.
    fn machines(&self) -> Vec<Machine>;
}

/// The pools by host type. Each pool calls [`Pools::freed`] when a machine comes back,
/// which wakes the dispatcher.
#[derive(Clone, Default)]
pub struct Pools {
    by_host: BTreeMap<String, Arc<dyn Pool>>,
    freed: Arc<Notify>,
}

impl Pools {
    pub fn new() -> Pools {
        Pools::default()
    }

    /// What a pool must call when it gets a machine back.
    pub fn notifier(&self) -> Arc<Notify> {
        self.freed.clone()
    }

    pub fn add(&mut self, pool: Arc<dyn Pool>) {
        self.by_host.insert(pool.host_type().to_string(), pool);
    }

    pub fn get(&self, host_type: &str) -> Option<&Arc<dyn Pool>> {
        self.by_host.get(host_type)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Pool>> {
        self.by_host.values()
    }

    /// Resolves when some pool got a machine back.
    pub async fn freed(&self) {
        self.freed.notified().await
    }
}

/// A random password for one buildlet.
pub fn password() -> String {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b).expect("the OS has randomness");
    hex::encode(b)
}
