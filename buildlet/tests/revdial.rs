//! revdial v1, as Go's reverse buildlets speak it: frames built by hand from the wire
//! format (7-byte header: type `N`/`C`/`W`, big-endian u32 id, big-endian u16 length),
//! and a whole registration over TLS the way Go's buildlet makes it (raw `GET /reverse`,
//! bare `101`, then a revdial listener serving HTTP/1.1 on each dialed connection).

mod common;

use std::sync::Arc;
use std::time::Duration;

use buildlet::revdial::{self, Dialer, Listener, CONN_BUFFER};
use buildlet::{
    builder_key, reverse, Acceptor, Buildlet, Config, ExecOpts, ReverseBuildlet, WorkDir,
};
use common::CANARY;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;

const MASTER: &[u8] = b"gophers rule";
const HOST_TYPE: &str = "host-linux-test";

fn w(id: u32, data: &[u8]) -> Vec<u8> {
    let mut f = vec![b'W'];
    f.extend_from_slice(&id.to_be_bytes());
    f.extend_from_slice(&(data.len() as u16).to_be_bytes());
    f.extend_from_slice(data);
    f
}

async fn read_n(peer: &mut DuplexStream, n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    tokio::time::timeout(Duration::from_secs(5), peer.read_exact(&mut b))
        .await
        .expect("peer read timed out")
        .unwrap();
    b
}

async fn ended(d: &Dialer) -> String {
    tokio::time::timeout(Duration::from_secs(5), d.done())
        .await
        .expect("session did not end")
        .unwrap_or_default()
}

#[tokio::test]
async fn dialer_speaks_the_wire_format() {
    let (ours, mut peer) = tokio::io::duplex(1 << 20);
    let d = Dialer::new(ours);
    let mut c = d.dial().await.unwrap();
    assert_eq!(read_n(&mut peer, 7).await, b"N\x00\x00\x00\x01\x00\x00");
    c.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    assert_eq!(read_n(&mut peer, 25).await, w(1, b"GET / HTTP/1.1\r\n\r\n"));
    // A write over 65535 bytes goes out as several W frames.
    let big = vec![7u8; 70_000];
    c.write_all(&big).await.unwrap();
    let f1 = read_n(&mut peer, 7 + 65535).await;
    assert_eq!(&f1[..7], b"W\x00\x00\x00\x01\xff\xff");
    let f2 = read_n(&mut peer, 7 + 4465).await;
    assert_eq!(&f2[..7], b"W\x00\x00\x00\x01\x11\x71");
    // Data from the peer reaches the connection; its C is EOF.
    peer.write_all(&w(1, b"HTTP/1.1 200 OK\r\n")).await.unwrap();
    peer.write_all(b"C\x00\x00\x00\x01\x00\x00").await.unwrap();
    let mut got = Vec::new();
    c.read_to_end(&mut got).await.unwrap();
    assert_eq!(got, b"HTTP/1.1 200 OK\r\n");
    // Ids go up; closing locally sends C.
    let c2 = d.dial().await.unwrap();
    assert_eq!(c2.id(), 2);
    assert_eq!(read_n(&mut peer, 7).await, b"N\x00\x00\x00\x02\x00\x00");
    drop(c2);
    assert_eq!(read_n(&mut peer, 7).await, b"C\x00\x00\x00\x02\x00\x00");
    // Unknown frame types are skipped, and late data for a closed id is dropped.
    peer.write_all(b"Z\x00\x00\x00\x01\x00\x02zz")
        .await
        .unwrap();
    peer.write_all(&w(2, b"late")).await.unwrap();
    let c3 = d.dial().await.unwrap();
    assert_eq!(read_n(&mut peer, 7).await, b"N\x00\x00\x00\x03\x00\x00");
    assert!(!d.is_closed());
    drop(c3);
}

#[tokio::test]
async fn protocol_errors_end_the_session() {
    let cases: [(&[u8], &str); 4] = [
        (
            b"N\x00\x00\x00\x09\x00\x00",
            "N frame from the listener side",
        ),
        (b"W\x00\x00\x00\x09\x00\x01x", "unknown connection 9"),
        (b"C\x00\x00\x00\x00\x00\x00", "unknown connection 0"),
        (b"W\x00\x00\x00\x01\x00\x10short", "truncated frame"),
    ];
    for (bytes, want) in cases {
        let (ours, mut peer) = tokio::io::duplex(1 << 16);
        let d = Dialer::new(ours);
        let mut c = d.dial().await.unwrap();
        read_n(&mut peer, 7).await;
        peer.write_all(bytes).await.unwrap();
        if want == "truncated frame" {
            peer.shutdown().await.unwrap();
        }
        let why = ended(&d).await;
        assert!(why.contains(want), "{bytes:?}: {why}");
        // The connection reads EOF; new dials fail and say why.
        let mut b = Vec::new();
        c.read_to_end(&mut b).await.unwrap();
        let e = d.dial().await.err().expect("dial after the end");
        assert!(e.to_string().contains(want), "{e}");
    }
}

