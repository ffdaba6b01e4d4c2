//! Bot rules written in Python (componentize-py) and JavaScript (componentize-js)
//! against the same `gopherbot` world as the Rust plugin, built by
//! `plugins/polyglot/build.sh`: each loads into a data directory and serves under its
//! own name, describes itself, replays over the recorded corpus as its golden file
//! says, and decides exactly as the Rust rule it mirrors (`xb plugin diff --rule`).

mod common;

use bot::pass::Pass;
use common::{bundled, polyglot, RECORDED};
use std::path::{Path, PathBuf};
use xb::botcmd::ReplayArgs;
use xb::data::DataDir;
use xb::plugins::{run, run_status, PluginCommand};

/// A rule in another language and the Rust rule it mirrors.
struct Port {
    file: &'static str,
    name: &'static str,
    rule: &'static str,
    /// Issues of the recorded corpus it acts on, and one its guard holds it back on.
    acts_on: &'static [u32],
    held_back: u32,
}

const PYTHON: Port = Port {
    file: "gopherbot_py.wasm",
    name: "gopherbot-py",
    rule: "label mobile issues",
    acts_on: &[311],
    held_back: 312,
};

const JAVASCRIPT: Port = Port {
    file: "gopherbot_js.wasm",
    name: "gopherbot-js",
    rule: "label documentation issues",
    acts_on: &[313, 315],
    held_back: 314,
};

fn args() -> ReplayArgs {
    ReplayArgs {
        corpus: RECORDED.into(),
        at: Some("2026-08-01T00:00:00Z".into()),
        fuel: None,
        cap: bot::pass::DEFAULT_ACTION_CAP,
    }
}

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../plugin-tests/golden/{name}.json"))
}

fn test_cmd(plugin: &str, golden: Option<PathBuf>) -> PluginCommand {
    PluginCommand::Test {
        plugin: plugin.into(),
        replay: args(),
        step: None,
        golden,
    }
}

fn diff_cmd(old: &Path, new: &str, rule: Option<&str>) -> PluginCommand {
    PluginCommand::Diff {
        old: old.display().to_string(),
        new: new.into(),
        replay: args(),
        since: None,
        rule: rule.map(str::to_string),
    }
}

/// Everything a plugin author does with a rule, in one data directory (the compiled
/// code of the component, tens of MB, is taken from its cache after the load).
fn the_lifecycle_of(port: &Port) {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("data")).unwrap();
    let file = polyglot(port.file);
    let loaded = run(PluginCommand::Load { file: file.clone() }, &data).unwrap();
    assert!(
        loaded.starts_with(&format!("loaded gopherbot {}", port.name))
            && loaded.contains("serving"),
        "{loaded}"
    );
    let described = run(
        PluginCommand::Describe {
            what: port.name.into(),
        },
        &data,
    )
    .unwrap();
    assert!(described.contains("kind:    gopherbot"), "{described}");
    assert!(
        described.contains(&format!("rule {:?}", port.rule)),
        "{described}"
    );

    if std::env::var_os("XB_UPDATE_GOLDENS").is_some() {
        let out = run_status(test_cmd(port.name, None), &data).unwrap();
        let p: Pass = serde_json::from_str(&out.text).unwrap();
        let text = serde_json::to_string_pretty(&p.without_fuel()).unwrap() + "\n";
        std::fs::write(golden(port.name), text).unwrap();
    }
    let checked = run_status(test_cmd(port.name, Some(golden(port.name))), &data).unwrap();
    assert_eq!(checked.code, 0, "{}", checked.text);

    let out = run_status(test_cmd(port.name, None), &data).unwrap();
    let p: Pass = serde_json::from_str(&out.text).unwrap();
    let targets: Vec<&str> = p.decisions().map(|(_, d)| d.target.as_str()).collect();
    for n in port.acts_on {
        assert!(
            targets.contains(&format!("golang/go#{n}").as_str()),
            "#{n}: {targets:?}"
        );
    }
    assert!(!targets.contains(&format!("golang/go#{}", port.held_back).as_str()));
    assert!(
        p.rules.iter().all(|r| r.fuel.is_some_and(|f| f > 0)),
        "{p:?}"
    );

    // The rule decides as the Rust one, action for action...
    let rust = bundled("gopherbot.wasm");
    let same = run_status(diff_cmd(&rust, port.name, Some(port.rule)), &data).unwrap();
    assert_eq!(same.code, 0, "{}", same.text);
    assert!(same.text.contains("new gopherbot"), "{}", same.text);
    // ...and the Rust plugin's other rules are all it has on its own.
    let whole = run_status(diff_cmd(&rust, port.name, None), &data).unwrap();
    assert_eq!(whole.code, 1, "{}", whole.text);
    assert!(
        !whole.text.contains(&format!("rule {:?}", port.rule)),
        "{}",
        whole.text
    );
    assert!(whole.text.contains("; new gopherbot-"), "{}", whole.text);
    assert!(whole.text.contains(": 0 only it takes"), "{}", whole.text);
}

#[test]
fn a_rule_in_python_loads_replays_and_decides_as_the_rust_one() {
    the_lifecycle_of(&PYTHON);
}

/// The component is componentize-js's default build: it imports WASI's HTTP
/// interfaces, which the host links granting no request.
#[test]
fn a_rule_in_javascript_loads_replays_and_decides_as_the_rust_one() {
    the_lifecycle_of(&JAVASCRIPT);
}

#[test]
fn a_diff_on_a_rule_neither_plugin_has_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("data")).unwrap();
    let rust = bundled("gopherbot.wasm");
    let err = run_status(
        diff_cmd(&rust, &rust.display().to_string(), Some("label everything")),
        &data,
    )
    .err()
    .unwrap();
    assert!(
        format!("{err:#}").contains("has a rule \"label everything\""),
        "{err:#}"
    );
}
