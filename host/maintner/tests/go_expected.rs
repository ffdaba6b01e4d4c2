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
    let corpus = Corpus::load(&DiskLog::open(dir.path()).unwrap()).unwrap();
    let want = std::fs::read_to_string(data("expected.txt")).unwrap();
    assert_same(&dump::render(&corpus), &want);
}
