//! `xb serve` with the bot live: the configuration's credentials reach GitHub (a fake
//! on loopback that, like GitHub, refuses writes without the token) and the serving
//! gopherbot's decisions over the recorded corpus are carried out there.

mod common;

use maintnerd::fakegithub::FakeGitHub;
use serde_json::json;
use std::time::Duration;
use xb::config::BotSettings;

const TOKEN: &str = "ghp_serve_test_token";

fn settings(dir: &std::path::Path, github: &str) -> BotSettings {
    std::fs::write(dir.join("github-token"), format!("{TOKEN}\n")).unwrap();
    std::fs::write(dir.join("gerrit-password"), "secret\n").unwrap();
    BotSettings {
        live: Some(true),
        github_url: Some(github.into()),
        github_token_file: Some(dir.join("github-token")),
        // Nothing listens there: Gerrit actions fail and are reported, GitHub's go on.
        gerrit_url: Some("http://127.0.0.1:9".into()),
        gerrit_user: Some("gopherbot".into()),
        gerrit_password_file: Some(dir.join("gerrit-password")),
        interval_ms: Some(1),
    }
}

/// golang/go#15, an "x/build" issue of the recorded corpus without the label, on the fake.
fn put_issue_15(fake: &FakeGitHub) {
    fake.put_issue(
        "golang",
        "go",
        json!({"id": 1015, "number": 15, "title": "x/build: issue 15",
               "user": {"login": "gopher", "id": 1}, "state": "open", "locked": false,
               "labels": [], "milestone": null, "comments": 0, "assignees": [],
               "created_at": "2026-07-01T00:00:00Z", "updated_at": "2026-07-01T00:00:00Z",
               "closed_at": null, "body": ""}),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_bot_acts_on_github_with_the_configured_token() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeGitHub::start().await.unwrap();
    fake.require_token(TOKEN);
    put_issue_15(&fake);
    let mode = xb::botserve::mode(&settings(dir.path(), &fake.base())).unwrap();
    let (_host, _url) = common::start_bot(&dir.path().join("data"), None, mode).await;
    let labelled = || {
        fake.writes().iter().any(|w| {
            w.method == "POST" && w.path == "/repos/golang/go/issues/15/labels" && w.status == 200
        })
    };
    for _ in 0..600 {
        if labelled() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(labelled(), "writes: {:#?}", fake.writes());
    let labels = &fake.issue("golang", "go", 15).unwrap()["labels"];
    assert!(
        labels
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["name"] == "Builders"),
        "{labels}"
    );
}

#[tokio::test]
async fn the_fake_github_refuses_writes_without_the_token_as_github_does() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeGitHub::start().await.unwrap();
    fake.require_token("another token");
    put_issue_15(&fake);
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{}/repos/golang/go/issues/15/labels", fake.base()))
        .header("Authorization", format!("token {TOKEN}"))
        .header("Content-Type", "application/json")
        .body(json!({"labels": ["Builders"]}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: serde_json::Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    assert_eq!(body["message"], "Requires authentication");
    assert_eq!(fake.issue("golang", "go", 15).unwrap()["labels"], json!([]));
    let _ = dir;
}

#[test]
fn a_live_bot_without_credentials_does_not_start() {
    let err = xb::botserve::mode(&BotSettings {
        live: Some(true),
        github_token_file: Some("/nonexistent/token".into()),
        ..Default::default()
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("gerrit_user"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(dir.path(), "http://127.0.0.1:9");
    s.github_token_file = Some(dir.path().join("missing-token"));
    let err = format!("{:#}", xb::botserve::mode(&s).unwrap_err());
    assert!(err.contains("missing-token"), "{err}");

    std::fs::write(dir.path().join("empty-token"), " \n").unwrap();
    s.github_token_file = Some(dir.path().join("empty-token"));
    let err = format!("{:#}", xb::botserve::mode(&s).unwrap_err());
    assert!(err.contains("empty-token is empty"), "{err}");

    let dry = xb::botserve::mode(&BotSettings::default()).unwrap();
    assert!(matches!(dry, bot::execute::Mode::DryRun));
}
