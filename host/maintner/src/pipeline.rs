//! Loading a log on several threads: one checks each segment's SHA-224 ahead, one reads
//! the segments (checking the record framing) and deals the records out in batches, round
//! robin, to preparing threads that decode them and parse their commits; the calling thread takes
//! the prepared batches back in the same round-robin order, so it applies the mutations
//! in log order while the next batches are being prepared.
//!
//! Applying is the part that cannot be split (every mutation may touch what the previous
//! ones built), so everything that needs no corpus happens before it, off that thread.

use std::ops::Range;
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};

use prost::Message;

use crate::disklog::{check_segment, DiskLog, LogError, RecordPos, RecordRef, SegmentInfo};
use crate::git::{CommitError, ParsedCommit};
use crate::maintpb::Mutation;

/// A batch is cut after this many bytes of records: large enough that handing it over
/// costs little per record, small enough that the batches in flight hold little memory.
const BATCH_BYTES: usize = 64 << 10;
/// Records a batch has room for without growing: most records are 100 to 500 bytes.
const BATCH_RECORDS: usize = 512;
/// Batches waiting at each hand-over; more would only hold memory.
const QUEUE: usize = 2;
/// Preparing threads beyond the cores only take turns.
const MAX_WORKERS: usize = 4;

/// The commits of a mutation, parsed: its git commit, then its Gerrit commits, in order.
pub(crate) type ParsedCommits = Vec<Result<ParsedCommit, CommitError>>;

/// Parses the commits of `m` (see [`ParsedCommits`]).
pub(crate) fn parse_commits(m: &Mutation) -> ParsedCommits {
    let mut out = Vec::new();
    if let Some(gm) = &m.git {
        if let Some(pb) = &gm.commit {
            let repo = gm.repo.as_ref().map_or("", |r| r.go_repo.as_str());
            out.push(ParsedCommit::parse(pb, repo));
        }
    }
    if let Some(gm) = &m.gerrit {
        out.extend(
            gm.commits
                .iter()
                .map(|pb| ParsedCommit::parse(pb, &gm.project)),
        );
    }
    out
}

/// A mutation ready to apply, and where the record after it starts.
pub(crate) struct Prepared {
    pub mutation: Mutation,
    pub commits: ParsedCommits,
    pub end: RecordPos,
}

/// Records of one segment, as read.
struct RawBatch {
    segment: u32,
    bytes: Vec<u8>,
    records: Vec<RawRecord>,
    /// Reading stopped here (after the records above).
    error: Option<LogError>,
}

struct RawRecord {
    data: Range<usize>,
    offset: u64,
    end: u64,
}

impl RawBatch {
    fn new(segment: u32) -> RawBatch {
        RawBatch {
            segment,
            bytes: Vec::with_capacity(BATCH_BYTES),
            records: Vec::with_capacity(BATCH_RECORDS),
            error: None,
        }
    }

    fn push(&mut self, r: &RecordRef<'_>) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(r.data);
        self.records.push(RawRecord {
            data: start..self.bytes.len(),
            offset: r.pos.offset,
            end: r.end,
        });
    }
}

/// Records of one batch, prepared.
struct Batch {
    items: Vec<Prepared>,
    error: Option<LogError>,
}

/// Why reading stopped early.
enum Stop {
    Log(LogError),
    /// The applying side returned (an error of its own).
    Hangup,
}

impl From<LogError> for Stop {
    fn from(e: LogError) -> Stop {
        Stop::Log(e)
    }
}

/// Reads every record of `log` from `from` on, and calls `apply` with each, prepared, in
/// log order on the calling thread. Returns how many were applied. On a bad record or
/// segment, everything before it is applied and the error names the file and offset.
pub(crate) fn for_each_prepared(
    log: &DiskLog,
    from: RecordPos,
    apply: impl FnMut(&mut Prepared),
) -> Result<u64, LogError> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_WORKERS);
    let segments = log.segments();
    let segments = &segments;
    std::thread::scope(|scope| {
        let mut raw_senders = Vec::with_capacity(workers);
        let mut prepared = Vec::with_capacity(workers);
        let mut spent = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (raw_tx, raw_rx) = sync_channel(QUEUE);
            let (tx, rx) = sync_channel(QUEUE);
            let (spent_tx, spent_rx) = channel();
            scope.spawn(move || prepare_batches(raw_rx, tx, spent_rx, segments));
            raw_senders.push(raw_tx);
            prepared.push(rx);
            spent.push(spent_tx);
        }
        let (checked_tx, checked) = channel();
        scope.spawn(move || check_segments(segments, from, checked_tx));
        scope.spawn(move || read_batches(log, from, checked, raw_senders));
        apply_in_order(prepared, spent, apply)
    })
}

