//! Benchmarks of the buildlet (release build):
//!
//! ```text
//! cargo run --release -p buildlet --example bench -- [--mb 200] [--iters 1000] [--runs 3]
//! ```
//!
//! - `/writetgz` throughput for a tarball of many small source-like files vs. `tar xzf`
//!   of the same file on the same machine;
//! - `/exec` round-trip latency of `true`, p50/p99, direct and over the reverse (HTTP/2)
//!   connection;
//! - peak RSS (VmHWM) of the buildlet process when idle, after the tarball uploads, and
//!   after streaming a 1 GiB file with `/write`.
//!
//! It starts the real `buildlet` binary (next to this example in the target dir) on
//! 127.0.0.1; everything runs on loopback in a temporary directory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use axum::serve::ListenerExt;
use buildlet::{Acceptor, Client, ExecOpts};
use tokio::io::{AsyncBufReadExt, BufReader};

struct Opts {
    mb: u64,
    iters: usize,
    runs: usize,
}

fn parse() -> Result<Opts> {
    let mut o = Opts {
        mb: 200,
        iters: 1000,
        runs: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let v: u64 = it.next().context("flag needs a value")?.parse()?;
        match a.as_str() {
            "--mb" => o.mb = v,
            "--iters" => o.iters = v as usize,
            "--runs" => o.runs = v as usize,
            _ => bail!("unknown flag {a}"),
        }
    }
    Ok(o)
}

/// Deterministic pseudo-random generator (xorshift) so every run builds the same tree.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Writes a `.tar.gz` of about `mb` MB of Go-source-like text files (1-20 KB, 40 per
/// package in three subdirectories). Returns (files, uncompressed bytes).
fn make_tarball(path: &Path, mb: u64) -> Result<(u64, u64)> {
    const WORDS: &[&str] = &[
        "func",
        "return",
        "err",
        "if",
        "nil",
        "package",
        "import",
        "type",
        "struct",
        "for",
        "range",
        "var",
        ":=",
        "{",
        "}",
        "(",
        ")",
        "ctx",
        "string",
        "int",
        "buf",
        "len",
        "make",
        "go",
        "defer",
        "select",
        "case",
        "chan",
        "fmt.Errorf",
        "bytes.Buffer",
        "//",
        "interface",
        "else",
        "switch",
        "byte",
        "true",
        "false",
        "map",
    ];
    let f = std::fs::File::create(path)?;
    let gz =
        flate2::write::GzEncoder::new(std::io::BufWriter::new(f), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut rng = Rng(0x9e3779b97f4a7c15);
    let (mut files, mut total) = (0u64, 0u64);
    let target = mb << 20;
    let mut content = Vec::new();
    while total < target {
        let dir = format!("go/src/pkg{:04}/sub{}", files / 40, files % 40 / 14);
        let size = 1024 + rng.next() % (19 * 1024);
        content.clear();
        while (content.len() as u64) < size {
            let w = WORDS[(rng.next() % WORDS.len() as u64) as usize];
            content.extend_from_slice(w.as_bytes());
            content.push(if rng.next().is_multiple_of(8) {
                b'\n'
            } else {
                b' '
            });
        }
        let mut h = tar::Header::new_gnu();
        h.set_size(content.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_500_000_000);
        h.set_cksum();
        tar.append_data(&mut h, format!("{dir}/file{files}.go"), &content[..])?;
        files += 1;
        total += content.len() as u64;
    }
    tar.into_inner()?.finish()?.flush()?;
    Ok((files, total))
}

fn vm_hwm_kib(pid: u32) -> Result<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = s
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .context("no VmHWM")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .context("bad VmHWM")?
        .parse()?)
}

fn sync() -> Result<()> {
    std::process::Command::new("sync").status()?;
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn exec_latency(c: &Client, iters: usize) -> Result<(Duration, Duration)> {
    let opts = ExecOpts {
        system_level: true,
        ..Default::default()
    };
    for _ in 0..20 {
        c.exec("true", &opts, &mut tokio::io::sink()).await?; // warm up
    }
    let mut v = Vec::with_capacity(iters);
    for _ in 0..iters {
        let t = Instant::now();
        c.exec("true", &opts, &mut tokio::io::sink()).await?;
        v.push(t.elapsed());
    }
    v.sort();
    Ok((percentile(&v, 0.5), percentile(&v, 0.99)))
}

fn buildlet_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let p = exe
        .parent()
        .and_then(Path::parent)
        .context("exe dir")?
        .join("buildlet");
    if !p.exists() {
        bail!(
            "{} not found: run `cargo build --release -p buildlet` first",
            p.display()
        );
    }
    Ok(p)
}

