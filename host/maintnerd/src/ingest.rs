//! The one way mutations get into the system: append to the log, then apply.

use std::sync::{Arc, RwLock, RwLockReadGuard};

use maintner::{LogError, Mutation};

use crate::store::SharedLog;
use crate::view::IngestState;

/// Called with every batch of mutations after it is in the log (e.g. to apply it to the
/// `maintner` corpus the rest of the host reads).
pub type ApplyHook = Arc<dyn Fn(&[Mutation]) + Send + Sync>;

/// Log + the state pollers diff against. Cheap to clone; share it between pollers.
#[derive(Clone)]
pub struct Ingest {
    log: SharedLog,
    state: Arc<RwLock<IngestState>>,
    hooks: Arc<RwLock<Vec<ApplyHook>>>,
}

impl Ingest {
    /// Rebuilds the pollers' state from everything already in `log`.
    pub fn new(log: SharedLog) -> Result<Self, LogError> {
        let mut state = IngestState::default();
        log.with_log(|l| {
            l.for_each_mutation(|_, m| {
                state.apply(&m);
                Ok::<_, LogError>(())
            })
        })?;
        Ok(Ingest {
            log,
            state: Arc::new(RwLock::new(state)),
            hooks: Arc::default(),
        })
    }

    pub fn log(&self) -> &SharedLog {
        &self.log
    }

    /// Registers a hook called after each recorded batch.
    pub fn add_hook(&self, hook: ApplyHook) {
        self.hooks.write().unwrap().push(hook);
    }

    /// Read access for computing a diff. Do not hold it across an `.await`.
    pub fn view(&self) -> RwLockReadGuard<'_, IngestState> {
        self.state.read().unwrap()
    }

    /// Writes `ms` to the log (durably), then applies them.
    pub async fn record(&self, ms: Vec<Mutation>) -> Result<(), LogError> {
        if ms.is_empty() {
            return Ok(());
        }
        self.log.append(ms.clone()).await?;
        self.apply(&ms);
        Ok(())
    }

    /// Synchronous [`Ingest::record`] for code that is not async.
    pub fn record_blocking(&self, ms: Vec<Mutation>) -> Result<(), LogError> {
        if ms.is_empty() {
            return Ok(());
        }
        self.log.append_blocking(&ms)?;
        self.apply(&ms);
        Ok(())
    }

    fn apply(&self, ms: &[Mutation]) {
        {
            let mut st = self.state.write().unwrap();
            for m in ms {
                st.apply(m);
            }
        }
        for hook in self.hooks.read().unwrap().iter() {
            hook(ms);
        }
    }
}
