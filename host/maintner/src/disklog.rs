//! The mutation log on disk: a data directory of reclog segments, as Go's maintnerd keeps
//! them on Cloud Storage (Go's maintner/maintnerd/gcslog).
//!
//! # Layout
//!
//! All files sit flat in the data directory, named as in the network client's cache
//! (Go's maintner/netsource.go), so a follower's cache and a leader's log are the same thing:
//! - `NNNN.<sha224>.mutlog` — a *frozen* segment: complete, immutable, its name carries the
//!   SHA-224 of its bytes (56 lowercase hex digits). NNNN is zero-padded decimal.
//! - `NNNN.growing.mutlog` — the one segment still being appended to (the highest number).
//!
//! Record offsets restart at 0 in every segment. A segment is sealed (renamed to its frozen
//! name) when the next record would take it past [`SEGMENT_TARGET_SIZE`] (16 MiB, Go's
//! `targetObjectSize`); a single larger record gets a segment of its own. On open, a growing
//! segment of at least 16 MiB − 4 KiB is sealed at once, like Go's `initLoad`.
//!
//! # Durability (fsync policy)
//!
//! - [`SyncPolicy::EveryAppend`] (the default): every [`DiskLog::append`] /
//!   [`DiskLog::append_batch`] call ends with `fsync` of the growing segment, so a mutation is
//!   durable once the call returns. Batch callers pay one fsync per batch (group commit).
//! - [`SyncPolicy::Manual`]: no fsync on append; the caller calls [`DiskLog::sync`] (bulk
//!   imports, tests, benchmarks).
//! - Sealing always fsyncs the segment, renames it and fsyncs the directory, whatever the
//!   policy, so a frozen name never points at bytes that are not on disk. Under
//!   `EveryAppend`, creating a new growing segment also fsyncs the directory.
//!
//! (Go's `DiskMutationLogger` never fsyncs; its GCS log relies on the upload.)
//!
//! # Damage
//!
//! - A torn tail of the growing segment — the last record cut short by a crash, or a
//!   zero-filled tail — is detected on open, reported (file and offset, in [`OpenReport`] and
//!   a `tracing` warning) and truncated to the end of the last whole record.
//! - Anything else — bad framing with more bytes after it, a frozen segment whose SHA-224 or
//!   size does not match, a gap in segment numbers — is an error naming the file and
//!   offset. Nothing in the middle of the log is ever dropped silently.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use prost::Message;
use sha2::{Digest, Sha224};

use crate::lock::WriterLock;
use crate::maintpb::Mutation;
use crate::reclog::{self, RecordError};

/// Largest segment the writer makes (unless one record alone is larger).
pub const SEGMENT_TARGET_SIZE: u64 = 16 << 20;
/// A growing segment at least this big is sealed on open rather than appended to.
pub const SEGMENT_RESUME_LIMIT: u64 = SEGMENT_TARGET_SIZE - 4096;

/// Errors of the disk log. Each says which file and, where it applies, which offset.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path}: {source}")]
    Record {
        path: PathBuf,
        #[source]
        source: RecordError,
    },
    #[error("{path}: offset {offset}: bad protobuf Mutation: {source}")]
    Decode {
        path: PathBuf,
        offset: u64,
        #[source]
        source: prost::DecodeError,
    },
    #[error("{path}: SHA-224 is {actual}, its name says {expected}")]
    Checksum {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("{path}: size is {actual} bytes, expected {expected}")]
    Size {
        path: PathBuf,
        expected: u64,
        actual: u64,
    },
    #[error("{dir}: bad segment layout: {reason}")]
    Layout { dir: PathBuf, reason: String },
    #[error("{dir}: no mutation log here (no NNNN.<sha224>.mutlog or NNNN.growing.mutlog segment, no maintner-YYYY-MM-DD.mutlog day file)")]
    NoLog { dir: PathBuf },
    #[error("{path}: a file, not a log directory: name the directory that holds the log's files")]
    NotADirectory { path: PathBuf },
    #[error("{dir}: the mutation log is held by another writer ({holder}); two writers corrupt the log, so stop that one first")]
    Locked { dir: PathBuf, holder: String },
    #[error("{dir}: the log was opened read-only")]
    ReadOnly { dir: PathBuf },
}

impl LogError {
    /// The log file whose bytes are damaged, when that is the error (not when the file
    /// could not be read at all: cutting the log would not help then).
    pub fn damaged_file(&self) -> Option<&Path> {
        match self {
            LogError::Record { path, .. }
            | LogError::Decode { path, .. }
            | LogError::Checksum { path, .. }
            | LogError::Size { path, .. } => Some(path),
            LogError::Io { .. }
            | LogError::Layout { .. }
            | LogError::NoLog { .. }
            | LogError::NotADirectory { .. }
            | LogError::Locked { .. }
            | LogError::ReadOnly { .. } => None,
        }
    }

    fn io(path: &Path) -> impl FnOnce(io::Error) -> LogError + '_ {
        move |source| LogError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// One segment of the log.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SegmentInfo {
    pub number: u32,
    pub size: u64,
    /// Lowercase hex SHA-224 of the `size` bytes. Empty for a growing segment of a log
    /// opened to read (nothing checks a growing segment against it).
    pub sha224: String,
    /// True for the segment still being appended to.
    pub growing: bool,
    pub path: PathBuf,
}

