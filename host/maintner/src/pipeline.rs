//! Loading a log on several threads: one checks each segment's SHA-224 ahead, one reads
//! the segments (checking the record framing) and deals the records out in batches, round
//! robin, to preparing threads that decode them and parse their commits; the calling thread takes
//! the prepared batches back in the same round-robin order, so it applies the mutations
//! in log order while the next batches are being prepared.
//!
//! Applying is the part that cannot be split (every mutation may touch what the previous
//! ones built), so everything that needs no corpus happens before it, off that thread.
//! There is one preparing thread fewer than cores, so that the applying thread has a core
//! of its own. With a single preparing thread (two cores), that thread hands one batch in
//! [`APPLIER_SHARE`] over unprepared and the applying thread prepares it: the two cores
//! are then about equally busy, and a batch prepared where it is applied costs less to
//! apply, its memory being in that core's cache. (Measured on the benchmark log: one in
//! four beat one in three and one in five, and beat handing batches over only while the
//! applying thread waited or was less busy, which bunched them.)

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
/// Batches waiting at each hand-over: enough that a batch the applying thread prepares
/// does not stall the preparing thread; more would only hold memory.
const QUEUE: usize = 4;
/// Preparing threads beyond the cores only take turns.
const MAX_WORKERS: usize = 4;
/// With a single preparing thread, the applying thread prepares one batch in this many.
const APPLIER_SHARE: usize = 4;

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

/// A batch as the applying thread receives it: prepared, or for it to prepare.
enum Work {
    Prepared(Batch),
    Raw(RawBatch),
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

/// How the work is divided: preparing threads, and the share the applying thread
/// prepares (one batch in `share`; none if 0).
#[derive(Clone, Copy, Debug)]
struct Plan {
    workers: usize,
    share: usize,
}

impl Plan {
    fn for_this_machine() -> Plan {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let workers = (cores - 1).clamp(1, MAX_WORKERS);
        // Past two cores the applying thread is the slower side: it prepares nothing.
        let share = if workers == 1 { APPLIER_SHARE } else { 0 };
        Plan { workers, share }
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
    run(log, from, Plan::for_this_machine(), apply)
}

fn run(
    log: &DiskLog,
    from: RecordPos,
    Plan { workers, share }: Plan,
    apply: impl FnMut(&mut Prepared),
) -> Result<u64, LogError> {
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
            scope.spawn(move || prepare_batches(raw_rx, tx, spent_rx, segments, share));
            raw_senders.push(raw_tx);
            prepared.push(rx);
            spent.push(spent_tx);
        }
        let (checked_tx, checked) = channel();
        scope.spawn(move || check_segments(segments, from, checked_tx));
        scope.spawn(move || read_batches(log, from, checked, raw_senders));
        apply_in_order(prepared, spent, segments, apply)
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
/// malloc's arenas uncontended. One batch in `share` (none if 0) goes over unprepared.
fn prepare_batches(
    raw: Receiver<RawBatch>,
    out: SyncSender<Work>,
    spent: Receiver<Batch>,
    segments: &[SegmentInfo],
    share: usize,
) {
    for (i, b) in raw.into_iter().enumerate() {
        spent.try_iter().for_each(drop);
        let work = if share > 0 && i % share == share - 1 {
            Work::Raw(b)
        } else {
            Work::Prepared(prepare(b, segments))
        };
        if out.send(work).is_err() {
            return;
        }
    }
    drop(out);
    spent.iter().for_each(drop);
}

/// Decodes and parses a batch. Each mutation is decoded in its place in the batch: a
/// `Mutation` is some 900 bytes, and returning one by value copied it three times.
fn prepare(raw: RawBatch, segments: &[SegmentInfo]) -> Batch {
    let mut items: Vec<Prepared> = Vec::with_capacity(raw.records.len());
    for r in &raw.records {
        items.push(Prepared {
            mutation: Mutation::default(),
            commits: Vec::new(),
            end: RecordPos {
                segment: raw.segment,
                offset: r.end,
            },
        });
        let p = items.last_mut().expect("just pushed");
        if let Err(source) = p.mutation.merge(&raw.bytes[r.data.clone()]) {
            items.pop();
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
        p.commits = parse_commits(&p.mutation);
    }
    Batch {
        items,
        error: raw.error,
    }
}

/// Takes the batches back in the order they were dealt out and applies them, preparing
/// those handed over unprepared. The channels are owned here so that returning (early, on
/// an error) hangs up on the other threads, which then stop.
fn apply_in_order(
    prepared: Vec<Receiver<Work>>,
    spent: Vec<Sender<Batch>>,
    segments: &[SegmentInfo],
    mut apply: impl FnMut(&mut Prepared),
) -> Result<u64, LogError> {
    let mut n = 0;
    for k in (0..prepared.len()).cycle() {
        // A preparing thread that hung up got no further batch: reading is done.
        let Ok(work) = prepared[k].recv() else {
            break;
        };
        let (mut batch, mine) = match work {
            Work::Prepared(b) => (b, false),
            Work::Raw(raw) => (prepare(raw, segments), true),
        };
        for p in &mut batch.items {
            apply(p);
            n += 1;
        }
        if let Some(e) = batch.error.take() {
            return Err(e);
        }
        // What this thread prepared it frees; the rest goes back to be freed.
        if !mine {
            let _ = spent[k].send(batch);
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disklog::SyncPolicy;
    use crate::synth;

    /// Every division of the work (batches prepared by the applying thread only, by it
    /// and one other, by three others) applies the same mutations in log order, and stops
    /// at a bad record after applying everything before it.
    #[test]
    fn every_plan_applies_in_log_order_and_stops_at_a_bad_record() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = DiskLog::open_with(dir.path(), SyncPolicy::Manual).unwrap();
        // Many batches of 64 KiB, so each kind of thread prepares some.
        let bad = synth::issues_then_a_bad_record(&mut log, 3000).unwrap();
        let mut in_order = Vec::new();
        log.for_each_mutation(|pos, m| {
            in_order.push((pos.offset, m));
            Ok::<_, LogError>(())
        })
        .unwrap_err();
        assert_eq!(in_order.len(), 3000);
        for plan in [
            Plan {
                workers: 1,
                share: 1,
            },
            Plan {
                workers: 1,
                share: 4,
            },
            Plan {
                workers: 3,
                share: 0,
            },
        ] {
            let mut seen = Vec::new();
            let r = run(&log, RecordPos::default(), plan, |p| {
                seen.push(p.mutation.clone());
            });
            match r {
                Err(LogError::Decode { offset, .. }) => assert_eq!(offset, bad.offset, "{plan:?}"),
                other => panic!("{plan:?}: want a decode error, got {other:?}"),
            }
            assert_eq!(seen.len(), 3000, "{plan:?}");
            assert!(
                seen.iter().zip(&in_order).all(|(a, (_, b))| a == b),
                "{plan:?}"
            );
        }
    }
}
