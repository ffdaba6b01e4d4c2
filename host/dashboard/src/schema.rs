//! The database schema, versioned with `PRAGMA user_version`: each entry of
//! [`MIGRATIONS`] takes the database one version up, and a database newer than this
//! program is refused rather than misread.

use crate::error::{Context, Error, Result};
use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;

/// Version N is reached by running the first N migrations.
const MIGRATIONS: &[&str] = &[
    // 1: results, logs, building markers.
    "CREATE TABLE results (
        id INTEGER PRIMARY KEY,
        builder TEXT NOT NULL,
        repo TEXT NOT NULL,
        hash TEXT NOT NULL,
        go_hash TEXT NOT NULL,          -- '' for the main repo
        change_num INTEGER NOT NULL,    -- 0 for post-submit work
        patch_set INTEGER NOT NULL,     -- 0 for post-submit work
        ok INTEGER NOT NULL,
        started_ns INTEGER NOT NULL,
        run_time_ns INTEGER NOT NULL,
        log_hash TEXT NOT NULL,         -- '' without a log
        recorded_ns INTEGER NOT NULL,
        UNIQUE (repo, hash, builder, go_hash, change_num, patch_set)
     );
     CREATE INDEX results_by_builder ON results (builder, recorded_ns);
     CREATE INDEX results_by_recorded ON results (recorded_ns);
     CREATE TABLE logs (
        hash TEXT PRIMARY KEY,          -- SHA-1 hex of the uncompressed text
        size INTEGER NOT NULL,          -- uncompressed bytes
        gz BLOB NOT NULL
     );
     CREATE TABLE building (
        hash TEXT NOT NULL,
        go_hash TEXT NOT NULL,
        builder TEXT NOT NULL,
        repo TEXT NOT NULL,
        url TEXT NOT NULL,
        expires_ns INTEGER NOT NULL,
        PRIMARY KEY (hash, go_hash, builder)
     );",
];

/// The schema version this program writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database up to [`VERSION`]. Safe against another process doing the same:
/// the version is read again inside the write transaction.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .ctx("starting the schema migration")?;
    let found: i64 = tx
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .ctx("reading the schema version")?;
    if found > VERSION {
        return Err(Error::NewerSchema {
            path: path.to_path_buf(),
            found,
            known: VERSION,
        });
    }
    for sql in &MIGRATIONS[found as usize..] {
        tx.execute_batch(sql).ctx("migrating the schema")?;
    }
    tx.pragma_update(None, "user_version", VERSION)
        .ctx("writing the schema version")?;
    tx.commit().ctx("committing the schema migration")
}
