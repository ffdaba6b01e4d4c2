//! The plugin store in the data directory: components by content id, which version
//! serves under each name with its history, and a log of every swap and rollback.
//!
//! ```text
//! <dir>/blobs/<sha256>.wasm   components, as loaded
//! <dir>/cache/                compiled code (see engine.rs)
//! <dir>/plugins.db            sqlite (WAL): versions, slots, events
//! ```
//!
//! The database is the authority on what serves: the CLI writes it, and a running host
//! notices through `PRAGMA data_version` and follows (see `Registry::reconcile`).

use crate::error::{Error, Result};
use crate::id::VersionId;
use crate::kinds::Kind;
use crate::plugin::PluginVersion;
use crate::sync::lock;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How many earlier versions a slot remembers for rollback.
pub const HISTORY: usize = 16;

/// What serves under a name, and what served before (oldest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRow {
    pub name: String,
    pub kind: Kind,
    pub serving: VersionId,
    pub history: Vec<VersionId>,
}

/// One recorded change of a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub at: i64,
    pub name: String,
    pub action: String,
    pub from: Option<VersionId>,
    pub to: VersionId,
}

pub struct PluginStore {
    dir: PathBuf,
    db: Mutex<Connection>,
}

impl PluginStore {
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir.join("blobs")).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let db_err = |source| Error::Db {
            path: dir.join("plugins.db"),
            source,
        };
        let db = Connection::open(dir.join("plugins.db")).map_err(db_err)?;
        db.pragma_update(None, "journal_mode", "wal")
            .map_err(db_err)?;
        db.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(db_err)?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS versions (
                id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL,
                version TEXT NOT NULL, summary TEXT NOT NULL, size INTEGER NOT NULL,
                added_at INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS slots (
                name TEXT PRIMARY KEY, kind TEXT NOT NULL, serving TEXT NOT NULL,
                history TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS events (
                seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, name TEXT NOT NULL,
                action TEXT NOT NULL, from_id TEXT, to_id TEXT NOT NULL);",
        )
        .map_err(db_err)?;
        Ok(PluginStore {
            dir: dir.to_path_buf(),
            db: Mutex::new(db),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.dir.join("cache")
    }

    fn db_err(&self, source: rusqlite::Error) -> Error {
        Error::Db {
            path: self.dir.join("plugins.db"),
            source,
        }
    }

    fn corrupt(&self, reason: String) -> Error {
        Error::Corrupt {
            path: self.dir.join("plugins.db"),
            reason,
        }
    }

    fn blob_path(&self, id: &VersionId) -> PathBuf {
        self.dir.join("blobs").join(format!("{}.wasm", id.as_str()))
    }

    /// Keep the component bytes; written to a temporary name first so a crash never
    /// leaves a partial blob under its id. A blob already there is kept if it is intact
    /// and replaced if not.
    pub fn put_blob(&self, id: &VersionId, bytes: &[u8]) -> Result<()> {
        if self.blob(id).is_ok() {
            return Ok(());
        }
        let path = self.blob_path(id);
        let tmp = path.with_extension("part");
        std::fs::write(&tmp, bytes)
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|source| Error::Io { path, source })
    }

    /// The bytes of a stored version, checked against its id: a blob whose bytes
    /// changed on disk is refused, never loaded under the id it no longer has.
    pub fn blob(&self, id: &VersionId) -> Result<Vec<u8>> {
        let path = self.blob_path(id);
        let bytes = std::fs::read(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let found = VersionId::of(&bytes);
        if found != *id {
            return Err(Error::Corrupt {
                path,
                reason: format!(
                    "the component it holds has sha256 {}, which does not match its id {}",
                    found.as_str(),
                    id.as_str()
                ),
            });
        }
        Ok(bytes)
    }

    /// Resolve a unique id prefix (at least 6 digits) of a stored version.
    pub fn resolve(&self, prefix: &str) -> Result<Option<VersionId>> {
        if prefix.len() < 6 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let db = lock(&self.db);
        let mut stmt = db
            .prepare("SELECT id FROM versions WHERE id LIKE ?1 || '%' LIMIT 2")
            .map_err(|e| self.db_err(e))?;
        let ids: Vec<String> = stmt
            .query_map([prefix.to_lowercase()], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.db_err(e))?;
        Ok(match ids.as_slice() {
            [one] => VersionId::parse(one),
            _ => None,
        })
    }

    pub fn record_version(&self, v: &PluginVersion) -> Result<()> {
        lock(&self.db)
            .execute(
                "INSERT OR IGNORE INTO versions (id, name, kind, version, summary, size, added_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    v.id.as_str(),
                    v.description.name,
                    v.kind().as_str(),
                    v.description.version,
                    v.description.summary,
                    v.size as i64,
                    now()
                ],
            )
            .map_err(|e| self.db_err(e))?;
        Ok(())
    }

    pub fn slots(&self) -> Result<Vec<SlotRow>> {
        let db = lock(&self.db);
        let mut stmt = db
            .prepare("SELECT name, kind, serving, history FROM slots ORDER BY name")
            .map_err(|e| self.db_err(e))?;
        let rows: Vec<(String, String, String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.db_err(e))?;
        rows.into_iter()
            .map(|(n, k, s, h)| self.slot_row(n, &k, &s, &h))
            .collect()
    }

    fn slot_row(&self, name: String, kind: &str, serving: &str, history: &str) -> Result<SlotRow> {
        let id = |s: &str| {
            VersionId::parse(s)
                .ok_or_else(|| self.corrupt(format!("slot {name}: bad version id {s:?}")))
        };
        Ok(SlotRow {
            kind: Kind::parse(kind)
                .ok_or_else(|| self.corrupt(format!("slot {name}: unknown kind {kind:?}")))?,
            serving: id(serving)?,
            history: history
                .split(',')
                .filter(|s| !s.is_empty())
                .map(id)
                .collect::<Result<_>>()?,
            name,
        })
    }

    /// Read-modify-write one slot in a transaction, so the CLI and a running host can
    /// both change slots without losing either's change. `f` returns the new row and
    /// the event to log, or an error that leaves the slot as it was.
    pub fn update_slot(
        &self,
        name: &str,
        f: impl FnOnce(Option<SlotRow>) -> Result<(SlotRow, &'static str)>,
    ) -> Result<SlotRow> {
        let mut db = lock(&self.db);
        let tx = db
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| self.db_err(e))?;
        let old: Option<(String, String, String)> = tx
            .query_row(
                "SELECT kind, serving, history FROM slots WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|e| self.db_err(e))?;
        let old = old
            .map(|(k, s, h)| self.slot_row(name.to_string(), &k, &s, &h))
            .transpose()?;
        let from = old.as_ref().map(|o| o.serving.as_str().to_string());
        let (mut new, action) = f(old.clone())?;
        if old.as_ref() == Some(&new) {
            return Ok(new);
        }
        if new.history.len() > HISTORY {
            new.history.drain(..new.history.len() - HISTORY);
        }
        let history: Vec<&str> = new.history.iter().map(VersionId::as_str).collect();
        tx.execute(
            "INSERT INTO slots (name, kind, serving, history) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(name) DO UPDATE SET kind = ?2, serving = ?3, history = ?4",
            params![
                name,
                new.kind.as_str(),
                new.serving.as_str(),
                history.join(",")
            ],
        )
        .map_err(|e| self.db_err(e))?;
        tx.execute(
            "INSERT INTO events (at, name, action, from_id, to_id) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![now(), name, action, from, new.serving.as_str()],
        )
        .map_err(|e| self.db_err(e))?;
        tx.commit().map_err(|e| self.db_err(e))?;
        Ok(new)
    }

    pub fn events(&self, name: &str) -> Result<Vec<Event>> {
        let db = lock(&self.db);
        let mut stmt = db
            .prepare(
                "SELECT at, name, action, from_id, to_id FROM events WHERE name = ?1 ORDER BY seq",
            )
            .map_err(|e| self.db_err(e))?;
        let rows: Vec<(i64, String, String, Option<String>, String)> = stmt
            .query_map([name], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .and_then(|rows| rows.collect())
            .map_err(|e| self.db_err(e))?;
        Ok(rows
            .into_iter()
            .filter_map(|(at, name, action, from, to)| {
                Some(Event {
                    at,
                    name,
                    action,
                    from: from.as_deref().and_then(VersionId::parse),
                    to: VersionId::parse(&to)?,
                })
            })
            .collect())
    }

    /// Changes whenever another connection commits (sqlite's `data_version`).
    pub fn data_version(&self) -> Result<i64> {
        lock(&self.db)
            .pragma_query_value(None, "data_version", |r| r.get(0))
            .map_err(|e| self.db_err(e))
    }
}

fn now() -> i64 {
    crate::host::Clock::Live.now()
}
