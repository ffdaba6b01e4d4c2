//! revdial v1 (Go's `x/build/revdial`, 2017): many connections multiplexed over the one
//! connection a reverse buildlet dialed, so the coordinator can dial *back*.
//!
//! Wire format: frames of a 7-byte header and a payload. Byte 0 is the type (`N` new
//! connection, `C` close, `W` write data), bytes 1–4 the connection id (big-endian
//! u32), bytes 5–6 the payload length (big-endian u16). The [`Dialer`] (coordinator)
//! alone sends `N`; ids start at 1. There is no acknowledgement, window or keep-alive.
//!
//! Where Go's implementation buffers each connection without bound, ours holds at most
//! [`CONN_BUFFER`] unread chunks per connection and stops reading the shared stream while
//! one is full (TCP then pushes back on the peer); a connection whose reader stalls for
//! [`STALL`] is closed so the others go on. Protocol errors end the whole session (and
//! so that buildlet's registration) and nothing else: an `N` from the listener side, a
//! frame for a connection id the dialer never issued, a truncated frame.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter, ReadBuf};
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, PollSender};

pub const HEADER_LEN: usize = 7;
pub const MAX_PAYLOAD: usize = 0xFFFF;
pub const NEW: u8 = b'N';
pub const CLOSE: u8 = b'C';
pub const WRITE: u8 = b'W';

/// Unread `W` payloads held per connection before the session stops reading.
pub const CONN_BUFFER: usize = 32;
/// How long one connection may hold up the session with a full buffer.
pub const STALL: Duration = Duration::from_secs(30);
/// How long writing one frame may take (Go's buildlet uses 60 s per write).
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// Encodes one frame.
pub fn frame(kind: u8, id: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = header(kind, id, payload.len()).to_vec();
    f.extend_from_slice(payload);
    f
}

fn header(kind: u8, id: u32, len: usize) -> [u8; HEADER_LEN] {
    assert!(len <= MAX_PAYLOAD, "revdial payload over 65535 bytes");
    let mut h = [kind, 0, 0, 0, 0, 0, 0];
    h[1..5].copy_from_slice(&id.to_be_bytes());
    h[5..].copy_from_slice(&(len as u16).to_be_bytes());
    h
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Dialer,
    Listener,
}

struct Frame {
    kind: u8,
    id: u32,
    payload: Bytes,
}

struct Session {
    role: Role,
    out: mpsc::Sender<Frame>,
    conns: Mutex<Conns>,
    closed: CancellationToken,
    error: Mutex<Option<String>>,
}

#[derive(Default)]
struct Conns {
    open: HashMap<u32, mpsc::Sender<Bytes>>,
    /// Last id the dialer issued, and whether ids have wrapped around.
    last: u32,
    wrapped: bool,
}

impl Conns {
    /// Whether the dialer ever issued `id` (ids are issued in increasing order).
    fn issued(&self, id: u32) -> bool {
        id != 0 && (self.wrapped || id <= self.last)
    }
}

