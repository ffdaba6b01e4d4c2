//! Reverse mode (Go's `cmd/buildlet/reverse.go`) with HTTP/2 over the upgraded registration connection: a real
//! buildlet dialing a real coordinator-side [`Acceptor`] on 127.0.0.1.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use buildlet::reverse::{self, ReverseConfig};
use buildlet::{
    builder_key, Acceptor, Buildlet, Config, Error, ExecOpts, ReverseBuildlet, WorkDir,
};
use common::*;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

const MASTER: &[u8] = b"test master key";

struct Coordinator {
    url: String,
    rx: mpsc::Receiver<ReverseBuildlet>,
}

async fn coordinator() -> Coordinator {
    let (acceptor, rx) = Acceptor::with_master_key(MASTER.to_vec(), false);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(reverse::serve(
        listener,
        acceptor.clone(),
        acceptor.router(),
        None,
        std::future::pending(),
    ));
    Coordinator { url, rx }
}

fn reverse_config(url: &str, key: String) -> ReverseConfig {
    ReverseConfig {
        coordinator: url.to_string(),
        host_type: "host-linux-test".into(),
        hostname: "rev1".into(),
        key,
        tls: None,
        min_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(400),
    }
}

fn start_buildlet(parent: &std::path::Path) -> Arc<Buildlet> {
    Buildlet::new(
        WorkDir::open(&parent.join("wd"), true).unwrap(),
        Config::default(),
    )
}

/// A buildlet in a work dir under `parent`, dialing `coord` with a valid key.
fn dial_in(coord: &Coordinator, parent: &std::path::Path) -> Arc<Buildlet> {
    let b = start_buildlet(parent);
    let cfg = reverse_config(&coord.url, builder_key(MASTER, "host-linux-test"));
    tokio::spawn(reverse::run(cfg, b.clone()));
    b
}

async fn next(rx: &mut mpsc::Receiver<ReverseBuildlet>) -> ReverseBuildlet {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("no registration")
        .expect("acceptor gone")
}

fn sys(script: &str) -> ExecOpts {
    ExecOpts {
        system_level: true,
        args: vec!["-c".into(), script.into()],
        ..Default::default()
    }
}

#[tokio::test]
async fn registers_and_serves_every_kind_of_request_over_h2() {
    let mut coord = coordinator().await;
    let parent = tempfile::tempdir().unwrap();
    let b = dial_in(&coord, parent.path());
    let rb = next(&mut coord.rx).await;
    assert_eq!(
        (
            rb.host_type.as_str(),
            rb.hostname.as_str(),
            rb.version.as_str()
        ),
        ("host-linux-test", "rev1", "15")
    );
    let c = rb.client;
    assert_eq!(c.status().await.unwrap().version, 15);
    assert_eq!(
        c.work_dir().await.unwrap(),
        b.work_dir().path().display().to_string()
    );
    c.put_tar(reader(tgz(&[Entry::File("src/a.txt", b"over h2")])), "")
        .await
        .unwrap();
    assert_eq!(
        c.list_dir("src", &Default::default()).await.unwrap()[0].name(),
        "a.txt"
    );
    let mut out = Vec::new();
    let e = c
        .exec("/bin/sh", &sys("cat src/a.txt; exit 2"), &mut out)
        .await
        .unwrap_err();
    assert_eq!(out, b"over h2");
    assert!(
        matches!(&e, Error::Remote(s) if s == "exit status 2"),
        "{e}"
    );
    // Escapes are refused the same way.
    assert!(
        matches!(c.remove_all(&[".."]).await.unwrap_err(), Error::Refused { status, .. } if status == 400)
    );
    let mut gz = Vec::new();
    c.get_tar("src")
        .await
        .unwrap()
        .read_to_end(&mut gz)
        .await
        .unwrap();
    assert!(gz.len() > 20);
}

