//! GitHub ingestion against the fake GitHub server on loopback, replaying the real event
//! pages of `testdata/github/`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use maintner::github::MilestoneRef;
use maintner::DiskLog;
use maintnerd::fakegithub::{self, EventPages, FakeGitHub};
use maintnerd::github::api::{GitHubClient, GitHubError};
use maintnerd::github::poller::{GitHubRepoPoller, PollError};
use maintnerd::ingest::Ingest;
use maintnerd::store::SharedLog;
use maintnerd::view::PollerView;
use serde_json::json;

fn github_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/github")
}

struct Setup {
    fake: FakeGitHub,
    ingest: Ingest,
    poller: GitHubRepoPoller,
    _dir: tempfile::TempDir,
}

async fn setup(issues: i32) -> Setup {
    let fake = FakeGitHub::start().await.unwrap();
    fakegithub::populate(&fake, "golang", "go", issues, 7, &github_data()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ingest = Ingest::new(SharedLog::open(dir.path()).unwrap()).unwrap();
    let client = Arc::new(GitHubClient::new(&fake.base(), Some("token".into())));
    let poller = GitHubRepoPoller::new("golang", "go", client, ingest.clone());
    Setup {
        fake,
        ingest,
        poller,
        _dir: dir,
    }
}

fn log_size(s: &Setup) -> u64 {
    s.ingest.log().total_size()
}

#[tokio::test]
async fn ingests_issues_comments_and_real_event_pages() {
    let s = setup(250).await;
    let stats = s.poller.sync_round(false).await.unwrap();
    assert_eq!(stats.issues_changed, 250);
    {
        let v = s.ingest.view();
        assert_eq!(v.github_issue_numbers("golang", "go").len(), 250);
        let is = v.github_issue("golang", "go", 17).unwrap();
        assert_eq!(is.title, "go: generated issue 17");
        assert!(is.comments_synced() && is.events_synced());
        // The real 4-page split arrives whole: 7 events, the last one "closed".
        let split = v
            .github_issue("golang", "go", fakegithub::ISSUE_WITH_SPLIT_EVENTS)
            .unwrap();
        assert_eq!(split.event_ids.len(), 7);
        assert!(split.event_ids.contains(&1943494698));
        let ms = v
            .github_issue("golang", "go", fakegithub::ISSUE_WITH_MILESTONE_EVENTS)
            .unwrap();
        assert_eq!(ms.event_ids.len(), 11);
        assert_eq!(
            v.github_labels("golang", "go").len(),
            fakegithub::generate::LABELS.len()
        );
    }
    let event_pages: Vec<String> = s
        .fake
        .requests()
        .into_iter()
        .map(|r| r.path_and_query)
        .filter(|p| p.starts_with("/repos/golang/go/issues/1/events"))
        .collect();
    assert_eq!(event_pages.len(), 4, "{event_pages:?}");

    // The log holds exactly what the pollers' state was built from.
    let replayed = Ingest::new(SharedLog::new(
        DiskLog::open_read_only(s.ingest.log().segments()[0].path.parent().unwrap()).unwrap(),
    ))
    .unwrap();
    assert_eq!(
        replayed.view().mutation_counts().total,
        s.ingest.view().mutation_counts().total
    );

    // Nothing changed: page 1 revalidates with its ETag (304), nothing is logged.
    let before = log_size(&s);
    let stats = s.poller.sync_round(false).await.unwrap();
    assert!(stats.issues_not_modified);
    assert_eq!(log_size(&s), before);
    let last = s
        .fake
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path_and_query.contains("/issues?"))
        .unwrap();
    assert_eq!(last.status, 304);
    assert!(last.if_none_match.is_some());
}

#[tokio::test]
async fn a_change_on_github_becomes_one_diff_mutation() {
    let s = setup(30).await;
    s.poller.sync_round(false).await.unwrap();
    let old = s
        .ingest
        .view()
        .github_issue("golang", "go", 5)
        .unwrap()
        .clone();
    let mut issue = json!({
        "id": old.id, "number": 5, "title": "go: renamed issue 5",
        "user": {"login": "gopher1", "id": old.user.unwrap()},
        "labels": [fakegithub::generate::label(3)],
        "state": "closed", "locked": old.locked,
        "assignees": [], "milestone": fakegithub::generate::milestone(4),
        "created_at": "2018-01-01T15:00:00Z", "updated_at": "2019-07-15T10:00:00Z",
        "closed_at": "2019-07-15T10:00:00Z", "body": old.body,
    });
    if old.pull_request {
        issue["pull_request"] = json!({});
    }
    s.fake.put_issue("golang", "go", issue);
    s.fake
        .set_clock(Some(fakegithub::GENERATED_CLOCK + 30 * 86400));
    let before = s.ingest.view().mutation_counts().total;
    let stats = s.poller.sync_round(false).await.unwrap();
    assert_eq!(stats.issues_changed, 1);
    let v = s.ingest.view();
    let now = v.github_issue("golang", "go", 5).unwrap();
    assert_eq!(now.title, "go: renamed issue 5");
    assert!(now.closed);
    assert_eq!(
        now.labels.iter().copied().collect::<Vec<_>>(),
        vec![150_000_003]
    );
    assert_eq!(now.milestone, MilestoneRef::Id(9_000_098));
    assert!(now.assignees.is_empty());
    // One issue mutation, then the comment and event re-sync of that issue.
    assert_eq!(v.mutation_counts().total - before, 3);
}

