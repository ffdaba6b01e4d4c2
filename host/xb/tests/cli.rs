//! `xb plugin …` against a data directory, as an operator runs it.

mod common;

use common::bundled;
use xb::data::DataDir;
use xb::plugins::{run, PluginCommand};

fn local_builders() -> std::path::PathBuf {
    bundled("local_builders.wasm")
}

#[test]
fn load_list_describe_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path()).unwrap();
    let out = run(
        PluginCommand::Load {
            file: local_builders(),
        },
        &data,
    )
    .unwrap();
    assert!(out.starts_with("loaded builders local-builders"), "{out}");
    assert!(out.ends_with("serving\n"), "{out}");

    let list = run(PluginCommand::List, &data).unwrap();
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
        &data,
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
    let fresh = DataDir::new(dir.path().join("other")).unwrap();
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
        &data,
    )
    .unwrap();
    // "2026-12-02T13:08:56Z  load     - -> 1a2b…": the time is RFC 3339, in UTC.
    let (at, rest) = h.split_once("  ").unwrap();
    assert!(rest.starts_with("load"), "{h}");
    assert_eq!(at.len(), "2026-12-02T13:08:56Z".len(), "{h}");
    assert!(at.ends_with('Z') && at.as_bytes()[10] == b'T', "{h}");
    let year: i32 = at[..4].parse().unwrap();
    assert!((2025..2100).contains(&year), "{h}");
}

#[test]
fn bad_files_and_names_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path()).unwrap();
    let missing = run(
        PluginCommand::Load {
            file: dir.path().join("nope.wasm"),
        },
        &data,
    )
    .unwrap_err();
    assert!(format!("{missing:#}").contains("reading"), "{missing:#}");
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"junk").unwrap();
    let err = run(PluginCommand::Load { file: junk }, &data).unwrap_err();
    assert!(
        err.to_string()
            .contains("junk.wasm: not a WebAssembly component"),
        "{err}"
    );
    // Sparse: over the cap by its size, refused before a byte is read.
    let huge = dir.path().join("huge.wasm");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(runtime::MAX_COMPONENT_BYTES + 1)
        .unwrap();
    let err = run(PluginCommand::Load { file: huge }, &data).unwrap_err();
    assert!(
        err.to_string().contains(&format!(
            "huge.wasm: {} bytes, over the limit of {} bytes",
            runtime::MAX_COMPONENT_BYTES + 1,
            runtime::MAX_COMPONENT_BYTES
        )),
        "{err}"
    );
    let err = run(
        PluginCommand::Rollback {
            name: "ghost".into(),
        },
        &data,
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
        &data,
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("is not a plugin name, a version or a file"),
        "{err:#}"
    );
}

fn gopherbot() -> std::path::PathBuf {
    bundled("gopherbot.wasm")
}

fn load(data: &DataDir, file: std::path::PathBuf) -> String {
    run(PluginCommand::Load { file }, data).unwrap()
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &std::path::Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn reading_commands_leave_the_store_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path()).unwrap();
    load(&data, local_builders());
    let id = data
        .registry()
        .unwrap()
        .serving("local-builders")
        .unwrap()
        .version
        .id
        .clone();
    let before = snapshot(dir.path());
    assert!(
        before.keys().any(|p| p.ends_with("plugins.db")),
        "{:?}",
        before.keys()
    );
    for what in [
        gopherbot().display().to_string(),
        "local-builders".to_string(),
        id.as_str()[..10].to_string(),
    ] {
        let d = run(PluginCommand::Describe { what: what.clone() }, &data).unwrap();
        assert!(d.contains("name:    "), "{what}: {d}");
    }
    run(PluginCommand::List, &data).unwrap();
    run(
        PluginCommand::History {
            name: "local-builders".into(),
        },
        &data,
    )
    .unwrap();
    assert!(
        before == snapshot(dir.path()),
        "the store changed: {:?} -> {:?}",
        before.keys(),
        snapshot(dir.path()).keys()
    );
    let list = run(PluginCommand::List, &data).unwrap();
    assert!(
        !list.contains("gopherbot"),
        "a described file does not serve: {list}"
    );
}

#[test]
fn a_swap_to_a_file_of_another_plugin_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path()).unwrap();
    load(&data, local_builders());
    let err = run(
        PluginCommand::Swap {
            name: "local-builders".into(),
            version: gopherbot().display().to_string(),
        },
        &data,
    )
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("is plugin \"gopherbot\", not \"local-builders\""),
        "{err:#}"
    );
    let list = run(PluginCommand::List, &data).unwrap();
    assert!(!list.contains("gopherbot"), "nothing new serves: {list}");
    assert!(list.contains("local-builders"), "{list}");
}

