//! Remote buildlets expire: one left idle past its timeout is taken back by the sweep and
//! its machine returns to the pool; using it renews it.

mod common;

use buildlet::ConnectedOverTls;
use common::{World, BUILDER, HOST};
use coordinator::gomote::{Gomote, GomoteConfig, RemoteBuildlet};
use std::sync::Arc;
use std::time::Duration;

const KEY: &str = "k-alice";

async fn serve(g: &Gomote) -> String {
    let app = g
        .router()
        .layer(axum::middleware::from_fn_with_state(
            g.clone(),
            Gomote::proxy,
        ))
        // As if over TLS: the proxy requires it.
        .layer(axum::Extension(ConnectedOverTls));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_remote_buildlet_is_taken_back_and_use_renews_it() {
    let w = World::new(&[("a", "true\n")], 1).await;
    let pools = w.pools(None);
    let pool = pools.get(HOST).unwrap().clone();
    let cfg = GomoteConfig {
        check_key: Arc::new(|user, key| user == "user-alice" && key == KEY),
        idle_timeout: Duration::from_millis(1500),
        sweep_every: Duration::from_millis(100),
        create_wait: Duration::from_secs(5),
    };
    let g = Gomote::new(cfg, w.registry.clone(), pools);
    tokio::spawn(g.clone().sweep_loop());
    let url = serve(&g).await;
    let http = reqwest::Client::new();
    let created: RemoteBuildlet = serde_json::from_str(
        &http
            .post(format!("{url}/buildlet/create"))
            .basic_auth("user-alice", Some(KEY))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("builderType={BUILDER}&version=20240101"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(pool.capacity().free, 0, "the machine is the user's");
    // Used every half second, it stays.
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let r = http
            .get(format!("{url}/status"))
            .header("X-Buildlet-Proxy", &created.name)
            .basic_auth("user-alice", Some(KEY))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    assert_eq!(g.all().len(), 1);
    // Left alone, it goes, and the machine serves builds again.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(g.all().is_empty());
    let r = http
        .get(format!("{url}/status"))
        .header("X-Buildlet-Proxy", &created.name)
        .basic_auth("user-alice", Some(KEY))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    for _ in 0..100 {
        if pool.capacity().free == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(pool.capacity().free, 1);
    assert!(w.canaries_alive());
}