#[tokio::test]
async fn a_slow_reader_pushes_back_instead_of_buffering() {
    let (ours, mut peer) = tokio::io::duplex(64 << 10);
    let d = Dialer::new(ours);
    let mut c = d.dial().await.unwrap();
    read_n(&mut peer, 7).await;
    // The peer sends far more than the connection may hold; nobody reads it yet.
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = sent.clone();
    let writer = tokio::spawn(async move {
        let chunk = vec![1u8; 65535];
        for _ in 0..200 {
            peer.write_all(&w(1, &chunk)).await.unwrap();
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        peer.write_all(&w(1, b"more")).await.unwrap();
        peer
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    // At most the connection's buffer, the frame being delivered and what fits in the
    // pipe were taken: the rest waits in the peer (TCP pushes back the same way).
    let taken = sent.load(std::sync::atomic::Ordering::SeqCst);
    assert!(taken <= CONN_BUFFER + 3, "took {taken} frames");
    // Reading drains it and the peer goes on to the end.
    let mut buf = vec![0u8; 65535];
    for _ in 0..200 {
        c.read_exact(&mut buf).await.unwrap();
        assert!(buf.iter().all(|&b| b == 1));
    }
    let mut tail = [0u8; 4];
    c.read_exact(&mut tail).await.unwrap();
    assert_eq!(&tail, b"more");
    tokio::time::timeout(Duration::from_secs(5), writer)
        .await
        .unwrap()
        .unwrap();
}

/// Go's reverse buildlet (`cmd/buildlet/reverse.go`): dials, writes the registration
/// head, expects `101`, then serves the buildlet's handlers over a revdial listener.
async fn go_buildlet<S>(mut s: S, key: &str, buildlet: Arc<Buildlet>) -> String
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let head = format!(
        "GET /reverse HTTP/1.1\r\nHost: localhost\r\nUser-Agent: Go-http-client/1.1\r\n\
         X-Go-Host-Type: {HOST_TYPE}\r\nX-Go-Builder-Key: {key}\r\n\
         X-Go-Builder-Hostname: gobuildlet\r\nX-Go-Builder-Version: 15\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut resp = Vec::new();
    while !resp.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        if s.read(&mut b).await.unwrap() == 0 {
            break;
        }
        resp.push(b[0]);
    }
    let resp = String::from_utf8_lossy(&resp).into_owned();
    if !resp.starts_with("HTTP/1.1 101") {
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest).await;
        return resp + &String::from_utf8_lossy(&rest);
    }
    let mut ln = Listener::new(s);
    tokio::spawn(async move {
        while let Ok(conn) = ln.accept().await {
            tokio::spawn(buildlet::h1::serve_conn(conn, buildlet.router()));
        }
    });
    resp
}

struct Farm {
    port: u16,
    rx: mpsc::Receiver<ReverseBuildlet>,
    roots: Arc<rustls::ClientConfig>,
}

/// A coordinator requiring TLS with a self-signed certificate, as in the dev environment.
async fn farm() -> Farm {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let server = buildlet::tls::server_config_from(
        vec![ck.cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(ck.key_pair.serialize_der().into()),
    )
    .unwrap();
    let (acceptor, rx) = Acceptor::with_master_key(MASTER.to_vec(), true);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(reverse::serve(
        listener,
        acceptor.clone(),
        acceptor.router(),
        Some(tokio_rustls::TlsAcceptor::from(Arc::new(server))),
        std::future::pending(),
    ));
    let roots = buildlet::tls::client_config_with_roots(vec![ck.cert.der().clone()]).unwrap();
    Farm {
        port,
        rx,
        roots: Arc::new(roots),
    }
}

impl Farm {
    async fn tls(&self) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .unwrap();
        tokio_rustls::TlsConnector::from(self.roots.clone())
            .connect("localhost".try_into().unwrap(), tcp)
            .await
            .unwrap()
    }

    async fn next(&mut self) -> ReverseBuildlet {
        tokio::time::timeout(Duration::from_secs(10), self.rx.recv())
            .await
            .expect("no registration")
            .unwrap()
    }
}

fn buildlet_in(parent: &std::path::Path) -> Arc<Buildlet> {
    std::fs::write(parent.join("canary"), CANARY).unwrap();
    Buildlet::new(
        WorkDir::open(&parent.join("wd"), true).unwrap(),
        Config::default(),
    )
}

#[tokio::test]
async fn a_go_buildlet_registers_over_tls_and_is_driven_like_any_other() {
    let mut farm = farm().await;
    let parent = tempfile::tempdir().unwrap();
    let b = buildlet_in(parent.path());
    let resp = go_buildlet(farm.tls().await, &builder_key(MASTER, HOST_TYPE), b).await;
    assert!(resp.starts_with("HTTP/1.1 101"), "{resp}");
    let rb = farm.next().await;
    assert_eq!(
        (
            rb.host_type.as_str(),
            rb.hostname.as_str(),
            rb.version.as_str()
        ),
        (HOST_TYPE, "gobuildlet", "15")
    );
    let c = &rb.client;

    // A tree bigger than many frames goes in and comes back out.
    let src = tempfile::tempdir().unwrap();
    let blob: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(src.path().join("blob"), &blob).unwrap();
    let mut tgz = Vec::new();
    {
        let gz = flate2::write::GzEncoder::new(&mut tgz, flate2::Compression::fast());
        let mut t = tar::Builder::new(gz);
        t.append_dir_all(".", src.path()).unwrap();
        t.into_inner().unwrap().finish().unwrap();
    }
    c.put_tar(std::io::Cursor::new(tgz), "tree").await.unwrap();
    assert_eq!(
        std::fs::read(parent.path().join("wd/tree/blob")).unwrap(),
        blob
    );
    let mut out = Vec::new();
    let opts = ExecOpts {
        system_level: true,
        args: vec!["-c".into(), "wc -c < tree/blob; echo done".into()],
        ..Default::default()
    };
    c.exec("/bin/sh", &opts, &mut out).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&out), "3000000\ndone\n");

    // Requests run side by side on separate revdial connections.
    let many = (0..8).map(|i| {
        let c = c.clone();
        async move {
            let mut out = Vec::new();
            let opts = ExecOpts {
                system_level: true,
                args: vec![format!("{i}")],
                ..Default::default()
            };
            c.exec("/bin/echo", &opts, &mut out).await.map(|_| out)
        }
    });
    for (i, out) in futures_util::future::join_all(many)
        .await
        .into_iter()
        .enumerate()
    {
        assert_eq!(out.unwrap(), format!("{i}\n").into_bytes());
    }
    c.remove_all(&["tree"]).await.unwrap();
    assert!(!parent.path().join("wd/tree").exists());
    assert_eq!(std::fs::read(parent.path().join("canary")).unwrap(), CANARY);
}

