//! The follower: mirrors a log server (see [`crate::logserver`]) into a local cache
//! directory, as Go's maintner/netsource.go does, checking each segment's SHA-224 and
//! detecting a *split* — the server's history no longer extends what we already have (e.g.
//! the leader restarted and lost mutations we had read). On a split nothing local is changed or deleted.
//!
//! The cache has the layout of a data directory (`NNNN.<sha224>.mutlog` frozen segments,
//! `NNNN.growing.mutlog` for the server's last segment), so it opens with
//! [`maintner::DiskLog`] to load a corpus. The follower is the cache's writer: it holds the
//! directory's [`WriterLock`] while it syncs.
//!
//! Memory and time are bounded whatever the server does: a segment is streamed to a
//! temporary file (hashed on the way) and refused as soon as it passes the size the index
//! gave; the index is capped at [`MAX_INDEX_BYTES`]; connecting, waiting for response
//! headers and every silence while a body arrives have [`Timeouts`].

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use maintner::disklog::{frozen_file_name, growing_file_name, parse_file_name, SegmentName};
use maintner::WriterLock;
use reqwest::{StatusCode, Url};
use sha2::{Digest, Sha224};

use crate::logserver::LogSegmentJson;

#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error("loading the followed log: {0}")]
    Log(#[from] maintner::LogError),
    #[error("{url}: {source}")]
    Http { url: String, source: reqwest::Error },
    #[error("{url}: HTTP status {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: bad segment index: {what}")]
    Index { url: String, what: String },
    #[error("{url}: segment {segment}: SHA-224 of the {size} bytes is {actual}, the index says {expected} (corrupt download)")]
    Checksum {
        url: String,
        segment: i64,
        size: u64,
        expected: String,
        actual: String,
    },
    #[error("{url}: segment {segment}: got {got} bytes, the index says {expected}")]
    Short {
        url: String,
        segment: i64,
        got: u64,
        expected: u64,
    },
    #[error("{url}: segment {segment}: the server sends more than the {expected} bytes the index says; refused")]
    TooLong {
        url: String,
        segment: i64,
        expected: u64,
    },
    #[error("{url}: no {what} within {after:?}")]
    TimedOut {
        url: String,
        what: &'static str,
        after: Duration,
    },
    /// The server's log does not extend the local one (Go's `ErrSplit`).
    #[error(
        "maintner: leader server's history split, process out of sync: segment {segment}: {reason}"
    )]
    Split { segment: i64, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl FollowError {
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FollowError + '_ {
        move |source| FollowError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Largest segment index accepted (each entry is about 200 bytes).
pub const MAX_INDEX_BYTES: u64 = 16 << 20;

/// How long the follower waits on a server before giving up on a round.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// To open a connection (set on the client, see [`client`]).
    pub connect: Duration,
    /// From sending a request to the response headers.
    pub headers: Duration,
    /// Added to `headers` for a long poll, which the server holds open while nothing
    /// changes (Go's server answers 304 after 55 s).
    pub long_poll: Duration,
    /// The longest silence while a response body arrives.
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            headers: Duration::from_secs(30),
            long_poll: Duration::from_secs(60),
            idle: Duration::from_secs(30),
        }
    }
}

/// An HTTP client with the connect timeout of `t`.
pub fn client(t: &Timeouts) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(t.connect)
        .build()
        .expect("HTTP client with default TLS settings")
}

/// Options of one sync round.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Show a progress bar (indicatif; hidden when stderr is not a terminal).
    pub progress: bool,
    /// Long-poll: wait until the server has something beyond what the cache holds.
    pub wait_for_change: bool,
    pub timeouts: Timeouts,
}

/// What a round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub segments: usize,
    /// Bytes of log the cache holds after the round.
    pub total_bytes: u64,
    /// Bytes fetched over the network in this round.
    pub downloaded_bytes: u64,
}

/// One segment in the cache directory.
#[derive(Debug, Clone)]
struct LocalSeg {
    number: i64,
    size: u64,
    sha224: String,
    path: PathBuf,
    growing: bool,
}

/// Brings `cache_dir` up to date with the server at `url` (the index, e.g.
/// `http://127.0.0.1:8080/maintner/logs`), showing a progress bar.
pub async fn sync(url: &str, cache_dir: &Path) -> Result<SyncReport, FollowError> {
    let opts = SyncOptions {
        progress: true,
        ..Default::default()
    };
    sync_with(&client(&opts.timeouts), url, cache_dir, &opts).await
}

