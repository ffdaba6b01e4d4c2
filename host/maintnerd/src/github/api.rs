//! GitHub REST client (what Go's maintner/github.go gets from go-github): pagination by
//! `Link` header, conditional requests with ETags (`If-None-Match` → `304` means "nothing
//! changed"), and the rate-limit headers.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, ETAG, IF_NONE_MATCH, LINK, USER_AGENT};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    #[error("GET {url}: {source}")]
    Http { url: String, source: reqwest::Error },
    #[error("GET {url}: status {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("GET {url}: bad JSON at line {line} column {column}: {what}")]
    Json {
        url: String,
        line: usize,
        column: usize,
        what: String,
    },
    #[error("GET {url}: rate limited until {reset}")]
    RateLimited { url: String, reset: DateTime<Utc> },
    #[error("GET {url}: unexpected response: {what}")]
    Protocol { url: String, what: String },
}

/// The last rate-limit state GitHub reported (`X-RateLimit-*`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimit {
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    /// Unix seconds when the window resets.
    pub reset: Option<i64>,
}

/// One page of a list endpoint.
#[derive(Debug)]
pub struct Page<T> {
    pub items: T,
    /// Absolute URL of the next page (`Link: <…>; rel="next"`).
    pub next: Option<String>,
    /// The response's `Date` header: the server's notion of "synced as of".
    pub date: Option<DateTime<Utc>>,
    /// True if GitHub answered `304 Not Modified` to our ETag: nothing changed.
    pub not_modified: bool,
}

struct Cached {
    etag: String,
    body: bytes::Bytes,
    next: Option<String>,
}

/// A GitHub API client. Cheap to share behind an `Arc`.
pub struct GitHubClient {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    etags: Mutex<HashMap<String, Cached>>,
    rate: Mutex<RateLimit>,
    /// Longest we sleep waiting for a rate-limit window to reset.
    pub max_rate_wait: Duration,
}

