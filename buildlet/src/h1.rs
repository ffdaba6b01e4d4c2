//! HTTP/1 serving for listen mode.
//!
//! hyper sends response trailers over HTTP/1 only to clients that asked with
//! `TE: trailers`, but Go's `net/http` client never does, and the `/exec` result lives in
//! the `Process-State` trailer. [`TrailersShim`] sits under hyper and adds
//! `TE: trailers` to each request head it sees, following the request framing
//! (`Content-Length` / chunked) to find the next head, so the real Go client gets its
//! trailer.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const MAX_HEAD: usize = 64 << 10;

#[derive(Debug)]
enum State {
    /// Collecting a request head.
    Head,
    /// Passing `n` more body bytes.
    Body(u64),
    /// Chunked body: collecting a chunk-size line.
    ChunkSize,
    /// Chunked body: passing `n` chunk bytes, then the line end.
    ChunkData(u64),
    ChunkEnd,
    /// Chunked body: trailer section lines until an empty one.
    ChunkTrailer,
    /// Something we do not follow (upgrade, parse error): stop rewriting.
    Passthrough,
}

/// An IO wrapper that injects `TE: trailers` into HTTP/1 request heads.
pub struct TrailersShim<T> {
    inner: T,
    state: State,
    /// Bytes of the current head or line being collected.
    line: Vec<u8>,
    /// Bytes ready for the reader.
    out: Vec<u8>,
    out_pos: usize,
}

impl<T> TrailersShim<T> {
    pub fn new(inner: T) -> Self {
        TrailersShim {
            inner,
            state: State::Head,
            line: Vec::new(),
            out: Vec::new(),
            out_pos: 0,
        }
    }

    /// Runs `input` through the state machine, appending what the reader should see to `out`.
    fn feed(&mut self, mut input: &[u8]) {
        while !input.is_empty() {
            match self.state {
                State::Passthrough => {
                    self.out.extend_from_slice(input);
                    return;
                }
                State::Body(n) | State::ChunkData(n) => {
                    let take = (n.min(input.len() as u64)) as usize;
                    self.out.extend_from_slice(&input[..take]);
                    input = &input[take..];
                    let left = n - take as u64;
                    self.state = match self.state {
                        State::Body(_) if left == 0 => State::Head,
                        State::Body(_) => State::Body(left),
                        _ if left == 0 => State::ChunkEnd,
                        _ => State::ChunkData(left),
                    };
                }
                State::Head => {
                    let b = input[0];
                    input = &input[1..];
                    self.line.push(b);
                    if self.line.ends_with(b"\n\r\n") || self.line.ends_with(b"\n\n") {
                        self.finish_head();
                    } else if self.line == b"\r\n" || self.line == b"\n" {
                        // Stray line ends between requests are allowed.
                        self.out.append(&mut self.line);
                    } else if self.line.len() > MAX_HEAD {
                        self.out.append(&mut self.line);
                        self.state = State::Passthrough;
                    }
                }
                State::ChunkSize | State::ChunkEnd | State::ChunkTrailer => {
                    let b = input[0];
                    input = &input[1..];
                    self.line.push(b);
                    self.out.push(b);
                    if b == b'\n' {
                        self.end_line();
                    } else if self.line.len() > MAX_HEAD {
                        self.state = State::Passthrough;
                    }
                }
            }
        }
    }

    fn end_line(&mut self) {
        let line = std::mem::take(&mut self.line);
        let trimmed = line.strip_suffix(b"\n").unwrap_or(&line);
        let trimmed = trimmed.strip_suffix(b"\r").unwrap_or(trimmed);
        self.state = match self.state {
            State::ChunkEnd => State::ChunkSize,
            State::ChunkTrailer if trimmed.is_empty() => State::Head,
            State::ChunkTrailer => State::ChunkTrailer,
            _ => {
                let hex = trimmed.split(|&c| c == b';').next().unwrap_or(b"");
                let size = std::str::from_utf8(hex)
                    .ok()
                    .and_then(|h| u64::from_str_radix(h.trim(), 16).ok());
                match size {
                    Some(0) => State::ChunkTrailer,
                    Some(n) => State::ChunkData(n),
                    None => State::Passthrough,
                }
            }
        };
    }

