//! The plugin store: a restart restores what served without recompiling, the CLI
//! (another process, here another registry on the same directory) changes what a
//! running host serves, and the watched directory loads or rejects dropped files.

mod common;

use common::{builders_component, open_store as open};

#[test]
fn a_restart_restores_serving_versions_and_history_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = builders_component("p", "1", "(i32.const 1)");
    let v2 = builders_component("p", "2", "(i32.const 0)");
    let id2 = {
        let reg = open(dir.path());
        reg.load(&v1, "v1").unwrap();
        reg.load_and_swap(&v2, "v2").unwrap().serving.id.clone()
    };
    let reg = open(dir.path());
    assert!(reg.runtime().is_cached(&id2), "compiled code is on disk");
    let slot = &reg.list()[0];
    assert_eq!(slot.serving.id, id2);
    assert_eq!(slot.history.len(), 1);
    reg.rollback("p").unwrap();
    assert_eq!(reg.serving("p").unwrap().version.description.version, "1");
    let actions: Vec<_> = reg
        .plugin_store()
        .unwrap()
        .events("p")
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["load", "swap", "rollback"]);
}

#[test]
fn a_running_host_follows_swaps_made_by_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let server = open(dir.path());
    server
        .load(&builders_component("p", "1", "(i32.const 1)"), "v1")
        .unwrap();
    let cli = open(dir.path());
    let slot = cli
        .load_and_swap(&builders_component("p", "2", "(i32.const 0)"), "v2")
        .unwrap();
    assert_eq!(
        server.serving("p").unwrap().version.description.version,
        "1",
        "not yet reconciled"
    );
    assert_eq!(server.reconcile().unwrap(), ["p"]);
    assert_eq!(server.serving("p").unwrap().version.id, slot.serving.id);
    assert!(server.reconcile().unwrap().is_empty(), "nothing new");
    cli.rollback("p").unwrap();
    server.reconcile().unwrap();
    assert_eq!(
        server.serving("p").unwrap().version.description.version,
        "1"
    );
}

#[test]
fn the_watched_directory_loads_good_files_and_rejects_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let incoming = dir.path().join("incoming");
    std::fs::create_dir_all(&incoming).unwrap();
    let reg = open(&dir.path().join("store"));
    reg.load(&builders_component("w", "1", "(i32.const 1)"), "v1")
        .unwrap();
    std::fs::write(
        incoming.join("a-good.wasm"),
        builders_component("w", "2", "(i32.const 0)"),
    )
    .unwrap();
    std::fs::write(incoming.join("b-bad.wasm"), b"garbage").unwrap();
    assert!(
        reg.scan_incoming(&incoming).is_empty(),
        "files still being written are left alone"
    );
    std::thread::sleep(runtime::INCOMING_SETTLE);
    let outcomes = reg.scan_incoming(&incoming);
    assert_eq!(outcomes.len(), 2);
    assert!(outcomes[0].1.is_ok());
    assert!(outcomes[1].1.is_err());
    assert_eq!(reg.serving("w").unwrap().version.description.version, "2");
    assert!(incoming.join("loaded/a-good.wasm").exists());
    assert!(incoming.join("b-bad.wasm.rejected").exists());
    let reason = std::fs::read_to_string(incoming.join("b-bad.wasm.rejected.txt")).unwrap();
    assert!(reason.contains("not a WebAssembly component"), "{reason}");
    assert!(
        reg.scan_incoming(&incoming).is_empty(),
        "each file is taken once"
    );
}

