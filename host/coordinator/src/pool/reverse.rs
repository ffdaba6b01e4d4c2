//! Reverse buildlets: machines that dial in (Go's `reverseBuildletPool`). They register
//! through [`buildlet::Acceptor`] (HTTP/2 upgrade or Go's revdial v1) and join the
//! [`Fleet`]; each host type gets a [`ReversePool`] view of it.
//!
//! As in Go's pool, an idle machine gets a `/status` check every 10–14 s with a 5 s
//! timeout and is dropped when it fails, and a machine is cleaned (`removeall .`) before
//! it is handed out. Unlike Go's, a machine is kept after a build rather than halted:
//! Go's fleet reconnects after each halt, ours need not.

use super::{BoxFuture, Capacity, Lease, Machine, Pool};
use anyhow::Context;
use buildlet::{Client, ReverseBuildlet};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};

/// Health-check timing.
#[derive(Clone, Copy, Debug)]
pub struct Checks {
    /// Pause between checks of an idle machine: uniformly in `[every, every + jitter)`.
    pub every: Duration,
    pub jitter: Duration,
    pub timeout: Duration,
}

impl Default for Checks {
    fn default() -> Self {
        Checks {
            every: Duration::from_secs(10),
            jitter: Duration::from_secs(4),
            timeout: Duration::from_secs(5),
        }
    }
}

struct Entry {
    id: u64,
    name: String,
    host_type: String,
    version: String,
    client: Client,
    connected: Instant,
    /// When it last changed between idle and busy.
    since: Instant,
    busy: bool,
    in_check: bool,
}

impl Entry {
    fn free(&self) -> bool {
        !self.busy && !self.in_check && !self.client.is_closed()
    }
}

struct Shared {
    machines: Mutex<Vec<Entry>>,
    /// Ids are never reused: a removed machine's check loop must not find a new one.
    next_id: AtomicU64,
    freed: Arc<Notify>,
    checks: Checks,
    /// Host types with a build waiting, for the `Waiters` of `/status/reverse.json`.
    expect: BTreeMap<String, u32>,
}

/// Every reverse machine, whatever its host type.
#[derive(Clone)]
pub struct Fleet {
    s: Arc<Shared>,
}

impl Fleet {
    /// `expect`: machines each host type is expected to have (Go's `ExpectNum`).
    pub fn new(freed: Arc<Notify>, checks: Checks, expect: BTreeMap<String, u32>) -> Fleet {
        Fleet {
            s: Arc::new(Shared {
                machines: Mutex::new(Vec::new()),
                next_id: AtomicU64::new(1),
                freed,
                checks,
                expect,
            }),
        }
    }

    /// The pool of one host type.
    pub fn pool(&self, host_type: &str) -> Arc<ReversePool> {
        Arc::new(ReversePool {
            host_type: host_type.into(),
            fleet: self.clone(),
        })
    }

    /// Takes registrations as the acceptor hands them over, until it is dropped.
    pub async fn admit_from(self, mut rx: mpsc::Receiver<ReverseBuildlet>) {
        while let Some(rb) = rx.recv().await {
            self.admit(rb);
        }
    }

    /// Adds a registered machine and starts its health checks.
    pub fn admit(&self, rb: ReverseBuildlet) {
        let id = self.s.next_id.fetch_add(1, Ordering::Relaxed);
        let mut m = self.s.machines.lock().unwrap();
        let taken = |n: &str| m.iter().any(|e| e.name == n);
        let mut name = rb.hostname.clone();
        let mut k = 2;
        while taken(&name) {
            name = format!("{}#{k}", rb.hostname);
            k += 1;
        }
        tracing::info!(%name, host_type = %rb.host_type, "reverse machine joined");
        m.push(Entry {
            id,
            name,
            host_type: rb.host_type,
            version: rb.version,
            client: rb.client,
            connected: Instant::now(),
            since: Instant::now(),
            busy: false,
            in_check: false,
        });
        drop(m);
        self.s.freed.notify_one();
        tokio::spawn(self.clone().check_loop(id));
    }

