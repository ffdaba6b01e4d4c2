//! The follower: mirrors a log server (spec §1.4) into a local cache directory
//! (spec §1.5), checking each segment's SHA-224 and detecting a *split* — the server's
//! history no longer extends what we already have (e.g. the leader restarted and lost
//! mutations we had read). On a split nothing local is changed or deleted.
//!
//! The cache has the layout of a data directory (`NNNN.<sha224>.mutlog` frozen segments,
//! `NNNN.growing.mutlog` for the server's last segment), so it opens with
//! [`maintner::DiskLog`] to load a corpus.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use maintner::disklog::{frozen_file_name, growing_file_name, parse_file_name, SegmentName};
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

/// Options of one sync round.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Show a progress bar (indicatif; hidden when stderr is not a terminal).
    pub progress: bool,
    /// Long-poll: wait until the server has something beyond what the cache holds.
    pub wait_for_change: bool,
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
        wait_for_change: false,
    };
    sync_with(&reqwest::Client::new(), url, cache_dir, &opts).await
}

/// One sync round with explicit options.
pub async fn sync_with(
    client: &reqwest::Client,
    url: &str,
    cache_dir: &Path,
    opts: &SyncOptions,
) -> Result<SyncReport, FollowError> {
    fs::create_dir_all(cache_dir).map_err(FollowError::io(cache_dir))?;
    let local = scan(cache_dir)?;
    let local_total: u64 = local.iter().map(|s| s.size).sum();
    let wait = (opts.wait_for_change && local_total > 0).then_some(local_total);
    let index = fetch_index(client, url, wait).await?;
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
        report.downloaded_bytes += sync_segment(
            client,
            seg_url.as_str(),
            cache_dir,
            seg,
            have,
            is_last,
            &bar,
        )
        .await?;
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
                let log = maintner::DiskLog::open(&dir)?;
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
/// good round `after` runs; its error ends the loop, as do a split and a checksum error.
/// Other errors (network) are retried every 5 s.
async fn follow_rounds<F, Fut>(url: &str, cache_dir: &Path, mut after: F) -> Result<(), FollowError>
where
    F: FnMut(SyncReport) -> Fut,
    Fut: std::future::Future<Output = Result<(), FollowError>>,
{
    let client = reqwest::Client::new();
    let mut opts = SyncOptions {
        progress: true,
        wait_for_change: false,
    };
    loop {
        match sync_with(&client, url, cache_dir, &opts).await {
            Ok(r) => after(r).await?,
            Err(e @ (FollowError::Split { .. } | FollowError::Checksum { .. })) => return Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "log follower round failed; retrying in 5s");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
        opts = SyncOptions {
            progress: false,
            wait_for_change: true,
        };
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
) -> Result<Vec<LogSegmentJson>, FollowError> {
    let http = |source| FollowError::Http {
        url: url.to_string(),
        source,
    };
    loop {
        let mut req = client.get(url);
        if let Some(s) = wait_size_not {
            req = req.query(&[("waitsizenot", s)]);
        }
        let resp = req.send().await.map_err(http)?;
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
        let body = resp.bytes().await.map_err(http)?;
        let index: Vec<LogSegmentJson> =
            serde_json::from_slice(&body).map_err(|e| FollowError::Index {
                url: url.to_string(),
                what: e.to_string(),
            })?;
        for (i, s) in index.iter().enumerate() {
            let bad_sha = s.sha224.len() != 56 || hex::decode(&s.sha224).is_err();
            if s.number != i as i64 || s.size < 0 || bad_sha {
                return Err(FollowError::Index {
                    url: url.to_string(),
                    what: format!("entry {i}: {s:?}"),
                });
            }
        }
        return Ok(index);
    }
}

/// Split detection (spec §1.5): what the cache holds must be a prefix of the server's log.
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

/// Makes the cache hold segment `seg`; returns the bytes downloaded.
async fn sync_segment(
    client: &reqwest::Client,
    url: &str,
    dir: &Path,
    seg: &LogSegmentJson,
    have: Option<&LocalSeg>,
    is_last: bool,
    bar: &indicatif::ProgressBar,
) -> Result<u64, FollowError> {
    let size = seg.size as u64;
    let want_name = if is_last {
        growing_file_name(seg.number as u32)
    } else {
        frozen_file_name(seg.number as u32, &seg.sha224)
    };
    let want_path = dir.join(&want_name);
    if let Some(l) = have.filter(|l| l.size == size) {
        // Same bytes (checked by check_extends); only the name may change (sealed).
        if l.path != want_path {
            fs::rename(&l.path, &want_path).map_err(FollowError::io(&l.path))?;
        }
        return Ok(0);
    }
    let prefix = match have {
        Some(l) => fs::read(&l.path).map_err(FollowError::io(&l.path))?,
        None => Vec::new(),
    };
    let mut downloaded = 0;
    let mut data = download(client, url, seg, prefix.len() as u64, bar, &mut downloaded).await?;
    let mut full = prefix.clone();
    full.append(&mut data);
    if full.len() as u64 != size {
        return Err(FollowError::Short {
            url: url.to_string(),
            segment: seg.number,
            got: full.len() as u64,
            expected: size,
        });
    }
    if sha224_hex(&full) != seg.sha224 && !prefix.is_empty() {
        // Either the download is bad or our prefix is not the server's: fetch it all to
        // tell which (Go deletes the partial file and retries from scratch).
        full = download(client, url, seg, 0, bar, &mut downloaded).await?;
        if sha224_hex(&full) == seg.sha224 && full.get(..prefix.len()) != Some(&prefix[..]) {
            return Err(FollowError::Split {
                segment: seg.number,
                reason: format!(
                    "our {} bytes are not a prefix of the server's",
                    prefix.len()
                ),
            });
        }
    }
    let actual = sha224_hex(&full);
    if actual != seg.sha224 {
        return Err(FollowError::Checksum {
            url: url.to_string(),
            segment: seg.number,
            size: full.len() as u64,
            expected: seg.sha224.clone(),
            actual,
        });
    }
    let tmp = dir.join(format!("tempseg{}-{}", seg.number, std::process::id()));
    fs::write(&tmp, &full).map_err(FollowError::io(&tmp))?;
    fs::rename(&tmp, &want_path).map_err(FollowError::io(&tmp))?;
    if let Some(l) = have.filter(|l| l.path != want_path) {
        fs::remove_file(&l.path).map_err(FollowError::io(&l.path))?;
    }
    tracing::debug!(file = %want_path.display(), bytes = full.len(), "wrote segment");
    Ok(downloaded)
}

/// GETs bytes `from..size` of a segment (the whole segment if `from` is 0).
async fn download(
    client: &reqwest::Client,
    url: &str,
    seg: &LogSegmentJson,
    from: u64,
    bar: &indicatif::ProgressBar,
    downloaded: &mut u64,
) -> Result<Vec<u8>, FollowError> {
    let http = |source| FollowError::Http {
        url: url.to_string(),
        source,
    };
    let mut req = client.get(url);
    if from > 0 {
        req = req.header(
            reqwest::header::RANGE,
            format!("bytes={from}-{}", seg.size - 1),
        );
    }
    let mut resp = req.send().await.map_err(http)?;
    let partial = match resp.status() {
        StatusCode::OK => false,
        StatusCode::PARTIAL_CONTENT => true,
        s => {
            return Err(FollowError::Status {
                url: url.to_string(),
                status: s.as_u16(),
            })
        }
    };
    // The index's size is only a hint for the allocation (a segment is at most 16 MiB
    // unless one record is bigger); the SHA-224 check decides.
    let hint = (seg.size as u64).saturating_sub(from).min(64 << 20);
    let mut body = Vec::with_capacity(hint as usize);
    while let Some(chunk) = resp.chunk().await.map_err(http)? {
        body.extend_from_slice(&chunk);
        bar.inc(chunk.len() as u64);
        *downloaded += chunk.len() as u64;
    }
    if from > 0 && !partial {
        // The server ignored the Range and sent everything: keep only what we lacked.
        body.drain(..(from as usize).min(body.len()));
    }
    Ok(body)
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
