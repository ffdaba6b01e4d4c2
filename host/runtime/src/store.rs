//! The plugin store in the data directory: components by content id, which version
//! serves under each name with its history, and a log of every change of a slot.
//!
//! ```text
//! <dir>/blobs/<sha256>.wasm   components, as loaded
//! <dir>/cache/                compiled code (see cache.rs)
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
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// How many earlier versions a slot remembers for rollback.
pub const HISTORY: usize = 16;

/// What serves under a name (nothing once removed), and what served before (oldest
/// first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRow {
    pub name: String,
    pub kind: Kind,
    pub serving: Option<VersionId>,
    pub history: Vec<VersionId>,
}

/// One recorded change of a slot: `from` what served before, `to` what serves after
/// (none after a removal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub at: i64,
    pub name: String,
    pub action: String,
    pub from: Option<VersionId>,
    pub to: Option<VersionId>,
}

/// The builders each other serving plugin defines, by plugin name, as a slot change
/// sees them (inside its transaction).
pub type ServingBuilders = Vec<(String, Vec<String>)>;

pub struct PluginStore {
    dir: PathBuf,
    db: Mutex<Connection>,
    read_only: bool,
}

/// The schema, version 1. Version 0 had a slot always serving, no builder names.
const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS versions (
        id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL,
        version TEXT NOT NULL, summary TEXT NOT NULL, size INTEGER NOT NULL,
        added_at INTEGER NOT NULL,
        -- builder names it defines, one a line; NULL when not yet recorded
        builders TEXT);
    CREATE TABLE IF NOT EXISTS slots (
        name TEXT PRIMARY KEY, kind TEXT NOT NULL,
        -- NULL once removed
        serving TEXT,
        history TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, name TEXT NOT NULL,
        action TEXT NOT NULL, from_id TEXT, to_id TEXT);
    PRAGMA user_version = 1;";

/// From version 0: slots may serve nothing and events lead to nothing (a removal),
/// and versions record the builders they define.
const MIGRATE_0_TO_1: &str = "
    ALTER TABLE versions ADD COLUMN builders TEXT;
    ALTER TABLE slots RENAME TO slots_0;
    ALTER TABLE events RENAME TO events_0;";

const COPY_0_TO_1: &str = "
    INSERT INTO slots SELECT name, kind, serving, history FROM slots_0;
    INSERT INTO events SELECT seq, at, name, action, from_id, to_id FROM events_0;
    DROP TABLE slots_0;
    DROP TABLE events_0;";

