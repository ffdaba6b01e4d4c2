//! `xb plugin …` against a data directory, as an operator runs it.

use xb::data::DataDir;
use xb::plugins::{run, PluginCommand, BUNDLED_DIR};

fn local_builders() -> std::path::PathBuf {
    std::path::Path::new(BUNDLED_DIR).join("local_builders.wasm")
}

#[test]
fn load_list_describe_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path()).unwrap();
    let reg = data.registry().unwrap();
    let out = run(
        PluginCommand::Load {
            file: local_builders(),
        },
        &reg,
    )
    .unwrap();
    assert!(out.starts_with("loaded builders local-builders"), "{out}");
    assert!(out.ends_with("serving\n"), "{out}");

    let list = run(PluginCommand::List, &reg).unwrap();
    assert!(
        list.lines()
            .nth(1)
            .unwrap()
            .starts_with("builders   local-builders"),
        "{list}"
    );

    let d = run(
        PluginCommand::Describe {
            what: "local-builders".into(),
        },
        &reg,
    )
    .unwrap();
    assert!(d.contains("name:    local-builders"), "{d}");
    assert!(d.contains("kind:    builders"), "{d}");
    assert!(
        d.contains("builder linux-amd64-localdev on host-linux-amd64-localdev, trybot"),
        "{d}"
    );
    assert!(
        d.contains("host type host-linux-amd64-localdev (local pool, linux-amd64)"),
        "{d}"
    );

    // Describe a file without loading it into a slot first.
    let fresh = DataDir::new(dir.path().join("other"))
        .unwrap()
        .registry()
        .unwrap();
    let d = run(
        PluginCommand::Describe {
            what: local_builders().display().to_string(),
        },
        &fresh,
    )
    .unwrap();
    assert!(d.contains("name:    local-builders"), "{d}");

    let h = run(
        PluginCommand::History {
            name: "local-builders".into(),
        },
        &reg,
    )
    .unwrap();
    assert!(h.contains("load"), "{h}");
}

#[test]
fn bad_files_and_names_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path()).unwrap();
    let reg = data.registry().unwrap();
    let missing = run(
        PluginCommand::Load {
            file: dir.path().join("nope.wasm"),
        },
        &reg,
    )
    .unwrap_err();
    assert!(format!("{missing:#}").contains("reading"), "{missing:#}");
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"junk").unwrap();
    let err = run(PluginCommand::Load { file: junk }, &reg).unwrap_err();
    assert!(
        err.to_string()
            .contains("junk.wasm: not a WebAssembly component"),
        "{err}"
    );
    let err = run(
        PluginCommand::Rollback {
            name: "ghost".into(),
        },
        &reg,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("no plugin named \"ghost\""),
        "{err}"
    );
    let err = run(
        PluginCommand::Describe {
            what: "ghost".into(),
        },
        &reg,
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("is not a plugin name, a version or a file"),
        "{err:#}"
    );
}
