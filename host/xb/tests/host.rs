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
    host.shutdown().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_read_the_corpus_the_host_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let (host, _) = start_host(dir.path()).await;
    let reg = host.state.registry.clone();
    let corpus = runtime::MaintnerCorpus(host.maintner.corpus());
    let recorded = maintner::verify(common::RECORDED).unwrap().records;
    assert_eq!(
        runtime::CorpusQueries::generation(&corpus),
        recorded,
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
    host.shutdown().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_start_keeps_its_own_log_instead_of_reseeding() {
    let dir = tempfile::tempdir().unwrap();
    let (host, _) = start_host(dir.path()).await;
    host.shutdown().unwrap();
    let data = DataDir::new(dir.path()).unwrap();
    assert_eq!(
        data.seed_corpus(std::path::Path::new(RECORDED)).unwrap(),
        0,
        "log exists: not seeded again"
    );
}

/// A data directory seeded from Go maintnerd's own log directory (its day files) holds
/// our layout afterwards, and the service loads what Go wrote.
#[test]
fn a_seed_written_by_go_maintner_is_copied_into_our_layout() {
    let go_dir = tempfile::tempdir().unwrap();
    let day = "maintner-2017-07-01.mutlog";
    let testdata = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    std::fs::copy(
        testdata.join("maintner-go").join(day),
        go_dir.path().join(day),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path()).unwrap();
    assert_eq!(data.seed_corpus(go_dir.path()).unwrap(), 48);
    let log = data.maintner().join("log");
    assert!(log.join("0000.growing.mutlog").exists());
    let svc = maintnerd::Maintnerd::open(maintnerd::Config::new(&data.maintner())).unwrap();
    assert_eq!(svc.corpus().read().unwrap().mutation_counts().total, 48);
    // A directory with no log at all is a clear error, not an empty corpus.
    let empty = tempfile::tempdir().unwrap();
    let other = DataDir::new(dir.path().join("other")).unwrap();
    let err = other.seed_corpus(empty.path()).unwrap_err();
    assert!(format!("{err:#}").contains("no mutation log"), "{err:#}");
}
