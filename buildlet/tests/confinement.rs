//! Every path a client names stays inside the work dir: `..`, absolute paths,
//! symlinks leading out and hostile tarballs are refused with 400, and the canary files
//! next to the work dir survive every attempt.

mod common;

use std::os::unix::fs::symlink;
use std::time::Duration;

use buildlet::{Config, Error, ExecOpts, ListDirOpts};
use common::*;
use tokio::io::AsyncWriteExt;

fn assert_400(r: Result<impl std::fmt::Debug, Error>, what: &str) -> String {
    match r {
        Err(Error::Refused { status, body, .. }) if status == 400 => body,
        other => panic!("{what}: want 400, got {other:?}"),
    }
}

/// A work dir with symlinks pointing out: to a directory and to a file.
async fn harness_with_links() -> Harness {
    let h = Harness::start().await;
    symlink(h.outside(), h.workdir.join("link_out")).unwrap();
    symlink("../canary", h.workdir.join("link_canary")).unwrap();
    h
}

const ESCAPES: &[&str] = &[
    "..",
    "../canary",
    "../outside",
    "../../etc",
    "a/../..",
    "a/../../canary",
    "/etc/passwd",
    "./..",
    "..\\canary",
];

#[tokio::test]
async fn write_escapes() {
    let h = harness_with_links().await;
    for p in ESCAPES.iter().chain(&["link_out/pwned", "link_out/secret"]) {
        let body = assert_400(
            h.client.put(reader(b"pwned".to_vec()), p, 0o644).await,
            &format!("/write path={p}"),
        );
        assert!(body.starts_with("bad path"), "{p}: {body}");
        h.assert_outside_untouched();
    }
    // Writing over a symlink replaces the link itself, never its target.
    h.client
        .put(reader(b"inside".to_vec()), "link_canary", 0o644)
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(h.workdir.join("link_canary")).unwrap(),
        b"inside"
    );
    assert!(!std::fs::symlink_metadata(h.workdir.join("link_canary"))
        .unwrap()
        .file_type()
        .is_symlink());
    h.assert_outside_untouched();
}

#[tokio::test]
async fn writetgz_dir_escapes() {
    let h = harness_with_links().await;
    let t = tgz(&[Entry::File("pwned", b"x")]);
    for d in ESCAPES.iter().chain(&["link_out", "link_out/sub"]) {
        let body = assert_400(
            h.client.put_tar(reader(t.clone()), d).await,
            &format!("/writetgz dir={d}"),
        );
        assert!(body.starts_with("bogus dir"), "{d}: {body}");
        h.assert_outside_untouched();
    }
}

#[tokio::test]
async fn removeall_escapes() {
    let h = harness_with_links().await;
    for p in ESCAPES.iter().chain(&["link_out/secret", "link_out/sub/x"]) {
        let body = assert_400(
            h.client.remove_all(&["ok-to-remove", p]).await,
            &format!("/removeall path={p}"),
        );
        assert!(body.starts_with("bad 'path' parameter"), "{p}: {body}");
        h.assert_outside_untouched();
    }
    // Removing a symlink removes the link, not what it points at.
    h.client
        .remove_all(&["link_out", "link_canary"])
        .await
        .unwrap();
    assert!(!h.workdir.join("link_out").exists());
    h.assert_outside_untouched();
}