/// Where a record sits: segment number and offset of its header within the segment.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct RecordPos {
    pub segment: u32,
    pub offset: u64,
}

/// A record handed to a [`DiskLog::for_each_record`] callback.
#[derive(Clone, Copy, Debug)]
pub struct RecordRef<'a> {
    pub pos: RecordPos,
    /// The segment file the record came from (for error messages).
    pub path: &'a Path,
    /// The payload: an encoded `maintpb.Mutation`.
    pub data: &'a [u8],
    /// Offset just past this record in its segment (where the next record starts).
    pub end: u64,
}

impl RecordRef<'_> {
    /// Decodes the payload, with file and offset in the error.
    pub fn mutation(&self) -> Result<Mutation, LogError> {
        Mutation::decode(self.data).map_err(|source| LogError::Decode {
            path: self.path.to_owned(),
            offset: self.pos.offset,
            source,
        })
    }
}

/// A torn tail cut off on open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Truncation {
    pub path: PathBuf,
    /// Offset of the first byte removed (the end of the last whole record).
    pub offset: u64,
    /// How many bytes were removed.
    pub dropped: u64,
    /// What was found there.
    pub reason: String,
}

/// What [`DiskLog::open`] found and repaired.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpenReport {
    pub truncated: Option<Truncation>,
    /// [`DiskLog::open_read_only`]: a torn tail of the last segment, left in place and not
    /// read (a writer cut short, or one appending right now).
    pub unread_tail: Option<Truncation>,
    /// A full growing segment sealed on open.
    pub sealed_on_open: Option<u32>,
}

/// When appends reach the disk; see the module docs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SyncPolicy {
    #[default]
    EveryAppend,
    Manual,
}

/// The append side of the growing segment.
struct Growing {
    number: u32,
    file: Option<File>,
    size: u64,
    sha: Sha224,
}

/// The mutation log in a data directory. One writer at a time (wrap it in a mutex);
/// readers of a `&DiskLog` see every record appended before they started.
///
/// [`DiskLog::open`] opens it to write, holding the directory's [`WriterLock`];
/// [`DiskLog::open_read_only`] opens it to read, changing nothing on disk.
pub struct DiskLog {
    dir: PathBuf,
    /// Every segment before the growing one. Opened read-only, every segment is here,
    /// and those whose names carry no SHA-224 are marked `growing`.
    frozen: Vec<SegmentInfo>,
    growing: Growing,
    policy: SyncPolicy,
    report: OpenReport,
    scratch: Vec<u8>,
    /// `None` when opened read-only.
    lock: Option<WriterLock>,
}

/// The file name of a frozen segment.
pub fn frozen_file_name(number: u32, sha224_hex: &str) -> String {
    format!("{number:04}.{sha224_hex}.mutlog")
}

/// The file name of the growing segment.
pub fn growing_file_name(number: u32) -> String {
    format!("{number:04}.growing.mutlog")
}

/// A segment file name, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SegmentName {
    Frozen { number: u32, sha224: String },
    Growing { number: u32 },
}

/// Is this one of the files Go's `DiskMutationLogger` writes, one a UTC day
/// (`maintner-YYYY-MM-DD.mutlog`)? Go selects them by prefix and suffix, as here, and reads
/// them in name order, which is time order. Record offsets restart at 0 in each.
pub fn is_day_file_name(name: &str) -> bool {
    name.starts_with("maintner-") && name.ends_with(".mutlog")
}

/// Parses `NNNN.<sha224>.mutlog` or `NNNN.growing.mutlog`; `None` for anything else.
pub fn parse_file_name(name: &str) -> Option<SegmentName> {
    let rest = name.strip_suffix(".mutlog")?;
    let (num, tag) = rest.split_once('.')?;
    if num.len() < 4 || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number = num.parse().ok()?;
    if tag == "growing" {
        return Some(SegmentName::Growing { number });
    }
    let is_sha = tag.len() == 56 && tag.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    is_sha.then(|| SegmentName::Frozen {
        number,
        sha224: tag.to_owned(),
    })
}

impl DiskLog {
    /// Opens (creating if needed) the log in `dir` to write, with the default fsync policy.
    pub fn open(dir: impl AsRef<Path>) -> Result<DiskLog, LogError> {
        Self::open_with(dir, SyncPolicy::default())
    }

    /// Opens the log in `dir` to write: takes the directory's [`WriterLock`] (an error
    /// naming the holder if another writer has it), checks the segment layout, repairs a
    /// torn tail of the growing segment (see [`DiskLog::open_report`]), and seals it if it
    /// is full.
    ///
    /// Segments named `NNNN.growing.mutlog` before the last one — what Go's network client
    /// leaves for every segment whose URL is not on Cloud Storage — are complete copies:
    /// they are sealed under their SHA-224. Go's day files are read but not appended to.
    pub fn open_with(dir: impl AsRef<Path>, policy: SyncPolicy) -> Result<DiskLog, LogError> {
        let dir = dir.as_ref().to_owned();
        fs::create_dir_all(&dir).map_err(LogError::io(&dir))?;
        let lock = WriterLock::acquire(&dir)?;
        let mut segs = segments_to_write(&dir)?;
        let last_growing = match segs.last() {
            Some(s) if s.growing => segs.pop(),
            _ => None,
        };
        for seg in segs.iter_mut().filter(|s| s.growing) {
            seal_copy(&dir, seg)?;
        }
        let next = segs.len() as u32;
        let mut log = DiskLog {
            dir,
            frozen: segs,
            growing: Growing {
                number: next,
                file: None,
                size: 0,
                sha: Sha224::new(),
            },
            policy,
            report: OpenReport::default(),
            scratch: Vec::new(),
            lock: Some(lock),
        };
        if last_growing.is_some() {
            log.resume_growing()?;
        }
        Ok(log)
    }

