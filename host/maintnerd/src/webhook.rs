//! Wake-ups for the pollers, like Go's pubsubhelper: a GitHub webhook (checked with
//! `X-Hub-Signature-256`) says "something changed in owner/repo" and the poller of that
//! repo runs now instead of at its next interval. The payload is only a signal; what
//! changed is always read from the source by the poller.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Per-topic wake-up signals (`github:owner/repo`, `gerrit:host/project`, `git:name`).
///
/// Unlike Go's non-blocking send, which dropped a wake-up that arrived while the poller was
/// busy, a [`tokio::sync::Notify`] keeps one pending permit, so a change announced during a
/// sync still causes one more sync right after it.
#[derive(Clone, Default)]
pub struct Wakers {
    topics: Arc<Mutex<HashMap<String, Arc<tokio::sync::Notify>>>>,
}

impl Wakers {
    /// The signal of `topic`, created on first use.
    pub fn topic(&self, topic: &str) -> Arc<tokio::sync::Notify> {
        self.topics
            .lock()
            .unwrap()
            .entry(topic.to_string())
            .or_default()
            .clone()
    }

    /// Wakes the poller of `topic` (or its next wait, if it is busy).
    pub fn fire(&self, topic: &str) {
        tracing::debug!(topic, "wake-up");
        self.topic(topic).notify_one();
    }
}

#[derive(Clone)]
struct Hook {
    secret: Arc<Vec<u8>>,
    wakers: Wakers,
}

/// The largest payload GitHub sends: it caps webhook payloads at 25 MB and drops larger
/// ones undelivered ("Webhook events and payloads" in GitHub's documentation).
pub const MAX_PAYLOAD_BYTES: usize = 25 << 20;

/// `POST /maintner/webhook/github`: verifies the HMAC-SHA256 signature with `secret`, then
/// fires `github:<owner>/<repo>` for the payload's `repository.full_name`.
pub fn router(secret: &[u8], wakers: Wakers) -> Router {
    Router::new()
        .route("/maintner/webhook/github", post(github_hook))
        // The signature covers the whole body, so the body is read before it can be
        // checked; the cap bounds what an unsigned sender can make us read.
        .layer(DefaultBodyLimit::max(MAX_PAYLOAD_BYTES))
        .with_state(Hook {
            secret: Arc::new(secret.to_vec()),
            wakers,
        })
}

/// Checks `X-Hub-Signature-256: sha256=<hex>` against the body, in constant time.
pub fn verify_signature(secret: &[u8], header: Option<&str>, body: &[u8]) -> Result<(), String> {
    let header = header.ok_or("missing X-Hub-Signature-256 header")?;
    let hex_sig = header
        .strip_prefix("sha256=")
        .ok_or("X-Hub-Signature-256 does not start with sha256=")?;
    let sig = hex::decode(hex_sig).map_err(|_| "X-Hub-Signature-256 is not hex")?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    // verify_slice compares in constant time.
    mac.verify_slice(&sig)
        .map_err(|_| "X-Hub-Signature-256 does not match the body".to_string())
}

async fn github_hook(
    State(h): State<Hook>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let sig = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    if let Err(why) = verify_signature(&h.secret, sig, &body) {
        tracing::warn!(why, "rejected GitHub webhook");
        return (StatusCode::UNAUTHORIZED, why);
    }
    let event = headers
        .get("x-github-event")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if event == "ping" {
        return (StatusCode::OK, "pong".into());
    }
    let payload: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("webhook body: {e}")),
    };
    let Some(full_name) = payload["repository"]["full_name"].as_str() else {
        return (
            StatusCode::BAD_REQUEST,
            "webhook body has no repository.full_name".into(),
        );
    };
    let topic = format!("github:{}", full_name.to_lowercase());
    h.wakers.fire(&topic);
    (StatusCode::ACCEPTED, topic)
}

/// The signature header value GitHub would send for `body` (for tests and tools).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}
