//! What two bot versions decide differently over the same corpus: the review step
//! before a swap.

use crate::pass::{Decision, Pass};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Decisions only one side takes, grouped by rule, then by issue or change.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Diff {
    /// rule → target → decisions only the old version takes.
    pub only_old: BTreeMap<String, BTreeMap<String, Vec<Decision>>>,
    pub only_new: BTreeMap<String, BTreeMap<String, Vec<Decision>>>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.only_old.is_empty() && self.only_new.is_empty()
    }

    pub fn count(&self) -> (usize, usize) {
        let n = |m: &BTreeMap<String, BTreeMap<String, Vec<Decision>>>| {
            m.values().flat_map(|t| t.values()).map(Vec::len).sum()
        };
        (n(&self.only_old), n(&self.only_new))
    }
}

/// Compares two passes; `keep` picks which targets count (e.g. those updated since a
/// time).
pub fn diff(old: &Pass, new: &Pass, keep: impl Fn(&Decision) -> bool) -> Diff {
    // A decision is the same on both sides if rule, action, target and value match;
    // the reason may be reworded without being a different decision.
    let key = |r: &str, d: &Decision| {
        (
            r.to_string(),
            d.action.clone(),
            d.target.clone(),
            d.value.clone(),
        )
    };
    let set = |p: &Pass| -> BTreeSet<_> { p.decisions().map(|(r, d)| key(r, d)).collect() };
    let (olds, news) = (set(old), set(new));
    let mut out = Diff::default();
    let side = |p: &Pass,
                other: &BTreeSet<_>,
                into: &mut BTreeMap<String, BTreeMap<String, Vec<Decision>>>| {
        for (r, d) in p.decisions() {
            if !other.contains(&key(r, d)) && keep(d) {
                into.entry(r.to_string())
                    .or_default()
                    .entry(d.target.clone())
                    .or_default()
                    .push(d.clone());
            }
        }
    };
    side(old, &news, &mut out.only_old);
    side(new, &olds, &mut out.only_new);
    out
}

/// The diff as a reviewer reads it.
pub fn render(d: &Diff, old: &Pass, new: &Pass) -> String {
    let mut out = String::new();
    let (o, n) = d.count();
    let _ = writeln!(
        out,
        "old {} {}: {o} decisions only it takes; new {} {}: {n} only it takes",
        old.plugin, old.version, new.plugin, new.version
    );
    let rules: BTreeSet<&String> = d.only_old.keys().chain(d.only_new.keys()).collect();
    for rule in rules {
        let _ = writeln!(out, "\nrule {rule:?}");
        for (sign, side) in [("-", &d.only_old), ("+", &d.only_new)] {
            for (target, ds) in side.get(rule).into_iter().flatten() {
                for dec in ds {
                    let value = dec.value.as_deref().map(short).unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "  {sign} {target} {} {value}  ({})",
                        dec.action, dec.reason
                    );
                }
            }
        }
    }
    out
}

/// First line of a value, shortened: comments are long.
fn short(v: &str) -> String {
    let line = v.lines().next().unwrap_or_default();
    let cut: String = line.chars().take(72).collect();
    if cut.len() < v.len() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}
