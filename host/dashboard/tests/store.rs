//! The results store on a real sqlite file: keys, logs, try results, clearing, building
//! markers, concurrent writers, several connections (as several processes), schema
//! versions and bad input.

use dashboard::store::{db_path, now};
use dashboard::{
    log_hash, BuildResult, Building, Error, NewResult, ResultKey, ResultQuery, Store, Work,
};
use maintner::time::Time;
use std::time::Duration;

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&db_path(dir.path())).unwrap();
    (dir, store)
}

fn result(key: ResultKey, ok: bool, log: Option<&str>) -> NewResult {
    NewResult {
        key,
        ok,
        started: Time::from_unix(1_700_000_000),
        run_time: Duration::from_millis(1500),
        log: log.map(str::to_string),
    }
}

fn commits(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn builders(rs: &[BuildResult]) -> Vec<(&str, &str, &str)> {
    rs.iter()
        .map(|r| {
            (
                r.key.builder.as_str(),
                r.key.commit.as_str(),
                r.key.go_commit.as_str(),
            )
        })
        .collect()
}

#[test]
fn results_for_lists_post_submit_results_in_commit_order() {
    let (_d, s) = open();
    s.record(&result(ResultKey::go("linux-amd64", "c2"), true, None))
        .unwrap();
    s.record(&result(
        ResultKey::go("darwin-amd64", "c1"),
        false,
        Some("boom"),
    ))
    .unwrap();
    s.record(&result(ResultKey::go("linux-386", "c1"), true, None))
        .unwrap();
    s.record(&result(ResultKey::go("linux-amd64", "c3"), true, None))
        .unwrap();
    // A try run of c1 is kept apart.
    let try_key = ResultKey::go("linux-amd64", "c1").with_work(Work::Try {
        change: 1234,
        patch_set: 2,
    });
    s.record(&result(try_key.clone(), false, Some("try log")))
        .unwrap();
    // Another repo's commit with the same hash is not go's.
    s.record(&result(
        ResultKey::post_submit("linux-amd64", "net", "c1", "c2"),
        true,
        None,
    ))
    .unwrap();

    let got = s.results_for("go", &commits(&["c1", "c2"])).unwrap();
    assert_eq!(
        builders(&got),
        [
            ("darwin-amd64", "c1", ""),
            ("linux-386", "c1", ""),
            ("linux-amd64", "c2", "")
        ]
    );
    assert_eq!(got[0].log_hash, log_hash("boom"));
    assert!(!got[0].ok && got[1].ok);
    assert_eq!(got[0].started, Time::from_unix(1_700_000_000));
    assert_eq!(got[0].run_time, Duration::from_millis(1500));

    assert!(s.has_result(&try_key).unwrap());
    assert!(!s.has_result(&ResultKey::go("linux-amd64", "c1")).unwrap());
    assert!(s
        .has_result(&ResultKey::post_submit("linux-amd64", "net", "c1", "c2"))
        .unwrap());
    assert!(!s
        .has_result(&ResultKey::post_submit("linux-amd64", "net", "c1", "c3"))
        .unwrap());

    let tries = s
        .query(&ResultQuery {
            try_work: Some(true),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(tries.len(), 1);
    assert_eq!(
        tries[0].key.work,
        Work::Try {
            change: 1234,
            patch_set: 2
        }
    );
    assert!(s.results_for::<&str>("go", &[]).unwrap().is_empty());
}

#[test]
fn a_second_result_for_the_same_build_replaces_the_first() {
    let (_d, s) = open();
    let key = ResultKey::post_submit("linux-amd64", "net", "n1", "g1");
    s.record(&result(key.clone(), false, Some("first failure")))
        .unwrap();
    s.record(&result(key.clone(), true, None)).unwrap();
    let r = s.result(&key).unwrap().unwrap();
    assert!(r.ok);
    assert_eq!(r.log_hash, "");
    assert_eq!(s.sizes().unwrap().results, 1);
    // The first log stays readable at its URL, as in Go.
    assert_eq!(
        s.log(&log_hash("first failure")).unwrap().as_deref(),
        Some("first failure")
    );
}

#[test]
fn logs_are_stored_once_gzipped_and_served_back() {
    let (_d, s) = open();
    let log = "##### Building packages and commands.\n".repeat(200) + "--- FAIL: TestX\n";
    for (i, b) in ["linux-amd64", "linux-386", "windows-amd64"]
        .iter()
        .enumerate()
    {
        let h = s
            .record(&result(
                ResultKey::go(b, &format!("c{i}")),
                false,
                Some(&log),
            ))
            .unwrap();
        assert_eq!(h, log_hash(&log));
    }
    let sizes = s.sizes().unwrap();
    assert_eq!((sizes.results, sizes.logs), (3, 1));
    assert_eq!(sizes.log_bytes, log.len() as u64);
    assert!(sizes.log_bytes_stored * 20 < sizes.log_bytes, "{sizes:?}");
    assert_eq!(s.log(&log_hash(&log)).unwrap().unwrap(), log);
    assert_eq!(s.log(&log_hash("never stored")).unwrap(), None);
    // An empty log is no log (Go stores a log only when there is text).
    assert_eq!(
        s.record(&result(ResultKey::go("b", "c9"), false, Some("")))
            .unwrap(),
        ""
    );
}

#[test]
fn a_corrupt_log_is_an_error_naming_it() {
    let (dir, s) = open();
    let h = s
        .record(&result(ResultKey::go("b", "c"), false, Some("the log")))
        .unwrap();
    let conn = rusqlite::Connection::open(db_path(dir.path())).unwrap();
    conn.execute(
        "UPDATE logs SET gz = x'1f8b0800deadbeef' WHERE hash = ?1",
        [&h],
    )
    .unwrap();
    let e = s.log(&h).unwrap_err();
    assert!(matches!(e, Error::CorruptLog { .. }), "{e:?}");
    assert!(
        e.to_string().starts_with(&format!("log {h} is corrupt")),
        "{e}"
    );
    // The result is still there.
    assert!(s.has_result(&ResultKey::go("b", "c")).unwrap());
}

#[test]
fn clearing_results() {
    let (_d, s) = open();
    for c in ["c1", "c2", "c3"] {
        s.record(&result(ResultKey::go("linux-amd64", c), false, None))
            .unwrap();
        s.record(&result(ResultKey::go("linux-386", c), false, None))
            .unwrap();
    }
    s.record(&result(
        ResultKey::post_submit("linux-amd64", "net", "c2", "c1"),
        true,
        None,
    ))
    .unwrap();
    let try_key = ResultKey::go("linux-amd64", "c2").with_work(Work::Try {
        change: 7,
        patch_set: 1,
    });
    s.record(&result(try_key.clone(), false, None)).unwrap();

    // Listed commits: in every repo, post-submit only, this builder only.
    assert_eq!(
        s.clear_builder("linux-amd64", Some(&commits(&["c2", "zz"])))
            .unwrap(),
        2
    );
    assert!(!s.has_result(&ResultKey::go("linux-amd64", "c2")).unwrap());
    assert!(s.has_result(&ResultKey::go("linux-386", "c2")).unwrap());
    assert!(s.has_result(&try_key).unwrap());
    // All of a builder's post-submit results.
    assert_eq!(s.clear_builder("linux-amd64", None).unwrap(), 2);
    assert_eq!(
        s.sizes().unwrap().results,
        4,
        "linux-386 ×3 and the try run"
    );
    assert!(s.clear(&try_key).unwrap());
    assert!(!s.clear(&try_key).unwrap());
}

#[test]
fn retry_clears_one_result_by_commit_prefix() {
    let (_d, s) = open();
    s.record(&result(ResultKey::go("linux-amd64", "abc111"), false, None))
        .unwrap();
    s.record(&result(ResultKey::go("linux-amd64", "abc222"), false, None))
        .unwrap();
    s.record(&result(
        ResultKey::post_submit("linux-amd64", "net", "def333", "g1"),
        true,
        None,
    ))
    .unwrap();
    s.record(&result(
        ResultKey::post_submit("linux-amd64", "net", "def333", "g2"),
        true,
        None,
    ))
    .unwrap();

    let e = s.retry("linux-amd64", "abc", None).unwrap_err();
    assert!(matches!(&e, Error::Ambiguous(c) if c.len() == 2), "{e:?}");
    let e = s.retry("linux-386", "abc111", None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "no post-submit result of linux-386 at abc111"
    );
    assert!(s.retry("linux-amd64", "", None).is_err());

    let r = s.retry("linux-amd64", "abc1", None).unwrap();
    assert_eq!(r.key, ResultKey::go("linux-amd64", "abc111"));
    assert!(!s.has_result(&r.key).unwrap());
    assert!(s
        .has_result(&ResultKey::go("linux-amd64", "abc222"))
        .unwrap());

    // A subrepo commit built against two Go commits needs to say which.
    assert!(matches!(
        s.retry("linux-amd64", "def333", None),
        Err(Error::Ambiguous(_))
    ));
    let r = s.retry("linux-amd64", "def333", Some("g2")).unwrap();
    assert_eq!(r.key.go_commit, "g2");
}

#[test]
fn building_markers_expire_and_end_with_the_result() {
    let (_d, s) = open();
    let at = now();
    let mark = |commit: &str, expires: Time| Building {
        builder: "linux-amd64".into(),
        repo: "go".into(),
        commit: commit.into(),
        go_commit: String::new(),
        url: format!("http://farmer/temporarylogs?rev={commit}"),
        expires,
    };
    let later = Time::from_nanos(at.nanos() + 600_000_000_000);
    s.set_building(&mark("c1", later)).unwrap();
    s.set_building(&mark("c2", Time::from_nanos(at.nanos() - 1)))
        .unwrap();
    let live = s.building(at).unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0], mark("c1", later));

    // A new ping moves the expiry.
    let even_later = Time::from_nanos(later.nanos() + 60_000_000_000);
    s.set_building(&mark("c1", even_later)).unwrap();
    assert_eq!(s.building(at).unwrap()[0].expires, even_later);
    assert!(s.building(even_later).unwrap().is_empty());

    // The result ends it.
    s.record(&result(ResultKey::go("linux-amd64", "c1"), true, None))
        .unwrap();
    assert!(s.building(at).unwrap().is_empty());
}

#[test]
fn concurrent_writers_lose_nothing() {
    let (dir, shared) = open();
    let path = db_path(dir.path());
    let threads: Vec<_> = (0..8)
        .map(|t| {
            // Half share one store, half open their own (as other processes would).
            let s = if t % 2 == 0 {
                shared.clone()
            } else {
                Store::open(&path).unwrap()
            };
            std::thread::spawn(move || {
                for i in 0..40 {
                    let log = format!("log of build {t}/{i}\n").repeat(50);
                    s.record(&result(
                        ResultKey::go(&format!("builder-{t}"), &format!("c{i}")),
                        i % 3 != 0,
                        Some(&log),
                    ))
                    .unwrap();
                    // Readers run beside the writers.
                    assert!(!s.results_for("go", &[format!("c{i}")]).unwrap().is_empty());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let sizes = shared.sizes().unwrap();
    assert_eq!((sizes.results, sizes.logs), (320, 320));
    let c0: Vec<String> = (0..40).map(|i| format!("c{i}")).collect();
    assert_eq!(shared.results_for("go", &c0).unwrap().len(), 320);
}

#[test]
fn another_connection_sees_writes_at_once() {
    let (dir, a) = open();
    let b = Store::open(&db_path(dir.path())).unwrap();
    assert!(b.recent(10).unwrap().is_empty());
    a.record(&result(ResultKey::go("linux-amd64", "c1"), true, None))
        .unwrap();
    assert_eq!(b.recent(10).unwrap().len(), 1);
    b.clear(&ResultKey::go("linux-amd64", "c1")).unwrap();
    assert!(a.recent(10).unwrap().is_empty());
}

#[test]
fn recent_and_per_builder_results_are_newest_first() {
    let (_d, s) = open();
    for c in ["c1", "c2", "c3"] {
        s.record(&result(ResultKey::go("linux-amd64", c), true, None))
            .unwrap();
        s.record(&result(ResultKey::go("linux-386", c), true, None))
            .unwrap();
    }
    let recent = s.recent(2).unwrap();
    assert_eq!(
        builders(&recent),
        [("linux-386", "c3", ""), ("linux-amd64", "c3", "")]
    );
    let mine = s
        .query(&ResultQuery {
            builder: Some("linux-amd64".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        builders(&mine),
        [
            ("linux-amd64", "c3", ""),
            ("linux-amd64", "c2", ""),
            ("linux-amd64", "c1", "")
        ]
    );
}

#[test]
fn bad_results_are_refused_with_the_reason() {
    let (_d, s) = open();
    let e = s
        .record(&result(ResultKey::go("", "c1"), true, None))
        .unwrap_err();
    assert_eq!(e.to_string(), "bad result: builder is empty");
    let e = s
        .record(&result(ResultKey::go("b", ""), true, None))
        .unwrap_err();
    assert_eq!(e.to_string(), "bad result: commit is empty");
    let key = ResultKey::go("b", "c").with_work(Work::Try {
        change: 0,
        patch_set: 1,
    });
    let e = s.record(&result(key, true, None)).unwrap_err();
    assert!(e.to_string().contains("try work needs a change"), "{e}");
    let mut long = result(ResultKey::go("b", "c"), true, None);
    long.run_time = Duration::MAX;
    assert!(s
        .record(&long)
        .unwrap_err()
        .to_string()
        .contains("too long"));
    assert_eq!(s.sizes().unwrap().results, 0);
}

#[test]
fn schema_is_versioned_and_a_newer_one_is_refused() {
    let (dir, s) = open();
    s.record(&result(ResultKey::go("b", "c"), true, None))
        .unwrap();
    drop(s);
    let path = db_path(dir.path());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, dashboard::SCHEMA_VERSION);
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    // Reopening keeps the data.
    assert_eq!(Store::open(&path).unwrap().sizes().unwrap().results, 1);

    conn.pragma_update(None, "user_version", 99).unwrap();
    let e = Store::open(&path).err().expect("a newer schema is refused");
    assert_eq!(
        e.to_string(),
        format!(
            "{} has schema version 99, newer than this program knows ({})",
            path.display(),
            dashboard::SCHEMA_VERSION
        )
    );
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(dir.path());
    std::fs::write(&path, "this is not a database, but it is long enough to look like one at first glance, surely; more bytes here.").unwrap();
    let e = Store::open(&path).err().expect("refused");
    assert!(e.to_string().contains("dashboard.db"), "{e}");
    // The file is left as it was.
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .starts_with("this is not a database"));
}

#[tokio::test]
async fn async_callers_run_the_store_off_the_runtime() {
    let (_d, s) = open();
    let r = result(ResultKey::go("linux-amd64", "c1"), true, None);
    s.run(move |s| s.record(&r)).await.unwrap();
    let n = s.run(|s| Ok(s.recent(5)?.len())).await.unwrap();
    assert_eq!(n, 1);
}

#[test]
fn repos_and_the_change_counter() {
    let (_d, s) = open();
    assert!(s.repos().unwrap().is_empty());
    assert_eq!(s.changes(), 0);
    for (repo, commit) in [("net", "n1"), ("go", "g1"), ("net", "n2"), ("build", "b1")] {
        let key = ResultKey::post_submit("linux-amd64", repo, commit, "");
        s.record(&result(key, true, None)).unwrap();
    }
    assert_eq!(s.repos().unwrap(), ["build", "go", "net"]);
    assert_eq!(s.changes(), 4, "one per write");
    s.results_for("go", &["g1"]).unwrap();
    assert_eq!(s.changes(), 4, "reads change nothing");
    s.clear(&ResultKey::go("linux-amd64", "g1")).unwrap();
    assert_eq!(s.changes(), 5);
    assert_eq!(s.repos().unwrap(), ["build", "net"]);
}