#[tokio::main]
async fn main() -> Result<()> {
    let o = parse()?;
    let bin = buildlet_binary()?;
    let tmp = tempfile::tempdir()?;
    let tgz = tmp.path().join("tree.tar.gz");
    let t = Instant::now();
    let (files, raw) = make_tarball(&tgz, o.mb)?;
    let gz_len = std::fs::metadata(&tgz)?.len();
    println!(
        "tarball: {files} files, {:.1} MB uncompressed, {:.1} MB gzip (built in {:.1?})",
        raw as f64 / 1e6,
        gz_len as f64 / 1e6,
        t.elapsed()
    );

    // The buildlet in listen mode.
    let wd = tmp.path().join("wd");
    let mut child = tokio::process::Command::new(&bin)
        .args(["--listen", "127.0.0.1:0", "--workdir"])
        .arg(&wd)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().context("pid")?;
    let line = BufReader::new(child.stdout.take().context("stdout")?)
        .lines()
        .next_line()
        .await?
        .context("no address")?;
    let addr = line
        .strip_prefix("listening on ")
        .context("bad first line")?
        .to_string();
    let c = Client::new(addr, Default::default());
    c.status().await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let idle_kib = vm_hwm_kib(pid)?;

    // Interleaved, each after a `sync`, so neither pays for the other's writeback.
    let (mut tar_times, mut put_times) = (Vec::new(), Vec::new());
    for i in 0..o.runs {
        let dest = tmp.path().join(format!("tar{i}"));
        std::fs::create_dir(&dest)?;
        sync()?;
        let t = Instant::now();
        let st = std::process::Command::new("tar")
            .arg("xzf")
            .arg(&tgz)
            .arg("-C")
            .arg(&dest)
            .status()?;
        tar_times.push(t.elapsed());
        if !st.success() {
            bail!("tar failed");
        }
        std::fs::remove_dir_all(&dest)?;

        sync()?;
        let f = tokio::fs::File::open(&tgz).await?;
        let t = Instant::now();
        c.put_tar(f, "").await?;
        put_times.push(t.elapsed());
        c.remove_all(&["."]).await?;
    }
    let after_tgz_kib = vm_hwm_kib(pid)?;

    // Stream 1 GiB through /write: memory must not grow with the size.
    let gib = tokio::io::AsyncReadExt::take(tokio::io::repeat(b'x'), 1 << 30);
    let t = Instant::now();
    c.put(gib, "big.bin", 0o644).await?;
    let write_secs = t.elapsed().as_secs_f64();
    let after_write_kib = vm_hwm_kib(pid)?;
    c.remove_all(&["big.bin"]).await?;

    let (d50, d99) = exec_latency(&c, o.iters).await?;
    c.halt().await?;
    let _ = child.wait().await;

    // Reverse mode: the same binary dialing an in-process acceptor.
    let (acceptor, mut rx) = Acceptor::with_master_key(b"bench".to_vec(), false);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        axum::serve(
            listener.tap_io(|t| drop(t.set_nodelay(true))),
            acceptor.router(),
        )
        .await
    });
    let keyf = tmp.path().join("key");
    std::fs::write(&keyf, buildlet::builder_key(b"bench", "bench-host"))?;
    let mut rchild = tokio::process::Command::new(&bin)
        .args(["--reverse", "bench-host", "--coordinator", &url, "--key"])
        .arg(&keyf)
        .arg("--workdir")
        .arg(tmp.path().join("rwd"))
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let rb = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await?
        .context("no registration")?;
    let (r50, r99) = exec_latency(&rb.client, o.iters).await?;
    rb.client.halt().await?;
    let _ = rchild.wait().await;

    let median = |v: &[Duration]| {
        let mut v = v.to_vec();
        v.sort();
        v[v.len() / 2]
    };
    let (tar_med, put_med) = (median(&tar_times), median(&put_times));
    let mbps = |d: Duration| raw as f64 / 1e6 / d.as_secs_f64();
    println!(
        "tar xzf:   median {:.2?} ({:.0} MB/s uncompressed), runs {:.2?}",
        tar_med,
        mbps(tar_med),
        tar_times
    );
    println!(
        "/writetgz: median {:.2?} ({:.0} MB/s uncompressed), runs {:.2?}",
        put_med,
        mbps(put_med),
        put_times
    );
    let ratios: Vec<String> = put_times
        .iter()
        .zip(&tar_times)
        .map(|(p, t)| format!("{:.2}", p.as_secs_f64() / t.as_secs_f64()))
        .collect();
    println!(
        "ratio /writetgz : tar xzf = {:.2} (medians); per run {}",
        put_med.as_secs_f64() / tar_med.as_secs_f64(),
        ratios.join(" ")
    );
    println!(
        "/exec true direct:  p50 {d50:.2?}  p99 {d99:.2?}  ({} iterations)",
        o.iters
    );
    println!(
        "/exec true reverse: p50 {r50:.2?}  p99 {r99:.2?}  ({} iterations)",
        o.iters
    );
    println!("peak RSS (VmHWM): idle {idle_kib} KiB; after {} /writetgz runs {after_tgz_kib} KiB; after 1 GiB /write ({:.0} MB/s) {after_write_kib} KiB", o.runs, (1u64 << 30) as f64 / 1e6 / write_secs);
    Ok(())
}
