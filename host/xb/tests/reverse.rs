//! `xb serve` with a reverse pool: a buildlet speaking Go's revdial v1 registers over
//! the TLS listener (self-signed certificate, Go's dev master key) and builds the demo;
//! plain HTTP registrations are refused, and `/status/reverse.json` lists the machine.

mod common;

use buildlet::reverse::{self, ReverseConfig};
use buildlet::{builder_key, Buildlet, Config, WorkDir};
use common::{get_json, start_with};
use std::sync::Arc;
use std::time::Duration;
use xb::config::PoolSettings;
use xb::serve::DEV_MASTER_KEY;

const HOST: &str = "host-linux-amd64-localdev";

#[tokio::test(flavor = "multi_thread")]
async fn a_go_style_reverse_buildlet_registers_over_tls_and_builds_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let setup = xb::builds::BuildSetup {
        dev_keys: true,
        pools: [(
            HOST.to_string(),
            PoolSettings {
                reverse: Some(true),
                expect: Some(1),
                ..Default::default()
            },
        )]
        .into(),
        ..Default::default()
    };
    let (host, url) = start_with(dir.path(), Some(setup)).await;
    let port = common::serve_tls(&host, dir.path()).await;

    // Nothing to build on yet: the pool is reverse and empty.
    let st = get_json(&format!("{url}/status/reverse.json")).await;
    assert_eq!(st["HostTypes"][HOST]["Connected"], 0, "{st}");
    assert_eq!(st["HostTypes"][HOST]["Expect"], 1, "{st}");
    // A reverse host type of the bundled go-builders expects what the plugin says.
    assert_eq!(
        st["HostTypes"]["host-linux-arm-scaleway"]["Expect"], 50,
        "{st}"
    );

    // Registration over plain HTTP is refused, as Go's coordinator does.
    let key = builder_key(DEV_MASTER_KEY.as_bytes(), HOST);
    let plain = reqwest::Client::new()
        .get(format!("{url}/reverse"))
        .header("X-Go-Host-Type", HOST)
        .header("X-Go-Builder-Key", &key)
        .header("Upgrade", "buildlet-h2")
        .header("Connection", "Upgrade")
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 500);
    assert!(plain.text().await.unwrap().contains("requires SSL"));

    // A machine with Go's dev key dials in over TLS, trusting the certificate the
    // data directory holds.
    let cert = dir.path().join("tls/cert.pem");
    let roots = buildlet::tls::load_certs(&cert).unwrap();
    let client_cfg = Arc::new(buildlet::tls::client_config_with_roots(roots).unwrap());
    let machine = tempfile::tempdir().unwrap();
    std::fs::write(machine.path().join("canary"), "keep").unwrap();
    let b = Buildlet::new(
        WorkDir::open(&machine.path().join("work"), true).unwrap(),
        Config::default(),
    );
    let cfg = ReverseConfig {
        coordinator: format!("localhost:{port}"),
        host_type: HOST.into(),
        hostname: "gobuildlet".into(),
        key,
        tls: None,
        min_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
    };
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let stream = tokio_rustls::TlsConnector::from(client_cfg)
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap();
    tokio::spawn(async move { reverse::serve_revdial_v1(stream, &cfg, b).await });

    // The demo's six commits build on it.
    let mut results = serde_json::Value::Null;
    for _ in 0..1200 {
        results = get_json(&format!("{url}/api/results?limit=100")).await;
        if results.as_array().is_some_and(|a| a.len() >= 6) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let results = results.as_array().expect("results");
    assert_eq!(results.len(), 6, "{results:#?}");
    assert_eq!(results.iter().filter(|r| r["ok"] == false).count(), 1);
    let st = get_json(&format!("{url}/status/reverse.json")).await;
    let ht = &st["HostTypes"][HOST];
    assert_eq!(ht["Connected"], 1, "{st}");
    assert_eq!(ht["Machines"]["gobuildlet"]["HostType"], HOST, "{st}");
    assert_eq!(
        std::fs::read_to_string(machine.path().join("canary")).unwrap(),
        "keep"
    );
    let status = common::get_text(&format!("{url}/status")).await;
    assert!(status.contains("gobuildlet (reverse"), "{status}");
}
