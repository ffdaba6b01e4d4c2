//! The dashboard store wired to the rest of the host: the builders it knows are those of
//! the serving builders plugins, and plugins read its results through the WIT
//! `results` import.

use dashboard::{BuildResult, Store};
use runtime::bindings::results;
use runtime::{Kind, Registry};
use std::sync::Arc;

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
