//! Loading a corpus from the disk log: incremental catch-up, errors mid-log.

use maintner::synth::{self, numbered_issue as issue};
use maintner::{Corpus, DiskLog, LogError, SyncPolicy};

#[test]
fn catch_up_applies_only_new_records_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = DiskLog::open_with(dir.path(), SyncPolicy::Manual).unwrap();
    let ms: Vec<_> = (1..=500).map(issue).collect();
    log.append_batch(&ms[..200]).unwrap();
    let mut c = Corpus::load(&log).unwrap();
    assert_eq!(c.stats().github_issues, 200);
    assert_eq!(c.catch_up(&log).unwrap(), 0);
    log.append_batch(&ms[200..]).unwrap();
    assert_eq!(c.catch_up(&log).unwrap(), 300);
    assert_eq!(c.stats().github_issues, 500);
    assert_eq!(c.stats().mutations.total, 500);
    // A big record seals the segment; catching up continues into the next one.
    let mut big = issue(501);
    big.github_issue.as_mut().unwrap().body = "b".repeat(17 << 20);
    log.append(&big).unwrap();
    log.append(&issue(502)).unwrap();
    assert!(log.segments().len() >= 2);
    assert_eq!(c.catch_up(&log).unwrap(), 2);
    assert_eq!(c.stats().github_issues, 502);
}

#[test]
fn load_stops_at_a_bad_record_after_applying_what_precedes_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = DiskLog::open_with(dir.path(), SyncPolicy::Manual).unwrap();
    let bad = synth::issues_then_a_bad_record(&mut log, 3000).unwrap();
    let mut c = Corpus::default();
    match c.catch_up(&log) {
        Err(LogError::Decode { offset, .. }) => assert_eq!(offset, bad.offset),
        other => panic!("want a decode error, got {other:?}"),
    }
    assert_eq!(c.stats().github_issues, 3000);
    assert_eq!(c.stats().mutations.total, 3000);
}

/// Loading decodes and parses on several threads; the corpus must be the one that
/// applying every mutation in order on one thread builds.
#[test]
fn load_on_several_threads_applies_in_log_order() {
    let dir = tempfile::tempdir().unwrap();
    let spec = maintner::bench::GenSpec::default().scaled(0.02);
    maintner::bench::generate(dir.path(), &spec).unwrap();
    let log = DiskLog::open_read_only(dir.path()).unwrap();
    let mut one_by_one = Corpus::default();
    log.for_each_mutation(|_, m| {
        one_by_one.apply(&m);
        Ok::<_, LogError>(())
    })
    .unwrap();
    let loaded = Corpus::load(&log).unwrap();
    assert!(loaded.stats().git_commits > 2000);
    assert_eq!(loaded.stats(), one_by_one.stats());
    assert_eq!(
        maintner::dump::render(&loaded),
        maintner::dump::render(&one_by_one)
    );
    // Loading builds the indexes once at the end.
    assert_eq!(issue_indexes(&loaded), issue_indexes(&one_by_one));
    assert_eq!(cl_indexes(&loaded), cl_indexes(&one_by_one));
    assert!(cl_indexes(&loaded).iter().any(|ix| !ix.by_vote.is_empty()));
}

fn cl_indexes(c: &Corpus) -> Vec<&maintner::gerrit::ClIndex> {
    let g = c.gerrit();
    g.project_ids().map(|id| &g.project(id).index).collect()
}

fn issue_indexes(c: &Corpus) -> Vec<&maintner::github::IssueIndex> {
    let gh = c.github();
    gh.repos_sorted(c.strings())
        .into_iter()
        .map(|id| &gh.repo(id).index)
        .collect()
}

