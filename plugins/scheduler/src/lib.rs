//! `scheduler`: which queued builds start now.
//!
//! - Trybots first: a contributor waits on them. A post-submit build counts as queued
//!   [`POST_SUBMIT_DELAY`] later than it was, so try work goes ahead of it, but only by
//!   that much: post-submit work queued long enough goes first, and nothing starves
//!   (Swarming's priority aging, with Go's coordinator's preference for trybots).
//! - Among builds due at the same time, the newest commit first (Go's dashboard order).
//! - Fair share across host types: each host type gets at most its free machines, and
//!   the lists are interleaved, so a host type with a long queue cannot take the host's
//!   global build limit from the others.

wit_bindgen::generate!({
    path: "../../wit",
    world: "scheduler",
});

use exports::xbuild::platform::plugin::Guest as Plugin;
use exports::xbuild::platform::scheduling::{Capacity, Guest as Scheduling, QueuedWork};
use std::collections::BTreeMap;
use xbuild::platform::types::{Description, PluginKind, WorkKind};

/// How far ahead of post-submit work try work goes, in seconds.
const POST_SUBMIT_DELAY: i64 = 30 * 60;

struct Scheduler;

impl Plugin for Scheduler {
    fn describe() -> Description {
        Description {
            name: "scheduler".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            kind: PluginKind::Scheduler,
            summary: "trybots first with aging, newest commits first, fair share across host types"
                .into(),
        }
    }
}

/// When an item is due: its enqueue time, later for post-submit work.
fn due(q: &QueuedWork) -> i64 {
    match q.kind {
        WorkKind::Try => q.enqueue_time,
        _ => q.enqueue_time.saturating_add(POST_SUBMIT_DELAY),
    }
}

/// Best first: due earliest, then the newest commit, then the queue id.
fn rank(q: &QueuedWork) -> (i64, std::cmp::Reverse<i64>, u64) {
    (due(q), std::cmp::Reverse(q.commit_time), q.id)
}

impl Scheduling for Scheduler {
    fn schedule(_names: Vec<String>, queue: Vec<QueuedWork>, capacity: Vec<Capacity>) -> Vec<u64> {
        let free: BTreeMap<u32, usize> = capacity
            .iter()
            .map(|c| (c.host_type, c.free as usize))
            .collect();
        // Per host type, the items worth starting, best first.
        let mut by_host: BTreeMap<u32, Vec<&QueuedWork>> = BTreeMap::new();
        for q in &queue {
            if free.get(&q.host_type).is_some_and(|&f| f > 0) {
                by_host.entry(q.host_type).or_default().push(q);
            }
        }
        let lists: Vec<Vec<&QueuedWork>> = by_host
            .into_iter()
            .map(|(host, mut items)| {
                let n = free[&host];
                if items.len() > n {
                    items.select_nth_unstable_by_key(n - 1, |q| rank(q));
                    items.truncate(n);
                }
                items.sort_unstable_by_key(|q| rank(q));
                items
            })
            .collect();
        // Round-robin over host types, each round in order of its best item.
        let mut out = Vec::new();
        for round in 0.. {
            let mut this: Vec<&QueuedWork> =
                lists.iter().filter_map(|l| l.get(round).copied()).collect();
            if this.is_empty() {
                break;
            }
            this.sort_unstable_by_key(|q| rank(q));
            out.extend(this.into_iter().map(|q| q.id));
        }
        out
    }
}

export!(Scheduler);
