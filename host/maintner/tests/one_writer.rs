//! One writer per log: the writer lock (in-process and across processes), read-only
//! opens that change nothing, and `Repair`.

use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use maintner::disklog::{self, LogError, Repair};
use maintner::maintpb::{GithubIssueMutation, Mutation};
use maintner::{Corpus, DiskLog, SyncPolicy};

fn issue(n: i32) -> Mutation {
    Mutation {
        github_issue: Some(GithubIssueMutation {
            owner: "golang".into(),
            repo: "go".into(),
            number: n,
            title: format!("issue {n}"),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn numbers(log: &DiskLog) -> Vec<i32> {
    let mut v = Vec::new();
    log.for_each_mutation(|_, m| {
        v.push(m.github_issue.unwrap().number);
        Ok::<_, LogError>(())
    })
    .unwrap();
    v
}

fn growing(dir: &Path) -> PathBuf {
    dir.join(disklog::growing_file_name(0))
}

fn append_bytes(path: &Path, bytes: &[u8]) {
    let mut f = OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
}

/// Files of `dir` (recursively) with their bytes, to show that nothing changed.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(snapshot(&p));
        } else {
            let bytes = fs::read(&p).unwrap();
            out.push((p, bytes));
        }
    }
    out.sort();
    out
}

#[test]
fn a_second_writer_in_the_same_process_is_refused_until_the_first_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = DiskLog::open(dir.path()).unwrap();
    first.append(&issue(1)).unwrap();
    let err = DiskLog::open(dir.path())
        .err()
        .expect("second writer refused");
    match &err {
        LogError::Locked { dir: d, holder } => {
            assert_eq!(d, dir.path());
            assert!(
                holder.contains(&format!("pid {}", std::process::id())),
                "{holder}"
            );
        }
        other => panic!("unexpected error {other}"),
    }
    assert!(err.to_string().contains("another writer"), "{err}");
    // Readers are not writers: they open alongside.
    assert_eq!(numbers(&DiskLog::open_read_only(dir.path()).unwrap()), [1]);
    drop(first);
    let mut second = DiskLog::open(dir.path()).unwrap();
    second.append(&issue(2)).unwrap();
    assert_eq!(numbers(&second), [1, 2]);
}

/// Not a test of its own: the child process of the two-process test. It opens the log
/// named by `XB_TEST_HOLD_LOG` to write, says so, and holds it until stdin closes.
#[test]
fn hold_the_log_as_a_child_process() {
    let Some(dir) = std::env::var_os("XB_TEST_HOLD_LOG") else {
        return;
    };
    let mut log = DiskLog::open(&dir).unwrap();
    log.append(&issue(1)).unwrap();
    println!("holding");
    std::io::stdout().flush().unwrap();
    let _ = std::io::stdin().read_line(&mut String::new());
}

#[test]
fn two_processes_one_log_the_second_is_refused_and_names_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "hold_the_log_as_a_child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("XB_TEST_HOLD_LOG", dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("holding") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "child ended early");
    }

    let err = DiskLog::open(dir.path()).err().expect("refused");
    let msg = err.to_string();
    assert!(msg.contains(&format!("pid {}", child.id())), "{msg}");
    assert!(msg.contains("hold_the_log_as_a_child_process"), "{msg}");
    // Repair is a writer too.
    assert!(matches!(
        Repair::plan(dir.path()),
        Err(LogError::Locked { .. })
    ));
    // Nothing the refused writer did reached the log.
    assert_eq!(numbers(&DiskLog::open_read_only(dir.path()).unwrap()), [1]);

    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    // The lock went with the process.
    let mut log = DiskLog::open(dir.path()).unwrap();
    log.append(&issue(2)).unwrap();
    assert_eq!(numbers(&log), [1, 2]);
}

