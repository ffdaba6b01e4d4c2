//! The bot while serving: on every corpus change the serving version runs a pass and
//! its decisions go to the executor (it keeps acting throughout); a candidate version,
//! if one is set, runs in shadow over the same corpus, and where the two disagree it is
//! recorded. `promote` swaps the candidate in atomically (the registry's swap: calls in
//! flight finish on the version they started on); a serving version whose passes fault
//! [`FAULT_LIMIT`] times in a row is rolled back to the one before, and that is
//! recorded too. The state is a sqlite file the CLI and `xb serve` share.

use crate::diff::{self, Diff};
use crate::execute::{Executor, Report};
use crate::pass::{self, Pass, PassOptions};
use runtime::{CorpusQueries, Registry, VersionId};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;

/// Passes in a row with a faulting rule before the serving version is rolled back.
pub const FAULT_LIMIT: u32 = 3;

/// Candidates, disagreements and automatic rollbacks, per bot name.
pub struct ShadowStore {
    db: Connection,
}

/// A pass where the candidate decided otherwise than the serving version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disagreement {
    pub at: String,
    pub serving: String,
    pub candidate: String,
    pub only_serving: usize,
    pub only_candidate: usize,
    /// The diff as `xb plugin diff` prints it.
    pub text: String,
}

/// Something the service did on its own, e.g. an automatic rollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BotEvent {
    pub at: String,
    pub kind: String,
    pub detail: String,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl ShadowStore {
    pub fn open(path: &Path) -> rusqlite::Result<ShadowStore> {
        let db = Connection::open(path)?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE IF NOT EXISTS candidates (name TEXT PRIMARY KEY, version TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS disagreements (
                 name TEXT NOT NULL, at INTEGER NOT NULL, serving TEXT NOT NULL,
                 candidate TEXT NOT NULL, only_serving INTEGER NOT NULL,
                 only_candidate INTEGER NOT NULL, text TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS events (
                 name TEXT NOT NULL, at INTEGER NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL);",
        )?;
        Ok(ShadowStore { db })
    }

    pub fn set_candidate(&self, name: &str, id: &VersionId) -> rusqlite::Result<()> {
        self.db.execute(
            "INSERT INTO candidates (name, version) VALUES (?1, ?2)
             ON CONFLICT(name) DO UPDATE SET version = ?2",
            params![name, id.as_str()],
        )?;
        Ok(())
    }

    pub fn candidate(&self, name: &str) -> rusqlite::Result<Option<String>> {
        self.db
            .query_row(
                "SELECT version FROM candidates WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()
    }

    pub fn clear_candidate(&self, name: &str) -> rusqlite::Result<()> {
        self.db
            .execute("DELETE FROM candidates WHERE name = ?1", params![name])?;
        Ok(())
    }

    fn record(&self, name: &str, d: &Disagreement) -> rusqlite::Result<()> {
        self.db.execute(
            "INSERT INTO disagreements VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                name,
                now(),
                d.serving,
                d.candidate,
                d.only_serving as i64,
                d.only_candidate as i64,
                d.text
            ],
        )?;
        Ok(())
    }

    /// The last `n` disagreements, newest first.
    pub fn disagreements(&self, name: &str, n: usize) -> rusqlite::Result<Vec<Disagreement>> {
        let mut st = self.db.prepare(
            "SELECT at, serving, candidate, only_serving, only_candidate, text FROM disagreements
             WHERE name = ?1 ORDER BY rowid DESC LIMIT ?2",
        )?;
        let rows = st.query_map(params![name, n as i64], |r| {
            Ok(Disagreement {
                at: crate::replay::rfc3339(r.get(0)?),
                serving: r.get(1)?,
                candidate: r.get(2)?,
                only_serving: r.get::<_, i64>(3)? as usize,
                only_candidate: r.get::<_, i64>(4)? as usize,
                text: r.get(5)?,
            })
        })?;
        rows.collect()
    }

    pub fn event(&self, name: &str, kind: &str, detail: &str) -> rusqlite::Result<()> {
        self.db.execute(
            "INSERT INTO events VALUES (?1, ?2, ?3, ?4)",
            params![name, now(), kind, detail],
        )?;
        Ok(())
    }

    pub fn events(&self, name: &str) -> rusqlite::Result<Vec<BotEvent>> {
        let mut st = self
            .db
            .prepare("SELECT at, kind, detail FROM events WHERE name = ?1 ORDER BY rowid")?;
        let rows = st.query_map(params![name], |r| {
            Ok(BotEvent {
                at: crate::replay::rfc3339(r.get(0)?),
                kind: r.get(1)?,
                detail: r.get(2)?,
            })
        })?;
        rows.collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ShadowError {
    #[error(transparent)]
    Runtime(#[from] runtime::Error),
    #[error(transparent)]
    Pass(#[from] pass::PassError),
    #[error("shadow store: {0}")]
    Store(#[from] rusqlite::Error),
    #[error(transparent)]
    Execute(#[from] crate::execute::ExecError),
    #[error("{0} has no candidate: set one with `xb plugin shadow {0} VERSION`")]
    NoCandidate(String),
}

/// Makes the candidate serve under `name` (atomically) and forgets it as a candidate.
pub fn promote(reg: &Registry, store: &ShadowStore, name: &str) -> Result<VersionId, ShadowError> {
    let id = store
        .candidate(name)?
        .ok_or_else(|| ShadowError::NoCandidate(name.into()))?;
    let id = reg.resolve(&id)?;
    reg.swap(name, &id)?;
    store.clear_candidate(name)?;
    Ok(id)
}

/// What one step did.
#[derive(Debug, Default)]
pub struct Step {
    pub serving: Option<Pass>,
    pub executed: Option<Report>,
    pub disagreement: Option<Diff>,
    pub rolled_back: Option<String>,
}

/// The bot `name` serving from `reg` over `corpus`.
pub struct BotService {
    pub name: String,
    pub reg: Arc<Registry>,
    pub corpus: Arc<dyn CorpusQueries>,
    pub store: ShadowStore,
    pub executor: Executor,
    /// Passes in a row that faulted, and the version they ran on.
    faults: (u32, Option<VersionId>),
}

impl BotService {
    pub fn new(
        name: &str,
        reg: Arc<Registry>,
        corpus: Arc<dyn CorpusQueries>,
        store: ShadowStore,
        executor: Executor,
    ) -> Self {
        BotService {
            name: name.into(),
            reg,
            corpus,
            store,
            executor,
            faults: (0, None),
        }
    }

    /// One round at time `at`: the serving version's pass, carried out; the
    /// candidate's pass in shadow, its disagreements recorded; a rollback if the
    /// serving version keeps faulting.
    pub async fn step(&mut self, opts: &PassOptions) -> Result<Step, ShadowError> {
        let mut out = Step::default();
        let Ok(serving) = self.reg.serving(&self.name) else {
            return Ok(out);
        };
        let live = {
            let (h, c, o) = (serving.clone(), self.corpus.clone(), opts.clone());
            tokio::task::spawn_blocking(move || pass::run(&h, c.as_ref(), &o))
                .await
                .expect("pass task")?
        };
        if self.count_fault(&live, &serving.version.id) {
            let slot = self.reg.rollback(&self.name)?;
            let detail = format!(
                "{} faulted in {FAULT_LIMIT} passes in a row; rolled back to {}",
                serving.version.id, slot.serving.id
            );
            self.store.event(&self.name, "auto-rollback", &detail)?;
            tracing::warn!(bot = %self.name, "{detail}");
            out.rolled_back = Some(detail);
            self.faults = (0, None);
        }
        out.executed = Some(self.executor.execute(&live).await?);
        if let Some(id) = self.store.candidate(&self.name)? {
            let h = self.reg.handle(&self.reg.resolve(&id)?)?;
            let (c, o) = (self.corpus.clone(), opts.clone());
            let shadow = tokio::task::spawn_blocking(move || pass::run(&h, c.as_ref(), &o))
                .await
                .expect("pass task")?;
            let d = diff::diff(&live, &shadow, |_| true);
            if !d.is_empty() {
                let (a, b) = d.count();
                self.store.record(
                    &self.name,
                    &Disagreement {
                        at: crate::replay::rfc3339(opts.at),
                        serving: serving.version.id.to_string(),
                        candidate: id,
                        only_serving: a,
                        only_candidate: b,
                        text: diff::render(&d, &live, &shadow),
                    },
                )?;
                out.disagreement = Some(d);
            }
        }
        out.serving = Some(live);
        Ok(out)
    }

    /// Counts a pass with a faulting rule against its version; true when the limit is
    /// reached.
    fn count_fault(&mut self, p: &Pass, id: &VersionId) -> bool {
        if !p.rules.iter().any(|r| r.faulted) {
            self.faults = (0, None);
            return false;
        }
        if self.faults.1.as_ref() != Some(id) {
            self.faults = (0, Some(id.clone()));
        }
        self.faults.0 += 1;
        self.faults.0 >= FAULT_LIMIT
    }
}