#[test]
fn remove_takes_a_plugin_out_of_service() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path()).unwrap();
    load(&data, local_builders());
    let out = run(
        PluginCommand::Remove {
            name: "local-builders".into(),
        },
        &data,
    )
    .unwrap();
    assert!(out.starts_with("local-builders: removed (was "), "{out}");
    let list = run(PluginCommand::List, &data).unwrap();
    assert!(!list.contains("local-builders"), "{list}");
    let h = run(
        PluginCommand::History {
            name: "local-builders".into(),
        },
        &data,
    )
    .unwrap();
    let last = h.lines().last().unwrap();
    assert!(last.contains("remove") && last.ends_with("-> -"), "{h}");
    // Loading it again (as `xb serve` does with its bundled plugins) does not undo
    // the removal.
    let again = load(&data, local_builders());
    assert!(again.contains("stored"), "{again}");
    let err = run(
        PluginCommand::Remove {
            name: "local-builders".into(),
        },
        &data,
    )
    .unwrap_err();
    assert!(err.to_string().contains("no plugin named"), "{err}");
    run(
        PluginCommand::Rollback {
            name: "local-builders".into(),
        },
        &data,
    )
    .unwrap();
    assert!(run(PluginCommand::List, &data)
        .unwrap()
        .contains("local-builders"));
}

/// Reading commands create nothing: not the data directory a mistyped `--data` names, not
/// a results database in one that has none.
#[test]
fn reading_commands_create_no_data_directory_and_no_database() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("mistyped");
    let xb = |data: &std::path::Path, args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_xb"))
            .arg("--data")
            .arg(data)
            .args(args)
            .output()
            .unwrap()
    };
    let reads: [&[&str]; 7] = [
        &["corpus", "stats"],
        &["corpus", "verify"],
        &["plugin", "list"],
        &["plugin", "history", "gopherbot"],
        &["plugin", "shadow", "gopherbot"],
        &["dashboard", "results"],
        &["dashboard", "results", "--builder", "linux-amd64"],
    ];
    for args in reads {
        xb(&missing, args);
        assert!(!missing.exists(), "xb {args:?} created the data directory");
    }
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = xb(&empty, &["dashboard", "results"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "no results\n");
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
    // A command that writes still makes the directory it needs.
    let out = xb(&missing, &["dashboard", "key", "linux-amd64"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(missing.join("builder-master.key").exists());
}

/// A seed corpus given that is not there is an error before anything starts, not an
/// empty corpus served unnoticed.
#[test]
fn serve_refuses_a_seed_corpus_that_is_not_there() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("mistyped");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_xb"))
        .arg("--data")
        .arg(tmp.path().join("data"))
        .args(["serve", "--listen", "127.0.0.1:0", "--no-tls", "--no-demo"])
        .arg("--seed-corpus")
        .arg(&missing)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A server that starts anyway is stopped, and fails the test, instead of hanging it.
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(60) {
            child.kill().unwrap();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "--seed-corpus {}: no such directory",
            missing.display()
        )),
        "{stderr}"
    );
    assert!(!tmp.path().join("data").join("serve.addr").exists());
}

/// Output read only in part (`xb bench corpus-load DIR | head -1`): the command ends by
/// SIGPIPE, as Unix tools do, not with a panic about the closed pipe.
#[test]
fn a_command_whose_output_is_cut_short_ends_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let spec = maintner::bench::GenSpec::default().scaled(0.002);
    maintner::bench::generate(dir.path(), &spec).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_xb"))
        .args(["bench", "corpus-load"])
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bench_corpus_load_reports_each_run_and_the_minimum_and_median() {
    let dir = tempfile::tempdir().unwrap();
    let spec = maintner::bench::GenSpec::default().scaled(0.002);
    let gen = maintner::bench::generate(dir.path(), &spec).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xb"))
        .args(["bench", "corpus-load", "--runs", "3"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    let loaded = format!("loaded {} mutations", gen.mutations);
    assert!(lines[..3].iter().all(|l| l.starts_with(&loaded)), "{text}");
    // Each run's wall time, and the summary's minimum and median of them.
    let walls: Vec<f64> = lines[..3]
        .iter()
        .map(|l| {
            l.split(" in ")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    let summary = lines[3];
    assert!(
        summary.starts_with("3 runs, min / median: wall "),
        "{summary}"
    );
    let figures: Vec<f64> = summary["3 runs, min / median: wall ".len()..]
        .split(" s,")
        .next()
        .unwrap()
        .split(" / ")
        .map(|v| v.parse().unwrap())
        .collect();
    let mut sorted = walls.clone();
    sorted.sort_by(f64::total_cmp);
    assert!(
        (figures[0] - sorted[0]).abs() < 0.0015,
        "{summary} vs {walls:?}"
    );
    assert!(
        (figures[1] - sorted[1]).abs() < 0.0015,
        "{summary} vs {walls:?}"
    );
}