/// Two commands on one connection, the first waiting for a file the second creates:
/// it only finishes if the requests are multiplexed.
#[tokio::test]
async fn requests_multiplex_on_one_connection() {
    let mut coord = coordinator().await;
    let parent = tempfile::tempdir().unwrap();
    dial_in(&coord, parent.path());
    let c = next(&mut coord.rx).await.client;
    let c1 = c.clone();
    let waiter = tokio::spawn(async move {
        let mut out = Vec::new();
        c1.exec(
            "/bin/sh",
            &sys("while [ ! -e flag ]; do sleep 0.01; done; echo done"),
            &mut out,
        )
        .await
        .map(|_| out)
    });
    c.exec("/bin/sh", &sys("touch flag"), &mut Vec::new())
        .await
        .unwrap();
    let out = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(out, b"done\n");
}

#[tokio::test]
async fn cancelled_exec_over_h2_kills_the_group() {
    let mut coord = coordinator().await;
    let parent = tempfile::tempdir().unwrap();
    dial_in(&coord, parent.path());
    let c = next(&mut coord.rx).await.client;
    let (w, r) = tokio::io::duplex(4096);
    let mut opts = sys("sleep 30 & echo $!; wait");
    opts.timeout = Some(Duration::from_millis(1500));
    let c1 = c.clone();
    let run = tokio::spawn(async move {
        let mut w = w;
        c1.exec("/bin/sh", &opts, &mut w).await
    });
    let pid: u32 = BufReader::new(r)
        .lines()
        .next_line()
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    assert!(matches!(
        run.await.unwrap().unwrap_err(),
        Error::Timeout { .. }
    ));
    for _ in 0..400 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat.is_empty() || stat.contains(") Z") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("grandchild {pid} survived the cancelled stream");
}

#[tokio::test]
async fn bad_key_is_refused_with_412_and_not_retried() {
    let coord = coordinator().await;
    let parent = tempfile::tempdir().unwrap();
    let b = start_buildlet(parent.path());
    let res = tokio::time::timeout(
        Duration::from_secs(10),
        reverse::run(reverse_config(&coord.url, "0123".into()), b),
    )
    .await
    .unwrap();
    match res {
        Err(reverse::ReverseError::Refused { status, body }) => {
            assert_eq!(status, 412);
            assert_eq!(body, "bad key for mode");
        }
        other => panic!("want 412, got {other:?}"),
    }
}

async fn raw(url: &str, req: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(url.trim_start_matches("http://"))
        .await
        .unwrap();
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = vec![0u8; 4096];
    let n = s.read(&mut out).await.unwrap();
    String::from_utf8_lossy(&out[..n]).into_owned()
}

#[tokio::test]
async fn acceptor_refuses_malformed_registrations() {
    let coord = coordinator().await;
    let key = builder_key(MASTER, "t");
    let cases = [
        (format!("X-Go-Host-Type: t\r\nX-Go-Builder-Key: {key}\r\nX-Go-Builder-Key: {key}\r\n"), "412", "1 modes but 2 keys"),
        (format!("Upgrade: buildlet-h2\r\nConnection: Upgrade\r\nX-Go-Host-Type: t\r\nX-Go-Builder-Type: t\r\nX-Go-Builder-Key: {key}\r\n"), "400", "only one of"),
        ("Upgrade: buildlet-h2\r\nConnection: Upgrade\r\nX-Go-Host-Type: t\r\n".to_string(), "412", "1 modes but 0 keys"),
        ("X-Go-Builder-Key: 00\r\n".to_string(), "412", "0 modes but 1 keys"),
        ("Upgrade: buildlet-h2\r\nConnection: Upgrade\r\nX-Go-Host-Type: t\r\nX-Go-Builder-Key: 00\r\n".to_string(), "412", "bad key for mode"),
    ];
    for (headers, status, text) in cases {
        let r = raw(
            &coord.url,
            &format!("GET /reverse HTTP/1.1\r\nHost: x\r\n{headers}\r\n"),
        )
        .await;
        assert!(
            r.starts_with(&format!("HTTP/1.1 {status}")) && r.contains(text),
            "{headers}: {r}"
        );
    }
    // With TLS required, a plain connection is refused as in the seed.
    let (acceptor, _rx) = Acceptor::with_master_key(MASTER.to_vec(), true);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener.tap_io(|t| drop(t.set_nodelay(true))),
            acceptor.router(),
        )
        .await
    });
    let r = raw(&url, &format!("GET /reverse HTTP/1.1\r\nHost: x\r\nUpgrade: buildlet-h2\r\nConnection: Upgrade\r\nX-Go-Host-Type: t\r\nX-Go-Builder-Key: {key}\r\n\r\n")).await;
    assert!(
        r.starts_with("HTTP/1.1 500") && r.contains("buildlet registration requires SSL"),
        "{r}"
    );
}

