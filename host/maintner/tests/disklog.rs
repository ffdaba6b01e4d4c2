//! The disk log: append, reopen, segments, torn tails, corruption.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use maintner::disklog::{self, LogError, SEGMENT_TARGET_SIZE};
use maintner::maintpb::{GitCommit, GitMutation, GitRepo, GithubIssueMutation, Mutation};
use maintner::reclog::RecordError;
use maintner::{DiskLog, SyncPolicy};
use sha2::{Digest, Sha224};

fn issue(n: i32, body: &str) -> Mutation {
    Mutation {
        github_issue: Some(GithubIssueMutation {
            owner: "golang".into(),
            repo: "go".into(),
            number: n,
            body: body.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn all_mutations(log: &DiskLog) -> Result<Vec<Mutation>, LogError> {
    let mut v = Vec::new();
    log.for_each_mutation(|_, m| {
        v.push(m);
        Ok::<_, LogError>(())
    })?;
    Ok(v)
}

fn growing(dir: &Path, n: u32) -> PathBuf {
    dir.join(disklog::growing_file_name(n))
}

fn append_bytes(path: &Path, bytes: &[u8]) {
    OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

#[test]
fn append_reopen_and_iterate() {
    let dir = tempfile::tempdir().unwrap();
    let ms: Vec<_> = (1..=5).map(|n| issue(n, &format!("body {n}"))).collect();
    {
        let mut log = DiskLog::open(dir.path()).unwrap();
        assert_eq!(log.append(&ms[0]).unwrap().offset, 0);
        let pos = log.append_batch(&ms[1..]).unwrap();
        assert!(pos.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(all_mutations(&log).unwrap(), ms);
    }
    let log = DiskLog::open(dir.path()).unwrap();
    assert_eq!(log.open_report(), &Default::default());
    assert_eq!(all_mutations(&log).unwrap(), ms);
    // The file is exactly reclog framing of the encoded mutations, offsets from 0.
    let bytes = fs::read(growing(dir.path(), 0)).unwrap();
    assert!(bytes.starts_with(b"REC@0+"));
    assert_eq!(log.total_size(), bytes.len() as u64);
}

#[test]
fn reading_from_a_position_sees_only_later_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = DiskLog::open_with(dir.path(), SyncPolicy::Manual).unwrap();
    log.append(&issue(1, "a")).unwrap();
    let mark = log.end();
    log.append(&issue(2, "b")).unwrap();
    log.append(&issue(3, "c")).unwrap();
    let mut got = Vec::new();
    log.for_each_record_from(mark, |r| {
        got.push(r.mutation()?.github_issue.unwrap().number);
        Ok::<_, LogError>(())
    })
    .unwrap();
    assert_eq!(got, [2, 3]);
}

#[test]
fn segments_roll_over_at_16_mib_with_sha224_names() {
    let dir = tempfile::tempdir().unwrap();
    let big = "x".repeat(3 << 20);
    let ms: Vec<_> = (1..=7).map(|n| issue(n, &big)).collect();
    let mut log = DiskLog::open_with(dir.path(), SyncPolicy::Manual).unwrap();
    let pos = log.append_batch(&ms).unwrap();
    // Five 3 MiB records fit in 16 MiB, the sixth starts segment 1 at offset 0.
    assert_eq!(pos[4].segment, 0);
    assert_eq!((pos[5].segment, pos[5].offset), (1, 0));
    let segs = log.segments();
    assert_eq!(segs.len(), 2);
    assert!(!segs[0].growing && segs[1].growing);
    let frozen = fs::read(&segs[0].path).unwrap();
    assert!(frozen.len() as u64 <= SEGMENT_TARGET_SIZE);
    assert_eq!(segs[0].sha224, hex::encode(Sha224::digest(&frozen)));
    assert_eq!(
        segs[0].path.file_name().unwrap().to_str().unwrap(),
        disklog::frozen_file_name(0, &segs[0].sha224)
    );
    assert_eq!(
        segs[1].sha224,
        hex::encode(Sha224::digest(fs::read(&segs[1].path).unwrap()))
    );
    drop(log);
    let log = DiskLog::open(dir.path()).unwrap();
    assert_eq!(all_mutations(&log).unwrap(), ms);
    let report = disklog::verify(dir.path()).unwrap();
    assert_eq!((report.segments, report.records), (2, 7));
}

#[test]
fn torn_tail_is_reported_and_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = DiskLog::open(dir.path()).unwrap();
    log.append_batch(&[issue(1, "one"), issue(2, "two")])
        .unwrap();
    let good = log.total_size();
    drop(log);
    let path = growing(dir.path(), 0);
    // Power loss in the middle of the third record's payload.
    append_bytes(&path, format!("REC@{good:x}+40=partial").as_bytes());

    let mut log = DiskLog::open(dir.path()).unwrap();
    let t = log
        .open_report()
        .truncated
        .clone()
        .expect("torn tail reported");
    assert_eq!(t.path, path);
    assert_eq!(t.offset, good);
    assert_eq!(t.dropped, format!("REC@{good:x}+40=partial").len() as u64);
    assert!(t.reason.contains("truncated record"), "{}", t.reason);
    assert_eq!(fs::metadata(&path).unwrap().len(), good);
    // Appending continues cleanly after the cut.
    log.append(&issue(3, "three")).unwrap();
    let numbers: Vec<_> = all_mutations(&log)
        .unwrap()
        .into_iter()
        .map(|m| m.github_issue.unwrap().number)
        .collect();
    assert_eq!(numbers, [1, 2, 3]);
    disklog::verify(dir.path()).unwrap();
}

#[test]
fn torn_header_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = DiskLog::open(dir.path()).unwrap();
    log.append(&issue(1, "one")).unwrap();
    let good = log.total_size();
    drop(log);
    append_bytes(&growing(dir.path(), 0), b"REC@1");
    let log = DiskLog::open(dir.path()).unwrap();
    assert_eq!(log.open_report().truncated.as_ref().unwrap().offset, good);
    assert_eq!(all_mutations(&log).unwrap().len(), 1);
}

#[test]
fn zero_filled_tail_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = DiskLog::open(dir.path()).unwrap();
    log.append(&issue(1, "one")).unwrap();
    let good = log.total_size();
    drop(log);
    append_bytes(&growing(dir.path(), 0), &[0; 4096]);
    let log = DiskLog::open(dir.path()).unwrap();
    let t = log.open_report().truncated.clone().unwrap();
    assert_eq!((t.offset, t.dropped), (good, 4096));
}

#[test]
fn corrupt_middle_is_an_error_not_a_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = DiskLog::open(dir.path()).unwrap();
    log.append_batch(&[issue(1, "one"), issue(2, "two"), issue(3, "three")])
        .unwrap();
    drop(log);
    let path = growing(dir.path(), 0);
    let mut bytes = fs::read(&path).unwrap();
    let before = bytes.clone();
    // Damage the second record's header: its length becomes "z?".
    let at = bytes[1..].windows(4).position(|w| w == b"REC@").unwrap() + 1;
    let plus = at + bytes[at..].iter().position(|&b| b == b'+').unwrap();
    bytes[plus + 1] = b'z';
    fs::write(&path, &bytes).unwrap();
    let err = DiskLog::open(dir.path()).err().expect("open must fail");
    match &err {
        LogError::Record { path: p, source } => {
            assert_eq!(p, &path);
            assert!(matches!(
                source,
                RecordError::BadHex {
                    field: "length",
                    ..
                }
            ));
            assert_eq!(source.offset(), at as u64);
        }
        other => panic!("unexpected error {other}"),
    }
    assert!(err.to_string().contains(&path.display().to_string()));
    // Nothing was cut.
    assert_eq!(fs::read(&path).unwrap(), bytes);
    assert_eq!(bytes.len(), before.len());
}

#[test]
fn frozen_segment_with_wrong_sha224_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = DiskLog::open_with(dir.path(), SyncPolicy::Manual).unwrap();
    let big = "y".repeat(9 << 20);
    log.append_batch(&[issue(1, &big), issue(2, &big)]).unwrap();
    let frozen = log.segments()[0].path.clone();
    drop(log);
    let mut bytes = fs::read(&frozen).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1; // same size, one bit flipped in a body
    fs::write(&frozen, &bytes).unwrap();

    let log = DiskLog::open(dir.path()).unwrap();
    match all_mutations(&log).unwrap_err() {
        LogError::Checksum { path, .. } => assert_eq!(path, frozen),
        other => panic!("unexpected error {other}"),
    }
    assert!(matches!(
        disklog::verify(dir.path()),
        Err(LogError::Checksum { .. })
    ));
}

