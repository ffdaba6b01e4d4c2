//! The dashboard as a service: the store, the master key, the builders the host knows
//! and the corpus, behind one axum [`Router`] the host merges at its root.

use crate::corpus::SharedCorpus;

use crate::key::{key_path, MasterKey};
use crate::store::{db_path, Store};
use crate::{machine, tools};
use axum::Router;
use std::path::Path;
use std::sync::Arc;

/// Which builders exist: the host answers from its serving builders plugins. A result or
/// a building ping for any other builder is refused.
pub trait Builders: Send + Sync + 'static {
    fn is_known(&self, builder: &str) -> bool;
}

impl<F: Fn(&str) -> bool + Send + Sync + 'static> Builders for F {
    fn is_known(&self, builder: &str) -> bool {
        self(builder)
    }
}

pub struct Dashboard {
    pub store: Store,
    pub key: MasterKey,
    pub builders: Arc<dyn Builders>,
    pub corpus: SharedCorpus,
}

impl Dashboard {
    /// The dashboard of a data directory: `dashboard.db` and `builder-master.key`
    /// (created if missing). Blocking.
    pub fn open(
        data_dir: &Path,
        builders: Arc<dyn Builders>,
        corpus: SharedCorpus,
    ) -> crate::Result<Dashboard> {
        Ok(Dashboard {
            store: Store::open(&db_path(data_dir))?,
            key: MasterKey::load_or_create(&key_path(data_dir))?,
            builders,
            corpus,
        })
    }

    /// Go's machine API (`/result`, `/log/{hash}`, `/clear-results`, `/building`,
    /// `/commit`, `/packages`) and the JSON for tools (`/api/results`, `/api/building`).
    pub fn router(self: &Arc<Self>) -> Router {
        machine::router(self.clone()).merge(tools::router(self.clone()))
    }

    /// Runs a corpus query on a blocking thread: walks of commit history take time.
    pub(crate) async fn read_corpus<T: Send + 'static>(
        &self,
        f: impl FnOnce(&maintner::Corpus) -> T + Send + 'static,
    ) -> Result<T, String> {
        let corpus = self.corpus.clone();
        tokio::task::spawn_blocking(move || {
            // Writers apply whole batches; a panic in one leaves what it applied readable.
            let c = corpus.read().unwrap_or_else(|e| e.into_inner());
            f(&c)
        })
        .await
        .map_err(|e| format!("a corpus query failed: {e}"))
    }

    /// Whether a builder is known; asks on a blocking thread, since the host may have
    /// to call its plugins.
    pub(crate) async fn knows(&self, builder: &str) -> bool {
        let (builders, name) = (self.builders.clone(), builder.to_string());
        tokio::task::spawn_blocking(move || builders.is_known(&name))
            .await
            .unwrap_or(false)
    }
}
