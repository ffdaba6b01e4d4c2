//! The plugin store verifies what it reads back: compiled code whose bytes changed on
//! disk is recompiled instead of run, and a component blob that no longer matches its
//! content address is refused instead of served under the old id.

mod common;

use common::{builders_component, message, open_store as open, work};
use runtime::Error;
use std::path::{Path, PathBuf};

fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    out.sort();
    out
}

/// Store one serving version, compiled, and `damage` its compiled code. A restart
/// still serves the version (compiled anew), and the cache entry is written again,
/// whole: the restart after that takes it without complaint.
fn recompiled_after(damage: impl FnOnce(&mut Vec<u8>)) {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path())
        .load(&builders_component("p", "1", "(i32.const 1)"), "v1")
        .unwrap();
    let cached = files(&dir.path().join("cache"), "cwasm");
    assert_eq!(cached.len(), 1, "{cached:?}");
    let mut bytes = std::fs::read(&cached[0]).unwrap();
    damage(&mut bytes);
    std::fs::write(&cached[0], &bytes).unwrap();

    let reg = open(dir.path());
    let h = reg.serving("p").unwrap();
    assert!(h.plugin().builds("b", &work()).unwrap());
    assert!(reg.runtime().is_cached(&h.version.id));
    assert_ne!(std::fs::read(&cached[0]).unwrap(), bytes, "entry rewritten");
    let reg = open(dir.path());
    assert!(reg
        .serving("p")
        .unwrap()
        .plugin()
        .builds("b", &work())
        .unwrap());
}

#[test]
fn compiled_code_with_flipped_bytes_is_recompiled_not_run() {
    // Every byte of the second quarter: code, tables, whatever lies there.
    recompiled_after(|bytes| {
        let n = bytes.len();
        bytes[n / 4..n / 2].iter_mut().for_each(|b| *b ^= 0xff);
    });
}

#[test]
fn compiled_code_with_changed_instruction_bytes_is_recompiled_not_run() {
    // A change that keeps the ELF container valid: one byte of every 64 in the middle
    // half, where the machine code is, becomes a breakpoint.
    recompiled_after(|bytes| {
        let n = bytes.len();
        (n / 4..3 * n / 4).step_by(64).for_each(|i| bytes[i] = 0xcc);
    });
}

#[test]
fn truncated_compiled_code_is_recompiled() {
    recompiled_after(|bytes| bytes.truncate(bytes.len() / 3));
}

#[test]
fn a_blob_that_no_longer_matches_its_id_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (v1, v2) = (
        builders_component("p", "1", "(i32.const 1)"),
        builders_component("p", "2", "(i32.const 0)"),
    );
    let id1 = {
        let reg = open(dir.path());
        reg.load(&v1, "v1").unwrap().version.id.clone()
    };
    // Someone replaces the serving version's bytes with another component.
    let blob = dir
        .path()
        .join("blobs")
        .join(format!("{}.wasm", id1.as_str()));
    assert!(blob.exists());
    std::fs::write(&blob, &v2).unwrap();

    let reg = open(dir.path());
    assert!(
        reg.serving("p").is_err(),
        "the tampered version does not serve after a restart"
    );
    let err = reg.handle(&id1).err().expect("a tampered blob is refused");
    assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
    let msg = message(&err);
    assert!(msg.contains(&blob.display().to_string()), "{msg}");
    assert!(
        msg.contains(&format!("does not match its id {}", id1.as_str())),
        "{msg}"
    );
    assert!(
        reg.versions().iter().all(|v| v.description.version != "2"),
        "the bytes it holds were not loaded under any id"
    );
    // Bytes read straight from the store are checked too.
    let store = reg.plugin_store().unwrap();
    assert!(matches!(store.blob(&id1), Err(Error::Corrupt { .. })));
}