#[test]
fn missing_segment_is_a_layout_error() {
    let dir = tempfile::tempdir().unwrap();
    let sha = hex::encode(Sha224::digest(b""));
    fs::write(dir.path().join(disklog::frozen_file_name(1, &sha)), b"").unwrap();
    assert!(matches!(
        DiskLog::open(dir.path()),
        Err(LogError::Layout { .. })
    ));
}

#[test]
fn protobuf_garbage_is_reported_with_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = DiskLog::open(dir.path()).unwrap();
    log.append(&issue(1, "one")).unwrap();
    // A well-framed record whose payload is not a Mutation (field 1, length 100, 2 bytes).
    let pos = log.append_raw(&[0x0a, 0x64, 0x01, 0x02]).unwrap();
    log.sync().unwrap();
    match all_mutations(&log).unwrap_err() {
        LogError::Decode { path, offset, .. } => {
            assert_eq!(path, growing(dir.path(), 0));
            assert_eq!(offset, pos.offset);
        }
        other => panic!("unexpected error {other}"),
    }
    assert!(matches!(
        disklog::verify(dir.path()),
        Err(LogError::Decode { .. })
    ));
}

#[test]
fn unknown_fields_survive_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = DiskLog::open(dir.path()).unwrap();
    let known = issue(7, "seven");
    let mut data = prost::Message::encode_to_vec(&known);
    // Field 9 (length-delimited "new!") and field 10 (varint 150): from a newer writer.
    data.extend_from_slice(&[0x4a, 4, b'n', b'e', b'w', b'!', 0x50, 0x96, 0x01]);
    log.append_raw(&data).unwrap();
    log.sync().unwrap();
    let got = all_mutations(&log).unwrap().remove(0);
    assert_eq!(got.github_issue, known.github_issue);
    assert_eq!(
        got.unknown,
        [0x4a, 4, b'n', b'e', b'w', b'!', 0x50, 0x96, 0x01]
    );
    assert_eq!(prost::Message::encode_to_vec(&got), data);
}