    /// Opens the log in `dir` to read, changing nothing on disk and taking no lock (a
    /// writer may be appending meanwhile; what it appends later is not seen).
    ///
    /// Reads our layout and both of Go's: the network client's cache (the same names as
    /// ours, where any segment may be `NNNN.growing.mutlog`, and a partial copy beside its
    /// frozen segment is ignored) and, when no segment is there, the day files of Go's
    /// `DiskMutationLogger`. A torn tail of the last segment is not read and is reported in
    /// [`OpenReport::unread_tail`]. A directory with none of these is [`LogError::NoLog`].
    pub fn open_read_only(dir: impl AsRef<Path>) -> Result<DiskLog, LogError> {
        let dir = dir.as_ref().to_owned();
        let scan = match fs::metadata(&dir) {
            Ok(m) if m.is_dir() => scan_dir(&dir)?,
            Ok(_) => return Err(LogError::NotADirectory { path: dir }),
            Err(_) => return Err(LogError::NoLog { dir }),
        };
        let mut segs = if scan.frozen.is_empty() && scan.growing.is_empty() {
            day_file_segments(scan.day_files)?
        } else {
            if !scan.day_files.is_empty() {
                tracing::warn!(dir = %dir.display(), "reading the segments; ignoring Go day files beside them");
            }
            segment_files(&dir, scan)?
        };
        let mut report = OpenReport::default();
        let Some(last) = segs.last_mut() else {
            return Err(LogError::NoLog { dir });
        };
        if last.growing {
            let (good, tail) = scan_growing(last)?;
            report.unread_tail = tail;
            last.size = good;
        }
        Ok(DiskLog {
            dir,
            growing: Growing {
                number: segs.len() as u32,
                file: None,
                size: 0,
                sha: Sha224::new(),
            },
            frozen: segs,
            policy: SyncPolicy::Manual,
            report,
            scratch: Vec::new(),
            lock: None,
        })
    }

