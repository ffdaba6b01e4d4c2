//! A recorded corpus log read for replay: every mutation with the time it carries, so
//! the corpus can be rebuilt as it stood at a point in time or one mutation at a time.
//!
//! Go's mutation log records carry no time of their own. A mutation's time is the
//! latest time it mentions (an issue's update, a comment, an event, a commit's
//! committer date), and never earlier than the time of the mutation before it on the
//! same issue, repo or Gerrit project: a later mutation of an entity builds on the
//! earlier ones (an issue's comments on the issue), so time order keeps their order.
//! One that mentions no time (a label list, a ref update) takes its entity's last time.

use maintner::maintpb::{GitCommit, Mutation, Timestamp};
use maintner::{reclog, Corpus};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source} (after {whole} whole mutations); the log ends mid-record")]
    Torn {
        path: PathBuf,
        whole: usize,
        source: reclog::RecordError,
    },
    #[error("{path}: {source}")]
    Record {
        path: PathBuf,
        source: reclog::RecordError,
    },
    #[error("{path}: record at offset {offset} is not a mutation: {source}")]
    Decode {
        path: PathBuf,
        offset: u64,
        source: prost::DecodeError,
    },
    #[error("{0} holds no .mutlog segment")]
    Empty(PathBuf),
}

/// One mutation of the log and its time (Unix seconds).
#[derive(Debug, Clone)]
pub struct Timed {
    pub at: i64,
    pub mutation: Mutation,
}

/// Every mutation of a log: a segment file, or a directory of `.mutlog` segments read
/// in name order. A record cut off by the end of a file is an error naming where.
pub fn read_log(path: &Path) -> Result<Vec<Timed>, ReplayError> {
    let files = if path.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|source| ReplayError::Io {
            path: path.into(),
            source,
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "mutlog"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(ReplayError::Empty(path.into()));
        }
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut out: Vec<Timed> = vec![];
    let mut last: std::collections::HashMap<String, i64> = Default::default();
    for f in files {
        let bytes = std::fs::read(&f).map_err(|source| ReplayError::Io {
            path: f.clone(),
            source,
        })?;
        for rec in reclog::records(&bytes, 0) {
            let rec = rec.map_err(|source| {
                if source.is_torn_tail() {
                    ReplayError::Torn {
                        path: f.clone(),
                        whole: out.len(),
                        source,
                    }
                } else {
                    ReplayError::Record {
                        path: f.clone(),
                        source,
                    }
                }
            })?;
            let mutation: Mutation =
                prost::Message::decode(rec.data).map_err(|source| ReplayError::Decode {
                    path: f.clone(),
                    offset: rec.offset,
                    source,
                })?;
            let key = entity(&mutation);
            let before = last.get(&key).copied().unwrap_or(0);
            let at = time_of(&mutation).unwrap_or(before).max(before);
            last.insert(key, at);
            out.push(Timed { at, mutation });
        }
    }
    Ok(out)
}

/// The log in time order; mutations of the same time keep their log order.
pub fn in_time_order(log: &[Timed]) -> Vec<&Timed> {
    let mut order: Vec<&Timed> = log.iter().collect();
    order.sort_by_key(|t| t.at);
    order
}

/// The corpus as it stood at `at`: every mutation up to that time, in time order (the
/// order `--step` applies them in, so a step and `--at` agree).
pub fn corpus_at(log: &[Timed], at: i64) -> Corpus {
    let mut c = Corpus::default();
    for t in in_time_order(log).into_iter().filter(|t| t.at <= at) {
        c.apply(&t.mutation);
    }
    c
}

/// The latest time in the log.
pub fn last_time(log: &[Timed]) -> i64 {
    log.iter().map(|t| t.at).max().unwrap_or(0)
}

/// What a mutation is about: later mutations of the same thing build on it.
fn entity(m: &Mutation) -> String {
    if let Some(i) = &m.github_issue {
        return format!("issue {}/{}#{}", i.owner, i.repo, i.number);
    }
    if let Some(g) = &m.gerrit {
        return format!("gerrit {}", g.project);
    }
    if let Some(g) = &m.github {
        return format!("github {}/{}", g.owner, g.repo);
    }
    if let Some(g) = &m.git {
        return format!("git {:?}", g.repo.as_ref().map(|r| r.go_repo.clone()));
    }
    String::new()
}

fn secs(t: &Option<Timestamp>) -> Option<i64> {
    t.as_ref().map(|t| t.seconds)
}

/// The latest time a mutation mentions.
pub fn time_of(m: &Mutation) -> Option<i64> {
    let mut times: Vec<i64> = vec![];
    if let Some(i) = &m.github_issue {
        times.extend(secs(&i.created));
        times.extend(secs(&i.updated));
        times.extend(secs(&i.closed_at));
        times.extend(
            i.comment
                .iter()
                .filter_map(|c| secs(&c.updated).or(secs(&c.created))),
        );
        times.extend(i.event.iter().filter_map(|e| secs(&e.created)));
    }
    if let Some(g) = &m.git {
        times.extend(g.commit.as_ref().and_then(commit_time));
    }
    if let Some(g) = &m.gerrit {
        times.extend(g.commits.iter().filter_map(commit_time));
    }
    times.into_iter().max()
}

/// The committer time of a raw git commit object.
fn commit_time(c: &GitCommit) -> Option<i64> {
    let text = std::str::from_utf8(&c.raw).ok()?;
    let line = text
        .lines()
        .take_while(|l| !l.is_empty())
        .find(|l| l.starts_with("committer "))?;
    let mut fields = line.rsplitn(3, ' ');
    let _tz = fields.next()?;
    fields.next()?.parse().ok()
}

/// RFC 3339 (`2026-08-01T00:00:00Z`) or Unix seconds.
pub fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    parse_utc(s).ok_or_else(|| {
        format!("{s:?} is not a UTC time like 2026-08-01T00:00:00Z, a date, or Unix seconds")
    })
}

/// `YYYY-MM-DD[THH:MM:SSZ]` in UTC.
fn parse_utc(s: &str) -> Option<i64> {
    let (date, clock) = match s.split_once('T') {
        Some((d, c)) => (d, c.strip_suffix('Z')?),
        None => (s, "00:00:00"),
    };
    let num = |p: Option<&str>| p.and_then(|p| p.parse::<i64>().ok());
    let mut d = date.splitn(3, '-');
    let (y, m, day) = (num(d.next())?, num(d.next())?, num(d.next())?);
    let mut c = clock.splitn(3, ':');
    let (h, min, sec) = (num(c.next())?, num(c.next())?, num(c.next())?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || h > 23 || min > 59 || sec > 60 {
        return None;
    }
    Some(days_from_civil(y, m, day) * 86_400 + h * 3600 + min * 60 + sec)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A time as the JSON shows it.
pub fn rfc3339(t: i64) -> String {
    maintner::time::Time::from_unix(t).rfc3339()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_both_ways() {
        assert_eq!(parse_time("2026-08-01T00:00:00Z"), Ok(1_785_542_400));
        assert_eq!(parse_time("2026-08-01"), Ok(1_785_542_400));
        assert_eq!(parse_time("1785542400"), Ok(1_785_542_400));
        assert_eq!(rfc3339(1_785_542_400), "2026-08-01T00:00:00Z");
        assert!(parse_time("August").unwrap_err().contains("not a UTC time"));
        assert!(parse_time("2026-13-01").is_err());
    }
}
