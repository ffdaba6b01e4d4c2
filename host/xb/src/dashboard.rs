//! The dashboard store wired to the rest of the host: the builders it knows are those of
//! the serving builders plugins, and plugins read its results through the WIT
//! `results` import and what those builders build through `site`.

use coordinator::builders::BuilderSet;
use dashboard::{BuildResult, Store};
use runtime::bindings::results;
use runtime::{Kind, Registry};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Builders known to the dashboard: every builder of every serving builders plugin.
pub struct PluginBuilders(pub Arc<Registry>);

impl dashboard::Builders for PluginBuilders {
    fn is_known(&self, builder: &str) -> bool {
        self.0
            .serving_kind(Kind::Builders)
            .iter()
            .any(|h| match h.plugin().builders() {
                Ok(list) => list.iter().any(|b| b.name == builder),
                Err(e) => {
                    tracing::warn!(plugin = %h.version.name(), error = %e, "builders plugin failed; skipped");
                    false
                }
            })
    }
}

/// The WIT `results` import, answered from the store.
pub struct StoreResults(pub Store);

impl runtime::ResultsView for StoreResults {
    fn results_for(&self, repo: &str, commits: &[String]) -> Vec<results::BuildResult> {
        match self.0.results_for(repo, commits) {
            Ok(list) => list.iter().map(to_wit).collect(),
            Err(e) => {
                // The import has no error case: the plugin sees no results, the host says why.
                tracing::error!(repo, error = %e, "results for a plugin");
                vec![]
            }
        }
    }

    fn running(&self, repo: &str, commits: &[String]) -> Vec<results::BuildRunning> {
        let markers = match self.0.building(dashboard::store::now()) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(repo, error = %e, "running builds for a plugin");
                return vec![];
            }
        };
        markers
            .into_iter()
            .filter(|b| b.repo == repo && commits.contains(&b.commit))
            .map(|b| results::BuildRunning {
                builder: b.builder,
                commit: b.commit,
                go_commit: (!b.go_commit.is_empty()).then_some(b.go_commit),
                log_url: b.url,
            })
            .collect()
    }

    fn repos(&self) -> Vec<String> {
        self.0.repos().unwrap_or_else(|e| {
            tracing::error!(error = %e, "repos for a plugin");
            vec![]
        })
    }
}

fn to_wit(r: &BuildResult) -> results::BuildResult {
    results::BuildResult {
        builder: r.key.builder.clone(),
        repo: r.key.repo.clone(),
        commit: r.key.commit.clone(),
        go_commit: (!r.key.go_commit.is_empty()).then(|| r.key.go_commit.clone()),
        ok: r.ok,
        log_hash: r.log_hash.clone(),
        started: r.started.unix(),
        duration_ms: r.run_time.as_millis() as u64,
    }
}

/// The WIT `site` import's builders: those of the serving builders plugins, asked once
/// per set of serving versions and once per repo and branch (the answers do not depend
/// on the commit), so a page render crosses into a builders plugin only the first time.
pub struct PluginBuilderSet {
    registry: Arc<Registry>,
    snapshot: Mutex<Snapshot>,
}

#[derive(Default)]
struct Snapshot {
    /// `Registry::serving_changes` when the set was taken; `None`: not taken yet.
    taken_at: Option<u64>,
    set: BuilderSet,
    /// (repo, branch, go branch) → the builders that build it.
    answers: HashMap<(String, String, String), Vec<String>>,
}

impl PluginBuilderSet {
    pub fn new(registry: Arc<Registry>) -> Self {
        PluginBuilderSet {
            registry,
            snapshot: Mutex::default(),
        }
    }

    /// The current snapshot, taken anew when the serving builders plugins changed.
    fn current(&self) -> std::sync::MutexGuard<'_, Snapshot> {
        let changes = self.registry.serving_changes();
        let mut snap = self.snapshot.lock().unwrap_or_else(|e| e.into_inner());
        if snap.taken_at != Some(changes) {
            *snap = Snapshot {
                taken_at: Some(changes),
                set: BuilderSet::load(&self.registry),
                answers: HashMap::new(),
            };
        }
        snap
    }
}

impl runtime::BuilderSetView for PluginBuilderSet {
    fn builders(&self) -> Vec<String> {
        let snap = self.current();
        let post_submit = snap.set.builders.values().filter(|d| !d.builder.try_only);
        post_submit.map(|d| d.builder.name.clone()).collect()
    }

    fn post_submit(&self, repo: &str, branch: &str, go_branch: &str) -> Vec<String> {
        let mut snap = self.current();
        let key = (repo.to_string(), branch.to_string(), go_branch.to_string());
        if let Some(names) = snap.answers.get(&key) {
            return names.clone();
        }
        let work = runtime::Work {
            kind: runtime::WorkKind::PostSubmit,
            repo: repo.into(),
            branch: branch.into(),
            commit: String::new(),
            go_branch: (repo != "go").then(|| go_branch.to_string()),
            go_commit: None,
        };
        // A plugin that faults answers no (the runtime counts the fault).
        let names: Vec<String> = snap
            .set
            .builders
            .values()
            .filter(|d| !d.builder.try_only)
            .filter(|d| {
                d.plugin
                    .plugin()
                    .builds(&d.builder.name, &work)
                    .unwrap_or(false)
            })
            .map(|d| d.builder.name.clone())
            .collect();
        snap.answers.insert(key, names.clone());
        names
    }
}