#[tokio::test]
async fn bad_input_garbage_json_page_loses_nothing_and_next_poll_works() {
    let s = setup(250).await;
    s.fake.inject_garbage("/issues?direction=desc&page=2");
    let err = s.poller.sync_round(false).await.unwrap_err();
    match &err {
        PollError::GitHub(GitHubError::Json { url, line, .. }) => {
            assert!(url.contains("page=2"), "{url}");
            assert_eq!(*line, 1);
        }
        other => panic!("expected a JSON error, got {other}"),
    }
    // Page 1 was recorded; the log is whole.
    assert_eq!(
        s.ingest.view().github_issue_numbers("golang", "go").len(),
        100
    );
    let dir = s.ingest.log().segments()[0]
        .path
        .parent()
        .unwrap()
        .to_path_buf();
    assert!(maintner::verify(&dir).is_ok());

    // The next round starts over (no 304 shortcut) and gets everything.
    let stats = s.poller.sync_round(false).await.unwrap();
    assert!(!stats.issues_not_modified);
    assert_eq!(stats.issues_changed, 150);
    assert_eq!(
        s.ingest.view().github_issue_numbers("golang", "go").len(),
        250
    );
}

#[tokio::test]
async fn bad_input_unknown_event_type_is_skipped_not_fatal() {
    let s = setup(3).await;
    let events = vec![
        json!({"id": 11, "event": "labeled", "created_at": "2018-11-02T15:53:59Z",
               "actor": {"login": "bcmills", "id": 5200974}, "label": {"name": "Testing", "color": "aaffaa"}}),
        json!({"id": 12, "event": "sent_to_the_moon", "created_at": "2018-11-02T15:54:00Z"}),
        json!({"id": 13, "event": "closed", "created_at": "2018-11-02T15:55:00Z", "commit_id": null}),
    ];
    s.fake
        .put_events("golang", "go", 3, EventPages::Items(events));
    s.poller.sync_round(false).await.unwrap();
    let v = s.ingest.view();
    let is = v.github_issue("golang", "go", 3).unwrap();
    let mut ids: Vec<i64> = is.event_ids.iter().copied().collect();
    ids.sort();
    assert_eq!(ids, vec![11, 13]);
    assert!(is.events_synced());
}

#[tokio::test]
async fn rate_limit_headers_are_obeyed() {
    let fake = FakeGitHub::start().await.unwrap();
    fakegithub::populate(&fake, "golang", "go", 3, 1, &github_data()).unwrap();
    let reset = chrono::Utc::now().timestamp() + 2;
    fake.set_rate_limit(1, reset);
    let mut client = GitHubClient::new(&fake.base(), None);
    let url = client.url("/repos/golang/go/labels?page=1");
    client.get::<serde_json::Value>(&url, false).await.unwrap();
    let rate = client.rate_limit();
    assert_eq!((rate.remaining, rate.reset), (Some(0), Some(reset)));

    // Used up and the reset is further away than we are willing to wait: no request.
    client.max_rate_wait = std::time::Duration::ZERO;
    let seen = fake.requests().len();
    let err = client
        .get::<serde_json::Value>(&url, false)
        .await
        .unwrap_err();
    assert!(matches!(err, GitHubError::RateLimited { .. }), "{err}");
    assert_eq!(fake.requests().len(), seen);

    // Willing to wait: the next request goes out only after the window reset.
    client.max_rate_wait = std::time::Duration::from_secs(10);
    fake.set_rate_limit(100, reset + 3600);
    client.get::<serde_json::Value>(&url, false).await.unwrap();
    let at = fake.requests().last().unwrap().at.timestamp();
    assert!(at >= reset, "request at {at} before reset {reset}");
}

#[tokio::test]
async fn missing_issue_numbers_are_looked_up_and_marked_not_exist() {
    let s = setup(20).await;
    s.fake.delete_issue("golang", "go", 7);
    s.fake.delete_issue("golang", "go", 13);
    s.poller.sync_round(false).await.unwrap();
    {
        let v = s.ingest.view();
        for n in [7, 13] {
            let is = v.github_issue("golang", "go", n).expect("hole recorded");
            assert!(is.not_exist, "#{n}");
        }
        assert!(!v.github_issue("golang", "go", 8).unwrap().not_exist);
    }
    let asked = |n: i32| {
        let path = format!("/repos/golang/go/issues/{n}");
        s.fake
            .requests()
            .iter()
            .filter(|r| r.path_and_query == path)
            .count()
    };
    assert_eq!((asked(7), asked(13)), (1, 1));
    s.poller.sync_round(false).await.unwrap();
    assert_eq!(
        (asked(7), asked(13)),
        (1, 1),
        "a known hole is not asked for again"
    );
}