#[test]
fn file_names_parse() {
    let sha = "6897fab4d3afcda332424b2a2a1a4469021074282bc7be5606aaa221";
    assert_eq!(
        disklog::parse_file_name(&format!("0012.{sha}.mutlog")),
        Some(disklog::SegmentName::Frozen {
            number: 12,
            sha224: sha.into()
        })
    );
    assert_eq!(
        disklog::parse_file_name("0003.growing.mutlog"),
        Some(disklog::SegmentName::Growing { number: 3 })
    );
    for bad in [
        "maintner-2017-07-01.mutlog",
        "12.growing.mutlog",
        "0001.abc.mutlog",
        "tempseg123",
    ] {
        assert_eq!(disklog::parse_file_name(bad), None, "{bad}");
    }
}

#[test]
fn git_mutation_round_trips_through_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let m = Mutation {
        git: Some(GitMutation {
            repo: Some(GitRepo {
                go_repo: "build".into(),
            }),
            commit: Some(GitCommit {
                sha1: "c386fbdc7be64b4994e751b4fa22445abc92401a".into(),
                raw: b"tree 0\n\nmsg".to_vec(),
                diff_tree: None,
            }),
        }),
        ..Default::default()
    };
    let mut log = DiskLog::open(dir.path()).unwrap();
    log.append(&m).unwrap();
    drop(log);
    assert_eq!(
        all_mutations(&DiskLog::open(dir.path()).unwrap()).unwrap(),
        [m]
    );
}

/// Writes `bytes` as frozen segment 0 under its true SHA-224 name.
fn frozen_segment(dir: &Path, bytes: &[u8]) -> PathBuf {
    let sha = hex::encode(Sha224::digest(bytes));
    let path = dir.join(disklog::frozen_file_name(0, &sha));
    fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn offset_mismatch_in_a_segment_names_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let data = prost::Message::encode_to_vec(&issue(1, "one"));
    let mut bytes = Vec::new();
    maintner::reclog::encode_record(0, &data, &mut bytes);
    let second = bytes.len() as u64;
    // The second record claims to start at offset 0.
    maintner::reclog::encode_record(0, &data, &mut bytes);
    let path = frozen_segment(dir.path(), &bytes);
    let log = DiskLog::open(dir.path()).unwrap();
    match all_mutations(&log).unwrap_err() {
        LogError::Record { path: p, source } => {
            assert_eq!(p, path);
            assert_eq!(
                source,
                RecordError::OffsetMismatch {
                    offset: second,
                    claimed: 0
                }
            );
        }
        other => panic!("unexpected error {other}"),
    }
}

#[test]
fn length_past_eof_in_a_frozen_segment_is_an_error_not_a_repair() {
    let dir = tempfile::tempdir().unwrap();
    let data = prost::Message::encode_to_vec(&issue(1, "one"));
    let mut bytes = Vec::new();
    maintner::reclog::encode_record(0, &data, &mut bytes);
    let second = bytes.len() as u64;
    bytes.extend_from_slice(format!("REC@{second:x}+ff=short").as_bytes());
    let path = frozen_segment(dir.path(), &bytes);
    // Frozen segments are immutable: open leaves them alone, reading reports the damage.
    let log = DiskLog::open(dir.path()).unwrap();
    assert_eq!(log.open_report().truncated, None);
    let err = all_mutations(&log).unwrap_err();
    assert!(
        matches!(&err, LogError::Record { source: RecordError::Truncated { offset, len: 0xff, .. }, .. } if *offset == second),
        "{err}"
    );
    assert_eq!(fs::read(&path).unwrap(), bytes);
    assert!(disklog::verify(dir.path()).is_err());
}

#[test]
fn a_nearly_full_growing_segment_is_sealed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = DiskLog::open_with(dir.path(), SyncPolicy::Manual).unwrap();
    log.append(&issue(
        1,
        &"z".repeat((SEGMENT_TARGET_SIZE - 1000) as usize),
    ))
    .unwrap();
    log.sync().unwrap();
    assert!(log.segments()[0].growing);
    drop(log);
    let mut log = DiskLog::open(dir.path()).unwrap();
    assert_eq!(log.open_report().sealed_on_open, Some(0));
    let segs = log.segments();
    assert_eq!(segs.len(), 1);
    assert!(!segs[0].growing);
    // The next record starts segment 1 at offset 0.
    let pos = log.append(&issue(2, "two")).unwrap();
    assert_eq!((pos.segment, pos.offset), (1, 0));
    assert_eq!(disklog::verify(dir.path()).unwrap().records, 2);
}
