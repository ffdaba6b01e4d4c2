//! The results store: one sqlite file (WAL) with results, logs and building markers.
//!
//! Every method blocks (sqlite, gzip): call them from a blocking thread, or through
//! [`Store::run`] from async code. A [`Store`] is cheap to clone and safe to share:
//! writes go through one connection, one transaction each; reads take a connection of
//! their own from a small pool, so readers never wait for the writer (WAL). Other
//! processes (the `xb dashboard` CLI) may write the same file at the same time.

use crate::error::{Context, Error, Result};
use crate::loghash::{compress, decompress, log_hash};
use crate::model::{BuildResult, Building, NewResult, ResultKey, ResultQuery, Work};
use crate::schema;
use maintner::time::Time;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row, TransactionBehavior};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a building marker lasts without a new ping (Go's memcache expiry).
pub const BUILDING_TTL: Duration = Duration::from_secs(15 * 60);
/// The most results one query returns.
pub const MAX_LIMIT: usize = 10_000;
/// Readers kept open for reuse.
const POOL: usize = 8;
/// Commits per `IN (…)` list, well under sqlite's variable limit.
const CHUNK: usize = 500;
/// How long a write waits for another process's transaction.
const BUSY: Duration = Duration::from_secs(30);

/// The file a data directory keeps results in.
pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join("dashboard.db")
}

#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// Writes committed through this store: pages rendered from it are current while
    /// this stays the same.
    changes: AtomicU64,
}

/// Rows counted by [`Store::sizes`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sizes {
    pub results: u64,
    pub logs: u64,
    /// Uncompressed bytes of the distinct logs.
    pub log_bytes: u64,
    /// Their gzipped bytes as stored.
    pub log_bytes_stored: u64,
}

