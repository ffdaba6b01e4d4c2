//! Figures of the results store:
//!
//! - result inserts per second with 10 KB logs (one writer, then four at once);
//! - `results_for` over 30 commits × 60 builders (the dashboard's page), among
//!   300 commits of history;
//! - size on disk per 1,000 results with build logs like Go's all.bash output, for
//!   logs on every result and for logs on failures only (what Go's coordinator sends).
//!
//! Times are wall-clock and, for one thread, the CPU time the thread was given
//! (`/proc/thread-self/schedstat`), which holds steady when other work shares the cores.
//!
//! `cargo run --release -p dashboard --example bench_store [-- DIR]` (default: a temporary
//! directory).

use dashboard::{NewResult, ResultKey, Store};
use maintner::time::Time;
use std::path::Path;
use std::time::{Duration, Instant};

fn main() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let dir = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    inserts(&dir.join("inserts.db"))?;
    results_for(&dir.join("page.db"))?;
    size(&dir.join("size-all.db"), 1)?;
    size(&dir.join("size-failures.db"), 10)?;
    Ok(())
}

/// CPU time this thread has run (Linux), zero where that is not known.
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

/// A small deterministic generator, so every run stores the same logs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

const PACKAGES: &[&str] = &[
    "archive/tar",
    "archive/zip",
    "bufio",
    "bytes",
    "compress/bzip2",
    "compress/flate",
    "compress/gzip",
    "compress/lzw",
    "compress/zlib",
    "container/heap",
    "container/list",
    "context",
    "crypto/aes",
    "crypto/cipher",
    "crypto/des",
    "crypto/dsa",
    "crypto/ecdsa",
    "crypto/elliptic",
    "crypto/hmac",
    "crypto/md5",
    "crypto/rand",
    "crypto/rc4",
    "crypto/rsa",
    "crypto/sha1",
    "crypto/sha256",
    "crypto/sha512",
    "crypto/subtle",
    "crypto/tls",
    "crypto/x509",
    "database/sql",
    "debug/dwarf",
    "debug/elf",
    "debug/gosym",
    "encoding/ascii85",
    "encoding/asn1",
    "encoding/base32",
    "encoding/base64",
    "encoding/binary",
    "encoding/csv",
    "encoding/gob",
    "encoding/hex",
    "encoding/json",
    "encoding/pem",
    "encoding/xml",
    "errors",
    "expvar",
    "flag",
    "fmt",
    "go/ast",
    "go/build",
    "go/constant",
    "go/doc",
    "go/format",
    "go/parser",
    "go/printer",
    "go/scanner",
    "go/types",
    "hash/adler32",
    "hash/crc32",
    "hash/crc64",
    "hash/fnv",
    "html",
    "html/template",
    "image",
    "image/color",
    "image/draw",
    "image/gif",
    "image/jpeg",
    "image/png",
    "index/suffixarray",
    "io",
    "io/ioutil",
    "log",
    "math",
    "math/big",
    "math/cmplx",
    "math/rand",
    "mime",
    "mime/multipart",
    "net",
    "net/http",
    "net/http/cgi",
    "net/http/httptest",
    "net/mail",
    "net/rpc",
    "net/smtp",
    "net/textproto",
    "net/url",
    "os",
    "os/exec",
    "os/signal",
    "os/user",
    "path",
    "path/filepath",
    "reflect",
    "regexp",
    "regexp/syntax",
    "runtime",
    "runtime/debug",
    "runtime/pprof",
    "sort",
    "strconv",
    "strings",
    "sync",
    "sync/atomic",
    "syscall",
    "testing",
    "text/scanner",
    "text/tabwriter",
    "text/template",
    "time",
    "unicode",
    "unicode/utf16",
    "unicode/utf8",
    "cmd/compile/internal/gc",
    "cmd/compile/internal/ssa",
    "cmd/go",
    "cmd/link",
    "cmd/vet",
];

/// A build log like Go's all.bash output: the make banners, one line per tested
/// package, and for a failure a failing test with a goroutine dump. `target` bytes or a
/// little more.
fn build_log(rng: &mut Rng, builder: &str, rev: &str, ok: bool, target: usize) -> String {
    let mut s = format!(
        "{builder} at {rev}\n\n:: Running /workdir/go/src/make.bash with args [\"./make.bash\"] \
         and env [\"GOROOT_BOOTSTRAP=/go1.4\" \"GO_BUILDER_NAME={builder}\"]\n\n\
         Building Go cmd/dist using /go1.4.\nBuilding Go toolchain1 using /go1.4.\n\
         Building Go bootstrap cmd/go (go_bootstrap) using Go toolchain1.\n\
         Building Go toolchain2 using go_bootstrap and Go toolchain1.\n\
         Building Go toolchain3 using go_bootstrap and Go toolchain2.\n\
         Building packages and commands for linux/amd64.\n\n##### Testing packages.\n"
    );
    let mut round = 0;
    while s.len() < target {
        for p in PACKAGES {
            let secs = rng.next() % 30_000;
            s.push_str(&format!("ok  \t{p}\t{}.{:03}s\n", secs / 1000, secs % 1000));
            if s.len() >= target {
                break;
            }
        }
        round += 1;
        s.push_str(&format!("\n##### ../test/bench/go1 (round {round})\n"));
    }
    if !ok {
        let line = rng.next() % 900 + 10;
        s.push_str(&format!(
            "--- FAIL: TestServerTimeouts (2.{:03}s)\n\tserve_test.go:{line}: got {} want {}\n\
             FAIL\nFAIL\tnet/http\t12.{:03}s\n\ngoroutine {} [running]:\n\
             testing.tRunner.func1(0xc4200b2{:03x})\n\t/workdir/go/src/testing/testing.go:711 +0x2d2\n\
             2017/07/14 02:43:00 Failed: exit status 1\n",
            rng.next() % 1000,
            rng.next() % 100,
            rng.next() % 100,
            rng.next() % 1000,
            rng.next() % 64,
            rng.next() % 4096
        ));
    }
    s
}

