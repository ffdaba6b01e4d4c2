//! The synthetic log generator writes the shape it is asked for, and the load benchmark
//! reads it back (figures themselves are measured by the examples, not asserted).

use maintner::bench::{self, GenSpec};

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
    assert!(gen.mutations > 60 + 120);
    let (report, mut corpus) = bench::load_corpus(dir.path()).unwrap();
    assert_eq!(report.mutations, gen.mutations);
    assert_eq!(report.log_bytes, gen.bytes);
    assert_eq!(
        (report.issues, report.comments, report.changes),
        (60, 300, 8)
    );
    // Branch history plus each change's patch set commits and NoteDB metas.
    assert!(report.commits > 120 + 8 * 3, "{}", report.commits);
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