fn connect(path: &Path) -> Result<Connection> {
    let open = |source| Error::Open {
        path: path.to_path_buf(),
        source,
    };
    let conn = Connection::open(path).map_err(open)?;
    conn.busy_timeout(BUSY).map_err(open)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(open)?;
    Ok(conn)
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        let mut writer = connect(path)?;
        let mode: String = writer
            .pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))
            .map_err(|source| Error::Open {
                path: path.to_path_buf(),
                source,
            })?;
        if mode != "wal" {
            tracing::warn!(path = %path.display(), mode, "sqlite would not switch to WAL");
        }
        schema::migrate(&mut writer, path)?;
        Ok(Store {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
                changes: AtomicU64::new(0),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on a blocking thread: how async code calls the store.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| Error::Task(e.to_string()))?
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let pooled = self
            .inner
            .readers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
        let conn = match pooled {
            Some(c) => c,
            None => connect(&self.inner.path)?,
        };
        let out = f(&conn);
        let mut pool = self.inner.readers.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < POOL {
            pool.push(conn);
        }
        out
    }

    fn write<T>(&self, f: impl FnOnce(&rusqlite::Transaction) -> Result<T>) -> Result<T> {
        let mut conn = self.inner.writer.lock().unwrap_or_else(|e| e.into_inner());
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("starting a write")?;
        let out = f(&tx)?;
        tx.commit().ctx("committing")?;
        self.inner.changes.fetch_add(1, Ordering::Release);
        Ok(out)
    }

    /// How many writes this store has committed (not those of other processes on the
    /// same file): what a page cache keys on.
    pub fn changes(&self) -> u64 {
        self.inner.changes.load(Ordering::Acquire)
    }

    /// Every repo with a recorded result, sorted. One index seek per repo (the unique
    /// index leads with the repo), however many results there are.
    pub fn repos(&self) -> Result<Vec<String>> {
        self.read(|c| {
            let mut stmt = c
                .prepare_cached("SELECT min(repo) FROM results WHERE repo > ?1")
                .ctx("listing repos")?;
            let mut out: Vec<String> = vec![];
            loop {
                let after = out.last().map_or("", String::as_str);
                let next: Option<String> =
                    stmt.query_row([after], |r| r.get(0)).ctx("listing repos")?;
                match next {
                    Some(repo) => out.push(repo),
                    None => return Ok(out),
                }
            }
        })
    }

    /// Records a result, replacing an earlier one for the same key, and stores its log
    /// (once per distinct text). Returns the log's hash, empty without a log. A building
    /// marker for the same build is removed.
    pub fn record(&self, r: &NewResult) -> Result<String> {
        check_key(&r.key)?;
        let run_time = i64::try_from(r.run_time.as_nanos())
            .map_err(|_| Error::BadResult(format!("run time {:?} is too long", r.run_time)))?;
        let log = r.log.as_deref().filter(|l| !l.is_empty());
        let hash = log.map(log_hash).unwrap_or_default();
        // Compress outside the write lock, and only a log not stored yet.
        let gz = match log {
            Some(text) if !self.has_log(&hash)? => Some((compress(text)?, text.len())),
            _ => None,
        };
        let k = &r.key;
        let (change, patch_set) = k.work.columns();
        self.write(|tx| {
            if let Some((gz, size)) = &gz {
                tx.execute(
                    "INSERT OR IGNORE INTO logs (hash, size, gz) VALUES (?1, ?2, ?3)",
                    params![hash, *size as i64, gz],
                )
                .ctx("storing a log")?;
            }
            tx.execute(
                "INSERT INTO results (builder, repo, hash, go_hash, change_num, patch_set,
                    ok, started_ns, run_time_ns, log_hash, recorded_ns)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (repo, hash, builder, go_hash, change_num, patch_set) DO UPDATE SET
                    ok = excluded.ok, started_ns = excluded.started_ns,
                    run_time_ns = excluded.run_time_ns, log_hash = excluded.log_hash,
                    recorded_ns = excluded.recorded_ns",
                params![
                    k.builder,
                    k.repo,
                    k.commit,
                    k.go_commit,
                    change,
                    patch_set,
                    r.ok,
                    r.started.nanos(),
                    run_time,
                    hash,
                    now().nanos()
                ],
            )
            .ctx("storing a result")?;
            tx.execute(
                "DELETE FROM building WHERE hash = ?1 AND go_hash = ?2 AND builder = ?3",
                params![k.commit, k.go_commit, k.builder],
            )
            .ctx("removing a building marker")?;
            Ok(())
        })?;
        Ok(hash)
    }

    pub fn has_log(&self, hash: &str) -> Result<bool> {
        self.read(|c| {
            c.query_row("SELECT 1 FROM logs WHERE hash = ?1", [hash], |_| Ok(()))
                .optional()
                .ctx("looking up a log")
                .map(|r| r.is_some())
        })
    }

    /// A log's text, `None` if no log has this hash.
    pub fn log(&self, hash: &str) -> Result<Option<String>> {
        let row = self.read(|c| {
            c.query_row("SELECT gz, size FROM logs WHERE hash = ?1", [hash], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?))
            })
            .optional()
            .ctx("reading a log")
        })?;
        row.map(|(gz, size)| decompress(hash, &gz, size.max(0) as usize))
            .transpose()
    }

    /// Post-submit results recorded for these commits of `repo` (the WIT `results-for`),
    /// in the order of `commits`, then by builder and Go commit.
    pub fn results_for<S: AsRef<str>>(
        &self,
        repo: &str,
        commits: &[S],
    ) -> Result<Vec<BuildResult>> {
        let mut out = Vec::new();
        self.read(|c| {
            for chunk in commits.chunks(CHUNK) {
                let sql = format!(
                    "SELECT {COLUMNS} FROM results WHERE repo = ? AND change_num = 0
                     AND hash IN ({})",
                    placeholders(chunk.len())
                );
                let mut stmt = c.prepare_cached(&sql).ctx("querying results")?;
                let args = std::iter::once(repo).chain(chunk.iter().map(AsRef::as_ref));
                let rows = stmt
                    .query_map(params_from_iter(args), result_row)
                    .ctx("querying results")?;
                for row in rows {
                    out.push(row.ctx("reading a result")?);
                }
            }
            Ok(())
        })?;
        let pos: HashMap<&str, usize> = commits
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_ref(), i))
            .rev() // a commit listed twice sorts at its first place
            .collect();
        out.sort_by(|a, b| {
            let at = |r: &BuildResult| pos.get(r.key.commit.as_str()).copied();
            at(a)
                .cmp(&at(b))
                .then_with(|| a.key.builder.cmp(&b.key.builder))
                .then_with(|| a.key.go_commit.cmp(&b.key.go_commit))
        });
        Ok(out)
    }

    /// Whether this build's result is recorded (the work finder skips recorded work).
    pub fn has_result(&self, key: &ResultKey) -> Result<bool> {
        Ok(self.result(key)?.is_some())
    }

    pub fn result(&self, key: &ResultKey) -> Result<Option<BuildResult>> {
        self.read(|c| {
            c.query_row(
                &format!("SELECT {COLUMNS} FROM results WHERE {KEY_MATCH}"),
                key_params(key),
                result_row,
            )
            .optional()
            .ctx("looking up a result")
        })
    }

    /// Results matching `q`, newest recorded first (the status page's recent results,
    /// a builder's results, `/api/results`).
    pub fn query(&self, q: &ResultQuery) -> Result<Vec<BuildResult>> {
        let mut cond = Vec::new();
        let mut args: Vec<&dyn rusqlite::ToSql> = Vec::new();
        if let Some(repo) = &q.repo {
            cond.push("repo = ?");
            args.push(repo);
        }
        if let Some(builder) = &q.builder {
            cond.push("builder = ?");
            args.push(builder);
        }
        if let Some(prefix) = &q.commit {
            cond.push("substr(hash, 1, length(?)) = ?");
            args.push(prefix);
            args.push(prefix);
        }
        match q.try_work {
            Some(true) => cond.push("change_num != 0"),
            Some(false) => cond.push("change_num = 0"),
            None => {}
        }
        let limit = if q.limit == 0 {
            100
        } else {
            q.limit.min(MAX_LIMIT)
        } as i64;
        args.push(&limit);
        let filter = if cond.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", cond.join(" AND "))
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM results {filter} ORDER BY recorded_ns DESC, id DESC LIMIT ?"
        );
        self.read(|c| {
            let mut stmt = c.prepare(&sql).ctx("querying results")?;
            let rows = stmt
                .query_map(args.as_slice(), result_row)
                .ctx("querying results")?;
            rows.map(|r| r.ctx("reading a result")).collect()
        })
    }

    /// The most recently recorded results of every kind.
    pub fn recent(&self, limit: usize) -> Result<Vec<BuildResult>> {
        self.query(&ResultQuery {
            limit,
            ..Default::default()
        })
    }

    /// Removes one result so its build runs again. Returns whether there was one.
    pub fn clear(&self, key: &ResultKey) -> Result<bool> {
        self.write(|tx| {
            tx.execute(
                &format!("DELETE FROM results WHERE {KEY_MATCH}"),
                key_params(key),
            )
            .ctx("clearing a result")
            .map(|n| n > 0)
        })
    }

    /// Removes a builder's post-submit results: all of them, or those at `commits` (in
    /// any repo, against any Go commit). Returns how many went.
    pub fn clear_builder(&self, builder: &str, commits: Option<&[String]>) -> Result<usize> {
        self.write(|tx| {
            let Some(commits) = commits else {
                return tx
                    .execute(
                        "DELETE FROM results WHERE builder = ?1 AND change_num = 0",
                        [builder],
                    )
                    .ctx("clearing results");
            };
            let mut n = 0;
            for chunk in commits.chunks(CHUNK) {
                let sql = format!(
                    "DELETE FROM results WHERE builder = ? AND change_num = 0 AND hash IN ({})",
                    placeholders(chunk.len())
                );
                let args = std::iter::once(builder).chain(chunk.iter().map(String::as_str));
                n += tx
                    .execute(&sql, params_from_iter(args))
                    .ctx("clearing results")?;
            }
            Ok(n)
        })
    }

    /// Go's `retrybuilds`: clears the post-submit result of `builder` at `commit` (a
    /// full hash or a unique prefix) so it builds again. When the commit was built
    /// against several Go commits, `go_commit` says which.
    pub fn retry(
        &self,
        builder: &str,
        commit: &str,
        go_commit: Option<&str>,
    ) -> Result<BuildResult> {
        if commit.is_empty() {
            return Err(Error::BadResult("no commit given".into()));
        }
        let found: Vec<BuildResult> = self
            .query(&ResultQuery {
                builder: Some(builder.into()),
                commit: Some(commit.into()),
                try_work: Some(false),
                limit: 20,
                ..Default::default()
            })?
            .into_iter()
            .filter(|r| go_commit.is_none_or(|g| r.key.go_commit.starts_with(g)))
            .collect();
        match found.as_slice() {
            [one] => {
                self.clear(&one.key)?;
                Ok(one.clone())
            }
            [] => Err(Error::NoResult(format!(
                "no post-submit result of {builder} at {commit}"
            ))),
            many => Err(Error::Ambiguous(
                many.iter()
                    .map(|r| {
                        format!(
                            "{} {}{}",
                            r.key.repo,
                            r.key.commit,
                            if r.key.go_commit.is_empty() {
                                String::new()
                            } else {
                                format!(" (go {})", r.key.go_commit)
                            }
                        )
                    })
                    .collect(),
            )),
        }
    }

    /// Marks a build as running until `b.expires` (Go's `/building`); a later mark of
    /// the same build replaces it. Expired markers are dropped on the way.
    pub fn set_building(&self, b: &Building) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM building WHERE expires_ns <= ?1",
                [now().nanos()],
            )
            .ctx("dropping expired building markers")?;
            tx.execute(
                "INSERT INTO building (hash, go_hash, builder, repo, url, expires_ns)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (hash, go_hash, builder) DO UPDATE SET
                    repo = excluded.repo, url = excluded.url, expires_ns = excluded.expires_ns",
                params![
                    b.commit,
                    b.go_commit,
                    b.builder,
                    b.repo,
                    b.url,
                    b.expires.nanos()
                ],
            )
            .ctx("storing a building marker")?;
            Ok(())
        })
    }

    /// Builds marked as running and not expired at `at`, by expiry.
    pub fn building(&self, at: Time) -> Result<Vec<Building>> {
        self.read(|c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT builder, repo, hash, go_hash, url, expires_ns FROM building
                     WHERE expires_ns > ?1 ORDER BY expires_ns, builder",
                )
                .ctx("querying building markers")?;
            let rows = stmt
                .query_map([at.nanos()], |r| {
                    Ok(Building {
                        builder: r.get(0)?,
                        repo: r.get(1)?,
                        commit: r.get(2)?,
                        go_commit: r.get(3)?,
                        url: r.get(4)?,
                        expires: Time::from_nanos(r.get(5)?),
                    })
                })
                .ctx("querying building markers")?;
            rows.map(|r| r.ctx("reading a building marker")).collect()
        })
    }

    /// What the database holds.
    pub fn sizes(&self) -> Result<Sizes> {
        self.read(|c| {
            let results: i64 = c
                .query_row("SELECT count(*) FROM results", [], |r| r.get(0))
                .ctx("counting results")?;
            let (logs, raw, stored): (i64, i64, i64) = c
                .query_row(
                    "SELECT count(*), coalesce(sum(size), 0), coalesce(sum(length(gz)), 0)
                     FROM logs",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .ctx("counting logs")?;
            Ok(Sizes {
                results: results as u64,
                logs: logs as u64,
                log_bytes: raw as u64,
                log_bytes_stored: stored as u64,
            })
        })
    }

    /// Folds the write-ahead log into the database file (for measuring its size).
    pub fn checkpoint(&self) -> Result<()> {
        let conn = self.inner.writer.lock().unwrap_or_else(|e| e.into_inner());
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .ctx("checkpointing")
    }
}