/// Checks the segments from `from` on, in order, and sends each result; stops after a bad
/// one. Reading waits for a segment's result before reading it, but not for the check of
/// the segments after it.
fn check_segments(
    segments: &[SegmentInfo],
    from: RecordPos,
    checked: Sender<Result<(), LogError>>,
) {
    for seg in segments.iter().filter(|s| s.number >= from.segment) {
        let r = check_segment(seg);
        let bad = r.is_err();
        if checked.send(r).is_err() || bad {
            return;
        }
    }
}

/// Deals the records out, batch `i` to preparing thread `i % n`; the last batch carries
/// the error reading stopped at, if any.
fn read_batches(
    log: &DiskLog,
    from: RecordPos,
    checked: Receiver<Result<(), LogError>>,
    workers: Vec<SyncSender<RawBatch>>,
) {
    let mut next = 0;
    let mut send = |b: RawBatch| {
        let sent = workers[next % workers.len()].send(b);
        next += 1;
        sent.map_err(|_| Stop::Hangup)
    };
    let mut batch = RawBatch::new(from.segment);
    // The checking thread sends one result per segment, in the order they are read.
    let check = |seg: &SegmentInfo| checked.recv().unwrap_or_else(|_| check_segment(seg));
    let r = log.for_each_record_checked_by(from, check, |r| {
        // Cut before a record that would not fit: growing the buffer would copy it.
        let full = batch.bytes.len() + r.data.len() > BATCH_BYTES && !batch.records.is_empty();
        if r.pos.segment != batch.segment || full {
            send(std::mem::replace(&mut batch, RawBatch::new(r.pos.segment)))?;
        }
        batch.push(&r);
        Ok::<_, Stop>(())
    });
    match r {
        Err(Stop::Hangup) => return,
        Err(Stop::Log(e)) => batch.error = Some(e),
        Ok(()) => {}
    }
    let _ = send(batch);
}

/// Decodes and parses batches until reading ends or the applier hangs up, then drops what
/// the applier hands back: memory is freed by the thread that allocated it, which keeps
/// malloc's arenas uncontended.
fn prepare_batches(
    raw: Receiver<RawBatch>,
    out: SyncSender<Batch>,
    spent: Receiver<Batch>,
    segments: &[SegmentInfo],
) {
    for b in raw {
        spent.try_iter().for_each(drop);
        if out.send(prepare(b, segments)).is_err() {
            return;
        }
    }
    drop(out);
    spent.iter().for_each(drop);
}

fn prepare(raw: RawBatch, segments: &[SegmentInfo]) -> Batch {
    let mut items = Vec::with_capacity(raw.records.len());
    for r in &raw.records {
        let mutation = match Mutation::decode(&raw.bytes[r.data.clone()]) {
            Ok(m) => m,
            Err(source) => {
                let path = segments
                    .iter()
                    .find(|s| s.number == raw.segment)
                    .map(|s| s.path.clone())
                    .unwrap_or_default();
                return Batch {
                    items,
                    error: Some(LogError::Decode {
                        path,
                        offset: r.offset,
                        source,
                    }),
                };
            }
        };
        items.push(Prepared {
            commits: parse_commits(&mutation),
            mutation,
            end: RecordPos {
                segment: raw.segment,
                offset: r.end,
            },
        });
    }
    Batch {
        items,
        error: raw.error,
    }
}

/// Takes the batches back in the order they were dealt out and applies them. The
/// channels are owned here so that returning (early, on an error) hangs up on the other
/// threads, which then stop.
fn apply_in_order(
    prepared: Vec<Receiver<Batch>>,
    spent: Vec<Sender<Batch>>,
    mut apply: impl FnMut(&mut Prepared),
) -> Result<u64, LogError> {
    let mut n = 0;
    for k in (0..prepared.len()).cycle() {
        // A preparing thread that hung up got no further batch: reading is done.
        let Ok(mut batch) = prepared[k].recv() else {
            break;
        };
        for p in &mut batch.items {
            apply(p);
            n += 1;
        }
        if let Some(e) = batch.error.take() {
            return Err(e);
        }
        let _ = spent[k].send(batch);
    }
    Ok(n)
}
