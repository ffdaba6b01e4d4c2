//! A log written by Go's maintner loads to exactly what Go loads from it
//! (testdata/maintner-go/expected.txt).

use std::path::PathBuf;

use maintner::{dump, Corpus, DiskLog, SyncPolicy};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/maintner-go")
        .join(name)
}

/// Go's `ForeachLabel` walks a map, so the order of a repo's `label` lines in expected.txt
/// is Go's random map order. Sort each run of label lines before comparing; every other
/// line must match in place.
fn normalize(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut run: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with("  label ") {
            run.push(line.to_owned());
            continue;
        }
        run.sort();
        out.append(&mut run);
        out.push(line.to_owned());
    }
    run.sort();
    out.append(&mut run);
    out
}

fn assert_same(got: &str, want: &str) {
    let (got, want) = (normalize(got), normalize(want));
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "line {}", i + 1);
    }
    assert_eq!(got.len(), want.len(), "line count");
}

#[test]
fn go_log_loads_to_expected_txt() {
    let path = data("maintner-2017-07-01.mutlog");
    let bytes = std::fs::read(&path).unwrap();
    let mut corpus = Corpus::default();
    assert_eq!(corpus.apply_reclog(&bytes, &path).unwrap(), 48);
    let want = std::fs::read_to_string(data("expected.txt")).unwrap();
    assert_same(&dump::render(&corpus), &want);
}

#[test]
fn go_log_copied_into_a_disklog_loads_the_same() {
    let bytes = std::fs::read(data("maintner-2017-07-01.mutlog")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut log = DiskLog::open_with(dir.path(), SyncPolicy::Manual).unwrap();
    for rec in maintner::reclog::records(&bytes, 0) {
        log.append_raw(rec.unwrap().data).unwrap();
    }
    log.sync().unwrap();
    let corpus = Corpus::load(&DiskLog::open_read_only(dir.path()).unwrap()).unwrap();
    let want = std::fs::read_to_string(data("expected.txt")).unwrap();
    assert_same(&dump::render(&corpus), &want);
}

/// The records of the Go-written day file, re-framed into files of `sizes` records each
/// (offsets from 0 in every file, as each of Go's files and segments has them).
fn split_records(sizes: &[usize]) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(data("maintner-2017-07-01.mutlog")).unwrap();
    let mut recs = maintner::reclog::records(&bytes, 0).map(|r| r.unwrap().data);
    let mut files = Vec::new();
    for &n in sizes {
        let mut file = Vec::new();
        for data in recs.by_ref().take(n) {
            maintner::reclog::encode_record(file.len() as u64, data, &mut file);
        }
        files.push(file);
    }
    assert!(recs.next().is_none(), "sizes cover all 48 records");
    files
}

fn load_rendered(dir: &std::path::Path) -> String {
    dump::render(&Corpus::load(&DiskLog::open_read_only(dir).unwrap()).unwrap())
}

#[test]
fn a_directory_of_go_day_files_loads_to_expected_txt() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in ["maintner-2017-07-01.mutlog", "maintner-2017-07-02.mutlog"]
        .iter()
        .zip(split_records(&[20, 28]))
    {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let want = std::fs::read_to_string(data("expected.txt")).unwrap();
    assert_same(&load_rendered(dir.path()), &want);
    let report = maintner::bench::corpus_load(dir.path()).unwrap();
    assert_eq!(report.mutations, 48);

    // Go's day files are never written to: a writer, or a repair, says so and how to
    // convert them.
    let err = DiskLog::open(dir.path()).err().expect("writer refused");
    assert!(err.to_string().contains("day files"), "{err}");
    let err = maintner::Repair::plan(dir.path())
        .err()
        .expect("repair refused");
    assert!(err.to_string().contains("day files"), "{err}");
    let ours = dir.path().join("converted");
    assert_eq!(maintner::disklog::copy_log(dir.path(), &ours).unwrap(), 48);
    assert_same(&load_rendered(&ours), &want);
    assert_eq!(maintner::verify(&ours).unwrap().records, 48);
}

#[test]
fn a_go_network_cache_directory_loads_to_expected_txt() {
    use maintner::disklog::{frozen_file_name, growing_file_name};
    let dir = tempfile::tempdir().unwrap();
    let files = split_records(&[20, 14, 14]);
    let sha = |b: &[u8]| hex::encode(<sha2::Sha224 as sha2::Digest>::digest(b));
    // What Go's netsource leaves: a frozen segment with a stale partial copy beside it,
    // a complete segment still under its growing name (its URL was not on Cloud Storage),
    // the growing segment, and a temporary file.
    let d = dir.path();
    std::fs::write(d.join(frozen_file_name(0, &sha(&files[0]))), &files[0]).unwrap();
    std::fs::write(d.join(growing_file_name(0)), &files[0][..100]).unwrap();
    std::fs::write(d.join(growing_file_name(1)), &files[1]).unwrap();
    std::fs::write(d.join(growing_file_name(2)), &files[2]).unwrap();
    std::fs::write(d.join("tempseg123456"), b"partial download").unwrap();
    let want = std::fs::read_to_string(data("expected.txt")).unwrap();
    assert_same(&load_rendered(d), &want);
    assert_eq!(maintner::bench::corpus_load(d).unwrap().mutations, 48);

    // A writer seals the complete copy under its SHA-224 and appends after the last one.
    let log = DiskLog::open(d).unwrap();
    let segs = log.segments();
    assert_eq!(segs.len(), 3);
    assert_eq!(segs[1].path, d.join(frozen_file_name(1, &sha(&files[1]))));
    assert!(segs[2].growing);
    drop(log);
    assert_same(&load_rendered(d), &want);
}