impl GitHubClient {
    /// `base` is the API root, e.g. `https://api.github.com` or a loopback fake.
    pub fn new(base: &str, token: Option<String>) -> Self {
        GitHubClient {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("reqwest client without TLS config cannot fail"),
            base: base.trim_end_matches('/').to_string(),
            token,
            etags: Mutex::new(HashMap::new()),
            rate: Mutex::new(RateLimit::default()),
            max_rate_wait: Duration::from_secs(15 * 60),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Drops the cached answer of `url`, so its next conditional GET is a full one.
    pub fn forget(&self, url: &str) {
        self.etags.lock().unwrap().remove(url);
    }

    pub fn rate_limit(&self) -> RateLimit {
        *self.rate.lock().unwrap()
    }

    /// Absolute URL for an API path like `/repos/golang/go/issues?page=1`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// GETs `url` and decodes it as `T`. With `conditional`, sends the ETag of the last
    /// good answer and returns that answer again (with `not_modified`) on `304`.
    /// The ETag cache only ever holds bodies that decoded, so a garbage page is retried.
    pub async fn get<T: DeserializeOwned>(
        &self,
        url: &str,
        conditional: bool,
    ) -> Result<Page<T>, GitHubError> {
        self.wait_for_rate_limit(url).await?;
        let mut req = self
            .http
            .get(url)
            .header(USER_AGENT, "xbuild-maintnerd/1.0")
            .header(ACCEPT, "application/vnd.github+json");
        if let Some(token) = &self.token {
            req = req.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if conditional {
            if let Some(c) = self.etags.lock().unwrap().get(url) {
                req = req.header(IF_NONE_MATCH, c.etag.clone());
            }
        }
        let http_err = |source| GitHubError::Http {
            url: url.to_string(),
            source,
        };
        let resp = req.send().await.map_err(http_err)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        self.note_rate_limit(&headers);
        let date = header_date(&headers);
        if status == StatusCode::NOT_MODIFIED {
            let cached = self
                .etags
                .lock()
                .unwrap()
                .get(url)
                .map(|c| (c.body.clone(), c.next.clone()));
            let Some((body, next)) = cached else {
                return Err(GitHubError::Protocol {
                    url: url.to_string(),
                    what: "304 Not Modified for a request we have no cached answer for".into(),
                });
            };
            let items = decode(url, &body)?;
            return Ok(Page {
                items,
                next,
                date,
                not_modified: true,
            });
        }
        let body = resp.bytes().await.map_err(http_err)?;
        if !status.is_success() {
            let rate = self.rate_limit();
            if matches!(status.as_u16(), 403 | 429) && rate.remaining == Some(0) {
                let reset =
                    DateTime::from_timestamp(rate.reset.unwrap_or(0), 0).unwrap_or_default();
                return Err(GitHubError::RateLimited {
                    url: url.to_string(),
                    reset,
                });
            }
            return Err(GitHubError::Status {
                url: url.to_string(),
                status: status.as_u16(),
                body: String::from_utf8_lossy(&body).chars().take(200).collect(),
            });
        }
        let items = decode(url, &body)?;
        let next = next_link(&headers);
        if let Some(etag) = headers.get(ETAG).and_then(|v| v.to_str().ok()) {
            self.etags.lock().unwrap().insert(
                url.to_string(),
                Cached {
                    etag: etag.to_string(),
                    body,
                    next: next.clone(),
                },
            );
        }
        Ok(Page {
            items,
            next,
            date,
            not_modified: false,
        })
    }

    fn note_rate_limit(&self, h: &HeaderMap) {
        let num = |name: &str| h.get(name)?.to_str().ok()?.parse::<i64>().ok();
        let mut rate = self.rate.lock().unwrap();
        if let Some(remaining) = num("x-ratelimit-remaining") {
            rate.remaining = Some(remaining.max(0) as u64);
            rate.limit = num("x-ratelimit-limit").map(|l| l.max(0) as u64);
            rate.reset = num("x-ratelimit-reset");
        }
    }

    /// When the last answer said the window is used up, sleeps until it resets.
    async fn wait_for_rate_limit(&self, url: &str) -> Result<(), GitHubError> {
        let rate = self.rate_limit();
        let (Some(0), Some(reset)) = (rate.remaining, rate.reset) else {
            return Ok(());
        };
        let wait = reset - Utc::now().timestamp();
        if wait <= 0 {
            return Ok(());
        }
        let wait = Duration::from_secs(wait as u64);
        if wait > self.max_rate_wait {
            return Err(GitHubError::RateLimited {
                url: url.to_string(),
                reset: DateTime::from_timestamp(reset, 0).unwrap_or_default(),
            });
        }
        tracing::info!(?wait, "GitHub rate limit used up; waiting for reset");
        tokio::time::sleep(wait).await;
        Ok(())
    }
}

fn decode<T: DeserializeOwned>(url: &str, body: &[u8]) -> Result<T, GitHubError> {
    serde_json::from_slice(body).map_err(|e| GitHubError::Json {
        url: url.to_string(),
        line: e.line(),
        column: e.column(),
        what: e.to_string(),
    })
}

fn header_date(h: &HeaderMap) -> Option<DateTime<Utc>> {
    let v = h.get(reqwest::header::DATE)?.to_str().ok()?;
    DateTime::parse_from_rfc2822(v)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// The `rel="next"` target of a `Link` header.
pub fn next_link(h: &HeaderMap) -> Option<String> {
    let v = h.get(LINK)?.to_str().ok()?;
    v.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub login: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Label {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Milestone {
    pub id: i64,
    pub number: i64,
    pub title: String,
    pub state: String,
}

/// The fields of an issue (or pull request) the corpus keeps.
#[derive(Debug, Clone, Deserialize)]
pub struct Issue {
    pub id: i64,
    pub number: i32,
    pub title: String,
    #[serde(default)]
    pub body: Option<String>,
    pub user: Option<User>,
    pub state: String,
    #[serde(default)]
    pub locked: bool,
    #[serde(default)]
    pub labels: Vec<Label>,
    #[serde(default)]
    pub assignees: Vec<User>,
    pub milestone: Option<Milestone>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<User>,
    /// Present (an object) on pull requests.
    pub pull_request: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Comment {
    pub id: i64,
    pub user: Option<User>,
    pub body: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