#[test]
fn reading_a_torn_tail_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = DiskLog::open(dir.path()).unwrap();
    log.append_batch(&[issue(1), issue(2)]).unwrap();
    let good = log.total_size();
    drop(log);
    append_bytes(
        &growing(dir.path()),
        format!("REC@{good:x}+40=part").as_bytes(),
    );
    let before = snapshot(dir.path());

    let log = DiskLog::open_read_only(dir.path()).unwrap();
    let t = log
        .open_report()
        .unread_tail
        .clone()
        .expect("tail reported");
    assert_eq!((t.offset, t.dropped), (good, 14));
    assert_eq!(log.open_report().truncated, None);
    assert_eq!(numbers(&log), [1, 2]);
    assert_eq!(Corpus::load(&log).unwrap().stats().github_issues, 2);
    assert!(matches!(
        DiskLog::open_read_only(dir.path())
            .unwrap()
            .append_raw(b"x"),
        Err(LogError::ReadOnly { .. })
    ));
    assert!(
        disklog::verify(dir.path()).is_err(),
        "verify reports the tail"
    );
    assert_eq!(snapshot(dir.path()), before, "readers wrote nothing");
}

/// Read-only open finds the end of the whole records in chunks, so a Go day file holding a
/// whole log is not read into memory at once; it must still tell a tail a crash left from
/// corruption, across the chunks.
#[test]
fn a_reader_tells_a_torn_or_zeroed_tail_of_a_large_day_file_from_corruption() {
    let dir = tempfile::tempdir().unwrap();
    // Day files are Go's layout: write whole records in Go's framing, past 1 MiB.
    // Text that looks like a record header, at the end of every payload.
    let body = "x".repeat(3000) + "REC@0+1=x REC@";
    let mut day = Vec::new();
    let mut n = 0;
    while day.len() < (1 << 20) + 5000 {
        n += 1;
        let mut m = issue(n);
        m.github_issue.as_mut().unwrap().body = body.clone();
        let off = day.len() as u64;
        maintner::reclog::write_record(&mut day, off, &prost::Message::encode_to_vec(&m)).unwrap();
    }
    let good = day.len() as u64;
    let path = dir.path().join("maintner-2017-07-01.mutlog");
    let read = |tail: &[u8]| {
        let mut bytes = day.clone();
        bytes.extend_from_slice(tail);
        fs::write(&path, &bytes).unwrap();
        DiskLog::open_read_only(dir.path()).map(|log| {
            let t = log.open_report().unread_tail.clone();
            (t.map(|t| (t.offset, t.dropped)), numbers(&log).len())
        })
    };
    assert_eq!(read(b"").unwrap(), (None, n as usize));
    let torn = format!("REC@{good:x}+9000=partial");
    assert_eq!(
        read(torn.as_bytes()).unwrap(),
        (Some((good, torn.len() as u64)), n as usize)
    );
    assert_eq!(
        read(&[0; 300_000]).unwrap(),
        (Some((good, 300_000)), n as usize)
    );
    // Anything but zeros after a bad header is corruption, even far past the chunk.
    let mut bad = vec![0; 300_000];
    bad[299_999] = 1;
    match read(&bad) {
        Err(LogError::Record { path: p, source }) => {
            assert_eq!((p, source.offset()), (path.clone(), good));
        }
        other => panic!("want a record error, got {other:?}"),
    }
    // A whole file with a bad record inside opens, and loading stops at that record with
    // everything before it applied.
    let mut bytes = day.clone();
    let second = maintner::reclog::parse_record(&day, 0).unwrap().end() as usize;
    bytes[second + 4] = b'z';
    fs::write(&path, &bytes).unwrap();
    let log = DiskLog::open_read_only(dir.path()).unwrap();
    let mut applied = 0;
    let err = log
        .for_each_mutation(|_, _| {
            applied += 1;
            Ok::<_, LogError>(())
        })
        .unwrap_err();
    assert_eq!(applied, 1);
    match err {
        LogError::Record { path: p, source } => {
            assert_eq!((p, source.offset()), (path.clone(), second as u64));
        }
        other => panic!("want a record error, got {other:?}"),
    }
    assert!(matches!(Corpus::load(&log), Err(LogError::Record { .. })));
}

