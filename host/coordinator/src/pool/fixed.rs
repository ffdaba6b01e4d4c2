//! A pool of buildlets that already run somewhere, at known addresses: Go's own
//! buildlets started by hand, or machines managed outside the coordinator. A machine
//! is cleaned (`removeall .`) when a build gives it back, as Go's coordinator does. A
//! machine that does not answer its status check is left out for [`RETRY_DEAD`].

use super::{BoxFuture, Capacity, Lease, Machine, Pool};
use anyhow::Context;
use buildlet::client::{Client, ClientOptions};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// How long a machine that failed its status check is left out.
pub const RETRY_DEAD: Duration = Duration::from_secs(10);

pub struct FixedPool {
    host_type: String,
    machines: Arc<Mutex<Vec<Entry>>>,
    freed: Arc<Notify>,
}

struct Entry {
    client: Client,
    busy: bool,
    /// When and why it last failed its status check.
    dead: Option<(Instant, String)>,
}

impl Entry {
    fn available(&self) -> bool {
        !self.busy
            && self
                .dead
                .as_ref()
                .is_none_or(|(at, _)| at.elapsed() >= RETRY_DEAD)
    }
}

impl FixedPool {
    /// `machines`: (address, password).
    pub fn new(host_type: &str, machines: &[(String, Option<String>)], freed: Arc<Notify>) -> Self {
        let machines = machines
            .iter()
            .map(|(addr, pw)| Entry {
                client: Client::new(
                    addr.clone(),
                    ClientOptions {
                        password: pw.clone(),
                        ..Default::default()
                    },
                ),
                busy: false,
                dead: None,
            })
            .collect();
        FixedPool {
            host_type: host_type.into(),
            machines: Arc::new(Mutex::new(machines)),
            freed,
        }
    }
}

impl Pool for FixedPool {
    fn host_type(&self) -> &str {
        &self.host_type
    }

    fn kind(&self) -> &'static str {
        "fixed"
    }

    fn capacity(&self) -> Capacity {
        let m = self.machines.lock().unwrap();
        Capacity {
            total: m.len() as u32,
            free: m.iter().filter(|e| e.available()).count() as u32,
        }
    }

    fn reserve(&self) -> Option<BoxFuture<anyhow::Result<Lease>>> {
        let (i, client) = {
            let mut m = self.machines.lock().unwrap();
            let i = m.iter().position(Entry::available)?;
            m[i].busy = true;
            (i, m[i].client.clone())
        };
        let back = GiveBack {
            index: i,
            client: client.clone(),
            machines: self.machines.clone(),
            freed: self.freed.clone(),
        };
        let machines = self.machines.clone();
        Some(Box::pin(async move {
            if let Err(e) = client.status().await {
                let mut m = machines.lock().unwrap();
                m[i].dead = Some((Instant::now(), e.to_string()));
                drop(m);
                drop(back); // frees it (and tries to clean it) without waking a retry now
                return Err(e)
                    .with_context(|| format!("buildlet {} does not answer", client.name()));
            }
            machines.lock().unwrap()[i].dead = None;
            Ok(Lease {
                name: client.name().to_string(),
                client,
                release: Box::new(back),
            })
        }))
    }

    fn machines(&self) -> Vec<Machine> {
        let m = self.machines.lock().unwrap();
        m.iter()
            .map(|e| Machine {
                name: e.client.name().to_string(),
                state: match (&e.dead, e.busy) {
                    (_, true) => "busy".into(),
                    (Some((_, why)), false) => format!("dead: {why}"),
                    (None, false) => "idle".into(),
                },
            })
            .collect()
    }
}

/// Cleans the machine, then marks it free (or dead, if it cannot be cleaned).
struct GiveBack {
    index: usize,
    client: Client,
    machines: Arc<Mutex<Vec<Entry>>>,
    freed: Arc<Notify>,
}

impl Drop for GiveBack {
    fn drop(&mut self) {
        let (i, client, machines, freed) = (
            self.index,
            self.client.clone(),
            self.machines.clone(),
            self.freed.clone(),
        );
        let free = move |dead: Option<String>| {
            let mut m = machines.lock().unwrap();
            m[i].busy = false;
            if let Some(why) = dead {
                m[i].dead = Some((Instant::now(), why));
            }
            drop(m);
            freed.notify_one();
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    let cleaned = client.remove_all(&["."]).await;
                    if let Err(e) = &cleaned {
                        tracing::warn!(buildlet = client.name(), error = %e, "cleaning a buildlet failed");
                    }
                    free(cleaned.err().map(|e| format!("cleaning failed: {e}")));
                });
            }
            Err(_) => free(None),
        }
    }
}
