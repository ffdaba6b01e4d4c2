//! The work directory, opened once as a cap-std [`Dir`]: every file operation a client
//! asks for goes through it, so no path (nor a symlink on the way) can resolve outside.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::SystemTime;

use cap_std::ambient_authority;
use cap_std::fs::{Dir, File, OpenOptions};

use crate::paths::is_root;

/// The confined work directory.
#[derive(Debug)]
pub struct WorkDir {
    dir: Dir,
    path: PathBuf,
}

impl WorkDir {
    /// Creates `path` if needed and opens it. With `wipe`, empties it first, as the Go
    /// buildlet does at startup.
    pub fn open(path: &Path, wipe: bool) -> io::Result<Self> {
        std::fs::create_dir_all(path)?;
        let path = std::fs::canonicalize(path)?;
        let dir = Dir::open_ambient_dir(&path, ambient_authority())?;
        let wd = WorkDir { dir, path };
        if wipe {
            wd.remove_all(Path::new("."))?;
        }
        Ok(wd)
    }

    /// Absolute path of the work directory (what `/workdir` answers).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The capability handle itself.
    pub fn dir(&self) -> &Dir {
        &self.dir
    }

    /// Opens a directory inside the work dir (`.` is the root).
    pub fn open_dir(&self, rel: &Path) -> io::Result<Dir> {
        if is_root(rel) {
            self.dir.try_clone()
        } else {
            self.dir.open_dir(rel)
        }
    }

    /// Finds a symlink on the way to `rel` that leads outside the work dir (checking the
    /// last component too when `include_last`). cap-std would refuse to go through it
    /// anyway; this only turns its refusal into a message that says which link.
    pub fn symlink_escape(&self, rel: &Path, include_last: bool) -> Option<String> {
        let comps: Vec<_> = rel.components().collect();
        let n = if include_last {
            comps.len()
        } else {
            comps.len().saturating_sub(1)
        };
        let mut prefix = PathBuf::new();
        for c in &comps[..n] {
            prefix.push(c);
            match self.dir.symlink_metadata(&prefix) {
                Ok(md) if md.is_symlink() => {
                    if let Err(e) = self.dir.metadata(&prefix) {
                        if e.kind() != io::ErrorKind::NotFound {
                            let target = self.dir.read_link_contents(&prefix).unwrap_or_default();
                            return Some(format!(
                                "{:?} goes through symlink {:?} -> {:?}, which leads outside the work directory",
                                rel.display().to_string(),
                                prefix.display().to_string(),
                                target.display().to_string()
                            ));
                        }
                    }
                }
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        None
    }

    /// `mkdir -p` inside the work dir.
    pub fn create_dir_all(&self, rel: &Path) -> io::Result<()> {
        if is_root(rel) {
            return Ok(());
        }
        self.dir.create_dir_all(rel)
    }

    /// Removes `rel` and everything under it; a missing path is not an error. The root
    /// is emptied rather than removed, so the handle stays valid.
    pub fn remove_all(&self, rel: &Path) -> io::Result<()> {
        if is_root(rel) {
            return empty_dir(&self.dir);
        }
        match self.dir.symlink_metadata(rel) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
            Ok(md) if md.is_dir() => self.dir.remove_dir_all(rel),
            Ok(_) => self.dir.remove_file(rel),
        }
    }

    /// Starts writing the file `rel` under a temporary name next to it, creating its
    /// parent directories; see [`PendingFile`].
    pub fn create_file(&self, rel: &Path) -> io::Result<PendingFile> {
        let name = rel
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path names no file"))?;
        let parent = self.create_parent(rel)?;
        PendingFile::create(Arc::new(parent), Path::new(name))
    }

    /// Creates and opens the parent directory of `rel`.
    pub fn create_parent(&self, rel: &Path) -> io::Result<Dir> {
        match rel.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(p) => {
                self.dir.create_dir_all(p)?;
                self.dir.open_dir(p)
            }
            None => self.dir.try_clone(),
        }
    }
}

/// A file being written under a temporary name. [`PendingFile::commit`] renames it to its
/// final name; dropping it uncommitted (a failed or abandoned upload) deletes it, so no
/// partial file is ever left under the final name.
pub struct PendingFile {
    parent: Arc<Dir>,
    tmp: PathBuf,
    name: PathBuf,
    file: Option<File>,
    done: bool,
}

impl PendingFile {
    /// Opens a fresh temporary file in `parent` that will become `name`.
    pub fn create(parent: Arc<Dir>, name: &Path) -> io::Result<Self> {
        let mut comps = name.components();
        if !matches!(
            (comps.next(), comps.next()),
            (Some(std::path::Component::Normal(_)), None)
        ) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{name:?} is not a plain file name"),
            ));
        }
        static SEQ: AtomicU64 = AtomicU64::new(0);
        // Short, so that a file name near NAME_MAX still has a temporary name.
        let tmp = PathBuf::from(format!(
            ".buildlet-tmp-{}-{}",
            pid(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let file = parent.open_with(&tmp, OpenOptions::new().write(true).create_new(true))?;
        Ok(PendingFile {
            parent,
            tmp,
            name: name.to_path_buf(),
            file: Some(file),
            done: false,
        })
    }

    /// The open temporary file.
    pub fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("file present until commit")
    }

    /// Sets permissions (and optionally mtime), then renames into place.
    pub fn commit(mut self, perm: u32, mtime: Option<SystemTime>) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let file = self
            .file
            .take()
            .expect("file present until commit")
            .into_std();
        file.set_permissions(std::fs::Permissions::from_mode(perm & 0o7777))?;
        if let Some(t) = mtime {
            // Like the Go buildlet: a failure to set times is not fatal.
            if let Err(e) = file.set_modified(t) {
                tracing::debug!("set mtime of {:?}: {e}", self.name);
            }
        }
        drop(file);
        // Both names are single components inside `parent` (renameat does not follow a
        // symlink in the last component), so the plain syscall is as confined as cap-std's
        // rename, which would open the parent twice more for every file.
        rustix::fs::renameat(&*self.parent, &self.tmp, &*self.parent, &self.name)?;
        self.done = true;
        Ok(())
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if !self.done {
            self.file.take();
            let _ = self.parent.remove_file(&self.tmp);
        }
    }
}

fn pid() -> u32 {
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *PID.get_or_init(std::process::id)
}

fn empty_dir(dir: &Dir) -> io::Result<()> {
    for entry in dir.entries()? {
        let entry = entry?;
        let name = entry.file_name();
        if entry.file_type()?.is_dir() {
            dir.remove_dir_all(&name)?;
        } else {
            dir.remove_file(&name)?;
        }
    }
    Ok(())
}