#[test]
fn a_directory_without_a_log_is_a_clear_error_for_readers() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("notes.txt"), "not a log").unwrap();
    for d in [dir.path().to_path_buf(), dir.path().join("missing")] {
        let err = DiskLog::open_read_only(&d).err().expect("no log");
        assert!(matches!(err, LogError::NoLog { .. }), "{err}");
        assert!(err.to_string().contains("no mutation log"), "{err}");
        assert!(maintner::bench::corpus_load(&d).is_err());
    }
    assert!(
        !dir.path().join("missing").exists(),
        "readers create nothing"
    );
    // A log file named instead of its directory: said so, not "no log here".
    let day_file = dir.path().join("maintner-2017-07-01.mutlog");
    let mut day = Vec::new();
    maintner::reclog::encode_record(0, &prost::Message::encode_to_vec(&issue(1)), &mut day);
    fs::write(&day_file, day).unwrap();
    let err = DiskLog::open_read_only(&day_file).err().expect("a file");
    assert!(matches!(err, LogError::NotADirectory { .. }), "{err}");
    assert!(err.to_string().contains("name the directory"), "{err}");
    assert!(DiskLog::open_read_only(dir.path()).is_ok());
}

#[test]
fn repair_cuts_a_torn_tail_after_saying_so_and_keeps_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = DiskLog::open(dir.path()).unwrap();
    log.append_batch(&[issue(1), issue(2)]).unwrap();
    let good = log.total_size();
    drop(log);
    let tail = format!("REC@{good:x}+40=part");
    append_bytes(&growing(dir.path()), tail.as_bytes());

    let repair = Repair::plan(dir.path()).unwrap();
    let plan = repair.plan_ref().clone();
    assert_eq!(plan.kept_records, 2);
    let cut = plan.cut.clone().unwrap();
    assert_eq!((cut.segment, cut.offset, cut.dropped), (0, good, 14));
    let text = plan.to_string();
    assert!(
        text.contains(&format!(
            "dropping 14 bytes of {}",
            growing(dir.path()).display()
        )),
        "{text}"
    );
    let saved = repair.apply().unwrap().unwrap();
    assert_eq!(fs::metadata(growing(dir.path())).unwrap().len(), good);
    let kept = fs::read(saved.join(format!("0000.from-{good}.bytes"))).unwrap();
    assert_eq!(kept, tail.as_bytes(), "nothing dropped is lost");
    assert_eq!(disklog::verify(dir.path()).unwrap().records, 2);
}

#[test]
fn repair_cuts_where_a_second_writer_broke_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = DiskLog::open_with(dir.path(), SyncPolicy::Manual).unwrap();
    log.append_batch(&[issue(1), issue(2)]).unwrap();
    log.sync().unwrap();
    let at = log.total_size();
    drop(log);
    // What two writers leave: a record whose header claims an offset another writer
    // already used, followed by more records.
    let data = prost::Message::encode_to_vec(&issue(3));
    let mut bytes = Vec::new();
    maintner::reclog::encode_record(at - 10, &data, &mut bytes);
    maintner::reclog::encode_record(at + bytes.len() as u64, &data, &mut bytes);
    append_bytes(&growing(dir.path()), &bytes);
    let err = DiskLog::open(dir.path())
        .err()
        .expect("corrupt middle refused");
    assert!(err.to_string().contains("claims offset"), "{err}");
    let before = snapshot(dir.path());

    let repair = Repair::plan(dir.path()).unwrap();
    assert_eq!(snapshot(dir.path()), before, "planning changes nothing");
    let cut = repair.plan_ref().cut.clone().unwrap();
    assert_eq!((cut.offset, cut.dropped), (at, bytes.len() as u64));
    assert!(cut.reason.contains("claims offset"), "{}", cut.reason);
    repair.apply().unwrap();

    let mut log = DiskLog::open(dir.path()).unwrap();
    assert_eq!(numbers(&log), [1, 2]);
    log.append(&issue(4)).unwrap();
    assert_eq!(numbers(&log), [1, 2, 4]);
}

#[test]
fn repair_of_a_whole_log_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    DiskLog::open(dir.path())
        .unwrap()
        .append(&issue(1))
        .unwrap();
    let before = snapshot(dir.path());
    let repair = Repair::plan(dir.path()).unwrap();
    assert!(repair.plan_ref().is_empty());
    assert!(repair.plan_ref().to_string().contains("nothing to drop"));
    assert_eq!(repair.apply().unwrap(), None);
    assert_eq!(snapshot(dir.path()), before);
}