impl PluginStore {
    /// Open the store in `dir`, creating it (or bringing an older one up to date).
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir.join("blobs")).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let db_err = db_error(dir);
        let mut db = Connection::open(dir.join("plugins.db")).map_err(db_err)?;
        db.pragma_update(None, "journal_mode", "wal")
            .map_err(db_err)?;
        db.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(db_err)?;
        let tx = db
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db_err)?;
        let schema: i64 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(db_err)?;
        let old_tables: bool = tx
            .query_row(
                "SELECT count(*) > 0 FROM sqlite_master WHERE name = 'slots'",
                [],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        match (schema, old_tables) {
            (1, _) => {}
            (0, true) => tx
                .execute_batch(MIGRATE_0_TO_1)
                .and_then(|_| tx.execute_batch(SCHEMA))
                .and_then(|_| tx.execute_batch(COPY_0_TO_1))
                .map_err(db_err)?,
            (0, false) => tx.execute_batch(SCHEMA).map_err(db_err)?,
            (newer, _) => {
                return Err(Error::Corrupt {
                    path: dir.join("plugins.db"),
                    reason: format!(
                        "schema version {newer} is newer than this host's (1); \
                         it was written by a newer xb"
                    ),
                })
            }
        }
        tx.commit().map_err(db_err)?;
        Ok(PluginStore {
            dir: dir.to_path_buf(),
            db: Mutex::new(db),
            read_only: false,
        })
    }

    /// Open an existing store to read it only: nothing in `dir` is created or changed.
    /// For the CLI's reading commands. When no other connection is open (no `-wal`
    /// file), the database is opened immutable, so sqlite leaves no `-wal` or `-shm`
    /// file behind; when a host is running, it shares the host's.
    pub fn open_read_only(dir: &Path) -> Result<Self> {
        let db_err = db_error(dir);
        let path = dir.join("plugins.db");
        let idle = !dir.join("plugins.db-wal").exists();
        let uri = format!(
            "file:{}?mode=ro{}",
            uri_path(&path),
            if idle { "&immutable=1" } else { "" }
        );
        let db = Connection::open_with_flags(
            uri,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(db_err)?;
        db.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(db_err)?;
        let schema: i64 = db
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(db_err)?;
        if schema != 1 {
            return Err(Error::Corrupt {
                path,
                reason: format!(
                    "schema version {schema}, this host reads 1 (open it once for writing \
                     to bring it up to date)"
                ),
            });
        }
        Ok(PluginStore {
            dir: dir.to_path_buf(),
            db: Mutex::new(db),
            read_only: true,
        })
    }

    pub fn is_read_only(&self) -> bool {
        self.read_only
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

    fn writable(&self) -> Result<()> {
        if self.read_only {
            return Err(Error::ReadOnly(self.dir.clone()));
        }
        Ok(())
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
        self.writable()?;
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

    /// Record a version (and the builders it defines, where they were not recorded).
    pub fn record_version(&self, v: &PluginVersion) -> Result<()> {
        self.writable()?;
        lock(&self.db)
            .execute(
                "INSERT INTO versions (id, name, kind, version, summary, size, added_at, builders)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT(id) DO UPDATE SET builders = ?8 WHERE builders IS NULL",
                params![
                    v.id.as_str(),
                    v.description.name,
                    v.kind().as_str(),
                    v.description.version,
                    v.description.summary,
                    v.size as i64,
                    now(),
                    v.builders.join("\n"),
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
        let rows: Vec<(String, String, Option<String>, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.db_err(e))?;
        rows.into_iter()
            .map(|(n, k, s, h)| self.slot_row(n, &k, s.as_deref(), &h))
            .collect()
    }

    fn slot_row(
        &self,
        name: String,
        kind: &str,
        serving: Option<&str>,
        history: &str,
    ) -> Result<SlotRow> {
        let id = |s: &str| {
            VersionId::parse(s)
                .ok_or_else(|| self.corrupt(format!("slot {name}: bad version id {s:?}")))
        };
        Ok(SlotRow {
            kind: Kind::parse(kind)
                .ok_or_else(|| self.corrupt(format!("slot {name}: unknown kind {kind:?}")))?,
            serving: serving.map(id).transpose()?,
            history: history
                .split(',')
                .filter(|s| !s.is_empty())
                .map(id)
                .collect::<Result<_>>()?,
            name,
        })
    }

    /// Read-modify-write one slot in a transaction, so the CLI and a running host can
    /// both change slots without losing either's change. `f` gets the slot as it is and
    /// the builders of every other serving plugin, and returns the new row and the
    /// event to log, or an error that leaves the slot as it was.
    pub fn update_slot(
        &self,
        name: &str,
        f: impl FnOnce(Option<SlotRow>, &ServingBuilders) -> Result<(SlotRow, &'static str)>,
    ) -> Result<SlotRow> {
        self.writable()?;
        let mut db = lock(&self.db);
        let tx = db
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| self.db_err(e))?;
        let old: Option<(String, Option<String>, String)> = tx
            .query_row(
                "SELECT kind, serving, history FROM slots WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|e| self.db_err(e))?;
        let old = old
            .map(|(k, s, h)| self.slot_row(name.to_string(), &k, s.as_deref(), &h))
            .transpose()?;
        let others = self.serving_builders(&tx, name)?;
        let (mut new, action) = f(old.clone(), &others)?;
        if old.as_ref() == Some(&new) {
            return Ok(new);
        }
        if new.history.len() > HISTORY {
            new.history.drain(..new.history.len() - HISTORY);
        }
        let history: Vec<&str> = new.history.iter().map(VersionId::as_str).collect();
        let serving = new.serving.as_ref().map(VersionId::as_str);
        tx.execute(
            "INSERT INTO slots (name, kind, serving, history) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(name) DO UPDATE SET kind = ?2, serving = ?3, history = ?4",
            params![name, new.kind.as_str(), serving, history.join(",")],
        )
        .map_err(|e| self.db_err(e))?;
        let from = old.and_then(|o| o.serving);
        tx.execute(
            "INSERT INTO events (at, name, action, from_id, to_id) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                now(),
                name,
                action,
                from.as_ref().map(VersionId::as_str),
                serving
            ],
        )
        .map_err(|e| self.db_err(e))?;
        tx.commit().map_err(|e| self.db_err(e))?;
        Ok(new)
    }

    fn serving_builders(&self, tx: &rusqlite::Transaction, name: &str) -> Result<ServingBuilders> {
        let mut stmt = tx
            .prepare(
                "SELECT slots.name, versions.builders FROM slots
                 JOIN versions ON versions.id = slots.serving
                 WHERE slots.name != ?1 AND versions.builders != ''",
            )
            .map_err(|e| self.db_err(e))?;
        let rows: Vec<(String, String)> = stmt
            .query_map([name], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect())
            .map_err(|e| self.db_err(e))?;
        Ok(rows
            .into_iter()
            .map(|(n, b)| (n, b.lines().map(str::to_string).collect()))
            .collect())
    }

    pub fn events(&self, name: &str) -> Result<Vec<Event>> {
        let db = lock(&self.db);
        let mut stmt = db
            .prepare(
                "SELECT at, name, action, from_id, to_id FROM events WHERE name = ?1 ORDER BY seq",
            )
            .map_err(|e| self.db_err(e))?;
        let id = |s: Option<String>| s.as_deref().and_then(VersionId::parse);
        stmt.query_map([name], |r| {
            Ok(Event {
                at: r.get(0)?,
                name: r.get(1)?,
                action: r.get(2)?,
                from: id(r.get(3)?),
                to: id(r.get(4)?),
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| self.db_err(e))
    }

    /// Changes whenever another connection commits (sqlite's `data_version`).
    pub fn data_version(&self) -> Result<i64> {
        lock(&self.db)
            .pragma_query_value(None, "data_version", |r| r.get(0))
            .map_err(|e| self.db_err(e))
    }
}

/// A path as the path of a `file:` URI: the characters that end or escape it encoded.
fn uri_path(path: &Path) -> String {
    path.to_string_lossy()
        .replace('%', "%25")
        .replace('?', "%3f")
        .replace('#', "%23")
}

fn db_error(dir: &Path) -> impl Fn(rusqlite::Error) -> Error + Copy + '_ {
    move |source| Error::Db {
        path: dir.join("plugins.db"),
        source,
    }
}

fn now() -> i64 {
    crate::host::Clock::Live.now()
}