const COLUMNS: &str = "builder, repo, hash, go_hash, change_num, patch_set, ok, started_ns,
    run_time_ns, log_hash, recorded_ns";

/// One result's row, with [`key_params`].
const KEY_MATCH: &str = "repo = ?1 AND hash = ?2 AND builder = ?3 AND go_hash = ?4
    AND change_num = ?5 AND patch_set = ?6";

fn key_params(k: &ResultKey) -> impl rusqlite::Params + '_ {
    let (change, patch_set) = k.work.columns();
    (
        &k.repo,
        &k.commit,
        &k.builder,
        &k.go_commit,
        change,
        patch_set,
    )
}

fn result_row(r: &Row) -> rusqlite::Result<BuildResult> {
    Ok(BuildResult {
        key: ResultKey {
            builder: r.get(0)?,
            repo: r.get(1)?,
            commit: r.get(2)?,
            go_commit: r.get(3)?,
            work: Work::from_columns(r.get(4)?, r.get(5)?),
        },
        ok: r.get(6)?,
        started: Time::from_nanos(r.get(7)?),
        run_time: Duration::from_nanos(r.get::<_, i64>(8)?.max(0) as u64),
        log_hash: r.get(9)?,
        recorded: Time::from_nanos(r.get(10)?),
    })
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(",")
}

/// The fields of a key must be there; a try result names its change.
fn check_key(k: &ResultKey) -> Result<()> {
    let missing = [
        ("builder", &k.builder),
        ("repo", &k.repo),
        ("commit", &k.commit),
    ]
    .into_iter()
    .find(|(_, v)| v.is_empty());
    if let Some((field, _)) = missing {
        return Err(Error::BadResult(format!("{field} is empty")));
    }
    if let Work::Try { change, patch_set } = k.work {
        if change <= 0 || patch_set <= 0 {
            return Err(Error::BadResult(format!(
                "try work needs a change and a patch set, got {change},{patch_set}"
            )));
        }
    }
    Ok(())
}

/// The wall clock as the store records it.
pub fn now() -> Time {
    Time::from_nanos(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(0),
    )
}
