//! The fixture builder reproduces the real x/build history as a git repository with Gerrit
//! changes: checked with the git CLI, independently of the ingestion code.

use std::path::Path;

use maintnerd::fixture::{self, FixtureOptions, TryState};
use maintnerd::git;

fn history() -> Vec<fixture::HistoryCommit> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/golang-build-commits.jsonl");
    fixture::read_history(&path).expect("read history")
}

#[test]
fn builds_history_and_gerrit_changes() {
    let history = history();
    assert_eq!(history.len(), 4876);
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("build.git");
    let fx = fixture::build(
        &history,
        &repo,
        &FixtureOptions {
            merged_changes: Some(50),
        },
    )
    .unwrap();
    assert_eq!(fx.commits.len(), history.len());

    // Linear first-parent history with the messages and numstat of the data.
    let all = git::rev_list(&repo, &["refs/heads/master".into()], &[]).unwrap();
    assert_eq!(all, fx.commits);
    let sample: Vec<String> = fx.commits[1000..1010].to_vec();
    let read = git::read_commits(&repo, &sample).unwrap();
    for (c, h) in read.iter().zip(&history[1000..1010]) {
        let raw = String::from_utf8_lossy(&c.raw);
        assert!(raw.ends_with(&h.message), "message of {}", h.hash);
        for f in h.files.iter().filter(|f| !f.path.contains("=>")) {
            let got = c
                .files
                .iter()
                .find(|g| g.file == f.path)
                .expect("file in diff-tree");
            match (f.added, f.deleted) {
                (Some(a), Some(d)) => assert_eq!((got.added, got.deleted), (a, d), "{}", f.path),
                _ => assert!(got.binary, "{} should be binary", f.path),
            }
        }
    }

    // Every change has its patch-set refs and a meta ref whose root says which commit.
    let refs = git::refs(&repo).unwrap();
    let open: Vec<_> = fx
        .changes
        .iter()
        .filter(|c| c.state != TryState::Merged)
        .collect();
    assert_eq!(open.len(), TryState::OPEN.len());
    assert_eq!(fx.changes.len(), 50 + open.len());
    for c in &fx.changes {
        let ps = fixture::change_ref(c.number, &c.patch_sets.to_string());
        let meta = fixture::change_ref(c.number, "meta");
        assert!(refs.iter().any(|(n, h)| n == &ps && h == &c.commit), "{ps}");
        let (_, meta_hash) = refs.iter().find(|(n, _)| n == &meta).expect("meta ref");
        let metas = git::rev_list(&repo, std::slice::from_ref(meta_hash), &[]).unwrap();
        let raw = git::read_commits(&repo, &metas).unwrap();
        let root = String::from_utf8_lossy(&raw[0].raw).to_string();
        assert!(
            root.contains(&format!("Change-id: {}", c.change_id)),
            "{root}"
        );
        let last = String::from_utf8_lossy(&raw[raw.len() - 1].raw).to_string();
        assert!(
            raw.iter().any(|m| String::from_utf8_lossy(&m.raw)
                .contains(&format!("Commit: {}", c.commit))),
            "meta of {} names its current patch set",
            c.number
        );
        if c.state == TryState::Merged {
            assert!(last.contains("Status: merged"), "{last}");
        }
    }
}
