//! The GitHub webhook endpoint: signature check and poller wake-up, over loopback.

use std::time::Duration;

use maintnerd::webhook::{self, Wakers};

const SECRET: &[u8] = b"It's a Secret to Everybody";

async fn serve(wakers: Wakers) -> String {
    let app = webhook::router(SECRET, wakers);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/maintner/webhook/github")
}

const PAYLOAD: &str =
    r#"{"action":"labeled","issue":{"number":1},"repository":{"full_name":"golang/go"}}"#;

#[test]
fn signature_matches_githubs_documented_example() {
    // The example in GitHub's "Validating webhook deliveries" documentation.
    let want = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    assert_eq!(webhook::sign(SECRET, b"Hello, World!"), want);
    assert!(webhook::verify_signature(SECRET, Some(want), b"Hello, World!").is_ok());
    assert!(webhook::verify_signature(SECRET, Some(want), b"Hello, World?").is_err());
}

#[tokio::test]
async fn signed_webhook_wakes_the_repo_poller() {
    let wakers = Wakers::default();
    let url = serve(wakers.clone()).await;
    let wake = wakers.topic("github:golang/go");
    let resp = reqwest::Client::new()
        .post(&url)
        .header("X-GitHub-Event", "issues")
        .header(
            "X-Hub-Signature-256",
            webhook::sign(SECRET, PAYLOAD.as_bytes()),
        )
        .body(PAYLOAD)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    tokio::time::timeout(Duration::from_secs(5), wake.notified())
        .await
        .expect("poller woken");
}

async fn assert_rejected(signature: Option<String>, why: &str) {
    let wakers = Wakers::default();
    let url = serve(wakers.clone()).await;
    let wake = wakers.topic("github:golang/go");
    let mut req = reqwest::Client::new()
        .post(&url)
        .header("X-GitHub-Event", "issues")
        .body(PAYLOAD);
    if let Some(sig) = signature {
        req = req.header("X-Hub-Signature-256", sig);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let text = resp.text().await.unwrap();
    assert!(text.contains(why), "{text}");
    let woke = tokio::time::timeout(Duration::from_millis(200), wake.notified()).await;
    assert!(woke.is_err(), "a rejected webhook must not wake anything");
}

#[tokio::test]
async fn bad_input_webhook_with_bad_signature_is_rejected() {
    let forged = webhook::sign(b"not the secret", PAYLOAD.as_bytes());
    assert_rejected(Some(forged), "does not match").await;
}

#[tokio::test]
async fn bad_input_webhook_without_signature_is_rejected() {
    assert_rejected(None, "missing X-Hub-Signature-256").await;
}

#[tokio::test]
async fn bad_input_webhook_with_malformed_signature_is_rejected() {
    assert_rejected(Some("sha1=abcdef".into()), "sha256=").await;
    assert_rejected(Some("sha256=zz".into()), "not hex").await;
}

/// A signed `issues` payload padded to `size` bytes.
fn padded_payload(size: usize) -> Vec<u8> {
    let head = r#"{"action":"edited","repository":{"full_name":"golang/go"},"pad":""#;
    let mut body = head.as_bytes().to_vec();
    body.resize(size - 2, b'x');
    body.extend_from_slice(b"\"}");
    body
}

async fn post_signed(url: &str, body: Vec<u8>) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(url)
        .header("X-GitHub-Event", "issues")
        .header("X-Hub-Signature-256", webhook::sign(SECRET, &body))
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn a_20_mb_payload_is_taken_as_github_sends_up_to_25_mb() {
    let wakers = Wakers::default();
    let url = serve(wakers.clone()).await;
    let wake = wakers.topic("github:golang/go");
    assert_eq!(post_signed(&url, padded_payload(20_000_000)).await, 202);
    tokio::time::timeout(Duration::from_secs(5), wake.notified())
        .await
        .expect("poller woken");
}

#[tokio::test]
async fn bad_input_a_30_mb_signed_payload_is_refused_as_too_large() {
    let wakers = Wakers::default();
    let url = serve(wakers.clone()).await;
    let wake = wakers.topic("github:golang/go");
    assert_eq!(post_signed(&url, padded_payload(30_000_000)).await, 413);
    let woke = tokio::time::timeout(Duration::from_millis(200), wake.notified()).await;
    assert!(woke.is_err(), "a refused webhook must not wake anything");
}
