//! `POST /writetgz url=` fetching over https, and bounded against servers that stall:
//! real servers on loopback, one with a self-signed certificate (rcgen).

mod common;

use std::sync::Arc;
use std::time::Duration;

use buildlet::fetch::Fetcher;
use buildlet::{Config, Error};
use common::*;
use tokio::io::AsyncWriteExt;

const TIMEOUT: Duration = Duration::from_millis(500);

/// A self-signed certificate for 127.0.0.1 and an https server on loopback serving `tgz`
/// at `/go.tgz` with it. Returns the certificate and the URL.
async fn https_server(tgz: Vec<u8>) -> (rustls::pki_types::CertificateDer<'static>, String) {
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let cert = ck.cert.der().clone();
    let server_cfg = buildlet::tls::server_config_from(
        vec![cert.clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(ck.key_pair.serialize_der().into()),
    )
    .unwrap();
    let tls = tokio_rustls::TlsAcceptor::from(Arc::new(server_cfg));
    let app = axum::Router::new().route(
        "/go.tgz",
        axum::routing::get(move || async move { tgz.clone() }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/go.tgz", listener.local_addr().unwrap());
    tokio::spawn(buildlet::h1::serve(
        listener,
        app,
        Some(tls),
        std::future::pending(),
    ));
    (cert, url)
}

/// A buildlet whose fetches trust `roots` and give up after [`TIMEOUT`].
async fn buildlet_trusting(roots: Vec<rustls::pki_types::CertificateDer<'static>>) -> Harness {
    let mut fetch = Fetcher::trusting(roots).unwrap();
    fetch.connect_timeout = TIMEOUT;
    fetch.idle_timeout = TIMEOUT;
    Harness::with_config(Config {
        fetch,
        ..Config::default()
    })
    .await
}

/// The buildlet's answer to a fetch that must fail: status 500 and its message.
async fn refused(h: &Harness, url: &str) -> String {
    let started = std::time::Instant::now();
    let e = h.client.put_tar_from_url(url, "go").await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    match e {
        Error::Refused { status, body, .. } if status == 500 => body,
        e => panic!("want a 500, got {e}"),
    }
}

#[tokio::test]
async fn writetgz_fetches_https_from_a_server_it_trusts() {
    let (cert, url) = https_server(tgz(&[Entry::File("bin/go", b"fake")])).await;
    let h = buildlet_trusting(vec![cert]).await;
    assert_eq!(
        h.client.put_tar_from_url(&url, "go").await.unwrap(),
        buildlet::PutOutcome::Written
    );
    assert_eq!(std::fs::read(h.workdir.join("go/bin/go")).unwrap(), b"fake");
    h.assert_outside_untouched();
}

#[tokio::test]
async fn bad_input_writetgz_refuses_a_certificate_it_does_not_trust() {
    let (_, url) = https_server(tgz(&[Entry::File("bin/go", b"fake")])).await;
    let h = Harness::start().await;
    let msg = refused(&h, &url).await;
    assert!(msg.contains("TLS handshake with 127.0.0.1"), "{msg}");
    assert!(msg.contains("UnknownIssuer"), "{msg}");
    assert!(!h.workdir.join("go/bin").exists());
}

/// A loopback server that takes connections and never says anything.
async fn silent_server() -> (tokio::net::TcpListener, std::net::SocketAddr) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    (l, addr)
}

#[tokio::test]
async fn bad_input_writetgz_gives_up_on_a_server_that_never_answers() {
    // The kernel completes the TCP handshake from the backlog; nothing is ever read
    // or written.
    let (_silent, addr) = silent_server().await;
    let h = buildlet_trusting(vec![]).await;
    let msg = refused(&h, &format!("http://{addr}/go.tgz")).await;
    assert!(msg.contains("no response within 500ms"), "{msg}");
    let msg = refused(&h, &format!("https://{addr}/go.tgz")).await;
    assert!(
        msg.contains(&format!("no connection to {addr} within 500ms")),
        "{msg}"
    );
}

#[tokio::test]
async fn bad_input_writetgz_gives_up_on_a_body_that_stalls() {
    let (listener, addr) = silent_server().await;
    let t = tgz(&[Entry::File("bin/go", &[7; 64 << 10])]);
    tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut head = [0u8; 1024];
        let _ = tokio::io::AsyncReadExt::read(&mut conn, &mut head).await;
        let resp = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", t.len());
        conn.write_all(resp.as_bytes()).await.unwrap();
        conn.write_all(&t[..t.len() / 2]).await.unwrap();
        // ... and the rest never comes.
        tokio::time::sleep(Duration::from_secs(60)).await;
    });
    let h = buildlet_trusting(vec![]).await;
    let msg = refused(&h, &format!("http://{addr}/go.tgz")).await;
    assert!(msg.contains("the body stalled: no data for 500ms"), "{msg}");
    h.assert_outside_untouched();
}
