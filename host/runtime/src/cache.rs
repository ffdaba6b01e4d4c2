//! Compiled code on disk, so a restart or a version the CLI already loaded does not
//! compile again. An entry is `<id>-<engine tag>.cwasm`:
//!
//! ```text
//! "xbcwasm1"  sha256 of the code (32 bytes)  the code (Component::serialize)
//! ```
//!
//! wasmtime runs deserialized code as it finds it: a flipped byte in an entry would be a
//! flipped instruction. So an entry is read whole, its sha256 checked, and only then
//! deserialized from the checked bytes; an entry that fails the check is compiled
//! again and rewritten.

use crate::id::VersionId;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use wasmtime::component::Component;
use wasmtime::Engine;

const MAGIC: &[u8; 8] = b"xbcwasm1";
const HEADER: usize = MAGIC.len() + 32;

pub(crate) struct CodeCache {
    dir: PathBuf,
    /// Distinguishes engines whose compiled code is not interchangeable.
    tag: u64,
    /// Take entries, never write or delete them.
    read_only: bool,
}

impl CodeCache {
    pub(crate) fn new(dir: PathBuf, engine: &Engine, read_only: bool) -> std::io::Result<Self> {
        if !read_only {
            std::fs::create_dir_all(&dir)?;
        }
        let mut h = std::hash::DefaultHasher::new();
        std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut h);
        Ok(CodeCache {
            dir,
            tag: std::hash::Hasher::finish(&h),
            read_only,
        })
    }

    fn path(&self, id: &VersionId) -> PathBuf {
        self.dir
            .join(format!("{}-{:016x}.cwasm", id.as_str(), self.tag))
    }

    pub(crate) fn contains(&self, id: &VersionId) -> bool {
        self.path(id).exists()
    }

    /// The compiled code of `id`, if an entry exists and is intact.
    pub(crate) fn get(&self, engine: &Engine, id: &VersionId) -> Option<Component> {
        let path = self.path(id);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "unreadable compiled code; compiling again");
                return None;
            }
        };
        let Some(code) = verified(&bytes) else {
            tracing::warn!(path = %path.display(), "compiled code does not match its recorded sha256; compiling again");
            return None;
        };
        // SAFETY: `code` is, byte for byte, what `Component::serialize` wrote for an
        // engine with the same compatibility hash (it is in the file name): the sha256
        // recorded beside it says so, and it is deserialized from memory, not from a
        // file that could change after the check.
        match unsafe { Component::deserialize(engine, code) } {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "unusable compiled code; compiling again");
                None
            }
        }
    }

    /// Keep the compiled code of `id`. Written under a temporary name and renamed, so
    /// a reader sees the old entry or the whole new one.
    pub(crate) fn put(&self, id: &VersionId, component: &Component) {
        if self.read_only {
            return;
        }
        let path = self.path(id);
        if let Err(e) = write(&path, component) {
            tracing::warn!(path = %path.display(), error = %e, "could not write compiled code");
        }
    }
}

impl CodeCache {
    /// Delete the entry of `id` (about as large as the component's code: tens of MB
    /// for an interpreter's component).
    pub(crate) fn remove(&self, id: &VersionId) {
        if self.read_only {
            return;
        }
        let path = self.path(id);
        match std::fs::remove_file(&path) {
            Ok(()) => tracing::info!(path = %path.display(), "deleted compiled code"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "could not delete compiled code")
            }
        }
    }
}

/// The code of an entry whose recorded sha256 matches it.
fn verified(entry: &[u8]) -> Option<&[u8]> {
    if entry.len() < HEADER || &entry[..MAGIC.len()] != MAGIC {
        return None;
    }
    let (sum, code) = entry[MAGIC.len()..].split_at(32);
    (Sha256::digest(code).as_slice() == sum).then_some(code)
}

fn write(path: &Path, component: &Component) -> std::io::Result<()> {
    static UNIQUE: AtomicU64 = AtomicU64::new(0);
    let code = component.serialize().map_err(std::io::Error::other)?;
    let mut entry = Vec::with_capacity(HEADER + code.len());
    entry.extend_from_slice(MAGIC);
    entry.extend_from_slice(&Sha256::digest(&code));
    entry.extend_from_slice(&code);
    let tmp = path.with_extension(format!(
        "{}-{}.tmp",
        std::process::id(),
        UNIQUE.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&tmp, entry)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
