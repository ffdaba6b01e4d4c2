//! The Go buildlet protocol (`cmd/buildlet/buildlet.go`) end to end: real server on loopback, our client
//! and raw HTTP/1.1 requests shaped like Go's `net/http` client.

mod common;

use buildlet::{Config, Error, ExecOpts, ListDirOpts};
use common::*;
use tokio::io::AsyncReadExt;

#[tokio::test]
async fn status_workdir_root_and_404() {
    let h = Harness::start().await;
    assert_eq!(h.client.status().await.unwrap().version, 15);
    assert_eq!(
        h.client.work_dir().await.unwrap(),
        h.workdir.display().to_string()
    );
    let r = h
        .raw(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert!(r.contains("buildlet running on linux-"), "{r}");
    let r = h
        .raw(b"GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    assert!(
        r.contains("content-type: application/json; charset=utf-8"),
        "{r}"
    );
    assert!(r.ends_with("{\"Version\":15}\n"), "{r}");
    let r = h
        .raw(b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    assert!(r.starts_with("HTTP/1.1 404"), "{r}");
}

#[tokio::test]
async fn wrong_methods_get_400_with_text() {
    let h = Harness::start().await;
    for (req, want) in [
        ("GET /exec", "requires POST method"),
        ("GET /write?path=a&mode=420", "requires PUT method"),
        ("GET /writetgz", "requires PUT or POST method"),
        ("POST /status", "requires GET method"),
        ("POST /ls", "requires GET method"),
        ("POST /tgz", "requires GET method"),
        ("GET /removeall", "requires POST method"),
        ("GET /halt", "requires POST method"),
        ("POST /workdir", "requires GET method"),
    ] {
        let r = h
            .raw(
                format!(
                    "{req} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
                .as_bytes(),
            )
            .await;
        assert!(r.starts_with("HTTP/1.1 400"), "{req}: {r}");
        assert!(r.contains("text/plain; charset=utf-8"), "{req}: {r}");
        assert!(r.ends_with(&format!("{want}\n")), "{req}: {r}");
    }
}

#[tokio::test]
async fn write_then_ls_in_the_seed_line_format() {
    let h = Harness::start().await;
    h.client
        .put(reader(b"hello".to_vec()), "a/b.txt", 0o640)
        .await
        .unwrap();
    h.client
        .put(reader(b"#!/bin/sh\n".to_vec()), "run.sh", 0o755)
        .await
        .unwrap();
    assert_eq!(std::fs::read(h.workdir.join("a/b.txt")).unwrap(), b"hello");
    let entries = h
        .client
        .list_dir(
            "",
            &ListDirOpts {
                recursive: true,
                digest: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let lines: Vec<&str> = entries.iter().map(|e| e.line.as_str()).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0], "drwxr-xr-x\ta/");
    let f: Vec<&str> = lines[1].split('\t').collect();
    assert_eq!(&f[..3], ["-rw-r-----", "a/b.txt", "5"]);
    assert!(
        f[3].ends_with('Z') && f[3].len() == 20,
        "RFC3339 UTC: {}",
        f[3]
    );
    assert_eq!(f[4], "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"); // sha1("hello")
    assert!(
        lines[2].starts_with("-rwxr-xr-x\trun.sh\t10\t"),
        "{}",
        lines[2]
    );
    assert_eq!(entries[1].name(), "a/b.txt");
    assert_eq!(
        entries[1].digest(),
        Some("aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d")
    );
    // Non-recursive lists only the immediate children; skip prunes a dir.
    let top = h
        .client
        .list_dir("", &ListDirOpts::default())
        .await
        .unwrap();
    assert_eq!(
        top.iter().map(|e| e.name()).collect::<Vec<_>>(),
        ["a/", "run.sh"]
    );
    let skipped = h
        .client
        .list_dir(
            "",
            &ListDirOpts {
                recursive: true,
                skip: vec!["a".into()],
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        skipped.iter().map(|e| e.name()).collect::<Vec<_>>(),
        ["run.sh"]
    );
}

#[tokio::test]
async fn write_refuses_bad_mode() {
    let h = Harness::start().await;
    let dir_mode = 1u32 << 31 | 0o755; // os.ModeDir
    for q in [
        format!("path=x&mode={dir_mode}"),
        "path=x&mode=abc".into(),
        "path=x".into(),
    ] {
        let r = h.raw(format!("PUT /write?{q} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes()).await;
        assert!(
            r.starts_with("HTTP/1.1 400") && r.contains("bad mode"),
            "{q}: {r}"
        );
    }
    assert!(!h.workdir.join("x").exists());
}

#[tokio::test]
async fn writetgz_tgz_round_trip() {
    let h = Harness::start().await;
    let t = tgz(&[
        Entry::Dir("src/"),
        Entry::File("src/main.go", b"package main\n"),
        Entry::File("README", b"hi"),
    ]);
    h.client.put_tar(reader(t), "go").await.unwrap();
    assert_eq!(
        std::fs::read(h.workdir.join("go/src/main.go")).unwrap(),
        b"package main\n"
    );
    // mtime from the header (in the past) is kept.
    let mt = std::fs::metadata(h.workdir.join("go/README"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(
        mt,
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_500_000_000)
    );
    std::os::unix::fs::symlink("README", h.workdir.join("go/link")).unwrap();

    let mut gz = Vec::new();
    h.client
        .get_tar("go")
        .await
        .unwrap()
        .read_to_end(&mut gz)
        .await
        .unwrap();
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(&gz[..]));
    let mut seen = Vec::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().display().to_string();
        let mut body = String::new();
        std::io::Read::read_to_string(&mut e, &mut body).unwrap();
        let link = e.link_name().unwrap().map(|l| l.display().to_string());
        seen.push((name, e.header().entry_type(), body, link));
    }
    assert_eq!(
        seen,
        vec![
            ("README".into(), tar::EntryType::Regular, "hi".into(), None),
            (
                "link".into(),
                tar::EntryType::Symlink,
                "".into(),
                Some("README".into())
            ),
            ("src/".into(), tar::EntryType::Directory, "".into(), None),
            (
                "src/main.go".into(),
                tar::EntryType::Regular,
                "package main\n".into(),
                None
            ),
        ]
    );
}

#[tokio::test]
async fn writetgz_from_url_and_go14_skip() {
    let h = Harness::start().await;
    // A tiny real HTTP server on loopback serving one tarball.
    let t = tgz(&[Entry::File("bin/go", b"fake")]);
    let srv = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/go1.4.tgz", srv.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/go1.4.tgz",
        axum::routing::get(move || async move { t.clone() }),
    );
    tokio::spawn(async move { axum::serve(srv, app).await });
    assert_eq!(
        h.client.put_tar_from_url(&url, "go1.4").await.unwrap(),
        buildlet::PutOutcome::Written
    );
    assert_eq!(
        std::fs::read(h.workdir.join("go1.4/bin/go")).unwrap(),
        b"fake"
    );
    assert_eq!(
        h.client.put_tar_from_url(&url, "go1.4").await.unwrap(),
        buildlet::PutOutcome::Skipped
    );
    // A 404 from the URL is a 500 from the buildlet.
    let e = h
        .client
        .put_tar_from_url(&url.replace("go1.4.tgz", "missing"), "x")
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Refused { status, .. } if status == 500),
        "{e}"
    );
    // Missing url.
    let r = h.raw(b"POST /writetgz HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
    assert!(
        r.starts_with("HTTP/1.1 400") && r.ends_with("missing url POST param\n"),
        "{r}"
    );
}

#[tokio::test]
async fn removeall_removes_and_keeps_workdir() {
    let h = Harness::start().await;
    write_file(&h.workdir.join("a/b/c"), b"x");
    write_file(&h.workdir.join("d"), b"x");
    h.client
        .remove_all(&["a/b", "d", "does/not/exist"])
        .await
        .unwrap();
    assert!(
        h.workdir.join("a").is_dir()
            && !h.workdir.join("a/b").exists()
            && !h.workdir.join("d").exists()
    );
    h.client.remove_all(&["."]).await.unwrap();
    assert!(h.workdir.is_dir());
    assert_eq!(std::fs::read_dir(&h.workdir).unwrap().count(), 0);
    let r = h.raw(b"POST /removeall HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
    assert!(
        r.starts_with("HTTP/1.1 400") && r.ends_with("requires 'path' parameter\n"),
        "{r}"
    );
    h.assert_outside_untouched();
}

#[tokio::test]
async fn exec_ok_failure_args_env_path_and_debug() {
    let h = Harness::start().await;
    write_file(&h.workdir.join("bin/show"), b"#!/bin/sh\necho \"args=$*\"\necho \"pwd=$(pwd)\"\necho \"FOO=$FOO WD=$WORKDIR\"\necho \"PATH=$PATH\"\necho err >&2\nexit ${CODE:-0}\n");
    std::fs::set_permissions(
        h.workdir.join("bin/show"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let mut out = Vec::new();
    let opts = ExecOpts {
        args: vec!["x y".into(), "z".into()],
        extra_env: vec!["FOO=1".into(), "FOO=2".into()],
        path: Some(vec!["$WORKDIR/bin".into(), "/usr/bin".into()]),
        ..Default::default()
    };
    h.client.exec("bin/show", &opts, &mut out).await.unwrap();
    let wd = h.workdir.display();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("args=x y z\n"), "{out}");
    assert!(
        out.contains(&format!("pwd={wd}/bin\n")),
        "dir defaults to the command's: {out}"
    );
    assert!(out.contains(&format!("FOO=2 WD={wd}\n")), "{out}");
    assert!(out.contains(&format!("PATH={wd}/bin:/usr/bin\n")), "{out}");
    assert!(out.contains("err\n"), "stderr is merged: {out}");

    let mut out = Vec::new();
    let opts = ExecOpts {
        extra_env: vec!["CODE=3".into()],
        dir: Some(".".into()),
        debug: true,
        ..Default::default()
    };
    let e = h
        .client
        .exec("bin/show", &opts, &mut out)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Remote(s) if s == "exit status 3"),
        "{e}"
    );
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.starts_with(&format!(
            ":: Running {wd}/bin/show with args [\"{wd}/bin/show\"] and env ["
        )),
        "{out}"
    );
    assert!(out.contains(&format!(" in dir {wd}\n\n")), "{out}");

    // $EMPTY removes PATH; a missing command is a remote failure, not a transport one.
    let mut out = Vec::new();
    let opts = ExecOpts {
        system_level: true,
        path: Some(vec![]),
        extra_env: vec!["MARK=1".into()],
        ..Default::default()
    };
    h.client
        .exec("/usr/bin/env", &opts, &mut out)
        .await
        .unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("MARK=1\n") && !out.lines().any(|l| l.starts_with("PATH=")),
        "{out}"
    );
    let e = h
        .client
        .exec("nope", &ExecOpts::default(), &mut Vec::new())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Remote(s) if s.contains("No such file")),
        "{e}"
    );
}

