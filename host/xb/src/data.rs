//! The data directory: one folder holds everything the embedded default needs.
//!
//! ```text
//! <data>/plugins/           plugin store (blobs, compiled-code cache, plugins.db)
//! <data>/plugins/incoming/  watched: a component dropped here is loaded and swapped in
//! <data>/admin.token        bearer token of the admin API (created on first serve)
//! <data>/dashboard.db       build results, logs, building markers (sqlite, WAL)
//! <data>/builder-master.key the dashboard's master key; builder keys derive from it
//! <data>/maintner/          maintnerd: log/ (mutation log segments), gerrit/, git/ mirrors
//! ```

use anyhow::{Context, Result};
use runtime::{PluginStore, Registry, Runtime, RuntimeConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct DataDir(PathBuf);

impl DataDir {
    pub fn new(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        std::fs::create_dir_all(&path)
            .with_context(|| format!("creating data directory {}", path.display()))?;
        Ok(DataDir(path))
    }

    /// The data directory at `path` for a command that only reads it: nothing is created,
    /// not even the directory (a mistyped `--data` leaves nothing behind).
    pub fn to_read(path: impl Into<PathBuf>) -> Self {
        DataDir(path.into())
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn plugins(&self) -> PathBuf {
        self.0.join("plugins")
    }

    /// Where a running `xb serve` writes the address the CLI reaches it at, and removes it
    /// when it stops.
    pub fn serve_addr(&self) -> PathBuf {
        self.0.join("serve.addr")
    }

    /// maintnerd's data directory (its log is `log/` inside).
    pub fn maintner(&self) -> PathBuf {
        self.0.join("maintner")
    }

    /// Seed an empty corpus log with a recorded one: ours, or a log directory of Go's
    /// maintner (its day files or its network client's cache), copied record by record
    /// into our layout. Returns how many mutations were copied (0 when the log already
    /// exists).
    pub fn seed_corpus(&self, recorded: &Path) -> Result<u64> {
        let log = maintnerd::service::log_dir(&self.maintner());
        let has_log = std::fs::read_dir(&log)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false);
        if has_log || !recorded.is_dir() {
            return Ok(0);
        }
        std::fs::create_dir_all(self.maintner())?;
        maintner::disklog::copy_log(recorded, &log)
            .with_context(|| format!("seeding the corpus log from {}", recorded.display()))
    }

    pub fn incoming(&self) -> PathBuf {
        self.plugins().join("incoming")
    }

    /// The registry over this directory's plugin store.
    pub fn registry(&self) -> Result<Arc<Registry>> {
        let store = PluginStore::open(&self.plugins())?;
        let rt = Runtime::new(RuntimeConfig {
            cache_dir: Some(store.cache_dir()),
            ..Default::default()
        })?;
        Ok(Arc::new(Registry::open(Arc::new(rt), store)?))
    }

    /// The registry over this directory's plugin store, to read only: nothing in the
    /// data directory is created or changed. Empty when nothing was ever stored.
    pub fn registry_read_only(&self) -> Result<Arc<Registry>> {
        let dir = self.plugins();
        if !dir.join("plugins.db").exists() {
            return Ok(Arc::new(Registry::in_memory(Arc::new(Runtime::new(
                RuntimeConfig::default(),
            )?))));
        }
        let store = PluginStore::open_read_only(&dir)?;
        let rt = Runtime::new(RuntimeConfig {
            cache_dir: Some(store.cache_dir()),
            cache_read_only: true,
            ..Default::default()
        })?;
        Ok(Arc::new(Registry::open(Arc::new(rt), store)?))
    }

    /// The admin API token, created (random, mode 0600) if missing.
    pub fn admin_token(&self) -> Result<String> {
        let path = self.0.join("admin.token");
        if let Ok(t) = std::fs::read_to_string(&path) {
            if !t.trim().is_empty() {
                return Ok(t.trim().to_string());
            }
        }
        let mut bytes = [0u8; 24];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
            .context("reading /dev/urandom for the admin token")?;
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        write_private(&path, &token).with_context(|| format!("writing {}", path.display()))?;
        Ok(token)
    }
}

pub(crate) fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(0o600);
    opts.open(path)?.write_all(contents.as_bytes())
}
