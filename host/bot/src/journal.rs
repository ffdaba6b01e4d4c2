//! The executor's journal: one sqlite row per action it set out to take, written
//! before the API call (`started`) and after it (`done` or `failed`). An action whose
//! row says `done` is never taken again, whatever restarts happen; one left `started`
//! by a crash between the call and the write is settled by asking the API whether it
//! took effect (see `execute.rs`).

use crate::pass::Decision;
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Started,
    Done,
    Failed,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Started => "started",
            State::Done => "done",
            State::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<State> {
        match s {
            "started" => Some(State::Started),
            "done" => Some(State::Done),
            "failed" => Some(State::Failed),
            _ => None,
        }
    }
}

/// One journal row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub rule: String,
    pub decision: Decision,
    pub state: State,
    pub detail: String,
}

pub struct Journal {
    db: Connection,
}

/// The identity of an action: what it does to what. The rule and the reason do not
/// count: two rules asking for the same label on the same issue is one action.
pub fn key(d: &Decision) -> String {
    let mut h = Sha256::new();
    for part in [&d.action, &d.target, d.value.as_deref().unwrap_or("")] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

impl Journal {
    pub fn open(path: &Path) -> rusqlite::Result<Journal> {
        let db = Connection::open(path)?;
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS actions (
                 key TEXT PRIMARY KEY,
                 rule TEXT NOT NULL,
                 action TEXT NOT NULL,
                 target TEXT NOT NULL,
                 value TEXT,
                 reason TEXT NOT NULL,
                 state TEXT NOT NULL,
                 detail TEXT NOT NULL DEFAULT '',
                 updated INTEGER NOT NULL
             );",
        )?;
        Ok(Journal { db })
    }

    pub fn get(&self, d: &Decision) -> rusqlite::Result<Option<Entry>> {
        self.db
            .query_row(
                "SELECT rule, action, target, value, reason, state, detail FROM actions WHERE key = ?1",
                params![key(d)],
                row_entry,
            )
            .optional()
    }

    /// Records the action's state now; durable when this returns.
    pub fn set(
        &self,
        rule: &str,
        d: &Decision,
        state: State,
        detail: &str,
    ) -> rusqlite::Result<()> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        self.db.execute(
            "INSERT INTO actions (key, rule, action, target, value, reason, state, detail, updated)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT(key) DO UPDATE SET state = ?7, detail = ?8, updated = ?9",
            params![
                key(d),
                rule,
                d.action,
                d.target,
                d.value,
                d.reason,
                state.as_str(),
                detail,
                now
            ],
        )?;
        Ok(())
    }

    /// Every row, oldest first.
    pub fn entries(&self) -> rusqlite::Result<Vec<Entry>> {
        let mut st = self.db.prepare(
            "SELECT rule, action, target, value, reason, state, detail FROM actions ORDER BY rowid",
        )?;
        let rows = st.query_map([], row_entry)?;
        rows.collect()
    }
}

fn row_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
    let state: String = r.get(5)?;
    Ok(Entry {
        rule: r.get(0)?,
        decision: Decision {
            action: r.get(1)?,
            target: r.get(2)?,
            value: r.get(3)?,
            reason: r.get(4)?,
        },
        state: State::parse(&state).unwrap_or(State::Failed),
        detail: r.get(6)?,
    })
}
