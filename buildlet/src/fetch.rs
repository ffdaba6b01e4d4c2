//! The buildlet's own `GET` for `POST /writetgz url=` (plain `http://` only, up to five
//! redirects), streaming the response body.

use axum::body::Body;
use http::{header, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("bad URL: {0}")]
    BadUrl(String),
    #[error("only http:// URLs are supported; got {0:?}")]
    Scheme(String),
    #[error("connect: {0}")]
    Connect(#[from] std::io::Error),
    #[error("http: {0}")]
    Http(#[from] hyper::Error),
    #[error("status {0}")]
    Status(StatusCode),
    #[error("too many redirects")]
    Redirects,
}

/// Fetches `url` and returns the body of its 200 response.
pub async fn get(url: &str) -> Result<Body, FetchError> {
    let mut uri: Uri = url
        .parse()
        .map_err(|e| FetchError::BadUrl(format!("{url}: {e}")))?;
    for _ in 0..6 {
        if uri.scheme_str() != Some("http") {
            return Err(FetchError::Scheme(uri.to_string()));
        }
        let host = uri
            .host()
            .ok_or_else(|| FetchError::BadUrl(uri.to_string()))?
            .to_string();
        let port = uri.port_u16().unwrap_or(80);
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
        let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
        tokio::spawn(conn);
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
        let req = Request::get(path)
            .header(
                header::HOST,
                uri.authority().map_or(host.clone(), |a| a.to_string()),
            )
            .body(Body::empty())
            .map_err(|e| FetchError::BadUrl(e.to_string()))?;
        let resp = send.send_request(req).await?;
        match resp.status() {
            StatusCode::OK => return Ok(Body::new(resp.into_body())),
            s if s.is_redirection() => {
                let loc = resp
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .unwrap_or("");
                let next: Uri = loc
                    .parse()
                    .map_err(|e| FetchError::BadUrl(format!("redirect {loc:?}: {e}")))?;
                uri = if next.scheme().is_some() {
                    next
                } else {
                    Uri::builder()
                        .scheme("http")
                        .authority(uri.authority().expect("checked host").clone())
                        .path_and_query(loc)
                        .build()
                        .map_err(|e| FetchError::BadUrl(e.to_string()))?
                };
            }
            s => return Err(FetchError::Status(s)),
        }
    }
    Err(FetchError::Redirects)
}
