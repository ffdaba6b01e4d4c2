use std::path::PathBuf;

/// What went wrong in the results store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("opening {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{path} has schema version {found}, newer than this program knows ({known})")]
    NewerSchema {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("{what}: {source}")]
    Sql {
        what: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error("log {hash} is corrupt: {source}")]
    CorruptLog {
        hash: String,
        #[source]
        source: std::io::Error,
    },
    #[error("compressing a log: {0}")]
    Compress(#[source] std::io::Error),
    #[error("bad result: {0}")]
    BadResult(String),
    #[error("{0}")]
    NoResult(String),
    #[error("several results match: {}", .0.join("; "))]
    Ambiguous(Vec<String>),
    #[error("master key {path}: {source}")]
    Key {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("master key {0} is empty")]
    EmptyKey(PathBuf),
    #[error("a blocking store task failed: {0}")]
    Task(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches what was being done to a sqlite error.
pub(crate) trait Context<T> {
    fn ctx(self, what: &'static str) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, rusqlite::Error> {
    fn ctx(self, what: &'static str) -> Result<T> {
        self.map_err(|source| Error::Sql { what, source })
    }
}
