//! The synthetic log generator writes the shape it is asked for, as Go's maintner logs it,
//! and the load benchmark reads it back (figures themselves are measured by the examples,
//! not asserted).

use maintner::bench::{self, GenSpec};
use maintner::DiskLog;

#[test]
fn generated_log_has_the_requested_shape_and_loads() {
    let dir = tempfile::tempdir().unwrap();
    let spec = GenSpec {
        issues: 60,
        comments: 300,
        changes: 8,
        commits: 120,
    };
    let gen = bench::generate(dir.path(), &spec).unwrap();
    let (report, mut corpus) = bench::load_corpus(dir.path()).unwrap();
    assert_eq!(report.mutations, gen.mutations);
    assert_eq!(report.log_bytes, gen.bytes);
    assert_eq!(
        (
            report.issues,
            report.comments,
            report.changes,
            report.commits
        ),
        (60, 300, 8, 120)
    );
    assert!(report.peak_rss_kb > 0 && report.seconds > 0.0);
    assert!(maintner::verify(dir.path()).is_ok());
    let lat = bench::trywork_latency(&mut corpus, 30);
    assert_eq!(lat.samples, 30);
    assert!(lat.p50_us <= lat.p99_us && lat.p99_us <= lat.max_us);
    assert!(
        lat.apply_p50_us <= lat.p50_us,
        "apply is part of each sample"
    );
}

/// Go's Gerrit poller logs each commit in a mutation of its own and the refs that moved
/// in a later one; its GitHub poller logs comments in pages of at most 100, the last one
/// with the sync status.
#[test]
fn generated_log_is_shaped_like_gos() {
    let dir = tempfile::tempdir().unwrap();
    let spec = GenSpec {
        issues: 3,
        comments: 250,
        changes: 4,
        commits: 80,
    };
    bench::generate(dir.path(), &spec).unwrap();
    let log = DiskLog::open(dir.path()).unwrap();
    let (mut commit_muts, mut ref_muts, mut comments, mut statuses) = (0, 0, 0, 0);
    log.for_each_mutation(|_, m| {
        if let Some(g) = &m.gerrit {
            assert!(g.commits.len() + g.refs.len() > 0);
            assert!(g.commits.is_empty() || (g.commits.len() == 1 && g.refs.is_empty()));
            commit_muts += g.commits.len();
            ref_muts += usize::from(!g.refs.is_empty());
        }
        if let Some(i) = &m.github_issue {
            if i.comment_status.is_some() || !i.comment.is_empty() {
                assert!(i.comment.len() <= 100);
                comments += i.comment.len();
                statuses += usize::from(i.comment_status.is_some());
            }
        }
        Ok::<_, maintner::LogError>(())
    })
    .unwrap();
    assert_eq!(commit_muts, 80);
    assert!(ref_muts > 0 && ref_muts < 80, "{ref_muts} ref mutations");
    assert_eq!(statuses, 3, "one sync status per issue");
    assert_eq!(comments, 250);
}
