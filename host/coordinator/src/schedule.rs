//! Which queued builds start now. The scheduler plugin orders the queue; the host
//! starts builds in that order while machines last. When the plugin is missing, faults
//! or answers nonsense (an unknown or repeated id: the runtime refuses those as a
//! contract fault), the host falls back to first-in-first-out, and counts and logs it.

use crate::model::{BuildSpec, WorkKind};
use maintner::time::Time;
use runtime::{Capacity, Kind, QueuedWork, Registry};
use std::collections::BTreeMap;

/// A build waiting for a machine.
#[derive(Clone, Debug)]
pub struct Queued {
    pub id: u64,
    pub spec: BuildSpec,
    pub enqueued: Time,
    /// Times it was lost with its buildlet.
    pub attempts: u32,
}

impl Queued {
    pub fn to_wit(&self) -> QueuedWork {
        let w = &self.spec.work;
        QueuedWork {
            id: self.id,
            kind: match w.kind {
                WorkKind::PostSubmit => runtime::WorkKind::PostSubmit,
                WorkKind::Try { .. } => runtime::WorkKind::Try,
            },
            builder: self.spec.builder.clone(),
            host_type: self.spec.host_type.clone(),
            repo: w.repo.clone(),
            branch: w.branch.clone(),
            commit_time: w.commit_time.unix(),
            enqueue_time: self.enqueued.unix(),
        }
    }
}

/// The order to start builds in, and why FIFO was used if it was.
#[derive(Debug)]
pub struct Decision {
    pub order: Vec<u64>,
    pub fallback: Option<String>,
}

/// Asks the serving scheduler plugin (blocking: a plugin call). Only host types with
/// free machines are worth deciding for, so the queue the plugin sees holds only their
/// items.
pub fn decide(registry: &Registry, queue: &[Queued], free: &BTreeMap<String, u32>) -> Decision {
    let fifo = |why: String| {
        let mut q: Vec<&Queued> = queue.iter().collect();
        q.sort_by_key(|q| (q.enqueued, q.id));
        Decision {
            order: q.into_iter().map(|q| q.id).collect(),
            fallback: Some(why),
        }
    };
    let Some(h) = registry.serving_kind(Kind::Scheduler).into_iter().next() else {
        return fifo("no scheduler plugin serves".into());
    };
    let items: Vec<QueuedWork> = queue.iter().map(Queued::to_wit).collect();
    let capacity: Vec<Capacity> = free
        .iter()
        .map(|(host_type, &free)| Capacity {
            host_type: host_type.clone(),
            free,
        })
        .collect();
    match h.plugin().schedule(&items, &capacity) {
        Ok(order) => Decision {
            order,
            fallback: None,
        },
        Err(e) => fifo(format!("scheduler {} failed: {e}", h.version.id)),
    }
}