impl Session {
    fn start<T>(io: T, role: Role) -> (Arc<Session>, Option<mpsc::Receiver<Conn>>)
    where
        T: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (r, w) = tokio::io::split(io);
        let (out, out_rx) = mpsc::channel(64);
        let s = Arc::new(Session {
            role,
            out,
            conns: Mutex::new(Conns::default()),
            closed: CancellationToken::new(),
            error: Mutex::new(None),
        });
        let (accept_tx, accept_rx) = match role {
            Role::Listener => {
                let (tx, rx) = mpsc::channel(8);
                (Some(tx), Some(rx))
            }
            Role::Dialer => (None, None),
        };
        let reader = s.clone();
        tokio::spawn(async move {
            let res = reader.read_loop(r, accept_tx).await;
            reader.shut(res.err());
        });
        let writer = s.clone();
        tokio::spawn(async move {
            let res = writer.write_loop(w, out_rx).await;
            writer.shut(res.err());
        });
        (s, accept_rx)
    }

    /// Ends the session: every connection reads EOF, writes fail.
    fn shut(&self, err: Option<io::Error>) {
        if let Some(e) = err {
            tracing::warn!(role = ?self.role, "revdial session ends: {e}");
            self.error.lock().unwrap().get_or_insert(e.to_string());
        }
        self.conns.lock().unwrap().open.clear();
        self.closed.cancel();
    }

    async fn read_loop<R: AsyncRead + Unpin>(
        self: &Arc<Self>,
        mut r: R,
        accept: Option<mpsc::Sender<Conn>>,
    ) -> io::Result<()> {
        let mut hdr = [0u8; HEADER_LEN];
        loop {
            let first = tokio::select! {
                n = r.read(&mut hdr[..1]) => n?,
                _ = self.closed.cancelled() => return Ok(()),
            };
            if first == 0 {
                return Ok(()); // the peer closed between frames
            }
            r.read_exact(&mut hdr[1..]).await.map_err(truncated)?;
            let id = u32::from_be_bytes([hdr[1], hdr[2], hdr[3], hdr[4]]);
            let len = u16::from_be_bytes([hdr[5], hdr[6]]) as usize;
            let mut payload = BytesMut::zeroed(len);
            r.read_exact(&mut payload).await.map_err(truncated)?;
            match hdr[0] {
                NEW => self.on_new(id, accept.as_ref()).await?,
                WRITE => self.on_write(id, payload.freeze()).await?,
                CLOSE => self.on_close(id)?,
                _ => {} // unknown types are ignored, as Go's reader does
            }
        }
    }

    async fn on_new(
        self: &Arc<Self>,
        id: u32,
        accept: Option<&mpsc::Sender<Conn>>,
    ) -> io::Result<()> {
        let Some(accept) = accept else {
            return Err(protocol("N frame from the listener side"));
        };
        let conn = {
            let mut c = self.conns.lock().unwrap();
            if c.open.contains_key(&id) {
                return Err(protocol(&format!("duplicate N frame for connection {id}")));
            }
            self.register(&mut c, id)
        };
        accept
            .send(conn)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::ConnectionAborted, "listener closed"))
    }

    async fn on_write(&self, id: u32, payload: Bytes) -> io::Result<()> {
        let tx = {
            let c = self.conns.lock().unwrap();
            match c.open.get(&id) {
                Some(tx) => tx.clone(),
                None if self.role == Role::Dialer && !c.issued(id) => {
                    return Err(protocol(&format!("W frame for unknown connection {id}")))
                }
                None => return Ok(()), // closed here already: late data is dropped
            }
        };
        match tokio::time::timeout(STALL, tx.send(payload)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => {} // the reader went away; its drop sent C
            Err(_) => {
                tracing::warn!(id, "revdial connection stalled; closing it");
                self.conns.lock().unwrap().open.remove(&id);
                let _ = self.out.try_send(Frame {
                    kind: CLOSE,
                    id,
                    payload: Bytes::new(),
                });
            }
        }
        Ok(())
    }

    fn on_close(&self, id: u32) -> io::Result<()> {
        let mut c = self.conns.lock().unwrap();
        if c.open.remove(&id).is_none() && self.role == Role::Dialer && !c.issued(id) {
            return Err(protocol(&format!("C frame for unknown connection {id}")));
        }
        Ok(())
    }

    fn register(self: &Arc<Self>, c: &mut Conns, id: u32) -> Conn {
        let (tx, rx) = mpsc::channel(CONN_BUFFER);
        c.open.insert(id, tx);
        Conn {
            id,
            session: self.clone(),
            rx,
            pending: Bytes::new(),
            out: PollSender::new(self.out.clone()),
            closed: false,
        }
    }

    async fn write_loop<W: AsyncWrite + Unpin>(
        &self,
        w: W,
        mut rx: mpsc::Receiver<Frame>,
    ) -> io::Result<()> {
        let mut w = BufWriter::new(w);
        loop {
            let f = tokio::select! {
                f = rx.recv() => f,
                _ = self.closed.cancelled() => None,
            };
            let Some(f) = f else {
                let _ = w.shutdown().await;
                return Ok(());
            };
            let write = async {
                w.write_all(&header(f.kind, f.id, f.payload.len())).await?;
                w.write_all(&f.payload).await?;
                if rx.is_empty() {
                    w.flush().await?;
                }
                io::Result::Ok(())
            };
            tokio::time::timeout(WRITE_TIMEOUT, write)
                .await
                .map_err(|_| {
                    io::Error::new(io::ErrorKind::TimedOut, "revdial write timed out")
                })??;
        }
    }
}

fn protocol(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("revdial: {msg}"))
}

fn truncated(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        protocol("truncated frame")
    } else {
        e
    }
}

/// The coordinator's side: dials connections to the buildlet over its registration.
#[derive(Clone)]
pub struct Dialer {
    s: Arc<Session>,
}