#[tokio::test]
async fn reconnects_after_the_connection_drops() {
    let mut coord = coordinator().await;
    let parent = tempfile::tempdir().unwrap();
    dial_in(&coord, parent.path());
    let first = next(&mut coord.rx).await;
    first.client.status().await.unwrap();
    drop(first); // the coordinator forgets it: the HTTP/2 connection closes
    let second = next(&mut coord.rx).await;
    assert_eq!(second.client.status().await.unwrap().version, 15);
}

/// The binary in reverse mode: registers with its flags, and `/halt` over the reverse
/// connection ends it.
#[tokio::test]
async fn binary_reverse_mode_and_halt() {
    let mut coord = coordinator().await;
    let parent = tempfile::tempdir().unwrap();
    let key = parent.path().join("key");
    std::fs::write(&key, format!("{}\n", builder_key(MASTER, "host-bin"))).unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_buildlet"))
        .args([
            "--reverse",
            "host-bin",
            "--coordinator",
            &coord.url,
            "--hostname",
            "binhost",
            "--workdir",
        ])
        .arg(parent.path().join("wd"))
        .arg("--key")
        .arg(&key)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let rb = next(&mut coord.rx).await;
    assert_eq!(
        (rb.host_type.as_str(), rb.hostname.as_str()),
        ("host-bin", "binhost")
    );
    assert!(rb.client.work_dir().await.unwrap().ends_with("/wd"));
    rb.client.halt().await.unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("did not exit")
        .unwrap();
    assert!(status.success());
}

/// Registration over TLS to a coordinator that requires it (the production setup): the
/// buildlet verifies the coordinator against the given root, the acceptor sees TLS.
#[tokio::test]
async fn registration_over_tls() {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let server_cfg = buildlet::tls::server_config_from(
        vec![ck.cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(ck.key_pair.serialize_der().into()),
    )
    .unwrap();
    let tls = tokio_rustls::TlsAcceptor::from(Arc::new(server_cfg));
    let (acceptor, mut rx) = Acceptor::with_master_key(MASTER.to_vec(), true);
    let app = acceptor
        .router()
        .layer(axum::Extension(buildlet::ConnectedOverTls));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            tcp.set_nodelay(true).unwrap();
            let (tls, app) = (tls.clone(), app.clone());
            tokio::spawn(async move {
                let Ok(s) = tls.accept(tcp).await else { return };
                let svc = hyper_util::service::TowerToHyperService::new(app);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(s), svc)
                    .with_upgrades()
                    .await;
            });
        }
    });
    let parent = tempfile::tempdir().unwrap();
    let b = start_buildlet(parent.path());
    let mut cfg = reverse_config(
        &format!("https://localhost:{port}"),
        builder_key(MASTER, "host-linux-test"),
    );
    cfg.tls = Some(Arc::new(
        buildlet::tls::client_config_with_roots(vec![ck.cert.der().clone()]).unwrap(),
    ));
    tokio::spawn(reverse::run(cfg, b));
    let rb = next(&mut rx).await;
    let mut out = Vec::new();
    rb.client
        .exec(
            "/bin/echo",
            &ExecOpts {
                system_level: true,
                args: vec!["tls".into()],
                ..Default::default()
            },
            &mut out,
        )
        .await
        .unwrap();
    assert_eq!(out, b"tls\n");

    // A buildlet that does not trust the coordinator's certificate never registers.
    let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let mut cfg = reverse_config(
        &format!("https://localhost:{port}"),
        builder_key(MASTER, "host-linux-test"),
    );
    cfg.tls = Some(Arc::new(
        buildlet::tls::client_config_with_roots(vec![other.cert.der().clone()]).unwrap(),
    ));
    let e = reverse::connect_and_serve(&cfg, &start_buildlet(&parent.path().join("2")))
        .await
        .unwrap_err();
    assert!(matches!(e, reverse::ReverseError::Tls { .. }), "{e}");
}
