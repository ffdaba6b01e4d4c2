//! Which queued builds start now. The scheduler plugin orders the queue; the host
//! starts builds in that order while machines last. When the plugin is missing, faults
//! or answers nonsense (an unknown or repeated id: the runtime refuses those as a
//! contract fault), the host falls back to first-in-first-out, and counts and logs it.

use crate::model::{BuildSpec, WorkKind};
use maintner::fxhash::FxHashMap;
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

/// The queue as the plugin sees it: each name once in `names`, items and capacity
/// refer to them by index.
pub struct Lowered {
    pub names: Vec<String>,
    pub items: Vec<QueuedWork>,
    pub capacity: Vec<Capacity>,
}

/// Each distinct name once, with its index.
#[derive(Default)]
struct Names<'a> {
    index: FxHashMap<&'a str, u32>,
    names: Vec<String>,
}

impl<'a> Names<'a> {
    fn of(&mut self, s: &'a str) -> u32 {
        let Names { index, names } = self;
        *index.entry(s).or_insert_with(|| {
            names.push(s.to_string());
            (names.len() - 1) as u32
        })
    }
}

pub fn lower(queue: &[Queued], free: &BTreeMap<String, u32>) -> Lowered {
    let mut n = Names::default();
    let capacity: Vec<Capacity> = free
        .iter()
        .map(|(host_type, &free)| Capacity {
            host_type: n.of(host_type),
            free,
        })
        .collect();
    let items = queue
        .iter()
        .map(|q| {
            let w = &q.spec.work;
            QueuedWork {
                id: q.id,
                kind: match w.kind {
                    WorkKind::PostSubmit => runtime::WorkKind::PostSubmit,
                    WorkKind::Try { .. } => runtime::WorkKind::Try,
                },
                builder: n.of(&q.spec.builder),
                host_type: n.of(&q.spec.host_type),
                repo: n.of(&w.repo),
                branch: n.of(&w.branch),
                commit_time: w.commit_time.unix(),
                enqueue_time: q.enqueued.unix(),
            }
        })
        .collect();
    Lowered {
        names: n.names,
        items,
        capacity,
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
    let l = lower(queue, free);
    match h.plugin().schedule(&l.names, &l.items, &l.capacity) {
        Ok(order) => Decision {
            order,
            fallback: None,
        },
        Err(e) => fifo(format!("scheduler {} failed: {e}", h.version.id)),
    }
}
