//! The whole host as `xb serve` starts it: the recorded corpus seeded into an empty data
//! directory, maintnerd's routes, and plugins reading that corpus through the import.

mod common;

use common::{get_json, get_text, start_host, RECORDED};
use xb::data::DataDir;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_the_recorded_corpus_try_work_and_log() {
    let dir = tempfile::tempdir().unwrap();
    let (host, url) = start_host(dir.path()).await;
    let body = get_text(&format!("{url}/maintner/trywork")).await;
    let trywork: serde_json::Value = serde_json::from_str(&body).unwrap();
    let waiting = trywork["waiting"].as_array().unwrap();
    assert_eq!(
        waiting.len(),
        2,
        "the recorded corpus has two changes waiting for trybots: {body}"
    );
    let logs = get_json(&format!("{url}/maintner/logs")).await;
    assert!(!logs.as_array().unwrap().is_empty());
    host.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_read_the_corpus_the_host_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let (host, _) = start_host(dir.path()).await;
    let reg = host.state.registry.clone();
    let corpus = runtime::MaintnerCorpus(host.maintner.corpus());
    assert_eq!(
        runtime::CorpusQueries::generation(&corpus),
        7_433,
        "every recorded mutation is applied"
    );
    let answer = tokio::task::spawn_blocking(move || {
        reg.serving("gopherbot")
            .unwrap()
            .plugin()
            .run_rule("label tools issues")
    })
    .await
    .unwrap()
    .unwrap();
    assert!(answer.is_ok(), "the rule ran over the corpus: {answer:?}");
    host.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_start_keeps_its_own_log_instead_of_reseeding() {
    let dir = tempfile::tempdir().unwrap();
    let (host, _) = start_host(dir.path()).await;
    host.shutdown();
    let data = DataDir::new(dir.path()).unwrap();
    assert_eq!(
        data.seed_corpus(std::path::Path::new(RECORDED)).unwrap(),
        0,
        "log exists: not seeded again"
    );
}