    fn finish_head(&mut self) {
        let head = std::mem::take(&mut self.line);
        let mut headers = [httparse::EMPTY_HEADER; 128];
        let mut req = httparse::Request::new(&mut headers);
        let Ok(httparse::Status::Complete(_)) = req.parse(&head) else {
            self.out.extend_from_slice(&head);
            self.state = State::Passthrough;
            return;
        };
        let mut length = 0u64;
        let mut chunked = false;
        let mut has_te_trailers = false;
        let mut follow = req.method != Some("CONNECT");
        for h in req.headers.iter() {
            let v = String::from_utf8_lossy(h.value).to_ascii_lowercase();
            if h.name.eq_ignore_ascii_case("content-length") {
                match v.trim().parse() {
                    Ok(n) => length = n,
                    Err(_) => follow = false,
                }
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = v.split(',').any(|t| t.trim() == "chunked");
            } else if h.name.eq_ignore_ascii_case("te") {
                has_te_trailers |= v.split(',').any(|t| t.trim() == "trailers");
            } else if h.name.eq_ignore_ascii_case("upgrade") {
                follow = false;
            }
        }
        let line_end = head
            .iter()
            .position(|&c| c == b'\n')
            .map_or(head.len(), |i| i + 1);
        self.out.extend_from_slice(&head[..line_end]);
        if !has_te_trailers {
            self.out.extend_from_slice(b"TE: trailers\r\n");
        }
        self.out.extend_from_slice(&head[line_end..]);
        self.state = match (follow, chunked, length) {
            (false, _, _) => State::Passthrough,
            (true, true, _) => State::ChunkSize,
            (true, false, 0) => State::Head,
            (true, false, n) => State::Body(n),
        };
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TrailersShim<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.out_pos < this.out.len() {
                let n = (this.out.len() - this.out_pos).min(buf.remaining());
                buf.put_slice(&this.out[this.out_pos..this.out_pos + n]);
                this.out_pos += n;
                if this.out_pos == this.out.len() {
                    this.out.clear();
                    this.out_pos = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if let State::Passthrough = this.state {
                return Pin::new(&mut this.inner).poll_read(cx, buf);
            }
            let mut tmp = [0u8; 16 << 10];
            let mut rb = ReadBuf::new(&mut tmp);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut rb))?;
            if rb.filled().is_empty() {
                // EOF: hand over any partial head unchanged.
                let rest = std::mem::take(&mut this.line);
                if rest.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                this.out = rest;
                this.state = State::Passthrough;
                continue;
            }
            let filled = rb.filled().to_vec();
            this.feed(&filled);
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TrailersShim<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Serves `app` over HTTP/1.1 on `listener` (TLS when `tls` is set) until `shutdown`
/// resolves. Each connection goes through [`TrailersShim`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl std::future::Future<Output = ()>,
) -> io::Result<()> {
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => r?,
            _ = &mut shutdown => return Ok(()),
        };
        let _ = tcp.set_nodelay(true);
        let app = app.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let res = match tls {
                Some(acceptor) => match acceptor.accept(tcp).await {
                    Ok(s) => serve_conn(s, app).await,
                    Err(e) => {
                        tracing::debug!(%peer, "TLS handshake: {e}");
                        return;
                    }
                },
                None => serve_conn(tcp, app).await,
            };
            if let Err(e) = res {
                tracing::debug!(%peer, "connection: {e}");
            }
        });
    }
}

/// Serves one HTTP/1 connection.
pub async fn serve_conn<I>(io: I, app: axum::Router) -> Result<(), hyper::Error>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = hyper_util::service::TowerToHyperService::new(app);
    hyper::server::conn::http1::Builder::new()
        .serve_connection(hyper_util::rt::TokioIo::new(TrailersShim::new(io)), svc)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(chunks: &[&[u8]]) -> Vec<u8> {
        let mut s = TrailersShim::new(tokio::io::empty());
        for c in chunks {
            s.feed(c);
        }
        s.out
    }

    #[test]
    fn injects_into_each_pipelined_request() {
        let input: &[u8] = b"POST /exec HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\ncmd=aGET /status HTTP/1.1\r\nHost: x\r\n\r\n";
        let want: &[u8] = b"POST /exec HTTP/1.1\r\nTE: trailers\r\nHost: x\r\nContent-Length: 5\r\n\r\ncmd=aGET /status HTTP/1.1\r\nTE: trailers\r\nHost: x\r\n\r\n";
        assert_eq!(run(&[input]), want);
        // Same bytes split at every position give the same result.
        for i in 0..input.len() {
            assert_eq!(run(&[&input[..i], &input[i..]]), want, "split at {i}");
        }
    }

    #[test]
    fn follows_chunked_bodies_and_leaves_body_bytes_alone() {
        let body = b"5\r\nHost:\r\n0\r\nX: y\r\n\r\n";
        let mut input =
            b"PUT /write?path=a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        input.extend_from_slice(body);
        input.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
        let out = run(&[&input]);
        let s = String::from_utf8(out).unwrap();
        assert_eq!(s.matches("TE: trailers").count(), 2, "{s}");
        assert!(
            s.contains("5\r\nHost:\r\n0\r\nX: y\r\n\r\nGET / HTTP/1.1\r\nTE: trailers\r\n"),
            "{s}"
        );
    }

    #[test]
    fn keeps_existing_te_and_stops_at_upgrades() {
        let input = b"GET /a HTTP/1.1\r\nTE: trailers\r\n\r\nGET /r HTTP/1.1\r\nUpgrade: x\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
        let s = String::from_utf8(run(&[input])).unwrap();
        assert_eq!(s.matches("TE: trailers").count(), 2, "{s}");
        assert!(
            s.ends_with("Upgrade: x\r\n\r\nGET /b HTTP/1.1\r\n\r\n"),
            "{s}"
        );
    }
}