fn builders() -> Vec<String> {
    let oses = ["linux", "windows", "darwin", "freebsd", "openbsd", "netbsd"];
    let arches = [
        "amd64", "386", "arm", "arm64", "ppc64le", "s390x", "mips", "riscv64",
    ];
    let mut out: Vec<String> = oses
        .iter()
        .flat_map(|o| arches.iter().map(move |a| format!("{o}-{a}")))
        .collect();
    out.extend((0..12).map(|i| format!("linux-amd64-variant{i}")));
    out.truncate(60);
    out
}

fn commit(i: usize) -> String {
    format!("{:040x}", 0x5eed_0000_u64 + i as u64)
}

fn new_result(builder: &str, rev: &str, ok: bool, log: Option<String>) -> NewResult {
    NewResult {
        key: ResultKey::go(builder, rev),
        ok,
        started: Time::from_unix(1_500_000_000),
        run_time: Duration::from_secs(300),
        log,
    }
}

fn inserts(path: &Path) -> anyhow::Result<()> {
    let store = Store::open(path)?;
    let mut rng = Rng(1);
    let n = 2000;
    let logs: Vec<String> = (0..n)
        .map(|i| build_log(&mut rng, "linux-amd64", &commit(i), i % 2 == 0, 10_000))
        .collect();
    let avg = logs.iter().map(String::len).sum::<usize>() / n;
    let (start, cpu) = (Instant::now(), thread_cpu());
    for (i, log) in logs.iter().enumerate() {
        store.record(&new_result(
            "linux-amd64",
            &commit(i),
            i % 2 == 0,
            Some(log.clone()),
        ))?;
    }
    let one = n as f64 / start.elapsed().as_secs_f64();
    let cpu = (thread_cpu() - cpu) / n as u32;

    let threads = 4;
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let (store, logs) = (store.clone(), &logs);
            s.spawn(move || {
                for (i, log) in logs.iter().enumerate().skip(t).step_by(threads) {
                    let b = format!("linux-386-{t}");
                    store
                        .record(&new_result(
                            &b,
                            &commit(i),
                            false,
                            Some(format!("{log}{t}")),
                        ))
                        .expect("record");
                }
            });
        }
    });
    let four = n as f64 / start.elapsed().as_secs_f64();
    println!(
        "inserts with {avg}-byte logs (distinct, gzipped): {one:.0}/s from one writer \
         ({cpu:?} CPU each, {:.0}/s of one core), {four:.0}/s from {threads} writers",
        1.0 / cpu.as_secs_f64().max(1e-9)
    );
    Ok(())
}

fn results_for(path: &Path) -> anyhow::Result<()> {
    let store = Store::open(path)?;
    let builders = builders();
    for c in 0..300 {
        for (i, b) in builders.iter().enumerate() {
            let ok = (c + i) % 17 != 0;
            let log = (!ok).then(|| format!("FAIL {b} {c}"));
            store.record(&new_result(b, &commit(c), ok, log))?;
        }
    }
    let page: Vec<String> = (270..300).map(commit).collect();
    let (mut times, mut cpus) = (Vec::new(), Vec::new());
    for _ in 0..300 {
        let (start, cpu) = (Instant::now(), thread_cpu());
        let got = store.results_for("go", &page)?;
        times.push(start.elapsed());
        cpus.push(thread_cpu() - cpu);
        assert_eq!(got.len(), 30 * 60);
    }
    times.sort();
    cpus.sort();
    println!(
        "results_for 30 commits x 60 builders (1,800 results of 18,000): p50 {:?}, p99 {:?} \
         (CPU p50 {:?})",
        times[times.len() / 2],
        times[times.len() * 99 / 100],
        cpus[cpus.len() / 2]
    );
    Ok(())
}

/// Size on disk per 1,000 results when one result in `every` has a log.
fn size(path: &Path, every: usize) -> anyhow::Result<()> {
    let store = Store::open(path)?;
    let mut rng = Rng(7);
    let builders = builders();
    let n = 1000;
    let mut raw = 0;
    for i in 0..n {
        let (b, c) = (&builders[i % 60], commit(i / 60));
        let with_log = i % every == 0;
        let ok = every == 1 && i % 10 != 0;
        let target = 30_000 + (rng.next() % 30_000) as usize;
        let log = with_log.then(|| build_log(&mut rng, b, &c, ok, target));
        raw += log.as_ref().map_or(0, String::len);
        store.record(&new_result(b, &c, ok || !with_log, log))?;
    }
    store.checkpoint()?;
    let bytes = std::fs::metadata(path)?.len();
    let sizes = store.sizes()?;
    println!(
        "{n} results, {} with logs ({:.1} MB of text, {:.0} KB average, stored {:.1} MB gzipped): \
         {:.2} MB on disk",
        sizes.logs,
        raw as f64 / 1e6,
        raw as f64 / sizes.logs.max(1) as f64 / 1e3,
        sizes.log_bytes_stored as f64 / 1e6,
        bytes as f64 / 1e6
    );
    Ok(())
}
