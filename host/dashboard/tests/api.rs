//! Go's dashboard machine API over a real server on loopback, against request and
//! response vectors written from Go's wire format: the query parameters and JSON body Go's
//! coordinator sends (`recordResult`, `pingDashboard`), and the exact bytes Go's
//! `AuthHandler` answers with (`{"Response":…,"Error":"…"}` and a newline, HTTP 200).

mod common;

use common::*;
use dashboard::store::now;
use dashboard::tools::{BuildingJson, ResultJson};
use dashboard::{log_hash, NewResult, ResultKey, Work};
use maintner::time::Time;
use std::time::Duration;

/// The body Go's coordinator posts to `/result`: a map, so its keys come sorted; RunTime
/// is a time.Duration in nanoseconds.
fn coordinator_body(
    builder: &str,
    path: &str,
    hash: &str,
    go_hash: &str,
    ok: bool,
    log: &str,
) -> String {
    format!(
        r#"{{"Builder":"{builder}","GoHash":"{go_hash}","Hash":"{hash}","Log":{},"OK":{ok},"PackagePath":"{path}","RunTime":123000000000}}"#,
        serde_json::to_string(log).unwrap()
    )
}

fn result_url(s: &Server, builder: &str) -> String {
    format!(
        "{}/result?version=1&key={}&builder={builder}",
        s.url,
        s.key(builder)
    )
}

#[tokio::test]
async fn a_failed_go_build_is_recorded_and_its_log_served_at_go_s_url() {
    let s = serve(3).await;
    let hash = &s.world.go[2];
    let before = now();
    let reply = post(
        &result_url(&s, "linux-amd64"),
        coordinator_body("linux-amd64", "", hash, "", false, "test"),
    )
    .await;
    assert_go(&reply, GO_OK);

    // Go's integration test: the log "test" is stored under its SHA-1.
    let log = get(&format!(
        "{}/log/a94a8fe5ccb19ba61c4c0873d391e987982fbbd3",
        s.url
    ))
    .await;
    assert_eq!(log.status, 200);
    assert_eq!(log.content_type, "text/plain; charset=utf-8");
    assert_eq!(log.body, "test");

    let got = s.store().results_for("go", &[hash]).unwrap();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r.key, ResultKey::go("linux-amd64", hash));
    assert!(!r.ok);
    assert_eq!(r.log_hash, "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3");
    assert_eq!(r.run_time, Duration::from_secs(123));
    // Go sends no start time: it is the arrival less the run time.
    let run = 123_000_000_000;
    assert!(r.started.nanos() >= before.nanos() - run && r.started.nanos() <= now().nanos() - run);
}

#[tokio::test]
async fn a_subrepo_result_is_keyed_by_its_go_commit() {
    let s = serve(3).await;
    let (net, go) = (&s.world.net[1], &s.world.go[2]);
    let reply = post(
        &result_url(&s, "linux-386"),
        coordinator_body("linux-386", "golang.org/x/net", net, go, true, ""),
    )
    .await;
    assert_go(&reply, GO_OK);
    let got = s.store().results_for("net", &[net]).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].key,
        ResultKey::post_submit("linux-386", "net", net, go)
    );
    assert!(got[0].ok);
    assert_eq!(got[0].log_hash, "", "no log was sent");
    assert!(s.store().results_for("go", &[net]).unwrap().is_empty());

    // The master key may post for any known builder.
    let url = format!("{}/result?version=1&key={MASTER}&builder=", s.url);
    let reply = post(&url, coordinator_body("darwin-amd64", "", go, "", true, "")).await;
    assert_go(&reply, GO_OK);
    assert_eq!(s.store().results_for("go", &[go]).unwrap().len(), 1);
}

