//! Listen-mode auth (HTTP Basic, as Go's `requirePasswordHandler`) and TLS through the
//! real binary.

use std::sync::Arc;
use std::time::Duration;

use buildlet::{Client, ClientOptions, Error};
use tokio::io::{AsyncBufReadExt, BufReader};

struct Running {
    child: tokio::process::Child,
    addr: String,
}

async fn spawn(args: &[&str]) -> Running {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_buildlet"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let line = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .next_line()
        .await
        .unwrap()
        .expect("no listening line");
    Running {
        child,
        addr: line.strip_prefix("listening on ").unwrap().to_string(),
    }
}

#[tokio::test]
async fn tls_with_pinned_certificate_and_password() {
    let dir = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert, key, pw) = (
        dir.path().join("cert.pem"),
        dir.path().join("key.pem"),
        dir.path().join("pw"),
    );
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
    std::fs::write(&pw, "hunter2\n").unwrap();
    let wd = dir.path().join("wd");
    let args = [
        "--listen",
        "127.0.0.1:0",
        "--workdir",
        wd.to_str().unwrap(),
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
        "--password-file",
        pw.to_str().unwrap(),
    ];
    let mut b = spawn(&args).await;

    let pinned = Arc::new(buildlet::tls::pinned_client_config(ck.cert.der().clone()).unwrap());
    let good = Client::new(
        b.addr.clone(),
        ClientOptions {
            password: Some("hunter2".into()),
            tls: Some(pinned.clone()),
            ..Default::default()
        },
    );
    assert_eq!(good.status().await.unwrap().version, 15);
    let mut out = Vec::new();
    good.exec(
        "/bin/echo",
        &buildlet::ExecOpts {
            system_level: true,
            args: vec!["over tls".into()],
            ..Default::default()
        },
        &mut out,
    )
    .await
    .unwrap();
    assert_eq!(out, b"over tls\n");

    let wrong_pw = Client::new(
        b.addr.clone(),
        ClientOptions {
            password: Some("hunter3".into()),
            tls: Some(pinned),
            ..Default::default()
        },
    );
    assert!(
        matches!(wrong_pw.status().await.unwrap_err(), Error::Refused { status, .. } if status == 403)
    );

    let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let wrong_pin =
        Arc::new(buildlet::tls::pinned_client_config(other.cert.der().clone()).unwrap());
    let impostor = Client::new(
        b.addr.clone(),
        ClientOptions {
            password: Some("hunter2".into()),
            tls: Some(wrong_pin),
            ..Default::default()
        },
    );
    let e = impostor.status().await.unwrap_err();
    let cause = std::error::Error::source(&e).map(|s| s.to_string());
    assert!(
        matches!(&e, Error::Transport { context, .. } if context.starts_with("TLS with")),
        "{e}"
    );
    assert!(
        cause.as_deref().is_some_and(|c| c.contains("pinned")),
        "{e}: {cause:?}"
    );

    let plain = Client::new(
        b.addr.clone(),
        ClientOptions {
            password: Some("hunter2".into()),
            ..Default::default()
        },
    );
    assert!(matches!(
        plain.status().await.unwrap_err(),
        Error::Transport { .. }
    ));
    b.child.kill().await.unwrap();
}

#[tokio::test]
async fn no_password_only_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let wd = dir.path().join("wd");
    let out = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_buildlet"))
            .args(["--listen", "0.0.0.0:0", "--workdir", wd.to_str().unwrap()])
            .output(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to listen on 0.0.0.0:0 without a password"),
        "{err}"
    );
    // Explicitly allowed, it starts (and we only talk to it over loopback).
    let mut b = spawn(&[
        "--listen",
        "0.0.0.0:0",
        "--workdir",
        wd.to_str().unwrap(),
        "--allow-unauthenticated",
    ])
    .await;
    let port = b.addr.rsplit_once(':').unwrap().1;
    let c = Client::new(format!("127.0.0.1:{port}"), Default::default());
    assert_eq!(c.status().await.unwrap().version, 15);
    b.child.kill().await.unwrap();
}

/// The work dir is emptied at start, so the home directory is refused (tested with a
/// throwaway HOME).
#[tokio::test]
async fn refuses_to_wipe_the_home_directory() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    std::fs::write(home.join("precious"), b"keep").unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_buildlet"))
        .args(["--listen", "127.0.0.1:0", "--workdir"])
        .arg(&home)
        .env("HOME", &home)
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("refusing to use"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(home.join("precious")).unwrap(), b"keep");
}