#[tokio::test]
async fn ls_escapes() {
    let h = harness_with_links().await;
    for d in ESCAPES.iter().chain(&["link_out"]) {
        let body = assert_400(
            h.client.list_dir(d, &ListDirOpts::default()).await,
            &format!("/ls dir={d}"),
        );
        assert!(body.starts_with("bogus dir"), "{d}: {body}");
    }
    // Listing the root shows the links as links and does not follow them.
    let all = h
        .client
        .list_dir(
            "",
            &ListDirOpts {
                recursive: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let names: Vec<_> = all
        .iter()
        .map(|e| (e.mode().chars().next().unwrap(), e.name().to_string()))
        .collect();
    assert_eq!(
        names,
        [
            ('L', "link_canary".to_string()),
            ('L', "link_out".to_string())
        ]
    );
    h.assert_outside_untouched();
}

#[tokio::test]
async fn tgz_escapes() {
    let h = harness_with_links().await;
    for d in ESCAPES.iter().chain(&["link_out"]) {
        let body = assert_400(
            h.client.get_tar(d).await.map(|_| ()),
            &format!("/tgz dir={d}"),
        );
        assert!(body.starts_with("bogus dir"), "{d}: {body}");
    }
    // Archiving the root sends the links as symlink headers, not what they point at.
    let mut gz = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut h.client.get_tar("").await.unwrap(), &mut gz)
        .await
        .unwrap();
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(&gz[..]));
    let kinds: Vec<_> = ar
        .entries()
        .unwrap()
        .map(|e| e.unwrap().header().entry_type())
        .collect();
    assert_eq!(kinds, [tar::EntryType::Symlink, tar::EntryType::Symlink]);
    h.assert_outside_untouched();
}

#[tokio::test]
async fn exec_escapes() {
    let h = harness_with_links().await;
    // A command that would leave a file in its working directory.
    let touch = |dir: &str| ExecOpts {
        system_level: true,
        dir: Some(dir.to_string()),
        args: vec!["-c".into(), "echo pwned > pwned; rm -f secret".into()],
        ..Default::default()
    };
    for d in ESCAPES.iter().chain(&["link_out", "/tmp", "/"]) {
        let body = assert_400(
            h.client.exec("/bin/sh", &touch(d), &mut Vec::new()).await,
            &format!("/exec dir={d}"),
        );
        assert!(body.starts_with("bad 'dir' parameter"), "{d}: {body}");
        h.assert_outside_untouched();
    }
    for c in ESCAPES.iter().chain(&["link_out/secret"]) {
        let body = assert_400(
            h.client
                .exec(c, &ExecOpts::default(), &mut Vec::new())
                .await,
            &format!("/exec cmd={c}"),
        );
        assert!(
            body.starts_with("requires 'cmd' parameter") || body.starts_with("bad 'cmd' parameter"),
            "{c}: {body}"
        );
    }
    h.assert_outside_untouched();
}