#[tokio::test]
async fn bad_results_get_go_s_error_and_store_nothing() {
    let s = serve(3).await;
    let h = s.world.go[0].clone();
    let key = s.key("linux-amd64");
    let u = &s.url;
    let good = coordinator_body("linux-amd64", "", &h, "", true, "");
    let cases: Vec<(String, String, String)> = vec![
        (
            format!("{u}/result?version=1&key=bad&builder=linux-amd64"),
            good.clone(),
            r#"invalid key "bad" for builder "linux-amd64""#.into(),
        ),
        (
            format!("{u}/result?version=1&builder=linux-amd64"),
            good.clone(),
            r#"invalid key "" for builder "linux-amd64""#.into(),
        ),
        (
            // A key is for one builder only.
            format!("{u}/result?version=1&key={key}&builder=linux-386"),
            good.clone(),
            format!(r#"invalid key "{key}" for builder "linux-386""#),
        ),
        (
            // A revoked builder's own key no longer passes.
            format!(
                "{u}/result?version=1&key={}&builder=plan9-amd64-mischief",
                s.key("plan9-amd64-mischief")
            ),
            coordinator_body("plan9-amd64-mischief", "", &h, "", true, ""),
            format!(
                r#"invalid key "{}" for builder "plan9-amd64-mischief""#,
                s.key("plan9-amd64-mischief")
            ),
        ),
        (
            format!("{u}/result?key={key}&builder=linux-amd64"),
            good.clone(),
            "rejecting POST from builder; need version 1".into(),
        ),
        (
            format!("{u}/result?version=2&key={key}&builder=linux-amd64"),
            good.clone(),
            "rejecting POST from builder; need version 1".into(),
        ),
        (
            result_url(&s, "linux-amd64"),
            r#"{"Builder":"linux-amd64","Hash":"","OK":true}"#.into(),
            "validating Result: invalid Hash".into(),
        ),
        (
            result_url(&s, "linux-amd64"),
            r#"{"Builder":"linux-amd64","OK":true}"#.into(),
            "validating Result: invalid Hash".into(),
        ),
        (
            result_url(&s, "linux-amd64"),
            r#"{"Builder":"linux-amd64","Hash":"not hex!"}"#.into(),
            "validating Result: invalid Hash".into(),
        ),
        (
            result_url(&s, "linux-amd64"),
            coordinator_body("linux-amd64", "golang.org/x/net", &s.world.net[0], "", true, ""),
            "validating Result: invalid GoHash".into(),
        ),
        (
            result_url(&s, "linux-amd64"),
            coordinator_body("linux-amd64", "example.com/net", &h, &h, true, ""),
            r#"validating Result: invalid PackagePath "example.com/net""#.into(),
        ),
        (
            result_url(&s, "linux-amd64"),
            coordinator_body("linux-amd64", "", &h, &h, true, ""),
            "validating Result: GoHash given for a commit of the main repo".into(),
        ),
        (
            result_url(&s, "linux-amd64"),
            r#"{"Builder":"linux-amd64","Hash":"ab","RunTime":-5}"#.into(),
            "validating Result: negative RunTime -5".into(),
        ),
        (
            result_url(&s, "linux-amd64"),
            r#"{"Builder":"linux-amd64","Hash":"ab","OK":"yes"}"#.into(),
            "decoding Body: json: cannot unmarshal string into Go struct field Result.OK of type bool".into(),
        ),
        (
            format!("{u}/result?version=1&key={MASTER}"),
            coordinator_body("plan9-arm", "", &h, "", true, ""),
            r#"unknown builder "plan9-arm""#.into(),
        ),
        (
            // A builder's key posts its own results only.
            result_url(&s, "linux-386"),
            good.clone(),
            r#"result for builder "linux-amd64" posted with the key of builder "linux-386""#.into(),
        ),
    ];
    for (url, body, want) in cases {
        let reply = post(&url, body.clone()).await;
        assert_go(&reply, &go_error(&want));
    }
    // Malformed bodies: Go's prefix, then what the decoder said.
    for body in ["", "{", "not json", "[1,2]", "{\"Hash\": 12}"] {
        let reply = post(&result_url(&s, "linux-amd64"), body).await;
        assert_eq!(reply.status, 200);
        let v: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        let e = v["Error"].as_str().unwrap();
        assert!(e.starts_with("decoding Body: "), "{body:?}: {e}");
        assert!(v["Response"].is_null());
    }
    // Not POST.
    assert_go(
        &get(&result_url(&s, "linux-amd64")).await,
        &go_error("bad method: GET"),
    );
    assert_eq!(s.store().sizes().unwrap().results, 0, "nothing was stored");
}

#[tokio::test]
async fn an_oversized_result_is_refused_in_go_s_shape() {
    let s = serve(1).await;
    let log = "x".repeat(dashboard::MAX_RESULT_BODY + 1);
    let body = coordinator_body("linux-amd64", "", &s.world.go[0], "", false, &log);
    let reply = post(&result_url(&s, "linux-amd64"), body).await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .body
            .starts_with("{\"Response\":null,\"Error\":\"decoding Body: "),
        "{}",
        &reply.body[..200.min(reply.body.len())]
    );
    assert_eq!(s.store().sizes().unwrap().results, 0);
}

