//! Extraction of a `.tar.gz` stream into the work directory (`/writetgz`), with the
//! seed's rules (only regular files and directories, names checked) enforced through
//! cap-std, plus a limit on the bytes written so a tar bomb is refused.

use std::collections::{HashMap, HashSet};
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use flate2::bufread::MultiGzDecoder;
use tar::EntryType;

use crate::paths::{rel_path, PathError};
use crate::workdir::{PendingFile, WorkDir};
use cap_std::fs::Dir;

/// Directory handles kept open during one extraction.
const MAX_OPEN_PARENTS: usize = 64;

/// Why an extraction stopped. Files fully extracted before the failure stay (as in Go);
/// the entry being written is never left behind.
#[derive(Debug, thiserror::Error)]
pub enum UntarError {
    #[error("requires gzip-compressed body: {0}")]
    NotGzip(String),
    #[error("tar error at entry {index}: {source}")]
    Tar { index: usize, source: io::Error },
    #[error("tar entry {index} has invalid name {name:?}: {source}")]
    BadName {
        index: usize,
        name: String,
        source: PathError,
    },
    #[error("tar entry {index} {name:?}: unsupported entry type {kind}; only regular files and directories are allowed")]
    BadType {
        index: usize,
        name: String,
        kind: String,
    },
    #[error("tarball expands beyond the limit of {limit} bytes (at entry {index} {name:?})")]
    TooLarge {
        index: usize,
        name: String,
        limit: u64,
    },
    #[error("tar entry {index} {name:?}: {source}")]
    Write {
        index: usize,
        name: String,
        source: io::Error,
    },
}

impl UntarError {
    /// True for failures of the server's own file system (HTTP 500) rather than of the input.
    pub fn is_server_error(&self) -> bool {
        matches!(self, UntarError::Write { source, .. } if !is_escape(source))
    }
}

/// An error from cap-std meaning "this path would leave the directory" (or a symlink
/// pointing there): a client mistake, not a server failure.
pub(crate) fn is_escape(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::PermissionDenied
        && e.to_string().contains("outside of the filesystem")
        || e.raw_os_error() == Some(libc::ELOOP)
        || e.raw_os_error() == Some(libc::ENOTDIR)
}

/// What was extracted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct UntarStats {
    pub files: u64,
    pub dirs: u64,
    pub bytes: u64,
}

/// Extracts the gzip-compressed tar read from `r` into `base` (relative to the work dir),
/// writing at most `limit` bytes of file content.
pub fn untar(
    wd: &WorkDir,
    base: &Path,
    r: impl Read,
    limit: u64,
) -> Result<UntarStats, UntarError> {
    let mut br = BufReader::with_capacity(256 << 10, r);
    let head = br
        .fill_buf()
        .map_err(|e| UntarError::NotGzip(e.to_string()))?;
    if head.len() < 2 || head[..2] != [0x1f, 0x8b] {
        return Err(UntarError::NotGzip("missing gzip magic bytes".into()));
    }
    let start = SystemTime::now();
    let mut archive = tar::Archive::new(MultiGzDecoder::new(br));
    let mut stats = UntarStats::default();
    // Keep recently used parent directories open, and remember directories already
    // remember directories already checked, instead of resolving every path again.
    let mut parents: HashMap<PathBuf, Arc<Dir>> = HashMap::new();
    let mut checked: HashSet<PathBuf> = HashSet::new();
    let entries = archive
        .entries()
        .map_err(|source| UntarError::Tar { index: 0, source })?;
    for (index, entry) in entries.enumerate() {
        let mut entry = entry.map_err(|source| UntarError::Tar { index, source })?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let kind = entry.header().entry_type();
        if kind == EntryType::XGlobalHeader {
            continue;
        }
        let rel = rel_path(&name, false).map_err(|source| UntarError::BadName {
            index,
            name: name.clone(),
            source,
        })?;
        let dest = base.join(&rel);
        let is_dir = kind == EntryType::Directory;
        let dest_parent = dest.parent().unwrap_or(Path::new("")).to_path_buf();
        let known = checked.contains(if is_dir { &dest } else { &dest_parent });
        if !known {
            if let Some(msg) = wd.symlink_escape(&dest, is_dir) {
                return Err(UntarError::BadName {
                    index,
                    name,
                    source: PathError::Symlink(msg),
                });
            }
        }
        let werr = |source| UntarError::Write {
            index,
            name: name.clone(),
            source,
        };
        match kind {
            EntryType::Directory => {
                wd.create_dir_all(&dest).map_err(werr)?;
                checked.insert(dest);
                stats.dirs += 1;
            }
            EntryType::Regular | EntryType::Continuous => {
                let size = entry.size();
                let left = limit - stats.bytes;
                if size > left {
                    return Err(UntarError::TooLarge { index, name, limit });
                }
                let mode = entry.header().mode().unwrap_or(0o644);
                let mtime = entry
                    .header()
                    .mtime()
                    .ok()
                    .map(|s| (UNIX_EPOCH + Duration::from_secs(s)).min(start));
                let dir = match parents.get(&dest_parent) {
                    Some(d) => d.clone(),
                    None => {
                        let d = Arc::new(wd.create_parent(&dest).map_err(werr)?);
                        checked.insert(dest_parent.clone());
                        if parents.len() >= MAX_OPEN_PARENTS {
                            parents.clear();
                        }
                        parents.insert(dest_parent, d.clone());
                        d
                    }
                };
                let file_name = Path::new(dest.file_name().expect("validated entry names a file"));
                let mut pending = PendingFile::create(dir, file_name).map_err(werr)?;
                let n = io::copy(&mut (&mut entry).take(size), pending.file())
                    .map_err(|source| UntarError::Tar { index, source })?;
                if n != size {
                    let source = io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("entry has {n} bytes; header says {size}"),
                    );
                    return Err(UntarError::Tar { index, source });
                }
                pending.commit(mode, mtime).map_err(werr)?;
                stats.files += 1;
                stats.bytes += n;
            }
            other => {
                return Err(UntarError::BadType {
                    index,
                    name,
                    kind: format!("{other:?}"),
                });
            }
        }
    }
    Ok(stats)
}
