//! One writer per mutation log.
//!
//! Two processes appending to one log corrupt it for good: each keeps its own idea of the
//! growing segment's size, so the next record of one carries an offset the other already
//! used, and every reader after that stops there. (Go's maintnerd relies on running one
//! replica; its `AppendRecordToFile` leaves locking to the caller.)
//!
//! Every writer therefore holds [`WriterLock`]: an exclusive `flock` on [`LOCK_FILE`] in
//! the log directory, for as long as it may append. The lock file says who holds it (pid
//! and command line), so a second writer's error names the holder. The kernel drops the
//! lock when the holder exits, however it exits; a stale file content is never read as a
//! holder because the content is only read while the lock is taken.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::disklog::LogError;

/// The lock file in a log directory. Its name is not a segment name, so readers skip it.
pub const LOCK_FILE: &str = "writer.lock";

/// The exclusive right to append to the log in a directory; released on drop.
#[derive(Debug)]
pub struct WriterLock {
    // Held open: closing the file releases the lock.
    _file: File,
    path: PathBuf,
}

impl WriterLock {
    /// Takes the lock of `dir` (which must exist) without waiting. If another writer holds
    /// it, the error says who.
    pub fn acquire(dir: &Path) -> Result<WriterLock, LogError> {
        let path = dir.join(LOCK_FILE);
        let io_err = |source| LogError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err)?;
        if let Err(e) = lock_exclusive_soon(&file) {
            if e.kind() != io::ErrorKind::WouldBlock {
                return Err(io_err(e));
            }
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.split_whitespace().collect::<Vec<_>>().join(" ");
            return Err(LogError::Locked {
                dir: dir.to_owned(),
                holder: if holder.is_empty() {
                    "a process that has not written its name yet".to_owned()
                } else {
                    holder
                },
            });
        }
        let me = format!("pid {}: {}\n", std::process::id(), command_line());
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(me.as_bytes()))
            .map_err(io_err)?;
        Ok(WriterLock { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

/// Tries for a moment before giving up: a process being spawned (by any thread) shares
/// every descriptor of its parent until its `exec` closes them, so a lock its holder just
/// released can look held for that long.
fn lock_exclusive_soon(file: &File) -> io::Result<()> {
    for _ in 0..10 {
        match try_lock_exclusive(file) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            r => return r,
        }
    }
    try_lock_exclusive(file)
}

fn try_lock_exclusive(file: &File) -> io::Result<()> {
    // SAFETY: flock only reads the descriptor, which `file` keeps open for the call.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
