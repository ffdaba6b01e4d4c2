//! Remote buildlets for people: `xb serve`'s gomote API over TLS (create, list, the
//! `X-Buildlet-Proxy` proxy with exec output and trailers streamed through, destroy),
//! each user confined to their own machines, and the `xb gomote` command line.

mod common;

use buildlet::client::{BoxError, ReqBody, PROXY_HEADER};
use buildlet::{builder_key, Error, ExecOpts};
use bytes::Bytes;
use common::start_with;
use http_body_util::{BodyExt, Full};
use std::sync::Arc;
use xb::config::PoolSettings;
use xb::gomote::Session;
use xb::serve::DEV_MASTER_KEY;

const BUILDER: &str = "linux-amd64-demo";

fn key(user: &str) -> String {
    builder_key(DEV_MASTER_KEY.as_bytes(), &format!("user-{user}"))
}

struct Farm {
    _host: xb::serve::Host,
    url: String,
    tls_addr: String,
    roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    cert: std::path::PathBuf,
}

async fn farm(dir: &std::path::Path) -> Farm {
    let env_dir = dir.join("no-env");
    std::fs::create_dir_all(&env_dir).unwrap();
    let setup = xb::builds::BuildSetup {
        demo: false,
        dev_keys: true,
        env_dir,
        buildlet: vec![env!("CARGO_BIN_EXE_xb").into(), "buildlet".into()],
        pools: [(
            "host-linux-amd64-localdev".to_string(),
            PoolSettings {
                count: Some(1),
                ..Default::default()
            },
        )]
        .into(),
        ..Default::default()
    };
    let (host, url) = start_with(dir, Some(setup)).await;
    let port = common::serve_tls(&host, dir).await;
    let cert = dir.join("tls/cert.pem");
    Farm {
        _host: host,
        url,
        tls_addr: format!("localhost:{port}"),
        roots: buildlet::tls::load_certs(&cert).unwrap(),
        cert,
    }
}

impl Farm {
    fn session(&self, user: &str) -> Session {
        Session::new(&self.tls_addr, user, &key(user), self.roots.clone()).unwrap()
    }
}

fn body(s: &str) -> ReqBody {
    Full::new(Bytes::from(s.to_string()))
        .map_err(|e| -> BoxError { match e {} })
        .boxed_unsync()
}

