//! The log shared by the writers (pollers) and the readers (log server, followers).

use std::path::Path;
use std::sync::{Arc, Mutex};

use maintner::{DiskLog, LogError, Mutation, SegmentInfo};
use tokio::sync::watch;

/// The mutation log of a data directory, shared between tasks.
///
/// Appends go through [`SharedLog::append`], which writes (and, under the default policy,
/// fsyncs) the records and then publishes the new total size, so long-polling readers
/// (`/maintner/logs?waitsizenot=`) wake up.
#[derive(Clone)]
pub struct SharedLog {
    inner: Arc<Inner>,
}

struct Inner {
    log: Mutex<DiskLog>,
    size: watch::Sender<u64>,
}

impl SharedLog {
    pub fn open(dir: &Path) -> Result<Self, LogError> {
        Ok(Self::new(DiskLog::open(dir)?))
    }

    pub fn new(log: DiskLog) -> Self {
        let (size, _) = watch::channel(log.total_size());
        SharedLog {
            inner: Arc::new(Inner {
                log: Mutex::new(log),
                size,
            }),
        }
    }

    /// Appends `ms` in order (blocking I/O on a blocking thread).
    pub async fn append(&self, ms: Vec<Mutation>) -> Result<(), LogError> {
        if ms.is_empty() {
            return Ok(());
        }
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.append_blocking(&ms))
            .await
            .expect("log append task panicked")
    }

    /// Appends from synchronous code (the recorder, benchmarks).
    pub fn append_blocking(&self, ms: &[Mutation]) -> Result<(), LogError> {
        let mut log = self.inner.log.lock().unwrap();
        log.append_batch(ms)?;
        self.inner.size.send_replace(log.total_size());
        Ok(())
    }

    /// Forces appended records to disk (for logs opened with `SyncPolicy::Manual`).
    pub fn sync(&self) -> Result<(), LogError> {
        self.inner.log.lock().unwrap().sync()
    }

    /// Every segment, the growing one last.
    pub fn segments(&self) -> Vec<SegmentInfo> {
        self.inner.log.lock().unwrap().segments()
    }

    pub fn total_size(&self) -> u64 {
        *self.inner.size.borrow()
    }

    /// A receiver of the total size, changed on every append.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.size.subscribe()
    }

    /// Segment `n` as it is now, opened for reading its first `size` bytes (which stay as
    /// they are: a growing segment only grows, and a file opened before it is sealed
    /// keeps reading the same bytes). `None` if there is no such segment.
    pub async fn open_segment(
        &self,
        n: u32,
    ) -> Result<Option<(std::fs::File, SegmentInfo)>, LogError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            // Under the lock, so the growing segment is not renamed between lookup and open.
            let log = this.inner.log.lock().unwrap();
            let Some(seg) = log.segments().into_iter().find(|s| s.number == n) else {
                return Ok(None);
            };
            let file = std::fs::File::open(&seg.path).map_err(|source| LogError::Io {
                path: seg.path.clone(),
                source,
            })?;
            Ok(Some((file, seg)))
        })
        .await
        .expect("segment open task panicked")
    }

    /// Runs `f` on the log (for reading it from start, e.g. to load a corpus).
    pub fn with_log<R>(&self, f: impl FnOnce(&DiskLog) -> R) -> R {
        f(&self.inner.log.lock().unwrap())
    }
}
