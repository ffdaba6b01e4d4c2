//! Shared test harness: a real buildlet on 127.0.0.1 whose work dir sits inside a
//! throwaway parent holding a canary file that no request may touch.
#![allow(dead_code)]

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use buildlet::{Buildlet, Client, ClientOptions, Config, WorkDir};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const CANARY: &[u8] = b"canary: must survive every request\n";

pub struct Harness {
    pub parent: tempfile::TempDir,
    pub workdir: PathBuf,
    pub buildlet: Arc<Buildlet>,
    pub addr: SocketAddr,
    pub client: Client,
}

impl Harness {
    pub async fn start() -> Self {
        Self::with_config(Config::default()).await
    }

    pub async fn with_config(cfg: Config) -> Self {
        let parent = tempfile::tempdir().unwrap();
        std::fs::write(parent.path().join("canary"), CANARY).unwrap();
        std::fs::create_dir(parent.path().join("outside")).unwrap();
        std::fs::write(parent.path().join("outside/secret"), CANARY).unwrap();
        let workdir = parent.path().join("workdir");
        let password = cfg.password.clone();
        let buildlet = Buildlet::new(WorkDir::open(&workdir, true).unwrap(), cfg);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let b = buildlet.clone();
        tokio::spawn(async move {
            buildlet::h1::serve(listener, b.router(), None, std::future::pending()).await
        });
        let client = Client::new(
            addr.to_string(),
            ClientOptions {
                password,
                ..Default::default()
            },
        );
        Harness {
            workdir: std::fs::canonicalize(&workdir).unwrap(),
            parent,
            buildlet,
            addr,
            client,
        }
    }

    /// Panics unless everything outside the work dir is exactly as created.
    pub fn assert_outside_untouched(&self) {
        let p = self.parent.path();
        assert_eq!(
            std::fs::read(p.join("canary")).expect("canary file gone"),
            CANARY
        );
        assert_eq!(
            std::fs::read(p.join("outside/secret")).expect("outside/secret gone"),
            CANARY
        );
        let mut names: Vec<_> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["canary", "outside", "workdir"],
            "new files appeared next to the work dir"
        );
        let outside: Vec<_> = std::fs::read_dir(p.join("outside"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(outside, ["secret"], "new files appeared outside");
    }

    pub fn outside(&self) -> PathBuf {
        self.parent.path().join("outside")
    }

    /// Sends raw bytes and reads the whole response (the server closes on `Connection: close`).
    pub async fn raw(&self, request: &[u8]) -> String {
        let mut s = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        s.write_all(request).await.unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// A tar entry for [`tgz`].
pub enum Entry<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    HardLink(&'a str, &'a str),
    CharDevice(&'a str),
    Fifo(&'a str),
}

/// Builds a gzip-compressed tarball with names written verbatim (no sanitizing), so
/// hostile archives can be expressed.
pub fn tgz(entries: &[Entry]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_mtime(1_500_000_000);
        let (name, kind, data, link): (&str, tar::EntryType, &[u8], Option<&str>) = match e {
            Entry::File(n, d) => (n, tar::EntryType::Regular, d, None),
            Entry::Dir(n) => (n, tar::EntryType::Directory, b"", None),
            Entry::Symlink(n, t) => (n, tar::EntryType::Symlink, b"", Some(t)),
            Entry::HardLink(n, t) => (n, tar::EntryType::Link, b"", Some(t)),
            Entry::CharDevice(n) => (n, tar::EntryType::Char, b"", None),
            Entry::Fifo(n) => (n, tar::EntryType::Fifo, b"", None),
        };
        let gnu = h.as_gnu_mut().unwrap();
        gnu.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(l) = link {
            gnu.linkname[..l.len()].copy_from_slice(l.as_bytes());
        }
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

/// An AsyncRead over owned bytes.
pub fn reader(b: Vec<u8>) -> std::io::Cursor<Vec<u8>> {
    std::io::Cursor::new(b)
}

pub fn write_file(p: &Path, data: &[u8]) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::File::create(p).unwrap().write_all(data).unwrap();
}

/// Runs `cmd` in system mode and returns (output, result).
pub async fn sh(c: &Client, script: &str) -> (String, Result<(), buildlet::Error>) {
    let mut out = Vec::new();
    let opts = buildlet::ExecOpts {
        system_level: true,
        args: vec!["-c".into(), script.into()],
        ..Default::default()
    };
    let r = c.exec("/bin/sh", &opts, &mut out).await;
    (String::from_utf8_lossy(&out).into_owned(), r)
}