    async fn check_loop(self, id: u64) {
        let c = self.s.checks;
        loop {
            let jitter = c.jitter.mul_f64(unit_random());
            tokio::time::sleep(c.every + jitter).await;
            let client = {
                let mut m = self.s.machines.lock().unwrap();
                let Some(e) = m.iter_mut().find(|e| e.id == id) else {
                    return; // removed
                };
                if e.busy {
                    continue; // its build watches it
                }
                e.in_check = true;
                e.client.clone()
            };
            let ok = match tokio::time::timeout(c.timeout, client.status()).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!("no status within {:?}", c.timeout)),
            };
            match ok {
                Ok(()) => {
                    let mut m = self.s.machines.lock().unwrap();
                    if let Some(e) = m.iter_mut().find(|e| e.id == id) {
                        e.in_check = false;
                    }
                    drop(m);
                    self.s.freed.notify_one();
                }
                Err(why) => return self.remove(id, &why),
            }
        }
    }

    fn remove(&self, id: u64, why: &str) {
        let mut m = self.s.machines.lock().unwrap();
        if let Some(i) = m.iter().position(|e| e.id == id) {
            let e = m.remove(i);
            tracing::warn!(name = %e.name, host_type = %e.host_type, "reverse machine removed: {why}");
        }
    }

    /// Go's `types.ReverseBuilderStatus` (`/status/reverse.json`). `waiters`: builds
    /// queued per host type.
    pub fn status(&self, waiters: &BTreeMap<String, u32>) -> ReverseStatus {
        let m = self.s.machines.lock().unwrap();
        let live = || m.iter().filter(|e| !e.client.is_closed());
        let kinds = self.s.expect.keys().chain(live().map(|e| &e.host_type));
        let mut host_types: BTreeMap<String, HostTypeStatus> = kinds
            .map(|ht| {
                let st = HostTypeStatus {
                    host_type: ht.clone(),
                    expect: self.s.expect.get(ht).copied().unwrap_or(0),
                    waiters: waiters.get(ht).copied().unwrap_or(0),
                    ..Default::default()
                };
                (ht.clone(), st)
            })
            .collect();
        for e in live() {
            let st = host_types.get_mut(&e.host_type).expect("added above");
            st.connected += 1;
            if e.busy {
                st.busy += 1;
            } else {
                st.idle += 1;
            }
            let since = e.since.elapsed().as_secs_f64();
            st.machines.insert(
                e.name.clone(),
                MachineStatus {
                    name: e.name.clone(),
                    host_type: e.host_type.clone(),
                    connected_sec: e.connected.elapsed().as_secs_f64(),
                    idle_sec: if e.busy { 0.0 } else { since },
                    busy_sec: if e.busy { since } else { 0.0 },
                    version: e.version.clone(),
                    busy: e.busy,
                },
            );
        }
        ReverseStatus { host_types }
    }
}

/// Go's `types.ReverseBuilderStatus`.
#[derive(Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct ReverseStatus {
    #[serde(rename = "HostTypes")]
    pub host_types: BTreeMap<String, HostTypeStatus>,
}

#[derive(Debug, Default, Serialize, serde::Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct HostTypeStatus {
    pub host_type: String,
    pub connected: u32,
    pub expect: u32,
    pub idle: u32,
    pub busy: u32,
    pub waiters: u32,
    pub machines: BTreeMap<String, MachineStatus>,
}

#[derive(Debug, Serialize, serde::Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct MachineStatus {
    pub name: String,
    pub host_type: String,
    pub connected_sec: f64,
    pub idle_sec: f64,
    pub busy_sec: f64,
    pub version: String,
    pub busy: bool,
}

/// The reverse machines of one host type.
pub struct ReversePool {
    host_type: String,
    fleet: Fleet,
}

impl Pool for ReversePool {
    fn host_type(&self) -> &str {
        &self.host_type
    }

    fn kind(&self) -> &'static str {
        "reverse"
    }

    fn capacity(&self) -> Capacity {
        let m = self.fleet.s.machines.lock().unwrap();
        let mine = || m.iter().filter(|e| e.host_type == self.host_type);
        Capacity {
            total: mine().filter(|e| !e.client.is_closed()).count() as u32,
            free: mine().filter(|e| e.free()).count() as u32,
        }
    }

    fn reserve(&self) -> Option<BoxFuture<anyhow::Result<Lease>>> {
        let (id, name, client) = {
            let mut m = self.fleet.s.machines.lock().unwrap();
            let e = m
                .iter_mut()
                .find(|e| e.host_type == self.host_type && e.free())?;
            e.busy = true;
            e.since = Instant::now();
            (e.id, e.name.clone(), e.client.clone())
        };
        let back = GiveBack {
            id,
            fleet: self.fleet.clone(),
        };
        let fleet = self.fleet.clone();
        Some(Box::pin(async move {
            // Go's pool cleans a machine as it hands it out.
            if let Err(e) = client.remove_all(&["."]).await {
                fleet.remove(id, &format!("cleaning failed: {e}"));
                drop(back);
                return Err(e).with_context(|| format!("cleaning reverse buildlet {name}"));
            }
            Ok(Lease {
                client,
                name: format!("{name} (reverse)"),
                release: Box::new(back),
            })
        }))
    }

    fn machines(&self) -> Vec<Machine> {
        let m = self.fleet.s.machines.lock().unwrap();
        m.iter()
            .filter(|e| e.host_type == self.host_type)
            .map(|e| Machine {
                name: format!("{} (reverse, v{})", e.name, e.version),
                state: match (e.client.is_closed(), e.busy, e.in_check) {
                    (true, _, _) => "dead: connection lost".into(),
                    (_, true, _) => "busy".into(),
                    (_, _, true) => "health check".into(),
                    _ => "idle".into(),
                },
            })
            .collect()
    }
}

/// Marks the machine idle again (or drops it when its connection is gone).
struct GiveBack {
    id: u64,
    fleet: Fleet,
}

impl Drop for GiveBack {
    fn drop(&mut self) {
        let s = &self.fleet.s;
        let mut m = s.machines.lock().unwrap();
        if let Some(i) = m.iter().position(|e| e.id == self.id) {
            if m[i].client.is_closed() {
                let e = m.remove(i);
                tracing::warn!(name = %e.name, "reverse machine lost its connection");
            } else {
                m[i].busy = false;
                m[i].since = Instant::now();
            }
        }
        drop(m);
        s.freed.notify_one();
    }
}

/// A number in [0, 1) for jitter.
fn unit_random() -> f64 {
    let mut b = [0u8; 8];
    getrandom::getrandom(&mut b).expect("the OS has randomness");
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}