#[tokio::test]
async fn logs_unknown_or_malformed_are_404() {
    let s = serve(1).await;
    for path in [
        format!("/log/{}", log_hash("never")),
        "/log/xyz".into(),
        "/log/A94A8FE5CCB19BA61C4C0873D391E987982FBBD3".into(),
        "/log/..%2F..%2Fetc%2Fpasswd".into(),
    ] {
        let r = get(&format!("{}{path}", s.url)).await;
        assert_eq!(r.status, 404, "{path}: {r:?}");
        assert!(r.body.starts_with("no log"), "{path}: {r:?}");
    }
}

#[tokio::test]
async fn a_corrupt_stored_log_is_a_500_that_names_it() {
    let s = serve(1).await;
    let h = s
        .store()
        .record(&NewResult {
            key: ResultKey::go("linux-amd64", &s.world.go[0]),
            ok: false,
            started: now(),
            run_time: Duration::ZERO,
            log: Some("fine".into()),
        })
        .unwrap();
    let conn = rusqlite::Connection::open(s.store().path()).unwrap();
    conn.execute("UPDATE logs SET gz = x'00' WHERE hash = ?1", [&h])
        .unwrap();
    let r = get(&format!("{}/log/{h}", s.url)).await;
    assert_eq!(r.status, 500);
    assert!(r.body.contains(&format!("log {h} is corrupt")), "{r:?}");
}

#[tokio::test]
async fn clear_results_clears_listed_commits_or_go_s_last_30() {
    let s = serve(35).await;
    let go = s.world.go.clone();
    let record = |builder: &str, commit: &str| {
        s.store()
            .record(&NewResult {
                key: ResultKey::go(builder, commit),
                ok: true,
                started: now(),
                run_time: Duration::ZERO,
                log: None,
            })
            .unwrap();
    };
    for c in [&go[4], &go[5], &go[20], &go[34]] {
        record("linux-amd64", c);
        record("linux-386", c);
    }
    let has = |b: &str, c: &str| s.store().has_result(&ResultKey::go(b, c)).unwrap();
    let key = s.key("linux-amd64");

    // Listed commits.
    let url = format!(
        "{}/clear-results?builder=linux-amd64&key={key}&hash={},{}",
        s.url, go[20], go[4]
    );
    assert_go(&post(&url, "").await, GO_OK);
    assert!(!has("linux-amd64", &go[20]) && !has("linux-amd64", &go[4]));
    assert!(has("linux-amd64", &go[5]) && has("linux-386", &go[20]));

    // No list: the newest 30 commits of master (go[5] to go[34]).
    record("linux-amd64", &go[4]);
    let url = format!("{}/clear-results?builder=linux-amd64&key={key}", s.url);
    assert_go(&post(&url, "").await, GO_OK);
    assert!(has("linux-amd64", &go[4]), "older than the last 30: kept");
    assert!(!has("linux-amd64", &go[5]) && !has("linux-amd64", &go[34]));
    assert!(has("linux-386", &go[34]), "another builder's results stay");

    // Refusals.
    let no_builder = format!("{}/clear-results?key={MASTER}", s.url);
    assert_go(
        &post(&no_builder, "").await,
        &go_error("must specify a builder"),
    );
    let others = format!("{}/clear-results?builder=linux-386&key={key}", s.url);
    assert_go(
        &post(&others, "").await,
        &go_error(&format!(r#"invalid key "{key}" for builder "linux-386""#)),
    );
    assert_go(&get(&url).await, &go_error("bad method: GET"));
    assert!(has("linux-386", &go[34]) && has("linux-386", &go[5]));
}

#[tokio::test]
async fn building_pings_mark_builds_until_their_result() {
    let s = serve(3).await;
    let (go, net) = (s.world.go[2].clone(), s.world.net[0].clone());
    let key = s.key("linux-amd64");
    let live = "http://farmer.golang.org/temporarylogs?name=linux-amd64&rev=x&st=0xc42";
    let enc: String = form_urlencoded::byte_serialize(live.as_bytes()).collect();
    // What Go's coordinator's pingDashboard sends.
    let url = format!(
        "{}/building?builder=linux-amd64&key={key}&hash={go}&url={enc}",
        s.url
    );
    let reply = post(&url, "").await;
    assert_go(
        &reply,
        &format!("{{\"Response\":{{\"key\":\"building|{go}||linux-amd64\"}},\"Error\":\"\"}}\n"),
    );
    // A subrepo build: its repo comes from the corpus.
    let url = format!(
        "{}/building?builder=linux-amd64&key={key}&hash={net}&gohash={go}&url={enc}",
        s.url
    );
    assert_go(
        &post(&url, "").await,
        &format!(
            "{{\"Response\":{{\"key\":\"building|{net}|{go}|linux-amd64\"}},\"Error\":\"\"}}\n"
        ),
    );

    let list: Vec<BuildingJson> =
        serde_json::from_str(&get(&format!("{}/api/building", s.url)).await.body).unwrap();
    let mut repos: Vec<(&str, &str, &str)> = list
        .iter()
        .map(|b| (b.repo.as_str(), b.commit.as_str(), b.url.as_str()))
        .collect();
    repos.sort();
    assert_eq!(
        repos,
        [("go", go.as_str(), live), ("net", net.as_str(), live)]
    );

    // The result ends the go build's marker.
    let reply = post(
        &result_url(&s, "linux-amd64"),
        coordinator_body("linux-amd64", "", &go, "", true, ""),
    )
    .await;
    assert_go(&reply, GO_OK);
    let list: Vec<BuildingJson> =
        serde_json::from_str(&get(&format!("{}/api/building", s.url)).await.body).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].repo, "net");

    // Refusals.
    let u = &s.url;
    for (url, want) in [
        (
            format!("{u}/building?builder=linux-amd64&key={key}&url=x"),
            r#"invalid hash """#.to_string(),
        ),
        (
            format!("{u}/building?builder=linux-amd64&key=nope&hash={go}"),
            r#"invalid key "nope" for builder "linux-amd64""#.to_string(),
        ),
        (
            format!("{u}/building?builder=windows-arm&key={MASTER}&hash={go}"),
            r#"unknown builder "windows-arm""#.to_string(),
        ),
        (
            format!("{u}/building?builder=linux-amd64&key={key}&hash={go}&gohash=zz"),
            r#"invalid gohash "zz""#.to_string(),
        ),
    ] {
        assert_go(&post(&url, "").await, &go_error(&want));
    }
    assert_go(
        &get(&format!("{u}/building?builder=linux-amd64&hash={go}")).await,
        &go_error("bad method: GET"),
    );
}