/// Loading builds the issue indexes once at the end; they must be the ones that keeping
/// them up to date mutation by mutation builds, whatever moved an issue between indexes.
#[test]
fn issue_indexes_built_at_the_end_of_a_load_match_incremental_ones() {
    use maintner::maintpb::{BoolChange, GithubIssueCommentMutation, GithubLabel, Timestamp};
    let edit = |n: i32, f: &dyn Fn(&mut maintner::maintpb::GithubIssueMutation)| {
        let mut m = issue(n);
        let im = m.github_issue.as_mut().unwrap();
        *im = maintner::maintpb::GithubIssueMutation {
            owner: "golang".into(),
            repo: "go".into(),
            number: n,
            ..Default::default()
        };
        f(im);
        m
    };
    let mut ms: Vec<_> = (1..=300).map(issue).collect();
    for n in (1..=300).step_by(3) {
        ms.push(edit(n, &|i| {
            i.add_label = vec![GithubLabel {
                id: 7 + i64::from(i.number % 4),
                name: format!("L{}", i.number % 4),
            }];
            i.updated = Some(Timestamp::from_unix(1000 + i64::from(i.number)));
        }));
    }
    for n in (1..=300).step_by(5) {
        ms.push(edit(n, &|i| {
            i.closed = Some(BoolChange { val: true });
            i.title = format!("renamed {}", i.number);
            i.remove_label = vec![7];
            i.milestone_id = 40;
            i.milestone_title = "Go1.30".into();
        }));
    }
    for n in (2..=300).step_by(7) {
        ms.push(edit(n, &|i| i.not_exist = true));
    }
    for n in (2..=300).step_by(14) {
        ms.push(edit(n, &|i| {
            i.comment = vec![GithubIssueCommentMutation {
                id: 10_000 + i64::from(i.number),
                body: "back".into(),
                ..Default::default()
            }]
        }));
    }
    let dir = tempfile::tempdir().unwrap();
    let mut log = DiskLog::open_with(dir.path(), SyncPolicy::Manual).unwrap();
    log.append_batch(&ms).unwrap();
    let mut one_by_one = Corpus::default();
    for m in &ms {
        one_by_one.apply(m);
    }
    let mut loaded = Corpus::load(&log).unwrap();
    assert_eq!(issue_indexes(&loaded), issue_indexes(&one_by_one));
    assert!(!issue_indexes(&loaded)[0].by_label.is_empty());
    // After the load, the indexes are kept up to date again.
    let reopen = edit(2, &|i| i.title = "reopened".into());
    log.append(&reopen).unwrap();
    one_by_one.apply(&reopen);
    assert_eq!(loaded.catch_up(&log).unwrap(), 1);
    assert_eq!(issue_indexes(&loaded), issue_indexes(&one_by_one));
}

/// Segments are checked against their SHA-224 ahead of reading, on another thread; a
/// tampered segment still stops the load before any of its records, after every record
/// of the segments before it.
#[test]
fn load_stops_at_a_tampered_segment_after_applying_the_ones_before() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = DiskLog::open_with(dir.path(), SyncPolicy::Manual).unwrap();
    let big = |n| {
        let mut m = issue(n);
        m.github_issue.as_mut().unwrap().body = "b".repeat(9 << 20);
        m
    };
    // Two of these pass a segment's 16 MiB: each gets a segment of its own.
    log.append_batch(&[big(1), big(2), big(3), big(4), issue(5)])
        .unwrap();
    let segments = log.segments();
    assert!(segments.len() >= 3, "{segments:?}");
    let tampered = segments[1].path.clone();
    drop(log);
    let mut bytes = std::fs::read(&tampered).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&tampered, &bytes).unwrap();

    let log = DiskLog::open_read_only(dir.path()).unwrap();
    let mut c = Corpus::default();
    match c.catch_up(&log) {
        Err(LogError::Checksum { path, .. }) => assert_eq!(path, tampered),
        other => panic!("want a checksum error, got {other:?}"),
    }
    assert_eq!(
        c.stats().github_issues,
        1,
        "segment 0's issue, nothing after it"
    );
}