/// One sync round with explicit options. Holds the cache's writer lock for the round.
pub async fn sync_with(
    client: &reqwest::Client,
    url: &str,
    cache_dir: &Path,
    opts: &SyncOptions,
) -> Result<SyncReport, FollowError> {
    let _lock = lock(cache_dir)?;
    sync_round(client, url, cache_dir, opts).await
}

/// Creates the cache directory and takes its writer lock.
fn lock(cache_dir: &Path) -> Result<WriterLock, FollowError> {
    fs::create_dir_all(cache_dir).map_err(FollowError::io(cache_dir))?;
    Ok(WriterLock::acquire(cache_dir)?)
}

/// One round; the caller holds the lock.
async fn sync_round(
    client: &reqwest::Client,
    url: &str,
    cache_dir: &Path,
    opts: &SyncOptions,
) -> Result<SyncReport, FollowError> {
    let local = scan(cache_dir)?;
    let local_total: u64 = local.iter().map(|s| s.size).sum();
    let wait = (opts.wait_for_change && local_total > 0).then_some(local_total);
    let index = fetch_index(client, url, wait, &opts.timeouts).await?;
    check_extends(&local, &index)?;

    let to_fetch: u64 = index
        .iter()
        .map(|s| {
            s.size as u64
                - local
                    .get(s.number as usize)
                    .map_or(0, |l| l.size.min(s.size as u64))
        })
        .sum();
    let bar = progress_bar(opts.progress && local_total == 0, to_fetch);
    let base = Url::parse(url).map_err(|e| FollowError::Index {
        url: url.to_string(),
        what: e.to_string(),
    })?;
    let mut report = SyncReport::default();
    for (i, seg) in index.iter().enumerate() {
        let is_last = i + 1 == index.len();
        let have = local.get(i);
        let seg_url = base.join(&seg.url).map_err(|e| FollowError::Index {
            url: url.to_string(),
            what: format!("segment {} url {:?}: {e}", seg.number, seg.url),
        })?;
        let fetch = Fetch {
            client,
            url: seg_url.as_str(),
            seg,
            bar: &bar,
            timeouts: &opts.timeouts,
        };
        report.downloaded_bytes += sync_segment(&fetch, cache_dir, have, is_last).await?;
        report.segments += 1;
        report.total_bytes += seg.size as u64;
    }
    bar.finish_and_clear();
    Ok(report)
}

/// Follows the server forever (long-polling), calling `on_round` after each round.
pub async fn follow(
    url: &str,
    cache_dir: &Path,
    mut on_round: impl FnMut(&SyncReport),
) -> Result<(), FollowError> {
    follow_rounds(url, cache_dir, |r| {
        on_round(&r);
        async { Ok(()) }
    })
    .await
}

/// Keeps `corpus` (loaded from `cache_dir`, or empty) up to date with the server: each
/// round mirrors what is new into the cache, then applies the new records to the corpus
/// (`Corpus::catch_up`, from where the corpus left off). Runs until a split, a checksum
/// error or a bad record; transient network errors are retried every 5 s.
///
/// The corpus must be fed only by this function (no other writer applying mutations).
pub async fn follow_into(
    url: &str,
    cache_dir: &Path,
    corpus: crate::SharedCorpus,
) -> Result<(), FollowError> {
    follow_rounds(url, cache_dir, |_| {
        let (dir, corpus) = (cache_dir.to_path_buf(), corpus.clone());
        async move {
            let applied = tokio::task::spawn_blocking(move || {
                // Read-only: this process already holds the cache's writer lock.
                let log = maintner::DiskLog::open_read_only(&dir)?;
                corpus.write().unwrap().catch_up(&log)
            })
            .await
            .expect("catch-up task panicked")?;
            tracing::debug!(applied, "follower applied new mutations");
            Ok(())
        }
    })
    .await
}

/// The follower loop: a first round with a progress bar, then long-polls. After each
/// good round `after` runs; its error ends the loop, as do a split, a checksum error and
/// a local I/O error. Other errors (network, timeouts, a server lying about sizes) are
/// retried every 5 s. Holds the cache's writer lock throughout.
async fn follow_rounds<F, Fut>(url: &str, cache_dir: &Path, mut after: F) -> Result<(), FollowError>
where
    F: FnMut(SyncReport) -> Fut,
    Fut: std::future::Future<Output = Result<(), FollowError>>,
{
    let _lock = lock(cache_dir)?;
    let mut opts = SyncOptions {
        progress: true,
        ..Default::default()
    };
    let client = client(&opts.timeouts);
    loop {
        match sync_round(&client, url, cache_dir, &opts).await {
            Ok(r) => after(r).await?,
            Err(
                e @ (FollowError::Split { .. }
                | FollowError::Checksum { .. }
                | FollowError::Log(_)
                | FollowError::Io { .. }),
            ) => return Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "log follower round failed; retrying in 5s");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
        opts.progress = false;
        opts.wait_for_change = true;
    }
}

