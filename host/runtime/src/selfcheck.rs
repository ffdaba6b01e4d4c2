//! The check each kind passes before a version may serve: it answers its basic
//! questions without faulting, and the answers keep the invariants of the original
//! system (for builders, the checks of Go's dashboard/builders.go, addBuilder).

use crate::calls::{Plugin, Request};
use crate::error::{Fault, Result};
use crate::kinds::Kind;
use crate::plugin::PluginVersion;
use crate::runtime::Runtime;
use std::collections::HashSet;

/// Check `v`; for a builders plugin, return the builders it defines.
pub(crate) fn run(rt: &Runtime, v: &PluginVersion) -> Result<Vec<String>> {
    match v.kind() {
        Kind::Builders => return builders(rt, v),
        Kind::Scheduler => {
            let ids = with(rt, v, |p| p.schedule(&[], &[], &[]))?;
            ensure(rt, v, ids.is_empty(), || {
                "scheduled work from an empty queue".into()
            })?;
        }
        Kind::Gopherbot => {
            let rules = with(rt, v, |p| p.rules())?;
            unique(rt, v, rules.iter().map(|r| r.name.as_str()), "rule")?;
        }
        Kind::Dashboard | Kind::Devapp => {
            let req = Request {
                method: "GET".into(),
                path: "/".into(),
                query: vec![],
            };
            // `render` checks the status and size of the page.
            with(rt, v, |p| p.render(&req))?;
        }
    }
    Ok(vec![])
}

fn builders(rt: &Runtime, v: &PluginVersion) -> Result<Vec<String>> {
    let hosts = with(rt, v, |p| p.host_types())?;
    let builders = with(rt, v, |p| p.builders())?;
    unique(rt, v, hosts.iter().map(|h| h.name.as_str()), "host type")?;
    unique(rt, v, builders.iter().map(|b| b.name.as_str()), "builder")?;
    for h in &hosts {
        ensure(rt, v, h.name.starts_with("host-"), || {
            format!("host type {:?} does not start with \"host-\"", h.name)
        })?;
    }
    let known: HashSet<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
    for b in &builders {
        ensure(rt, v, !b.name.is_empty(), || {
            "a builder with an empty name".into()
        })?;
        ensure(rt, v, known.contains(b.host_type.as_str()), || {
            format!(
                "builder {} uses undefined host type {:?}",
                b.name, b.host_type
            )
        })?;
        ensure(rt, v, !b.known_issues.contains(&0), || {
            format!("builder {} lists known issue 0", b.name)
        })?;
    }
    Ok(builders.into_iter().map(|b| b.name).collect())
}

fn with<T>(rt: &Runtime, v: &PluginVersion, f: impl FnOnce(&Plugin) -> Result<T>) -> Result<T> {
    f(&Plugin::new(rt, v))
}

fn ensure(rt: &Runtime, v: &PluginVersion, ok: bool, msg: impl FnOnce() -> String) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(rt.fault(v, Fault::Contract(msg())))
    }
}

fn unique<'a>(
    rt: &Runtime,
    v: &PluginVersion,
    names: impl Iterator<Item = &'a str>,
    what: &str,
) -> Result<()> {
    let mut seen = HashSet::new();
    for n in names {
        ensure(rt, v, seen.insert(n), || {
            format!("{what} {n:?} defined twice")
        })?;
    }
    Ok(())
}
