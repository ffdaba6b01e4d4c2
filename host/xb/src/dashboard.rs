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