fn progress_bar(show: bool, total: u64) -> indicatif::ProgressBar {
    if !show || total == 0 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style);
    }
    bar.set_message("maintner log");
    bar
}

async fn fetch_index(
    client: &reqwest::Client,
    url: &str,
    wait_size_not: Option<u64>,
    t: &Timeouts,
) -> Result<Vec<LogSegmentJson>, FollowError> {
    let index_err = |what: String| FollowError::Index {
        url: url.to_string(),
        what,
    };
    let wait = if wait_size_not.is_some() {
        t.headers + t.long_poll
    } else {
        t.headers
    };
    loop {
        let mut req = client.get(url);
        if let Some(s) = wait_size_not {
            req = req.query(&[("waitsizenot", s)]);
        }
        let mut resp = send(req, url, wait).await?;
        match resp.status() {
            StatusCode::NOT_MODIFIED if wait_size_not.is_some() => continue,
            StatusCode::OK => {}
            s => {
                return Err(FollowError::Status {
                    url: url.to_string(),
                    status: s.as_u16(),
                })
            }
        }
        let mut body = Vec::new();
        while let Some(chunk) = next_chunk(&mut resp, url, t).await? {
            if (body.len() + chunk.len()) as u64 > MAX_INDEX_BYTES {
                return Err(index_err(format!("larger than {MAX_INDEX_BYTES} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        let index: Vec<LogSegmentJson> =
            serde_json::from_slice(&body).map_err(|e| index_err(e.to_string()))?;
        for (i, s) in index.iter().enumerate() {
            let bad_sha = s.sha224.len() != 56 || hex::decode(&s.sha224).is_err();
            if s.number != i as i64 || s.size < 0 || bad_sha {
                return Err(index_err(format!("entry {i}: {s:?}")));
            }
        }
        return Ok(index);
    }
}

/// Sends `req`, giving up if the response headers take longer than `wait`.
async fn send(
    req: reqwest::RequestBuilder,
    url: &str,
    wait: Duration,
) -> Result<reqwest::Response, FollowError> {
    match tokio::time::timeout(wait, req.send()).await {
        Ok(r) => r.map_err(|source| FollowError::Http {
            url: url.to_string(),
            source,
        }),
        Err(_) => Err(FollowError::TimedOut {
            url: url.to_string(),
            what: "response headers",
            after: wait,
        }),
    }
}

/// The next piece of a response body, giving up after `t.idle` of silence.
async fn next_chunk(
    resp: &mut reqwest::Response,
    url: &str,
    t: &Timeouts,
) -> Result<Option<bytes::Bytes>, FollowError> {
    match tokio::time::timeout(t.idle, resp.chunk()).await {
        Ok(r) => r.map_err(|source| FollowError::Http {
            url: url.to_string(),
            source,
        }),
        Err(_) => Err(FollowError::TimedOut {
            url: url.to_string(),
            what: "response body bytes",
            after: t.idle,
        }),
    }
}

/// Split detection (Go's `sumCommonPrefixSize` and `ErrSplit`): what the cache holds must be a prefix of the server's log.
fn check_extends(local: &[LocalSeg], index: &[LogSegmentJson]) -> Result<(), FollowError> {
    for (i, l) in local.iter().enumerate() {
        let split = |reason: String| FollowError::Split {
            segment: l.number,
            reason,
        };
        let Some(s) = index.get(i) else {
            return Err(split(format!(
                "server lists {} segments, we have {}",
                index.len(),
                local.len()
            )));
        };
        let server_size = s.size as u64;
        if l.size > server_size {
            return Err(split(format!(
                "we have {} bytes, server has {server_size}",
                l.size
            )));
        }
        if l.size == server_size && l.sha224 != s.sha224 {
            return Err(split(format!(
                "same size {server_size}, SHA-224 {} here, {} on the server",
                l.sha224, s.sha224
            )));
        }
        if l.size < server_size && i + 1 != local.len() {
            return Err(split(format!(
                "a middle segment grew from {} to {server_size} bytes",
                l.size
            )));
        }
    }
    Ok(())
}

/// One segment to fetch.
struct Fetch<'a> {
    client: &'a reqwest::Client,
    url: &'a str,
    seg: &'a LogSegmentJson,
    bar: &'a indicatif::ProgressBar,
    timeouts: &'a Timeouts,
}

/// Makes the cache hold segment `f.seg`; returns the bytes downloaded. What is fetched goes
/// to a temporary file, renamed into place only once its size and SHA-224 are right.
async fn sync_segment(
    f: &Fetch<'_>,
    dir: &Path,
    have: Option<&LocalSeg>,
    is_last: bool,
) -> Result<u64, FollowError> {
    let seg = f.seg;
    let want_name = if is_last {
        growing_file_name(seg.number as u32)
    } else {
        frozen_file_name(seg.number as u32, &seg.sha224)
    };
    let want_path = dir.join(&want_name);
    if let Some(l) = have.filter(|l| l.size == seg.size as u64) {
        // Same bytes (checked by check_extends); only the name may change (sealed).
        if l.path != want_path {
            fs::rename(&l.path, &want_path).map_err(FollowError::io(&l.path))?;
        }
        return Ok(0);
    }
    let tmp = dir.join(format!("tempseg{}-{}", seg.number, std::process::id()));
    let downloaded = match fetch_to(f, have, &tmp).await {
        Ok(n) => n,
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };
    fs::rename(&tmp, &want_path).map_err(FollowError::io(&tmp))?;
    if let Some(l) = have.filter(|l| l.path != want_path) {
        fs::remove_file(&l.path).map_err(FollowError::io(&l.path))?;
    }
    tracing::debug!(file = %want_path.display(), bytes = seg.size, "wrote segment");
    Ok(downloaded)
}

/// Writes the whole segment to `tmp`: what the cache has of it, then the rest from the
/// server. Returns the bytes downloaded.
async fn fetch_to(f: &Fetch<'_>, have: Option<&LocalSeg>, tmp: &Path) -> Result<u64, FollowError> {
    let (seg, size) = (f.seg, f.seg.size as u64);
    let mut out = SegmentFile::create(tmp)?;
    if let Some(l) = have {
        out.copy_from(&l.path)?;
    }
    let prefix = out.len;
    let prefix_sha = out.sha_hex();
    let mut downloaded = 0;
    download(f, &mut out, &mut downloaded).await?;
    out.check_len(f)?;
    if out.sha_hex() != seg.sha224 && prefix > 0 {
        // Either the download is bad or our prefix is not the server's: fetch it all to
        // tell which (Go deletes the partial file and retries from scratch).
        out.restart(prefix)?;
        download(f, &mut out, &mut downloaded).await?;
        out.check_len(f)?;
        if out.sha_hex() == seg.sha224 && out.sha_at_mark.as_ref() != Some(&prefix_sha) {
            return Err(FollowError::Split {
                segment: seg.number,
                reason: format!("our {prefix} bytes are not a prefix of the server's"),
            });
        }
    }
    let actual = out.sha_hex();
    if actual != seg.sha224 {
        return Err(FollowError::Checksum {
            url: f.url.to_string(),
            segment: seg.number,
            size,
            expected: seg.sha224.clone(),
            actual,
        });
    }
    out.file.sync_all().map_err(FollowError::io(tmp))?;
    Ok(downloaded)
}

/// A segment being written: the file, the SHA-224 and length of what it holds.
struct SegmentFile {
    file: File,
    path: PathBuf,
    sha: Sha224,
    len: u64,
    /// Taken when `len` passes this mark: the SHA-224 of the first `mark` bytes.
    mark: Option<u64>,
    sha_at_mark: Option<String>,
}

impl SegmentFile {
    fn create(path: &Path) -> Result<SegmentFile, FollowError> {
        Ok(SegmentFile {
            file: File::create(path).map_err(FollowError::io(path))?,
            path: path.to_owned(),
            sha: Sha224::new(),
            len: 0,
            mark: None,
            sha_at_mark: None,
        })
    }

    fn write(&mut self, mut data: &[u8]) -> Result<(), FollowError> {
        self.file
            .write_all(data)
            .map_err(FollowError::io(&self.path))?;
        if let Some(mark) = self.mark.filter(|&m| self.len + data.len() as u64 >= m) {
            let (head, tail) = data.split_at((mark - self.len) as usize);
            self.sha.update(head);
            self.sha_at_mark = Some(hex::encode(self.sha.clone().finalize()));
            self.mark = None;
            data = tail;
            self.len = mark;
        }
        self.sha.update(data);
        self.len += data.len() as u64;
        Ok(())
    }

    fn copy_from(&mut self, path: &Path) -> Result<(), FollowError> {
        let mut src = File::open(path).map_err(FollowError::io(path))?;
        let mut buf = vec![0; 256 << 10];
        loop {
            let n = src.read(&mut buf).map_err(FollowError::io(path))?;
            if n == 0 {
                return Ok(());
            }
            self.write(&buf[..n])?;
        }
    }

    /// Empties the file to fetch the segment again, noting the SHA-224 of its first
    /// `mark` bytes on the way.
    fn restart(&mut self, mark: u64) -> Result<(), FollowError> {
        *self = SegmentFile::create(&self.path)?;
        self.mark = Some(mark);
        Ok(())
    }

    fn sha_hex(&self) -> String {
        hex::encode(self.sha.clone().finalize())
    }

    fn check_len(&self, f: &Fetch<'_>) -> Result<(), FollowError> {
        if self.len != f.seg.size as u64 {
            return Err(FollowError::Short {
                url: f.url.to_string(),
                segment: f.seg.number,
                got: self.len,
                expected: f.seg.size as u64,
            });
        }
        Ok(())
    }
}

/// GETs the bytes of the segment that `out` lacks and appends them; refuses a body that
/// would take `out` past the segment's size before writing any of the excess.
async fn download(
    f: &Fetch<'_>,
    out: &mut SegmentFile,
    downloaded: &mut u64,
) -> Result<(), FollowError> {
    let (size, from) = (f.seg.size as u64, out.len);
    let too_long = || FollowError::TooLong {
        url: f.url.to_string(),
        segment: f.seg.number,
        expected: size,
    };
    let mut req = f.client.get(f.url);
    if from > 0 {
        req = req.header(reqwest::header::RANGE, format!("bytes={from}-{}", size - 1));
    }
    let mut resp = send(req, f.url, f.timeouts.headers).await?;
    let partial = match resp.status() {
        StatusCode::OK => false,
        StatusCode::PARTIAL_CONTENT => true,
        s => {
            return Err(FollowError::Status {
                url: f.url.to_string(),
                status: s.as_u16(),
            })
        }
    };
    // A server that ignored the Range sends everything: skip what we have.
    let mut skip = if partial { 0 } else { from };
    if resp
        .content_length()
        .is_some_and(|n| n > size - from + skip)
    {
        return Err(too_long());
    }
    while let Some(chunk) = next_chunk(&mut resp, f.url, f.timeouts).await? {
        f.bar.inc(chunk.len() as u64);
        *downloaded += chunk.len() as u64;
        let cut = (skip as usize).min(chunk.len());
        skip -= cut as u64;
        let data = &chunk[cut..];
        if out.len + data.len() as u64 > size {
            return Err(too_long());
        }
        out.write(data)?;
    }
    Ok(())
}

fn sha224_hex(data: &[u8]) -> String {
    hex::encode(Sha224::digest(data))
}

/// The segments in the cache, in number order.
fn scan(dir: &Path) -> Result<Vec<LocalSeg>, FollowError> {
    let mut segs = Vec::new();
    for entry in fs::read_dir(dir).map_err(FollowError::io(dir))? {
        let entry = entry.map_err(FollowError::io(dir))?;
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().and_then(parse_file_name) else {
            continue;
        };
        let seg = match name {
            SegmentName::Frozen { number, sha224 } => LocalSeg {
                number: number as i64,
                size: entry.metadata().map_err(FollowError::io(&path))?.len(),
                sha224,
                path,
                growing: false,
            },
            SegmentName::Growing { number } => {
                let data = fs::read(&path).map_err(FollowError::io(&path))?;
                LocalSeg {
                    number: number as i64,
                    size: data.len() as u64,
                    sha224: sha224_hex(&data),
                    path,
                    growing: true,
                }
            }
        };
        segs.push(seg);
    }
    segs.sort_by_key(|s| s.number);
    for (i, s) in segs.iter().enumerate() {
        if s.number != i as i64 || (s.growing && i + 1 != segs.len()) {
            return Err(FollowError::Io {
                path: s.path.clone(),
                source: std::io::Error::other(format!(
                    "cache segment {} out of place (expected {i}, growing only last)",
                    s.number
                )),
            });
        }
    }
    Ok(segs)
}