    /// What open found and repaired.
    pub fn open_report(&self) -> &OpenReport {
        &self.report
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Reads the growing segment, cuts a torn tail, and reopens it for appending.
    fn resume_growing(&mut self) -> Result<(), LogError> {
        let path = self.growing_path();
        let data = fs::read(&path).map_err(LogError::io(&path))?;
        let (good, tail) = whole_records(&data, &path)?;
        if let Some(t) = tail {
            tracing::warn!(path = %path.display(), offset = good, dropped = t.dropped,
                reason = %t.reason, "torn tail of the mutation log; truncating to the last whole record");
            self.report.truncated = Some(t);
        }
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(LogError::io(&path))?;
        if good < data.len() as u64 {
            file.set_len(good).map_err(LogError::io(&path))?;
            file.sync_all().map_err(LogError::io(&path))?;
        }
        self.growing.sha = Sha224::new_with_prefix(&data[..good as usize]);
        self.growing.size = good;
        self.growing.file = Some(file);
        if good >= SEGMENT_RESUME_LIMIT {
            self.report.sealed_on_open = Some(self.growing.number);
            self.seal()?;
        }
        Ok(())
    }

    fn growing_path(&self) -> PathBuf {
        self.dir.join(growing_file_name(self.growing.number))
    }

    /// Appends one mutation. Durable on return under [`SyncPolicy::EveryAppend`].
    pub fn append(&mut self, m: &Mutation) -> Result<RecordPos, LogError> {
        self.append_batch(std::slice::from_ref(m)).map(|v| v[0])
    }

    /// Appends mutations in order, with one fsync at the end (see [`SyncPolicy`]).
    pub fn append_batch(&mut self, ms: &[Mutation]) -> Result<Vec<RecordPos>, LogError> {
        let mut out = Vec::with_capacity(ms.len());
        let mut data = Vec::new();
        for m in ms {
            data.clear();
            m.encode(&mut data).expect("Vec grows as needed");
            out.push(self.append_record(&data)?);
        }
        if self.policy == SyncPolicy::EveryAppend {
            self.sync()?;
        }
        Ok(out)
    }

    /// Appends one already-encoded mutation, as is (no fsync; see [`DiskLog::sync`]).
    pub fn append_raw(&mut self, data: &[u8]) -> Result<RecordPos, LogError> {
        self.append_record(data)
    }

    fn append_record(&mut self, data: &[u8]) -> Result<RecordPos, LogError> {
        if self.lock.is_none() {
            return Err(LogError::ReadOnly {
                dir: self.dir.clone(),
            });
        }
        let header_len = reclog::header(self.growing.size, data.len()).len() as u64;
        if self.growing.size > 0
            && self.growing.size + header_len + data.len() as u64 > SEGMENT_TARGET_SIZE
        {
            self.seal()?;
        }
        let pos = RecordPos {
            segment: self.growing.number,
            offset: self.growing.size,
        };
        self.scratch.clear();
        reclog::encode_record(pos.offset, data, &mut self.scratch);
        let path = self.growing_path();
        let file = match &mut self.growing.file {
            Some(f) => f,
            slot => {
                let f = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(LogError::io(&path))?;
                // A new file's name must be durable too, or an fsynced record could
                // vanish with it.
                if self.policy == SyncPolicy::EveryAppend {
                    sync_dir(&self.dir)?;
                }
                slot.insert(f)
            }
        };
        if let Err(e) = file.write_all(&self.scratch) {
            // Undo a partial write so the segment stays a sequence of whole records.
            let _ = file.set_len(pos.offset);
            return Err(LogError::io(&path)(e));
        }
        self.growing.sha.update(&self.scratch);
        self.growing.size += self.scratch.len() as u64;
        Ok(pos)
    }

    /// Forces appended records to disk.
    pub fn sync(&mut self) -> Result<(), LogError> {
        if let Some(f) = &self.growing.file {
            f.sync_data().map_err(LogError::io(&self.growing_path()))?;
        }
        Ok(())
    }

    /// Freezes the growing segment under its SHA-224 name and starts the next one.
    fn seal(&mut self) -> Result<(), LogError> {
        let from = self.growing_path();
        if let Some(f) = self.growing.file.take() {
            f.sync_all().map_err(LogError::io(&from))?;
        }
        let sha = hex::encode(std::mem::take(&mut self.growing.sha).finalize());
        let to = self.dir.join(frozen_file_name(self.growing.number, &sha));
        fs::rename(&from, &to).map_err(LogError::io(&from))?;
        sync_dir(&self.dir)?;
        self.frozen.push(SegmentInfo {
            number: self.growing.number,
            size: self.growing.size,
            sha224: sha,
            growing: false,
            path: to,
        });
        self.growing.number += 1;
        self.growing.size = 0;
        Ok(())
    }

    /// Every segment, frozen ones first, then the growing one if it holds any bytes.
    pub fn segments(&self) -> Vec<SegmentInfo> {
        let mut v = self.frozen.clone();
        if self.growing.size > 0 {
            v.push(SegmentInfo {
                number: self.growing.number,
                size: self.growing.size,
                sha224: hex::encode(self.growing.sha.clone().finalize()),
                growing: true,
                path: self.growing_path(),
            });
        }
        v
    }

    /// Total bytes in all segments.
    pub fn total_size(&self) -> u64 {
        self.frozen.iter().map(|s| s.size).sum::<u64>() + self.growing.size
    }

    /// Position the next record will get (before any sealing).
    pub fn end(&self) -> RecordPos {
        RecordPos {
            segment: self.growing.number,
            offset: self.growing.size,
        }
    }

    /// The bytes of segment `number` as they are now (for serving it to followers).
    pub fn read_segment(&self, number: u32) -> Result<Vec<u8>, LogError> {
        let seg = self
            .segments()
            .into_iter()
            .find(|s| s.number == number)
            .ok_or_else(|| LogError::Layout {
                dir: self.dir.clone(),
                reason: format!("no segment {number}"),
            })?;
        let mut buf = Vec::new();
        read_prefix(&seg.path, seg.size, &mut buf)?;
        Ok(buf)
    }

    /// Calls `f` for every record in log order. Frozen segments are checked against their
    /// SHA-224 as they are read; the first bad record or segment ends the walk with an error.
    pub fn for_each_record<E>(&self, f: impl FnMut(RecordRef<'_>) -> Result<(), E>) -> Result<(), E>
    where
        E: From<LogError>,
    {
        self.for_each_record_from(RecordPos::default(), f)
    }

    /// Like [`DiskLog::for_each_record`], starting at `from` (a position previously returned
    /// by an append or seen in a record), for catching up incrementally.
    pub fn for_each_record_from<E>(
        &self,
        from: RecordPos,
        f: impl FnMut(RecordRef<'_>) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<LogError>,
    {
        self.for_each_record_checked_by(from, check_segment, f)
    }

    /// Like [`DiskLog::for_each_record_from`], with each segment checked by `check` (called
    /// in segment order, before the segment is read) instead of by [`check_segment`] here,
    /// so that a caller can check segments ahead on another thread.
    pub fn for_each_record_checked_by<E>(
        &self,
        from: RecordPos,
        mut check: impl FnMut(&SegmentInfo) -> Result<(), LogError>,
        mut f: impl FnMut(RecordRef<'_>) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<LogError>,
    {
        for seg in self.segments().iter().filter(|s| s.number >= from.segment) {
            check(seg)?;
            let start = if seg.number == from.segment {
                from.offset
            } else {
                0
            };
            stream_records(seg, start, &mut f)?;
        }
        Ok(())
    }

    /// Calls `f` with every mutation in log order.
    pub fn for_each_mutation<E>(
        &self,
        mut f: impl FnMut(RecordPos, Mutation) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<LogError>,
    {
        self.for_each_record(|r| f(r.pos, r.mutation()?))
    }
}

/// The log files of a directory, by name.
#[derive(Default)]
struct Scan {
    frozen: Vec<SegmentInfo>,
    growing: Vec<(u32, PathBuf)>,
    /// Go's `DiskMutationLogger` files, in name order.
    day_files: Vec<PathBuf>,
}

/// How a directory of Go's day files becomes a log of ours (the copy leaves out a
/// damaged tail, as a load does).
pub const COPY_DAY_FILES: &str = "xb serve --seed-corpus DIR on an empty data directory";

/// The segments of `dir` for a writer (appending, or repair cutting). Go's day files are
/// refused: they are read, never written.
fn segments_to_write(dir: &Path) -> Result<Vec<SegmentInfo>, LogError> {
    let scan = scan_dir(dir)?;
    if scan.frozen.is_empty() && scan.growing.is_empty() && !scan.day_files.is_empty() {
        return Err(LogError::Layout {
            dir: dir.to_owned(),
            reason: format!(
                "it holds Go maintner's day files (maintner-YYYY-MM-DD.mutlog), which are \
                 read but never written to; copy them into a new log first ({COPY_DAY_FILES})"
            ),
        });
    }
    segment_files(dir, scan)
}

fn scan_dir(dir: &Path) -> Result<Scan, LogError> {
    let mut scan = Scan::default();
    for entry in fs::read_dir(dir).map_err(LogError::io(dir))? {
        let entry = entry.map_err(LogError::io(dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        match parse_file_name(name) {
            Some(SegmentName::Growing { number }) => scan.growing.push((number, entry.path())),
            Some(SegmentName::Frozen { number, sha224 }) => {
                let path = entry.path();
                let size = entry.metadata().map_err(LogError::io(&path))?.len();
                scan.frozen.push(SegmentInfo {
                    number,
                    size,
                    sha224,
                    growing: false,
                    path,
                });
            }
            None if is_day_file_name(name) => scan.day_files.push(entry.path()),
            None => tracing::debug!(file = name, "ignoring a file that is no log segment"),
        }
    }
    scan.day_files.sort();
    Ok(scan)
}

/// The segments of a scan in number order, contiguous from 0: the frozen one of each
/// number, else its growing copy (marked `growing`, size from the file).
fn segment_files(dir: &Path, scan: Scan) -> Result<Vec<SegmentInfo>, LogError> {
    let layout = |reason: String| LogError::Layout {
        dir: dir.to_owned(),
        reason,
    };
    let mut frozen = BTreeMap::new();
    for seg in scan.frozen {
        if let Some(old) = frozen.insert(seg.number, seg) {
            return Err(layout(format!(
                "two frozen segments numbered {}: {}",
                old.number,
                old.path.display()
            )));
        }
    }
    let mut growing: BTreeMap<u32, PathBuf> = scan.growing.into_iter().collect();
    let mut segs = Vec::new();
    for number in 0.. {
        if let Some(seg) = frozen.remove(&number) {
            if let Some(copy) = growing.remove(&number) {
                tracing::debug!(file = %copy.display(), "ignoring a partial copy of a frozen segment");
            }
            segs.push(seg);
        } else if let Some(path) = growing.remove(&number) {
            let size = fs::metadata(&path).map_err(LogError::io(&path))?.len();
            segs.push(SegmentInfo {
                number,
                size,
                sha224: String::new(),
                growing: true,
                path,
            });
        } else {
            break;
        }
    }
    if let Some(n) = frozen.keys().chain(growing.keys()).min() {
        return Err(layout(format!(
            "segment {n} found where {} was expected (missing or duplicate segment)",
            segs.len()
        )));
    }
    Ok(segs)
}

/// Go's day files read as segments: each is a reclog file with offsets from 0.
fn day_file_segments(files: Vec<PathBuf>) -> Result<Vec<SegmentInfo>, LogError> {
    let mut segs = Vec::with_capacity(files.len());
    for (number, path) in (0..).zip(files) {
        let size = fs::metadata(&path).map_err(LogError::io(&path))?.len();
        segs.push(SegmentInfo {
            number,
            size,
            sha224: String::new(),
            growing: true,
            path,
        });
    }
    Ok(segs)
}

/// Seals a complete segment found under a growing name: renames it to its SHA-224 name.
fn seal_copy(dir: &Path, seg: &mut SegmentInfo) -> Result<(), LogError> {
    let sha = sha224_of_file(&seg.path, seg.size)?;
    let to = dir.join(frozen_file_name(seg.number, &sha));
    fs::rename(&seg.path, &to).map_err(LogError::io(&seg.path))?;
    sync_dir(dir)?;
    tracing::info!(from = %seg.path.display(), to = %to.display(), "sealed a complete segment copy");
    seg.path = to;
    seg.sha224 = sha;
    seg.growing = false;
    Ok(())
}

/// The torn tail of a file of `size` bytes, from where `e` was found.
fn torn_tail(path: &Path, size: u64, e: &RecordError) -> Truncation {
    Truncation {
        path: path.to_owned(),
        offset: e.offset(),
        dropped: size - e.offset(),
        reason: e.to_string(),
    }
}

/// The length of the prefix of `data` made of whole records, and the torn tail after it
/// if there is one. Corruption followed by more bytes is an error, not a tail.
fn whole_records(data: &[u8], path: &Path) -> Result<(u64, Option<Truncation>), LogError> {
    let mut it = reclog::records(data, 0);
    for rec in it.by_ref() {
        if let Err(e) = rec {
            let good = e.offset();
            let tail = &data[good as usize..];
            if e.is_torn_tail() || tail.iter().all(|&b| b == 0) {
                return Ok((good, Some(torn_tail(path, data.len() as u64, &e))));
            }
            return Err(LogError::Record {
                path: path.to_owned(),
                source: e,
            });
        }
    }
    Ok((it.offset(), None))
}

/// Like [`whole_records`], but without reading the segment into memory: a Go day file can
/// hold the whole log. Most end with a whole record, which the last chunk shows; the
/// others are read through, in chunks.
fn scan_growing(seg: &SegmentInfo) -> Result<(u64, Option<Truncation>), LogError> {
    if ends_with_whole_record(seg)? {
        return Ok((seg.size, None));
    }
    let source = match stream_records(seg, 0, &mut |_| Ok::<_, LogError>(())) {
        Ok(()) => return Ok((seg.size, None)),
        Err(LogError::Record { source, .. }) => source,
        Err(e) => return Err(e),
    };
    let good = source.offset();
    if !source.is_torn_tail() && !zeros_from(seg, good)? {
        return Err(LogError::Record {
            path: seg.path.clone(),
            source,
        });
    }
    Ok((good, Some(torn_tail(&seg.path, seg.size, &source))))
}

/// Does `seg` end where a record ends? Only its last chunk is read. A header names its own
/// offset, so one that parses at the offset it names, with a record ending at the end of
/// the file, is the last record's. (Bytes in a payload that look like such a header end
/// there too; and the framing of every record is checked again as it is read.)
fn ends_with_whole_record(seg: &SegmentInfo) -> Result<bool, LogError> {
    let start = seg.size.saturating_sub(READ_CHUNK as u64);
    let mut tail = Vec::with_capacity((seg.size - start) as usize);
    read_from(seg, start)?
        .read_to_end(&mut tail)
        .map_err(LogError::io(&seg.path))?;
    let mut end = tail.len();
    while let Some(i) = memchr::memmem::rfind(&tail[..end], b"REC@") {
        if let Ok(rec) = reclog::parse_record(&tail[i..], start + i as u64) {
            if rec.end() == seg.size {
                return Ok(true);
            }
        }
        end = i;
    }
    Ok(false)
}

/// The bytes of `seg` from `offset` (at most its size) to its size.
fn read_from(seg: &SegmentInfo, offset: u64) -> Result<std::io::Take<File>, LogError> {
    let mut file = File::open(&seg.path).map_err(LogError::io(&seg.path))?;
    file.seek(SeekFrom::Start(offset))
        .map_err(LogError::io(&seg.path))?;
    Ok(file.take(seg.size - offset))
}

/// Are the bytes of `seg` from `offset` to its size all zero (space a crash left allocated)?
fn zeros_from(seg: &SegmentInfo, offset: u64) -> Result<bool, LogError> {
    let mut file = read_from(seg, offset)?;
    let mut buf = vec![0; READ_CHUNK];
    loop {
        match file.read(&mut buf).map_err(LogError::io(&seg.path))? {
            0 => return Ok(true),
            n if buf[..n].iter().any(|&b| b != 0) => return Ok(false),
            _ => {}
        }
    }
}

/// How much of a segment is read at a time: memory stays small while loading a log of
/// any size (a record larger than this is read whole).
const READ_CHUNK: usize = 1 << 18;

/// Calls `f` for each record of `seg` from offset `start` to its size, reading in chunks.
fn stream_records<E: From<LogError>>(
    seg: &SegmentInfo,
    start: u64,
    f: &mut impl FnMut(RecordRef<'_>) -> Result<(), E>,
) -> Result<(), E> {
    let path = &seg.path;
    if start > seg.size {
        return Err(LogError::Size {
            path: path.clone(),
            expected: start,
            actual: seg.size,
        }
        .into());
    }
    let mut file = read_from(seg, start)?;
    let mut unread = seg.size - start;
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK.min(unread as usize));
    let mut buf_off = start; // segment offset of buf[0]
    loop {
        let mut pos = 0;
        while pos < buf.len() {
            match reclog::parse_record(&buf[pos..], buf_off + pos as u64) {
                Ok(rec) => {
                    pos += rec.header.len() + rec.data.len();
                    f(RecordRef {
                        pos: RecordPos {
                            segment: seg.number,
                            offset: rec.offset,
                        },
                        path,
                        data: rec.data,
                        end: rec.end(),
                    })?;
                }
                // The record continues past what has been read so far.
                Err(e) if e.is_torn_tail() && unread > 0 => break,
                Err(source) => {
                    return Err(LogError::Record {
                        path: path.clone(),
                        source,
                    }
                    .into())
                }
            }
        }
        if unread == 0 {
            return Ok(());
        }
        buf.drain(..pos);
        buf_off += pos as u64;
        let want = READ_CHUNK.max(buf.len()) as u64;
        let got = (&mut file)
            .take(want)
            .read_to_end(&mut buf)
            .map_err(LogError::io(path))? as u64;
        if got == 0 {
            return Err(LogError::Size {
                path: path.clone(),
                expected: seg.size,
                actual: seg.size - unread,
            }
            .into());
        }
        unread -= got;
    }
}

/// Checks that the first `size` bytes of `path` have SHA-224 `expected`, reading in chunks.
/// Checks a frozen segment against the SHA-224 its name carries (a growing one has none
/// to check).
pub fn check_segment(seg: &SegmentInfo) -> Result<(), LogError> {
    if seg.growing {
        return Ok(());
    }
    check_sha_streaming(&seg.path, seg.size, &seg.sha224)
}

fn check_sha_streaming(path: &Path, size: u64, expected: &str) -> Result<(), LogError> {
    let actual = sha224_of_file(path, size)?;
    if actual != expected {
        return Err(LogError::Checksum {
            path: path.to_owned(),
            expected: expected.to_owned(),
            actual,
        });
    }
    Ok(())
}

/// Lowercase hex SHA-224 of the first `size` bytes of `path` (a shorter file is an error),
/// reading in chunks.
pub fn sha224_of_file(path: &Path, size: u64) -> Result<String, LogError> {
    let mut file = File::open(path).map_err(LogError::io(path))?.take(size);
    let mut sha = Sha224::new();
    let mut buf = vec![0u8; READ_CHUNK];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(LogError::io(path))?;
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
        total += n as u64;
    }
    if total < size {
        return Err(LogError::Size {
            path: path.to_owned(),
            expected: size,
            actual: total,
        });
    }
    Ok(hex::encode(sha.finalize()))
}

/// Reads the first `size` bytes of `path` into `buf`; a shorter file is an error.
fn read_prefix(path: &Path, size: u64, buf: &mut Vec<u8>) -> Result<(), LogError> {
    buf.clear();
    buf.reserve(size as usize);
    let file = File::open(path).map_err(LogError::io(path))?;
    file.take(size)
        .read_to_end(buf)
        .map_err(LogError::io(path))?;
    if (buf.len() as u64) < size {
        return Err(LogError::Size {
            path: path.to_owned(),
            expected: size,
            actual: buf.len() as u64,
        });
    }
    Ok(())
}

fn check_sha(path: &Path, data: &[u8], expected: &str) -> Result<(), LogError> {
    let actual = hex::encode(Sha224::digest(data));
    if actual != expected {
        return Err(LogError::Checksum {
            path: path.to_owned(),
            expected: expected.to_owned(),
            actual,
        });
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<(), LogError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(LogError::io(dir))
}

/// What [`verify`] checked.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    pub segments: usize,
    pub records: u64,
    pub bytes: u64,
}

/// Checks a log directory without changing it: every frozen segment's size and SHA-224,
/// every record's framing and protobuf. A torn tail of the last segment is an error here
/// (a writer's open cuts it; `xb corpus repair` cuts it on request; verify only reports).
pub fn verify(dir: impl AsRef<Path>) -> Result<VerifyReport, LogError> {
    let log = DiskLog::open_read_only(dir)?;
    let segs = log.segments();
    let mut report = VerifyReport {
        segments: segs.len(),
        records: 0,
        bytes: 0,
    };
    let mut buf = Vec::new();
    for seg in &segs {
        let size = if seg.growing {
            fs::metadata(&seg.path)
                .map_err(LogError::io(&seg.path))?
                .len()
        } else {
            seg.size
        };
        read_prefix(&seg.path, size, &mut buf)?;
        if !seg.growing {
            check_sha(&seg.path, &buf, &seg.sha224)?;
        }
        for rec in reclog::records(&buf, 0) {
            let rec = rec.map_err(|source| LogError::Record {
                path: seg.path.clone(),
                source,
            })?;
            Mutation::decode(rec.data).map_err(|source| LogError::Decode {
                path: seg.path.clone(),
                offset: rec.offset,
                source,
            })?;
            report.records += 1;
        }
        report.bytes += size;
    }
    Ok(report)
}

/// Where [`Repair`] cuts the log: at the first record that does not read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cut {
    pub segment: u32,
    pub path: PathBuf,
    /// Offset of the bad record: the end of the last good one.
    pub offset: u64,
    /// Bytes of this segment from `offset` on.
    pub dropped: u64,
    /// What is wrong there.
    pub reason: String,
    /// Later segments, dropped whole (path, size).
    pub later: Vec<(PathBuf, u64)>,
}

/// What [`Repair::apply`] will do, found without changing anything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RepairPlan {
    /// Records before the cut (all of them when there is none).
    pub kept_records: u64,
    pub cut: Option<Cut>,
    /// Frozen segments that read as whole records but whose bytes no longer match the
    /// SHA-224 in their name: (path, SHA-224 of the bytes). They are renamed, so what is
    /// served is what the name says.
    pub renamed: Vec<(PathBuf, String)>,
}

impl RepairPlan {
    pub fn is_empty(&self) -> bool {
        self.cut.is_none() && self.renamed.is_empty()
    }
}

impl std::fmt::Display for RepairPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (path, sha) in &self.renamed {
            writeln!(
                f,
                "{}: its bytes do not match the SHA-224 in its name; renaming it to {}",
                path.display(),
                sha
            )?;
        }
        match &self.cut {
            None if self.renamed.is_empty() => {
                writeln!(
                    f,
                    "the log is whole ({} records): nothing to drop",
                    self.kept_records
                )
            }
            None => writeln!(f, "keeping all {} records", self.kept_records),
            Some(c) => {
                writeln!(
                    f,
                    "keeping {} records; dropping {} bytes of {} from offset {}: {}",
                    self.kept_records,
                    c.dropped,
                    c.path.display(),
                    c.offset,
                    c.reason
                )?;
                for (path, size) in &c.later {
                    writeln!(
                        f,
                        "dropping the later segment {} ({size} bytes)",
                        path.display()
                    )?;
                }
                Ok(())
            }
        }
    }
}

/// `xb corpus repair`: cuts the log back to its last good record. Holds the writer lock
/// from planning to applying, so nothing appends in between, and refuses while another
/// writer holds it.
pub struct Repair {
    dir: PathBuf,
    plan: RepairPlan,
    _lock: WriterLock,
}

impl Repair {
    /// Takes the lock and reads the whole log (changing nothing) to find what to drop.
    pub fn plan(dir: impl AsRef<Path>) -> Result<Repair, LogError> {
        let dir = dir.as_ref().to_owned();
        if !dir.is_dir() {
            return Err(LogError::NoLog { dir });
        }
        let lock = WriterLock::acquire(&dir)?;
        let segs = segments_to_write(&dir)?;
        if segs.is_empty() {
            return Err(LogError::NoLog { dir });
        }
        let mut plan = RepairPlan::default();
        for (i, seg) in segs.iter().enumerate() {
            let data = fs::read(&seg.path).map_err(LogError::io(&seg.path))?;
            let (good, records, bad) = good_prefix(&data);
            plan.kept_records += records;
            if let Some(reason) = bad {
                plan.cut = Some(Cut {
                    segment: seg.number,
                    path: seg.path.clone(),
                    offset: good,
                    dropped: data.len() as u64 - good,
                    reason,
                    later: segs[i + 1..]
                        .iter()
                        .map(|s| (s.path.clone(), s.size))
                        .collect(),
                });
                break;
            }
            let actual = hex::encode(Sha224::digest(&data));
            if !seg.growing && actual != seg.sha224 {
                plan.renamed.push((seg.path.clone(), actual));
            }
        }
        Ok(Repair {
            dir,
            plan,
            _lock: lock,
        })
    }

    pub fn plan_ref(&self) -> &RepairPlan {
        &self.plan
    }

    /// Carries the plan out. Nothing is deleted: the dropped bytes and segments are moved
    /// to a `dropped-<unix time>` directory beside the segments, which is returned.
    pub fn apply(self) -> Result<Option<PathBuf>, LogError> {
        let dir = &self.dir;
        for (path, sha) in &self.plan.renamed {
            let number = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(parse_file_name)
                .map(|n| match n {
                    SegmentName::Frozen { number, .. } | SegmentName::Growing { number } => number,
                })
                .expect("planned from a segment name");
            let to = dir.join(frozen_file_name(number, sha));
            fs::rename(path, &to).map_err(LogError::io(path))?;
        }
        let Some(cut) = &self.plan.cut else {
            sync_dir(dir)?;
            return Ok(None);
        };
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let saved = dir.join(format!("dropped-{secs}"));
        fs::create_dir_all(&saved).map_err(LogError::io(&saved))?;
        let data = fs::read(&cut.path).map_err(LogError::io(&cut.path))?;
        let tail = saved.join(format!("{:04}.from-{}.bytes", cut.segment, cut.offset));
        fs::write(&tail, &data[cut.offset as usize..]).map_err(LogError::io(&tail))?;
        for (path, _) in &cut.later {
            let to = saved.join(path.file_name().expect("segment file name"));
            fs::rename(path, &to).map_err(LogError::io(path))?;
        }
        File::open(&saved)
            .and_then(|d| d.sync_all())
            .map_err(LogError::io(&saved))?;
        let file = OpenOptions::new()
            .write(true)
            .open(&cut.path)
            .map_err(LogError::io(&cut.path))?;
        file.set_len(cut.offset).map_err(LogError::io(&cut.path))?;
        file.sync_all().map_err(LogError::io(&cut.path))?;
        // The cut segment is the last one now: the one a writer appends to.
        let growing = dir.join(growing_file_name(cut.segment));
        fs::rename(&cut.path, &growing).map_err(LogError::io(&cut.path))?;
        sync_dir(dir)?;
        Ok(Some(saved))
    }
}

/// The whole, decodable records at the start of a segment's bytes: (their length, how
/// many, what is wrong after them if anything is).
fn good_prefix(data: &[u8]) -> (u64, u64, Option<String>) {
    let mut good = 0;
    let mut records = 0;
    for rec in reclog::records(data, 0) {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => return (good, records, Some(e.to_string())),
        };
        if let Err(e) = Mutation::decode(rec.data) {
            let why = format!("bad protobuf Mutation at offset {}: {e}", rec.offset);
            return (good, records, Some(why));
        }
        good = rec.end();
        records += 1;
    }
    (good, records, None)
}

/// Copies every record of the log in `from` — any layout [`DiskLog::open_read_only`]
/// reads, Go's day files included — into a new log at `to`, framed and segmented as ours.
/// `to` must not exist or be empty. The copy is written beside it and renamed into place,
/// so `to` ends up with all of it or nothing. Returns how many records were copied.
pub fn copy_log(from: &Path, to: &Path) -> Result<u64, LogError> {
    let src = DiskLog::open_read_only(from)?;
    let tmp = to.with_extension("copying");
    if tmp.exists() {
        // Left by a copy that was interrupted.
        fs::remove_dir_all(&tmp).map_err(LogError::io(&tmp))?;
    }
    let mut dst = DiskLog::open_with(&tmp, SyncPolicy::Manual)?;
    let mut n = 0;
    src.for_each_record(|r| {
        dst.append_raw(r.data)?;
        n += 1;
        Ok::<_, LogError>(())
    })?;
    dst.sync()?;
    drop(dst);
    fs::rename(&tmp, to).map_err(LogError::io(&tmp))?;
    if let Some(parent) = to.parent() {
        sync_dir(parent)?;
    }
    Ok(n)
}