/// Go's net/http client sends no `TE: trailers`; the trailer must still arrive.
#[tokio::test]
async fn exec_trailer_reaches_clients_that_did_not_ask() {
    let h = Harness::start().await;
    let body = "cmd=%2Fbin%2Fsh&mode=sys&cmdArg=-c&cmdArg=echo+hi%3B+exit+4";
    let req = format!(
        "POST /exec HTTP/1.1\r\nHost: x\r\nUser-Agent: Go-http-client/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let r = h.raw(req.as_bytes()).await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert!(
        r.to_ascii_lowercase().contains("trailer: process-state"),
        "{r}"
    );
    assert!(r.contains("hi\n"), "{r}");
    assert!(
        r.to_ascii_lowercase()
            .contains("process-state: exit status 4\r\n"),
        "{r}"
    );
}

fn exec_post(proto: &str, body: &str) -> String {
    format!(
        "POST /exec {proto}\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test]
async fn exec_refuses_http10() {
    let h = Harness::start().await;
    let r = h
        .raw(exec_post("HTTP/1.0", "cmd=%2Fbin%2Ftrue&mode=sys").as_bytes())
        .await;
    assert!(
        r.contains(" 400 ") && r.ends_with("HTTP/1.1 or higher required\n"),
        "{r}"
    );
}

#[tokio::test]
async fn exec_refuses_unknown_mode() {
    let h = Harness::start().await;
    let r = h
        .raw(exec_post("HTTP/1.1", "cmd=%2Fbin%2Ftrue&mode=bogus").as_bytes())
        .await;
    assert!(
        r.starts_with("HTTP/1.1 400")
            && r.ends_with("unknown mode \"bogus\"; want \"sys\" or empty\n"),
        "{r}"
    );
}

#[tokio::test]
async fn exec_refuses_missing_cmd() {
    let h = Harness::start().await;
    for body in ["", "mode=sys", "cmd=", "cmd=.", "cmd=&mode=sys"] {
        let r = h.raw(exec_post("HTTP/1.1", body).as_bytes()).await;
        assert!(
            r.starts_with("HTTP/1.1 400") && r.ends_with("requires 'cmd' parameter\n"),
            "{body:?}: {r}"
        );
    }
}

#[tokio::test]
async fn password_is_required_when_configured() {
    let h = Harness::with_config(Config {
        password: Some("s3cret".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(h.client.status().await.unwrap().version, 15);
    let wrong = buildlet::Client::new(
        h.addr.to_string(),
        buildlet::ClientOptions {
            password: Some("s3cres".into()),
            ..Default::default()
        },
    );
    let e = wrong.status().await.unwrap_err();
    assert!(
        matches!(&e, Error::Refused { status, body, .. } if *status == 403 && body == "invalid password"),
        "{e}"
    );
    let none = buildlet::Client::new(h.addr.to_string(), Default::default());
    assert!(
        matches!(none.work_dir().await.unwrap_err(), Error::Refused { status, .. } if status == 403)
    );
    // The unauthenticated endpoints stay open.
    let r = h
        .raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    assert!(r.starts_with("HTTP/1.1 200") && r.ends_with("ok"), "{r}");
}

#[tokio::test]
async fn request_larger_than_limit_is_refused() {
    let h = Harness::with_config(Config {
        max_upload_bytes: 1000,
        ..Default::default()
    })
    .await;
    let e = h
        .client
        .put(reader(vec![b'x'; 5000]), "big", 0o644)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Refused { status, .. } if *status == 413),
        "{e}"
    );
    assert!(!h.workdir.join("big").exists());
    // Same when the size is not announced (chunked).
    let chunked = b"PUT /write?path=big&mode=420 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n800\r\n".to_vec();
    let mut req = chunked;
    req.extend(vec![b'y'; 0x800]);
    req.extend_from_slice(b"\r\n0\r\n\r\n");
    let r = h.raw(&req).await;
    assert!(r.starts_with("HTTP/1.1 413"), "{r}");
    assert_eq!(
        std::fs::read_dir(&h.workdir).unwrap().count(),
        0,
        "no temp file left"
    );
}

#[tokio::test]
async fn debug_endpoints() {
    let h = Harness::start().await;
    let r = h
        .raw(b"GET /debug/x?n=5000000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    assert_eq!(
        r.split("\r\n\r\n").nth(1).unwrap().len(),
        1 << 20,
        "capped at 1 MiB"
    );
    let r = h
        .raw(b"GET /debug/goroutines HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    assert!(
        r.starts_with("HTTP/1.1 200") && r.contains("running commands"),
        "{r}"
    );
}

/// Go's client reuses one connection: a chunked upload whose bytes look like a request
/// head, then an exec, then a status, pipelined without `TE: trailers`. The upload must
/// arrive byte for byte and the exec must still get its trailer.
#[tokio::test]
async fn keep_alive_sequence_like_go_client() {
    let h = Harness::start().await;
    let data = b"GET /x HTTP/1.1\r\nHost: y\r\n\r\n0\r\n\r\n";
    let mut req = format!("PUT /write?path=f&mode=420 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n", data.len()).into_bytes();
    req.extend_from_slice(data);
    req.extend_from_slice(b"\r\n0\r\n\r\n");
    let body = "cmd=%2Fbin%2Fcat&mode=sys&cmdArg=f";
    req.extend_from_slice(
        format!("POST /exec HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}", body.len())
            .as_bytes(),
    );
    req.extend_from_slice(b"GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let r = h.raw(&req).await;
    assert_eq!(std::fs::read(h.workdir.join("f")).unwrap(), data);
    assert_eq!(r.matches("HTTP/1.1 200 OK").count(), 3, "{r}");
    assert!(r.contains("process-state: ok\r\n"), "{r}");
    assert!(r.ends_with("{\"Version\":15}\n"), "{r}");
}
