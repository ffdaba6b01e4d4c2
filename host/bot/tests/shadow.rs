//! The bot while serving: a candidate in shadow beside the serving gopherbot over the
//! recorded corpus, its disagreements recorded, promote, and the automatic rollback of
//! a version that keeps faulting.

use bot::execute::{Executor, Mode};
use bot::journal::Journal;
use bot::pass::PassOptions;
use bot::shadow::{promote, BotService, ShadowStore, FAULT_LIMIT};
use runtime::{Registry, Runtime, RuntimeConfig};
use std::path::Path;
use std::sync::Arc;
use wit_component::{embed_component_metadata, ComponentEncoder, StringEncoding};

const AT: i64 = 1_785_542_400;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn gopherbot() -> Vec<u8> {
    std::fs::read(root().join("plugins/target/wasm32-wasip2/release/gopherbot.wasm"))
        .expect("build the plugins: cargo xtask plugins")
}

/// A gopherbot of one rule, "quiet", whose `run` returns no actions, or traps.
fn tiny_bot(version: &str, traps: bool) -> Vec<u8> {
    let le = |n: u32| {
        n.to_le_bytes()
            .iter()
            .map(|b| format!("\\{b:02x}"))
            .collect::<String>()
    };
    let run = if traps {
        "unreachable"
    } else {
        "(i32.const 1060)"
    };
    let wat = format!(
        r#"(module
  (memory (export "memory") 1)
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (i32.const 2048))
  (data (i32.const 0) "{name}{name_len}{ver}{ver_len}\02")
  (data (i32.const 200) "gopherbot")
  (data (i32.const 300) "{version}")
  (data (i32.const 1000) "{rule}{rule_len}{rule}{rule_len}\00")
  (data (i32.const 1040) "{list}{one}")
  (data (i32.const 1100) "quiet")
  (data (i32.const 1060) "\00\00\00\00{empty}\00\00\00\00")
  (func (export "xbuild:platform/plugin@0.2.0#describe") (result i32) (i32.const 0))
  (func (export "xbuild:platform/bot@0.2.0#rules") (result i32) (i32.const 1040))
  (func (export "xbuild:platform/bot@0.2.0#run") (param i32 i32) (result i32) {run})
)"#,
        name = le(200),
        name_len = le(9),
        ver = le(300),
        ver_len = le(version.len() as u32),
        rule = le(1100),
        rule_len = le(5),
        list = le(1000),
        one = le(1),
        empty = le(8),
    );
    let mut resolve = wit_parser::Resolve::default();
    let pkg = resolve.push_dir(root().join("wit")).unwrap().0;
    let world = resolve.select_world(&[pkg], Some("gopherbot")).unwrap();
    let mut module = wat::parse_str(&wat).unwrap();
    embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8).unwrap();
    ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .validate(true)
        .encode()
        .unwrap()
}

fn service(dir: &Path) -> BotService {
    let rt = Arc::new(Runtime::new(RuntimeConfig::default()).unwrap());
    let reg = Arc::new(Registry::in_memory(rt));
    reg.load(&gopherbot(), "gopherbot.wasm").unwrap();
    let log = bot::replay::read_log(&root().join("plugin-tests/corpus/log")).unwrap();
    let corpus = bot::attach(reg.runtime(), bot::replay::corpus_at(&log, AT));
    let journal = Journal::open(&dir.join("journal.db")).unwrap();
    let executor = Executor::new(Mode::DryRun, journal, corpus.clone());
    let store = ShadowStore::open(&dir.join("bot.db")).unwrap();
    BotService::new("gopherbot", reg, corpus, store, executor)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_candidate_in_shadow_records_where_it_disagrees_then_is_promoted() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = service(dir.path());
    let quiet = s.reg.add(&tiny_bot("quiet", false), "quiet.wasm").unwrap();
    s.store.set_candidate("gopherbot", &quiet.id).unwrap();
    let opts = PassOptions::at(AT);
    let step = s.step(&opts).await.unwrap();
    // The serving version kept acting (dry-run here) while the candidate ran beside it.
    let acted = step.executed.unwrap();
    assert!(!acted.would.is_empty());
    let d = step
        .disagreement
        .expect("the quiet candidate decides nothing");
    let (only_serving, only_candidate) = d.count();
    assert_eq!(only_serving, acted.would.len() + acted.already.len());
    assert_eq!(only_candidate, 0);
    let recorded = s.store.disagreements("gopherbot", 10).unwrap();
    assert_eq!(recorded.len(), 1);
    assert!(
        recorded[0].text.contains("rule \"freeze old issues\""),
        "{}",
        recorded[0].text
    );

    let id = promote(&s.reg, &s.store, "gopherbot").unwrap();
    assert_eq!(id, quiet.id);
    assert_eq!(s.reg.serving("gopherbot").unwrap().version.id, quiet.id);
    assert_eq!(s.store.candidate("gopherbot").unwrap(), None);
    // Promoted, the quiet version serves: nothing to do, nothing to compare.
    let step = s.step(&opts).await.unwrap();
    assert!(step.executed.unwrap().would.is_empty());
    assert!(step.disagreement.is_none());
    // And rollback restores the one before.
    s.reg.rollback("gopherbot").unwrap();
    assert_eq!(
        s.reg.serving("gopherbot").unwrap().version.name(),
        "gopherbot"
    );
    assert_ne!(s.reg.serving("gopherbot").unwrap().version.id, quiet.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_that_keeps_faulting_is_rolled_back_and_that_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = service(dir.path());
    let good = s.reg.serving("gopherbot").unwrap().version.id.clone();
    let bad = s.reg.add(&tiny_bot("traps", true), "traps.wasm").unwrap();
    s.reg.swap("gopherbot", &bad.id).unwrap();
    let opts = PassOptions::at(AT);
    for i in 1..FAULT_LIMIT {
        let step = s.step(&opts).await.unwrap();
        assert!(step.serving.unwrap().rules[0].faulted, "pass {i}");
        assert!(step.rolled_back.is_none());
    }
    let step = s.step(&opts).await.unwrap();
    let why = step.rolled_back.expect("rolled back at the limit");
    assert!(
        why.contains(&format!("faulted in {FAULT_LIMIT} passes in a row")),
        "{why}"
    );
    assert_eq!(s.reg.serving("gopherbot").unwrap().version.id, good);
    let events = s.store.events("gopherbot").unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, "auto-rollback");
    // The good version serves and acts again.
    let step = s.step(&opts).await.unwrap();
    assert!(!step.executed.unwrap().would.is_empty());
}
