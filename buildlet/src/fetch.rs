//! The buildlet's own `GET` for `POST /writetgz url=`: `http://` and `https://` (Go's
//! coordinator hands out https URLs of its tarball bucket), up to five redirects, the
//! response body streamed. Every wait is bounded: connecting (TCP and TLS) by the
//! connect timeout, the response head and each read of the body by the idle timeout,
//! so a server that stalls ends the request with an error instead of holding it.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use http::{header, Request, StatusCode, Uri};
use http_body_util::BodyExt as _;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::tls::TlsError;

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("bad URL: {0}")]
    BadUrl(String),
    #[error("only http:// and https:// URLs are supported; got {0:?}")]
    Scheme(String),
    #[error("connect to {addr}")]
    Connect {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS handshake with {addr}")]
    Tls {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("no connection to {addr} within {timeout:?}")]
    ConnectTimeout { addr: String, timeout: Duration },
    #[error("no response within {0:?}")]
    ResponseTimeout(Duration),
    #[error("the body stalled: no data for {0:?}")]
    BodyStalled(Duration),
    #[error("http")]
    Http(#[from] hyper::Error),
    #[error("status {0}")]
    Status(StatusCode),
    #[error("too many redirects")]
    Redirects,
}

/// Fetches URLs for the buildlet: its TLS roots and its timeouts.
#[derive(Clone)]
pub struct Fetcher {
    tls: tokio_rustls::TlsConnector,
    /// Bound on the TCP connect plus the TLS handshake.
    pub connect_timeout: Duration,
    /// Bound on the wait for the response head, and for each read of the body.
    pub idle_timeout: Duration,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("connect_timeout", &self.connect_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .finish_non_exhaustive()
    }
}

impl Default for Fetcher {
    /// The Mozilla roots (webpki-roots), 30 s to connect, 60 s of silence at most.
    fn default() -> Self {
        Fetcher::trusting(vec![]).expect("the bundled roots make a TLS config")
    }
}

impl Fetcher {
    /// A fetcher that trusts `extra` roots besides the Mozilla ones (a private CA, or a
    /// test's self-signed certificate).
    pub fn trusting(extra: Vec<CertificateDer<'static>>) -> Result<Self, TlsError> {
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for cert in extra {
            roots.add(cert)?;
        }
        let mut cfg = rustls::ClientConfig::builder_with_provider(crate::tls::provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Fetcher {
            tls: tokio_rustls::TlsConnector::from(Arc::new(cfg)),
            connect_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
        })
    }

    /// Fetches `url` and returns the body of its 200 response.
    pub async fn get(&self, url: &str) -> Result<Body, FetchError> {
        let mut uri: Uri = url
            .parse()
            .map_err(|e| FetchError::BadUrl(format!("{url}: {e}")))?;
        for _ in 0..6 {
            let resp = self.get_once(&uri).await?;
            match resp.status() {
                StatusCode::OK => return Ok(self.idle_bounded(resp.into_body())),
                s if s.is_redirection() => uri = redirect_target(&uri, &resp)?,
                s => return Err(FetchError::Status(s)),
            }
        }
        Err(FetchError::Redirects)
    }

    /// One request, no redirects followed.
    async fn get_once(
        &self,
        uri: &Uri,
    ) -> Result<http::Response<hyper::body::Incoming>, FetchError> {
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(FetchError::Scheme(uri.to_string())),
        };
        let host = uri
            .host()
            .ok_or_else(|| FetchError::BadUrl(uri.to_string()))?;
        // An IPv6 literal comes bracketed in the URL; connect and TLS want it bare.
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let mut send = tokio::time::timeout(self.connect_timeout, self.connect(https, host, port))
            .await
            .map_err(|_| FetchError::ConnectTimeout {
                addr: format!("{host}:{port}"),
                timeout: self.connect_timeout,
            })??;
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let authority = uri.authority().map_or(host, |a| a.as_str());
        let req = Request::get(path)
            .header(header::HOST, authority)
            .body(Body::empty())
            .map_err(|e| FetchError::BadUrl(e.to_string()))?;
        tokio::time::timeout(self.idle_timeout, send.send_request(req))
            .await
            .map_err(|_| FetchError::ResponseTimeout(self.idle_timeout))?
            .map_err(FetchError::from)
    }

    /// A connection to `host:port`, over TLS for https.
    async fn connect(
        &self,
        https: bool,
        host: &str,
        port: u16,
    ) -> Result<SendRequest<Body>, FetchError> {
        let addr = || format!("{host}:{port}");
        let tcp = tokio::net::TcpStream::connect((host, port))
            .await
            .map_err(|source| FetchError::Connect {
                addr: addr(),
                source,
            })?;
        if !https {
            return handshake(tcp).await;
        }
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| FetchError::BadUrl(format!("host {host:?}: {e}")))?;
        let tls = self
            .tls
            .connect(name, tcp)
            .await
            .map_err(|source| FetchError::Tls {
                addr: addr(),
                source,
            })?;
        handshake(tls).await
    }

    /// The body, ended with [`FetchError::BodyStalled`] when no data comes for the
    /// idle timeout.
    fn idle_bounded(&self, body: hyper::body::Incoming) -> Body {
        let idle = self.idle_timeout;
        let chunks = futures_util::stream::try_unfold(body, move |mut body| async move {
            loop {
                let frame = tokio::time::timeout(idle, body.frame())
                    .await
                    .map_err(|_| FetchError::BodyStalled(idle))?;
                match frame {
                    None => return Ok::<_, FetchError>(None),
                    Some(frame) => {
                        // Trailers carry nothing the tarball needs.
                        if let Ok(data) = frame?.into_data() {
                            return Ok(Some((data, body)));
                        }
                    }
                }
            }
        });
        Body::from_stream(chunks)
    }
}

/// HTTP/1.1 over `io`; the connection is driven by its own task.
async fn handshake<T>(io: T) -> Result<SendRequest<Body>, FetchError>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await?;
    tokio::spawn(conn);
    Ok(send)
}

/// Where a redirect response points, relative locations resolved against `from`.
fn redirect_target(
    from: &Uri,
    resp: &http::Response<hyper::body::Incoming>,
) -> Result<Uri, FetchError> {
    let loc = resp
        .headers()
        .get(header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .unwrap_or("");
    let next: Uri = loc
        .parse()
        .map_err(|e| FetchError::BadUrl(format!("redirect {loc:?}: {e}")))?;
    if next.scheme().is_some() {
        return Ok(next);
    }
    let mut parts = from.clone().into_parts();
    parts.path_and_query = next.path_and_query().cloned();
    Uri::from_parts(parts).map_err(|e| FetchError::BadUrl(format!("redirect {loc:?}: {e}")))
}