#[tokio::test]
async fn commit_answers_from_the_corpus_in_go_s_shape() {
    let s = serve(3).await;
    let go = &s.world.go;
    // Commit times: 1500000000 + 60 per commit of the simulated project.
    let reply = get(&format!("{}/commit?packagePath=&hash={}", s.url, go[2])).await;
    assert_go(
        &reply,
        &format!(
            concat!(
                r#"{{"Response":{{"PackagePath":"","Hash":"{}","ParentHash":"{}","Num":3,"#,
                r#""User":"Gopher \u003cgopher@golang.org\u003e","#,
                r#""Desc":"cmd/go: change 2\n\nA longer description of change 2.\n","#,
                r#""Time":"2017-07-14T02:43:00Z","NeedsBenchmarking":false,"TryPatch":false,"#,
                r#""Branch":"master","ResultData":null,"PerfResults":null,"#,
                r#""FailNotificationSent":false}},"Error":""}}"#,
                "\n"
            ),
            go[2], go[1]
        ),
    );
    // The root commit has no parent and is number 1.
    let v: serde_json::Value =
        serde_json::from_str(&get(&format!("{}/commit?hash={}", s.url, go[0])).await.body).unwrap();
    assert_eq!(v["Response"]["Num"], 1);
    assert_eq!(v["Response"]["ParentHash"], "");

    // A release-branch commit.
    let v: serde_json::Value = serde_json::from_str(
        &get(&format!("{}/commit?hash={}", s.url, s.world.release))
            .await
            .body,
    )
    .unwrap();
    assert_eq!(v["Response"]["Branch"], "release-branch.go1.9");
    assert_eq!(v["Response"]["Num"], 4);
    assert_eq!(v["Response"]["ParentHash"], go[2].as_str());

    // A subrepo commit, asked for by its package path.
    let net = &s.world.net[2];
    let v: serde_json::Value = serde_json::from_str(
        &get(&format!(
            "{}/commit?packagePath=golang.org/x/net&hash={net}",
            s.url
        ))
        .await
        .body,
    )
    .unwrap();
    assert_eq!(v["Response"]["PackagePath"], "golang.org/x/net");
    assert_eq!(v["Response"]["Num"], 3);
    assert_eq!(v["Error"], "");

    // The exact text Go's watcher looks for.
    let not_found = go_error("Commit not found");
    for q in [
        format!("packagePath=&hash={net}"),
        format!("packagePath=golang.org/x/net&hash={}", go[0]),
        format!("packagePath=golang.org/x/nope&hash={net}"),
        format!("hash={}", "0".repeat(40)),
        "hash=xyz".to_string(),
        String::new(),
    ] {
        assert_go(&get(&format!("{}/commit?{q}", s.url)).await, &not_found);
    }
    // Commits come from the corpus; POSTing one is refused.
    let key = s.key("linux-amd64");
    assert_go(
        &post(
            &format!("{}/commit?version=3&key={key}&builder=linux-amd64", s.url),
            "{}",
        )
        .await,
        &go_error("can only POST commits with master key"),
    );
}

