//! The one way mutations get into the system: append to the log, then apply to the corpus.

use std::sync::{Arc, RwLock, RwLockReadGuard};

use maintner::{Corpus, LogError, Mutation, VoteConfig};

use crate::store::SharedLog;

/// The corpus as the rest of the host shares it. Take the read lock for one query at a
/// time, never across an `.await`.
pub type SharedCorpus = Arc<RwLock<Corpus>>;

/// The log and the corpus loaded from it. Cheap to clone; share it between pollers.
#[derive(Clone)]
pub struct Ingest {
    log: SharedLog,
    corpus: SharedCorpus,
    /// Serialises record calls so the corpus applies batches in log order, whichever
    /// poller wrote them.
    order: Arc<tokio::sync::Mutex<()>>,
    /// How many mutations have been applied since load; bumped after each batch, so
    /// consumers (the coordinator) learn of changes without polling.
    applied: Arc<tokio::sync::watch::Sender<u64>>,
}

impl Ingest {
    /// Loads the corpus from everything already in `log` (default vote copy rules).
    pub fn new(log: SharedLog) -> Result<Self, LogError> {
        Self::with_votes(log, VoteConfig::default())
    }

    pub fn with_votes(log: SharedLog, votes: VoteConfig) -> Result<Self, LogError> {
        let corpus = log.with_log(|l| Corpus::load_with(l, votes))?;
        Ok(Ingest {
            log,
            corpus: Arc::new(RwLock::new(corpus)),
            order: Arc::default(),
            applied: Arc::new(tokio::sync::watch::Sender::new(0)),
        })
    }

    pub fn log(&self) -> &SharedLog {
        &self.log
    }

    pub fn corpus(&self) -> &SharedCorpus {
        &self.corpus
    }

    /// Wakes each time a batch of mutations has been applied to the corpus.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.applied.subscribe()
    }

    /// Read access for computing a diff. Do not hold it across an `.await`.
    pub fn view(&self) -> RwLockReadGuard<'_, Corpus> {
        self.corpus.read().unwrap()
    }

    /// Writes `ms` to the log (durably, under the log's sync policy), then applies them to
    /// the corpus under one write lock, so readers see whole batches.
    pub async fn record(&self, ms: Vec<Mutation>) -> Result<(), LogError> {
        if ms.is_empty() {
            return Ok(());
        }
        let _in_order = self.order.lock().await;
        self.log.append(ms.clone()).await?;
        self.apply(&ms);
        Ok(())
    }

    /// Test helper: records one issue mutation from synchronous code.
    #[cfg(test)]
    pub(crate) fn record_now(&self, m: maintner::maintpb::GithubIssueMutation) {
        let m = Mutation {
            github_issue: Some(m),
            ..Default::default()
        };
        self.log.append_blocking(std::slice::from_ref(&m)).unwrap();
        self.apply(&[m]);
    }

    fn apply(&self, ms: &[Mutation]) {
        let mut c = self.corpus.write().unwrap();
        for m in ms {
            c.apply(m);
        }
        drop(c);
        self.applied.send_modify(|n| *n += ms.len() as u64);
    }
}