/// The status and body of a raw request to the coordinator as `user`.
async fn raw(farm: &Farm, user: &str, req: http::Request<ReqBody>) -> (u16, String) {
    let c = buildlet::Client::new(
        farm.tls_addr.clone(),
        buildlet::ClientOptions {
            user: Some(format!("user-{user}")),
            password: Some(key(user)),
            tls: Some(Arc::new(
                buildlet::tls::client_config_with_roots(farm.roots.clone()).unwrap(),
            )),
            proxy_name: None,
        },
    );
    let r = c.round_trip(req).await.unwrap();
    let status = r.status().as_u16();
    let text = r.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&text).into_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_creates_drives_and_destroys_a_remote_buildlet() {
    let dir = tempfile::tempdir().unwrap();
    let farm = farm(dir.path()).await;
    let alice = farm.session("alice");
    let b = alice.create(BUILDER).await.unwrap();
    assert_eq!(b.name, format!("user-alice-{BUILDER}-0"));
    assert_eq!(
        (b.user.as_str(), b.host_type.as_str()),
        ("user-alice", "host-linux-amd64-localdev")
    );
    assert_eq!(alice.list().await.unwrap(), std::slice::from_ref(&b));

    // The status page lists it with the machine it is, which shows busy in its pool.
    let status: serde_json::Value = reqwest::get(format!("{}/status.json", farm.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let remote = status["remote"].as_array().unwrap();
    assert_eq!(remote.len(), 1, "{status}");
    assert_eq!(remote[0]["Name"], b.name.as_str());
    assert_eq!(remote[0]["User"], "user-alice");
    let machine = remote[0]["machine"].as_str().unwrap();
    let pool = status["pools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["host_type"] == b.host_type.as_str())
        .unwrap();
    let m = &pool["machines"][0];
    assert!(machine.starts_with(m["name"].as_str().unwrap()), "{status}");
    assert_eq!(m["state"], "busy", "{status}");
    let page = reqwest::get(format!("{}/status", farm.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<h2>Remote buildlets (1)</h2>"), "{page}");
    assert!(
        page.contains(&format!("<td>{}<td>user-alice", b.name)),
        "{page}"
    );

    // Requests go through the coordinator to the machine; exec's result trailer too.
    let m = alice.buildlet(&b.name);
    m.put(
        std::io::Cursor::new(b"#!/bin/sh\necho from $1\n".to_vec()),
        "hello.sh",
        0o755,
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    let opts = ExecOpts {
        args: vec!["gomote".into()],
        ..Default::default()
    };
    m.exec("hello.sh", &opts, &mut out).await.unwrap();
    assert_eq!(out, b"from gomote\n");
    let fail = ExecOpts {
        system_level: true,
        args: vec!["-c".into(), "echo no; exit 3".into()],
        ..Default::default()
    };
    let mut out = Vec::new();
    match m.exec("/bin/sh", &fail, &mut out).await {
        Err(Error::Remote(state)) => assert_eq!(state, "exit status 3"),
        other => panic!("want the remote failure, got {other:?}"),
    }
    let names: Vec<String> = m
        .list_dir(".", &Default::default())
        .await
        .unwrap()
        .iter()
        .map(|e| e.name().to_string())
        .collect();
    assert!(names.contains(&"hello.sh".to_string()), "{names:?}");

    // Another user sees none of it.
    let bob = farm.session("bob");
    assert!(bob.list().await.unwrap().is_empty());
    match bob.buildlet(&b.name).status().await {
        Err(Error::Refused { status, .. }) => assert_eq!(status, 401),
        other => panic!("want 401, got {other:?}"),
    }
    // Unknown names are 502; old clients 400; a wrong key 401.
    match alice.buildlet("user-alice-nope-0").status().await {
        Err(Error::Refused { status, .. }) => assert_eq!(status, 502),
        other => panic!("want 502, got {other:?}"),
    }
    let old = http::Request::post("/buildlet/create")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body(&format!("builderType={BUILDER}&version=20150101")))
        .unwrap();
    let (status, text) = raw(&farm, "alice", old).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("too old"), "{text}");
    let unknown = http::Request::post("/buildlet/create")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body("builderType=plan9-arm-nope&version=20240101"))
        .unwrap();
    assert_eq!(raw(&farm, "alice", unknown).await.0, 400);
    let wrong = Session::new(&farm.tls_addr, "alice", &key("mallory"), farm.roots.clone()).unwrap();
    assert!(wrong.list().await.unwrap_err().to_string().contains("401"));
    // The proxy needs TLS.
    let plain = reqwest::Client::new()
        .get(format!("{}/status", farm.url))
        .header(PROXY_HEADER, &b.name)
        .basic_auth("user-alice", Some(key("alice")))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 400);

    // Destroyed: gone from the list, and the machine serves builds again.
    m.halt().await.unwrap();
    assert!(alice.list().await.unwrap().is_empty());
    match m.status().await {
        Err(Error::Refused { status, .. }) => assert_eq!(status, 502),
        other => panic!("want 502, got {other:?}"),
    }
    let again = alice.create(BUILDER).await.unwrap();
    assert_eq!(again.name, b.name, "the lowest free number again");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_xb_gomote_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let farm = farm(dir.path()).await;
    let token = dir.path().join("carol.token");
    std::fs::write(&token, key("carol")).unwrap();
    let xb = |args: &[&str]| {
        let (tls, token, cert) = (farm.tls_addr.clone(), token.clone(), farm.cert.clone());
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        async move {
            let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_xb"))
                .args(["gomote", "--coordinator", &tls, "--user", "carol"])
                .arg("--token")
                .arg(&token)
                .arg("--ca")
                .arg(&cert)
                .args(&args)
                .output()
                .await
                .unwrap();
            assert!(
                out.status.success(),
                "xb gomote {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
    };
    let name = xb(&["create", BUILDER]).await.trim().to_string();
    assert_eq!(name, format!("user-carol-{BUILDER}-0"));
    assert!(xb(&["list"]).await.starts_with(&name));
    let file = dir.path().join("note.txt");
    std::fs::write(&file, "hello gomote\n").unwrap();
    xb(&["put", &name, file.to_str().unwrap()]).await;
    let out = xb(&["run", "--system", &name, "/bin/cat", "note.txt"]).await;
    assert_eq!(out, "hello gomote\n");
    // The command's own options pass through as they are.
    let out = xb(&[
        "run",
        "--system",
        &name,
        "/bin/sh",
        "-c",
        "echo $0 -x",
        "dash",
    ])
    .await;
    assert_eq!(out, "dash -x\n");
    assert!(xb(&["ls", &name]).await.contains("note.txt"));
    xb(&["rm", &name, "note.txt"]).await;
    assert!(!xb(&["ls", &name]).await.contains("note.txt"));
    xb(&["destroy", &name]).await;
    assert_eq!(xb(&["list"]).await, "");
}
