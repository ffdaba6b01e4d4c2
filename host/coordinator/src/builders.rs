//! The builders of every serving builders plugin, as one snapshot.
//!
//! Taken anew on each pass of the finder, so loading or swapping a builders plugin
//! adds its builders and removing one stops new work for its builders; a build that
//! already started keeps the handle of the version that planned it.

use crate::model::Work;
use runtime::{BuildPlan, Builder, Handle, HostType, Kind, PoolKind, Registry, VersionId};
use std::collections::{BTreeMap, HashMap};

/// A builder and the plugin version that defines it.
#[derive(Clone)]
pub struct Defined {
    pub builder: Builder,
    pub plugin: Handle,
}

#[derive(Clone, Default)]
pub struct BuilderSet {
    pub builders: BTreeMap<String, Defined>,
    pub host_types: BTreeMap<String, HostType>,
    /// Serving versions, to tell whether the set changed.
    pub versions: Vec<VersionId>,
}

impl BuilderSet {
    /// Ask every serving builders plugin. A plugin that faults is left out (the
    /// runtime counts the fault) and the others still count. Blocking: plugin calls.
    pub fn load(registry: &Registry) -> BuilderSet {
        let mut set = BuilderSet::default();
        for h in registry.serving_kind(Kind::Builders) {
            set.versions.push(h.version.id.clone());
            let p = h.plugin();
            let (Ok(hosts), Ok(builders)) = (p.host_types(), p.builders()) else {
                tracing::warn!(plugin = %h.version.id, "builders plugin faulted; its builders are left out");
                continue;
            };
            for t in hosts {
                set.host_types.insert(t.name.clone(), t);
            }
            for b in builders {
                set.builders.insert(
                    b.name.clone(),
                    Defined {
                        builder: b,
                        plugin: h.clone(),
                    },
                );
            }
        }
        set.versions.sort();
        set
    }

    pub fn get(&self, name: &str) -> Option<&Defined> {
        self.builders.get(name)
    }

    /// The pool kind of a host type (`None`: no plugin defines it).
    pub fn pool_kind(&self, host_type: &str) -> Option<PoolKind> {
        self.host_types.get(host_type).map(|t| t.pool)
    }
}

/// Answers of `builds`, which depend on the builder, the repo, the branch and the kind
/// of work but not on the commit; kept per plugin version so a finder pass over many
/// commits asks each question once.
#[derive(Default)]
pub struct BuildsCache(HashMap<(VersionId, String, String, String, String, bool), bool>);

impl BuildsCache {
    pub fn builds(&mut self, d: &Defined, work: &Work) -> bool {
        let key = (
            d.plugin.version.id.clone(),
            d.builder.name.clone(),
            work.repo.clone(),
            work.branch.clone(),
            work.go_branch.clone().unwrap_or_default(),
            work.is_try(),
        );
        *self.0.entry(key).or_insert_with(|| {
            d.plugin
                .plugin()
                .builds(&d.builder.name, &work.to_wit())
                .unwrap_or(false)
        })
    }

    /// Forget answers of versions no longer serving.
    pub fn retain(&mut self, serving: &[VersionId]) {
        self.0.retain(|k, _| serving.contains(&k.0));
    }
}

/// The plan of a build, from the version that defines the builder. Blocking.
pub fn plan(d: &Defined, work: &Work) -> Result<BuildPlan, String> {
    match d.plugin.plugin().plan(&d.builder.name, &work.to_wit()) {
        Ok(Ok(plan)) => Ok(plan),
        Ok(Err(msg)) => Err(format!("the plugin has no plan: {msg}")),
        Err(e) => Err(format!("the plugin faulted planning: {e}")),
    }
}