#[tokio::test]
async fn a_bad_session_ends_that_registration_only() {
    let mut farm = farm().await;
    let parent = tempfile::tempdir().unwrap();
    let good = go_buildlet(
        farm.tls().await,
        &builder_key(MASTER, HOST_TYPE),
        buildlet_in(parent.path()),
    )
    .await;
    assert!(good.starts_with("HTTP/1.1 101"));
    let rb = farm.next().await;

    // A second "buildlet" registers, then sends an N (only the dialer may).
    let mut bad = farm.tls().await;
    let head = format!(
        "GET /reverse HTTP/1.1\r\nHost: localhost\r\nX-Go-Host-Type: {HOST_TYPE}\r\nX-Go-Builder-Key: {}\r\n\r\n",
        builder_key(MASTER, HOST_TYPE)
    );
    bad.write_all(head.as_bytes()).await.unwrap();
    let mut resp = [0u8; 36];
    bad.read_exact(&mut resp).await.unwrap();
    assert!(resp.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n\r\n"));
    bad.write_all(&revdial::frame(revdial::NEW, 1, b""))
        .await
        .unwrap();
    // The coordinator hangs up on it: no registration comes of it...
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), bad.read_to_end(&mut rest))
        .await
        .unwrap();
    assert!(farm.rx.try_recv().is_err());
    // ...and the good one still answers.
    assert!(rb.client.status().await.unwrap().version >= 1);
    assert!(!rb.client.is_closed());
}

#[tokio::test]
async fn registrations_without_tls_or_with_bad_keys_are_refused() {
    let mut farm = farm().await;
    let parent = tempfile::tempdir().unwrap();
    let resp = go_buildlet(farm.tls().await, "0123", buildlet_in(parent.path())).await;
    assert!(
        resp.starts_with("HTTP/1.1 412") && resp.contains("bad key for mode"),
        "{resp}"
    );
    // Both kinds of mode header at once.
    let mut s = farm.tls().await;
    s.write_all(b"GET /reverse HTTP/1.1\r\nHost: x\r\nX-Go-Host-Type: a\r\nX-Go-Builder-Type: b\r\nX-Go-Builder-Key: 1\r\nX-Go-Builder-Key: 2\r\n\r\n").await.unwrap();
    let mut r = String::new();
    s.read_to_string(&mut r).await.unwrap();
    assert!(r.starts_with("HTTP/1.1 400"), "{r}");
    // Plain TCP to a coordinator that requires TLS: the handshake fails, nothing registers.
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", farm.port))
        .await
        .unwrap();
    let other = parent.path().join("plain");
    std::fs::create_dir(&other).unwrap();
    let resp = go_buildlet(tcp, &builder_key(MASTER, HOST_TYPE), buildlet_in(&other)).await;
    assert!(!resp.starts_with("HTTP/1.1 101"), "{resp}");
    assert!(farm.rx.try_recv().is_err());
}
