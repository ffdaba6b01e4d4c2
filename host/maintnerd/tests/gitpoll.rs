//! Git and Gerrit ingestion against local repositories built with real git from the
//! x/build history, loaded into the real maintner corpus.

use std::path::{Path, PathBuf};

use maintner::git::GitHash;
use maintner::{Corpus, DiskLog};
use maintnerd::fixture::{self, FixtureOptions, HistoryCommit, TryState};
use maintnerd::git;
use maintnerd::gitpoll::{GerritPoller, GitRepoPoller};
use maintnerd::ingest::Ingest;
use maintnerd::store::SharedLog;

fn history() -> Vec<HistoryCommit> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/golang-build-commits.jsonl");
    fixture::read_history(&path).unwrap()
}

fn corpus_of(data: &Path) -> Corpus {
    Corpus::load(&DiskLog::open_read_only(data.join("log")).unwrap()).unwrap()
}

fn ingest_in(data: &Path) -> Ingest {
    Ingest::new(SharedLog::open(&data.join("log")).unwrap()).unwrap()
}

#[tokio::test]
async fn git_repo_poller_logs_only_new_commits() {
    let h = history();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (old, new) = (tmp.path().join("old.git"), tmp.path().join("new.git"));
    let opts = FixtureOptions {
        merged_changes: Some(0),
    };
    let fx_old = fixture::build(&h[..200], &old, &opts).unwrap();
    let fx_new = fixture::build(&h[..260], &new, &opts).unwrap();
    assert_eq!(
        fx_old.commits[..],
        fx_new.commits[..200],
        "fixture is deterministic"
    );

    let ingest = ingest_in(&data);
    let s = GitRepoPoller::new("build", old.to_str().unwrap(), &data, ingest.clone())
        .sync_round()
        .await
        .unwrap();
    assert_eq!(s.commits, 200);
    let s = GitRepoPoller::new("build", new.to_str().unwrap(), &data, ingest.clone())
        .sync_round()
        .await
        .unwrap();
    assert_eq!(s.commits, 60, "only the commits the corpus lacks");
    let again = GitRepoPoller::new("build", new.to_str().unwrap(), &data, ingest.clone())
        .sync_round()
        .await
        .unwrap();
    assert_eq!(again.commits, 0);

    let corpus = corpus_of(&data);
    assert_eq!(corpus.git().len(), 260);
    assert_eq!(corpus.git().placeholders(), 0);
    let tip = corpus
        .git()
        .commit(&GitHash::parse(&fx_new.commits[259]).unwrap())
        .unwrap();
    assert_eq!(&*tip.msg, h[259].message.as_str());
    assert_eq!(tip.files.len(), h[259].files.len());
}

/// Appends a NoteDB meta commit to a change's meta ref on the remote, with plain git.
fn add_meta(repo: &Path, number: i32, author: &str, msg: &str, time: i64) -> String {
    let meta = fixture::change_ref(number, "meta");
    let tip = String::from_utf8(git::run(repo, &["rev-parse", &meta], None, &[]).unwrap()).unwrap();
    let empty_tree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
    let date = format!("{time} +0000");
    let (name, email) = author.split_once(" <").unwrap();
    let email = email.trim_end_matches('>');
    let env = [
        ("GIT_AUTHOR_NAME", name),
        ("GIT_AUTHOR_EMAIL", email),
        ("GIT_AUTHOR_DATE", date.as_str()),
        ("GIT_COMMITTER_NAME", "Gerrit Code Review"),
        ("GIT_COMMITTER_EMAIL", "noreply-gerritcodereview@google.com"),
        ("GIT_COMMITTER_DATE", date.as_str()),
    ];
    git::run(repo, &["mktree"], Some(b""), &[]).unwrap();
    let out = git::run(
        repo,
        &["commit-tree", empty_tree, "-p", tip.trim(), "-m", msg],
        None,
        &env,
    )
    .unwrap();
    let new = String::from_utf8(out).unwrap().trim().to_string();
    git::run(repo, &["update-ref", &meta, &new], None, &[]).unwrap();
    new
}

#[tokio::test]
async fn gerrit_poller_ingests_changes_notedb_and_try_work() {
    let h = history();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let remote: PathBuf = tmp.path().join("gerrit-build.git");
    let fx = fixture::build(
        &h[..1500],
        &remote,
        &FixtureOptions {
            merged_changes: Some(60),
        },
    )
    .unwrap();
    let project = "go.googlesource.com/build";
    let ingest = ingest_in(&data);
    let poller = GerritPoller::new(project, remote.to_str().unwrap(), &data, ingest.clone());
    let s = poller.sync_round().await.unwrap();
    let refs = git::refs(&remote).unwrap();
    assert_eq!(s.refs, refs.len());
    assert!(
        s.commits > 1500,
        "history + patch sets + metas: {}",
        s.commits
    );

    let corpus = corpus_of(&data);
    let pid = corpus.gerrit().find(corpus.strings(), project).unwrap();
    assert_eq!(corpus.gerrit().project(pid).cls.len(), fx.changes.len());
    assert!(corpus.check().is_empty(), "{:?}", corpus.check());
    let mut want: Vec<(i32, String)> = fx
        .changes
        .iter()
        .filter(|c| c.state.is_try_work())
        .map(|c| (c.number, c.commit.clone()))
        .collect();
    let mut got: Vec<(i32, String)> = corpus
        .try_work()
        .into_iter()
        .map(|w| (w.cl, w.commit))
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    let merged = corpus
        .gerrit()
        .project(pid)
        .cls
        .values()
        .filter(|cl| cl.status == maintner::notedb::ClStatus::Merged)
        .count();
    assert_eq!(merged, 60);

    // Nothing changed on the remote: nothing logged.
    let size = ingest.log().total_size();
    let s = poller.sync_round().await.unwrap();
    assert_eq!((s.commits, s.refs), (0, 0));
    assert_eq!(ingest.log().total_size(), size);

    // The trybots report on the pending change: one meta commit, one ref.
    let pending = fx
        .changes
        .iter()
        .find(|c| c.state == TryState::Pending)
        .unwrap();
    let gobot = format!("Gopher Robot <5999@{}>", fixture::GERRIT_SERVER_UUID);
    add_meta(
        &remote,
        pending.number,
        &gobot,
        "Update patch set 1\n\nPatch Set 1: TryBot-Result+1\n\nTryBots are happy.\n\nPatch-set: 1\nLabel: TryBot-Result=+1\n",
        1_700_000_000,
    );
    let s = poller.sync_round().await.unwrap();
    assert_eq!((s.commits, s.refs), (1, 1));
    let corpus = corpus_of(&data);
    let waiting: Vec<i32> = corpus.try_work().into_iter().map(|w| w.cl).collect();
    assert!(!waiting.contains(&pending.number), "{waiting:?}");
    assert_eq!(waiting.len(), want.len() - 1);
}
