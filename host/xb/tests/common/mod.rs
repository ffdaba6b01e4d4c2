//! Helpers shared by the xb integration tests.

#![allow(dead_code)]

/// GET a URL on the test server and return the body, asserting 200.
pub async fn get_text(url: &str) -> String {
    let resp = reqwest::get(url).await.unwrap();
    assert_eq!(resp.status(), 200, "GET {url}");
    resp.text().await.unwrap()
}

/// GET a URL and parse the body as JSON.
pub async fn get_json(url: &str) -> serde_json::Value {
    let body = get_text(url).await;
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: {e}: {body}"))
}