impl Dialer {
    /// Starts a session over `io` (after the `101` was written).
    pub fn new<T: AsyncRead + AsyncWrite + Send + 'static>(io: T) -> Dialer {
        Dialer {
            s: Session::start(io, Role::Dialer).0,
        }
    }

    /// A new connection to the buildlet. Like Go's, it returns at once: the listener
    /// does not acknowledge `N`.
    pub async fn dial(&self) -> io::Result<Conn> {
        let conn = {
            let mut c = self.s.conns.lock().unwrap();
            if self.s.closed.is_cancelled() {
                return Err(self.closed_error());
            }
            let mut id = c.last;
            loop {
                id = id.wrapping_add(1);
                if id == 0 {
                    c.wrapped = true;
                    continue;
                }
                if !c.open.contains_key(&id) {
                    break;
                }
            }
            c.last = id;
            self.s.register(&mut c, id)
        };
        let sent = self.s.out.send(Frame {
            kind: NEW,
            id: conn.id,
            payload: Bytes::new(),
        });
        sent.await.map_err(|_| self.closed_error())?;
        Ok(conn)
    }

    pub fn is_closed(&self) -> bool {
        self.s.closed.is_cancelled()
    }

    /// Resolves when the session ends; gives the protocol or IO error that ended it.
    pub async fn done(&self) -> Option<String> {
        self.s.closed.cancelled().await;
        self.s.error.lock().unwrap().clone()
    }

    /// Ends the session and closes the underlying connection.
    pub fn close(&self) {
        self.s.shut(None);
    }

    /// Connections open now.
    pub fn open_conns(&self) -> usize {
        self.s.conns.lock().unwrap().open.len()
    }

    fn closed_error(&self) -> io::Error {
        let why = self.s.error.lock().unwrap().clone();
        io::Error::new(
            io::ErrorKind::NotConnected,
            format!(
                "revdial: session closed{}",
                why.map(|w| format!(": {w}")).unwrap_or_default()
            ),
        )
    }
}

/// The buildlet's side: accepts the connections the coordinator dials.
pub struct Listener {
    s: Arc<Session>,
    accept: mpsc::Receiver<Conn>,
}

impl Listener {
    pub fn new<T: AsyncRead + AsyncWrite + Send + 'static>(io: T) -> Listener {
        let (s, accept) = Session::start(io, Role::Listener);
        Listener {
            s,
            accept: accept.expect("listeners accept"),
        }
    }

    /// The next connection, or an error once the session has ended.
    pub async fn accept(&mut self) -> io::Result<Conn> {
        self.accept.recv().await.ok_or_else(|| {
            let why = self
                .s
                .error
                .lock()
                .unwrap()
                .clone()
                .unwrap_or_else(|| "EOF".into());
            io::Error::new(
                io::ErrorKind::NotConnected,
                format!("revdial: Listener closed; {why}"),
            )
        })
    }
}

/// One multiplexed connection.
pub struct Conn {
    id: u32,
    session: Arc<Session>,
    rx: mpsc::Receiver<Bytes>,
    pending: Bytes,
    out: PollSender<Frame>,
    closed: bool,
}

impl Conn {
    pub fn id(&self) -> u32 {
        self.id
    }

    fn close_locally(&mut self) -> Frame {
        self.closed = true;
        self.session.conns.lock().unwrap().open.remove(&self.id);
        Frame {
            kind: CLOSE,
            id: self.id,
            payload: Bytes::new(),
        }
    }
}

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.pending.is_empty() {
            match ready!(self.rx.poll_recv(cx)) {
                Some(b) => self.pending = b,
                None => return Poll::Ready(Ok(())), // EOF
            }
        }
        let n = self.pending.len().min(buf.remaining());
        buf.put_slice(&self.pending.split_to(n));
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.closed || self.session.closed.is_cancelled() {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        ready!(self.out.poll_reserve(cx))
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
        let n = buf.len().min(MAX_PAYLOAD);
        let f = Frame {
            kind: WRITE,
            id: self.id,
            payload: Bytes::copy_from_slice(&buf[..n]),
        };
        self.out
            .send_item(f)
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(())) // the session's writer flushes when it runs dry
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.closed {
            return Poll::Ready(Ok(()));
        }
        if ready!(self.out.poll_reserve(cx)).is_err() {
            self.closed = true;
            return Poll::Ready(Ok(()));
        }
        let f = self.close_locally();
        let _ = self.out.send_item(f);
        Poll::Ready(Ok(()))
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        let f = self.close_locally();
        let out = self.session.out.clone();
        if let Err(mpsc::error::TrySendError::Full(f)) = out.try_send(f) {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move { out.send(f).await });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_have_a_seven_byte_header() {
        assert_eq!(
            frame(WRITE, 0x0102_0304, b"hi"),
            b"W\x01\x02\x03\x04\x00\x02hi"
        );
        assert_eq!(frame(NEW, 1, b""), b"N\x00\x00\x00\x01\x00\x00");
    }
}