#[tokio::test]
async fn packages_lists_the_corpus_subrepos() {
    let s = serve(3).await;
    assert_go(
        &get(&format!("{}/packages?kind=subrepo", s.url)).await,
        "{\"Response\":[{\"Kind\":\"subrepo\",\"Name\":\"net\",\"Path\":\"golang.org/x/net\",\"NextNum\":4}],\"Error\":\"\"}\n",
    );
    assert_go(
        &get(&format!("{}/packages?kind=external", s.url)).await,
        GO_OK,
    );
    for q in ["", "?kind=go"] {
        assert_go(
            &get(&format!("{}/packages{q}", s.url)).await,
            &go_error(r#"kind must be one of "subrepo", "external""#),
        );
    }
}

#[tokio::test]
async fn api_results_for_tools() {
    let s = serve(3).await;
    let go = &s.world.go;
    let rec = |key: ResultKey, ok: bool, log: Option<&str>| {
        s.store()
            .record(&NewResult {
                key,
                ok,
                started: Time::from_unix(1_700_000_000),
                run_time: Duration::from_secs(2),
                log: log.map(str::to_string),
            })
            .unwrap()
    };
    rec(ResultKey::go("linux-amd64", &go[0]), true, None);
    let h = rec(ResultKey::go("linux-386", &go[0]), false, Some("FAIL\n"));
    rec(
        ResultKey::go("linux-amd64", &go[1]).with_work(Work::Try {
            change: 4242,
            patch_set: 3,
        }),
        false,
        None,
    );

    let list: Vec<ResultJson> = serde_json::from_str(
        &get(&format!("{}/api/results?builder=linux-386", s.url))
            .await
            .body,
    )
    .unwrap();
    assert_eq!(
        list,
        [ResultJson {
            builder: "linux-386".into(),
            repo: "go".into(),
            commit: go[0].clone(),
            go_commit: String::new(),
            kind: "post-submit".into(),
            change: None,
            patch_set: None,
            ok: false,
            started: "2023-11-14T22:13:20Z".into(),
            run_time_ns: 2_000_000_000,
            log_hash: h.clone(),
            log_url: Some(format!("/log/{h}")),
        }]
    );
    let tries: Vec<ResultJson> =
        serde_json::from_str(&get(&format!("{}/api/results?kind=try", s.url)).await.body).unwrap();
    assert_eq!(tries.len(), 1);
    assert_eq!((tries[0].change, tries[0].patch_set), (Some(4242), Some(3)));
    let by_commit: Vec<ResultJson> = serde_json::from_str(
        &get(&format!("{}/api/results?repo=go&commit={}", s.url, &go[0]))
            .await
            .body,
    )
    .unwrap();
    assert_eq!(by_commit.len(), 2);
    let one: Vec<ResultJson> =
        serde_json::from_str(&get(&format!("{}/api/results?limit=1", s.url)).await.body).unwrap();
    assert_eq!(one.len(), 1);

    for q in ["limit=0", "limit=x", "limit=100000", "kind=weekly"] {
        let r = get(&format!("{}/api/results?{q}", s.url)).await;
        assert_eq!(r.status, 400, "{q}");
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert!(
            v["error"]
                .as_str()
                .unwrap()
                .contains(q.split('=').next().unwrap()),
            "{q}: {v}"
        );
    }
}