#[test]
fn bad_input_a_file_over_the_cap_in_the_watched_directory_is_rejected_unread() {
    let dir = tempfile::tempdir().unwrap();
    let incoming = dir.path().join("incoming");
    std::fs::create_dir_all(&incoming).unwrap();
    let reg = open(&dir.path().join("store"));
    // Sparse: the size says over the cap, the disk holds nothing.
    let huge = std::fs::File::create(incoming.join("huge.wasm")).unwrap();
    huge.set_len(runtime::MAX_COMPONENT_BYTES + 1).unwrap();
    drop(huge);
    std::thread::sleep(runtime::INCOMING_SETTLE);
    let outcomes = reg.scan_incoming(&incoming);
    assert!(
        matches!(outcomes[0].1, Err(runtime::Error::TooLarge { .. })),
        "{:?}",
        outcomes[0].1
    );
    assert!(incoming.join("huge.wasm.rejected").exists());
    let reason = std::fs::read_to_string(incoming.join("huge.wasm.rejected.txt")).unwrap();
    assert!(
        reason.contains(&format!(
            "over the limit of {} bytes",
            runtime::MAX_COMPONENT_BYTES
        )),
        "{reason}"
    );
    assert_eq!(
        reg.counters
            .rejected
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

#[test]
fn bad_input_a_component_over_the_cap_is_refused_before_it_is_compiled() {
    let dir = tempfile::tempdir().unwrap();
    let reg = open(dir.path());
    let huge = vec![0u8; runtime::MAX_COMPONENT_BYTES as usize + 1];
    let err = reg.load(&huge, "huge.wasm").unwrap_err();
    assert!(matches!(err, runtime::Error::TooLarge { .. }), "{err:?}");
    assert!(err.to_string().starts_with("huge.wasm: "), "{err}");
}

#[test]
fn versions_resolve_by_unique_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let reg = open(dir.path());
    let id = reg
        .load(&builders_component("x", "1", "(i32.const 1)"), "v1")
        .unwrap()
        .version
        .id
        .clone();
    assert_eq!(reg.resolve(&id.as_str()[..8]).unwrap(), id);
    assert!(reg.resolve("abc").is_err(), "too short to be a prefix");
}

#[test]
fn metrics_count_calls_faults_and_swaps_per_version() {
    let reg = common::registry();
    reg.load(&builders_component("m", "1", "unreachable"), "v1")
        .unwrap();
    let h = reg.serving("m").unwrap();
    let w = runtime::Work {
        kind: runtime::WorkKind::Try,
        repo: "go".into(),
        branch: "master".into(),
        commit: "c".into(),
        go_branch: None,
        go_commit: None,
    };
    assert!(h.plugin().builds("b", &w).is_err());
    reg.load_and_swap(&builders_component("m", "2", "(i32.const 1)"), "v2")
        .unwrap();
    let text = runtime::metrics::render(&reg);
    let short = h.version.id.short();
    assert!(text.contains(&format!(
        "xbuild_plugin_faults_total{{kind=\"builders\",name=\"m\",version=\"1\",id=\"{short}\",cause=\"trap\"}} 1"
    )), "{text}");
    assert!(text.contains(&format!("xbuild_plugin_calls_total{{kind=\"builders\",name=\"m\",version=\"1\",id=\"{short}\"}} 3")), "{text}");
    assert!(text.contains("xbuild_plugin_swaps_total 1"), "{text}");
    assert!(text.contains("# TYPE xbuild_plugin_calls_total counter"));
}

/// A store written before slots could be emptied (schema 0) opens, keeps what it held,
/// and takes the changes that need the new schema.
#[test]
fn a_store_of_the_first_schema_is_brought_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = builders_component("old", "1", "(i32.const 1)");
    let id = runtime::VersionId::of(&v1);
    std::fs::create_dir_all(dir.path().join("blobs")).unwrap();
    std::fs::write(
        dir.path()
            .join("blobs")
            .join(format!("{}.wasm", id.as_str())),
        &v1,
    )
    .unwrap();
    let db = rusqlite::Connection::open(dir.path().join("plugins.db")).unwrap();
    db.execute_batch(&format!(
        "PRAGMA journal_mode = wal;
         CREATE TABLE versions (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL,
            version TEXT NOT NULL, summary TEXT NOT NULL, size INTEGER NOT NULL,
            added_at INTEGER NOT NULL);
         CREATE TABLE slots (
            name TEXT PRIMARY KEY, kind TEXT NOT NULL, serving TEXT NOT NULL,
            history TEXT NOT NULL);
         CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, name TEXT NOT NULL,
            action TEXT NOT NULL, from_id TEXT, to_id TEXT NOT NULL);
         INSERT INTO versions VALUES ('{id}', 'old', 'builders', '1', '', {size}, 1);
         INSERT INTO slots VALUES ('old', 'builders', '{id}', '');
         INSERT INTO events (at, name, action, from_id, to_id) VALUES (1, 'old', 'load', NULL, '{id}');",
        id = id.as_str(),
        size = v1.len()
    ))
    .unwrap();
    drop(db);

    let reg = open(dir.path());
    assert_eq!(reg.serving("old").unwrap().version.id, id);
    reg.remove("old").unwrap();
    let actions: Vec<_> = reg
        .plugin_store()
        .unwrap()
        .events("old")
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.to.is_some()))
        .collect();
    assert_eq!(actions, [("load".into(), true), ("remove".into(), false)]);
}
