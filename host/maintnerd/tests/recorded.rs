//! The recorded corpus in `plugin-tests/corpus/`: it loads, holds what the fixtures say,
//! and re-recording reproduces it byte for byte.

use std::path::{Path, PathBuf};

use maintner::{Corpus, DiskLog};
use maintnerd::fixture::TryState;
use maintnerd::record::{self, RecordOptions};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn committed_segment() -> PathBuf {
    let dir = repo_root().join("plugin-tests/corpus/log");
    let mut segs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "mutlog"))
        .collect();
    assert_eq!(segs.len(), 1, "{segs:?}");
    segs.pop().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerecording_reproduces_the_committed_corpus() {
    let committed = committed_segment();
    let report = maintner::verify(committed.parent().unwrap()).unwrap();
    assert!(report.records > 0);

    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let opts = RecordOptions::committed(&repo_root().join("testdata"));
    let r = record::record(&opts, &out, tmp.path()).await.unwrap();
    assert_eq!(
        r.segment.file_name(),
        committed.file_name(),
        "re-recording gave different bytes; re-record (see plugin-tests/corpus/README.md)"
    );

    let corpus =
        Corpus::load(&DiskLog::open_read_only(committed.parent().unwrap()).unwrap()).unwrap();
    let stats = corpus.stats();
    assert_eq!(stats.git_commits as usize, r.gerrit.commits);
    assert_eq!(stats.gerrit_cls as usize, r.fixture.changes.len());
    assert_eq!(stats.github_issues, r.github.issues_changed as u64);
    assert!(stats.github_issues > opts.issues as u64);
    let mut want: Vec<i32> = r
        .fixture
        .changes
        .iter()
        .filter(|c| c.state.is_try_work())
        .map(|c| c.number)
        .collect();
    let mut got: Vec<i32> = corpus.try_work().iter().map(|w| w.cl).collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    assert_eq!(
        r.fixture
            .changes
            .iter()
            .filter(|c| c.state == TryState::Merged)
            .count(),
        400 + 1,
        "the 400 newest reviewed commits of the history, and the backport"
    );
}