async fn untar_refused(h: &Harness, entries: &[Entry<'_>], want_status: u16, want_text: &str) {
    let r = h.client.put_tar(reader(tgz(entries)), "").await;
    match r {
        Err(Error::Refused { status, body, .. }) => {
            assert_eq!(status.as_u16(), want_status, "{body}");
            assert!(body.contains(want_text), "want {want_text:?} in {body:?}");
        }
        other => panic!("want refusal {want_status}, got {other:?}"),
    }
    h.assert_outside_untouched();
}

#[tokio::test]
async fn hostile_tar_dotdot_and_absolute_names() {
    let h = Harness::start().await;
    untar_refused(
        &h,
        &[Entry::File("../canary", b"pwned")],
        400,
        "contains a '..' component",
    )
    .await;
    untar_refused(
        &h,
        &[
            Entry::File("ok", b"x"),
            Entry::File("a/../../outside/x", b"pwned"),
        ],
        400,
        "entry 1",
    )
    .await;
    untar_refused(
        &h,
        &[Entry::File("/tmp/pwned-by-buildlet-test", b"pwned")],
        400,
        "is absolute",
    )
    .await;
    assert!(!std::path::Path::new("/tmp/pwned-by-buildlet-test").exists());
}

#[tokio::test]
async fn hostile_tar_symlink_then_write_through_it() {
    let h = Harness::start().await;
    untar_refused(
        &h,
        &[
            Entry::Symlink("esc", "../outside"),
            Entry::File("esc/secret", b"pwned"),
        ],
        400,
        "unsupported entry type Symlink",
    )
    .await;
    assert!(!h.workdir.join("esc").exists());
    // A symlink already in the work dir (made by a command) cannot be written through either.
    symlink(h.outside(), h.workdir.join("esc")).unwrap();
    untar_refused(
        &h,
        &[Entry::File("esc/secret", b"pwned")],
        400,
        "esc/secret",
    )
    .await;
    untar_refused(&h, &[Entry::File("esc/new", b"pwned")], 400, "esc/new").await;
}

#[tokio::test]
async fn hostile_tar_hard_link_device_and_fifo() {
    let h = Harness::start().await;
    untar_refused(
        &h,
        &[Entry::HardLink("h", "../canary")],
        400,
        "unsupported entry type Link",
    )
    .await;
    untar_refused(
        &h,
        &[Entry::CharDevice("null")],
        400,
        "unsupported entry type Char",
    )
    .await;
    untar_refused(
        &h,
        &[Entry::Fifo("fifo")],
        400,
        "unsupported entry type Fifo",
    )
    .await;
    assert_eq!(std::fs::read_dir(&h.workdir).unwrap().count(), 0);
}

#[tokio::test]
async fn tar_bomb_over_the_limit() {
    let h = Harness::with_config(Config {
        max_untar_bytes: 1 << 20,
        ..Default::default()
    })
    .await;
    // 4 MiB of zeros compresses to a few KiB: under the upload limit, over the expansion limit.
    let zeros = vec![0u8; 4 << 20];
    let t = tgz(&[Entry::File("small", b"ok"), Entry::File("bomb", &zeros)]);
    assert!(t.len() < 64 << 10);
    untar_refused(
        &h,
        &[Entry::File("small", b"ok"), Entry::File("bomb", &zeros)],
        413,
        "beyond the limit of 1048576 bytes",
    )
    .await;
    assert!(!h.workdir.join("bomb").exists());
    // Many entries adding up past the limit are caught too.
    let chunk = vec![1u8; 300 << 10];
    let many: Vec<String> = (0..5).map(|i| format!("f{i}")).collect();
    let entries: Vec<Entry> = many.iter().map(|n| Entry::File(n, &chunk)).collect();
    untar_refused(&h, &entries, 413, "at entry 3").await;
}

#[tokio::test]
async fn truncated_gzip_is_refused() {
    let h = Harness::start().await;
    let full = tgz(&[
        Entry::File("a", &vec![7u8; 200_000]),
        Entry::File("b", b"x"),
    ]);
    let cut = full[..full.len() / 2].to_vec();
    let body = assert_400(h.client.put_tar(reader(cut), "").await, "truncated gzip");
    assert!(body.starts_with("tar error at entry 0"), "{body}");
    assert_eq!(
        std::fs::read_dir(&h.workdir).unwrap().count(),
        0,
        "partial entry or temp file left"
    );
}

#[tokio::test]
async fn non_gzip_body_is_refused() {
    let h = Harness::start().await;
    let body = assert_400(
        h.client
            .put_tar(reader(b"plain text, not gzip".to_vec()), "")
            .await,
        "not gzip",
    );
    assert_eq!(
        body,
        "requires gzip-compressed body: missing gzip magic bytes"
    );
}

/// Polls until the work dir holds exactly `want` names, failing if `forbidden` ever appears.
async fn wait_for_entries(h: &Harness, want: &[&str], forbidden: &str) {
    for _ in 0..200 {
        let mut names: Vec<String> = std::fs::read_dir(&h.workdir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert!(
            !names.iter().any(|n| n == forbidden),
            "{forbidden} appeared: {names:?}"
        );
        if names == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("work dir never settled to {want:?}");
}

#[tokio::test]
async fn client_disconnect_mid_upload_leaves_no_partial_file() {
    let h = Harness::start().await;
    let mut s = tokio::net::TcpStream::connect(h.addr).await.unwrap();
    s.write_all(
        b"PUT /write?path=big&mode=420 HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n",
    )
    .await
    .unwrap();
    s.write_all(&vec![b'x'; 300_000]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(s);
    wait_for_entries(&h, &[], "big").await;

    // Same for a tarball cut off inside its second entry.
    let t = tgz(&[
        Entry::File("first", b"complete"),
        Entry::File("second", &vec![3u8; 2_000_000]),
    ]);
    let mut s = tokio::net::TcpStream::connect(h.addr).await.unwrap();
    let head = format!(
        "PUT /writetgz HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        t.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&t[..t.len() - 100]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(s);
    wait_for_entries(&h, &["first"], "second").await;
}
