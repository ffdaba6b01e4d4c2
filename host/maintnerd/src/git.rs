//! Thin, blocking wrapper around the `git` CLI (callers run it in `spawn_blocking`).
//!
//! Reading commits is batched: one `git cat-file --batch` and one `git diff-tree --stdin`
//! per round instead of two processes per commit, which is what makes ingesting thousands
//! of commits take seconds rather than minutes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A failed git invocation: which command, in which directory, and what git said.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("git {args} in {dir}: {stderr}")]
    Failed {
        dir: PathBuf,
        args: String,
        stderr: String,
    },
    #[error("git {args} in {dir}: {source}")]
    Spawn {
        dir: PathBuf,
        args: String,
        source: std::io::Error,
    },
    #[error("git output in {dir}: {what}")]
    Parse { dir: PathBuf, what: String },
}

/// One file line of `git diff-tree --numstat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumstatFile {
    pub file: String,
    pub added: i64,
    pub deleted: i64,
    pub binary: bool,
}

/// A commit as git stores it: the hash, the raw `cat-file commit` bytes, and its numstat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawCommit {
    pub sha1: String,
    pub raw: Vec<u8>,
    pub files: Vec<NumstatFile>,
}

/// Runs `git <args>` in `dir` with optional stdin and extra environment; returns stdout.
pub fn run(
    dir: &Path,
    args: &[&str],
    stdin: Option<&[u8]>,
    env: &[(&str, &str)],
) -> Result<Vec<u8>, GitError> {
    let joined = args.join(" ");
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        // No background gc/maintenance: a detached child would hold our stdout pipe open
        // and make every fetch wait for a repack.
        .args([
            "-c",
            "core.quotepath=off",
            "-c",
            "gc.auto=0",
            "-c",
            "maintenance.auto=false",
        ])
        .args(args)
        // Keep git from reading the user's config or prompting: a poller must behave the
        // same on every machine.
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let spawn_err = |source| GitError::Spawn {
        dir: dir.to_path_buf(),
        args: joined.clone(),
        source,
    };
    let mut child = cmd.spawn().map_err(spawn_err)?;
    // Feed stdin from a thread so a large input cannot deadlock against a full stdout pipe.
    let writer = stdin.map(|data| {
        let mut pipe = child.stdin.take().expect("stdin was piped");
        let data = data.to_vec();
        std::thread::spawn(move || pipe.write_all(&data))
    });
    let out = child.wait_with_output().map_err(spawn_err)?;
    if let Some(w) = writer {
        // A write error here shows up as a git failure below; nothing more to report.
        let _ = w.join();
    }
    if !out.status.success() {
        return Err(GitError::Failed {
            dir: dir.to_path_buf(),
            args: joined,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(out.stdout)
}

/// Creates a bare repository at `dir` unless one is there already.
pub fn init_bare(dir: &Path) -> Result<(), GitError> {
    if dir.join("HEAD").exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|source| GitError::Spawn {
        dir: dir.to_path_buf(),
        args: "init --bare".into(),
        source,
    })?;
    run(dir, &["init", "--bare", "--quiet"], None, &[])?;
    Ok(())
}

/// `git fetch --prune remote refspecs...` into the repository at `dir`.
pub fn fetch(dir: &Path, remote: &str, refspecs: &[&str]) -> Result<(), GitError> {
    let mut args = vec!["fetch", "--quiet", "--prune", "--no-tags", remote];
    args.extend_from_slice(refspecs);
    run(dir, &args, None, &[])?;
    Ok(())
}

/// All refs of the repository at `dir` as (name, hash), sorted by name.
pub fn refs(dir: &Path) -> Result<Vec<(String, String)>, GitError> {
    let out = run(
        dir,
        &["for-each-ref", "--format=%(objectname) %(refname)"],
        None,
        &[],
    )?;
    let text = String::from_utf8_lossy(&out);
    let mut refs = Vec::new();
    for line in text.lines() {
        let (hash, name) = line.split_once(' ').ok_or_else(|| GitError::Parse {
            dir: dir.to_path_buf(),
            what: format!("for-each-ref line {line:?}"),
        })?;
        refs.push((name.to_string(), hash.to_string()));
    }
    refs.sort();
    Ok(refs)
}

/// Commits reachable from `include` but not from `exclude`, parents before children.
pub fn rev_list(
    dir: &Path,
    include: &[String],
    exclude: &[String],
) -> Result<Vec<String>, GitError> {
    if include.is_empty() {
        return Ok(Vec::new());
    }
    let mut input = String::new();
    for h in include {
        input.push_str(h);
        input.push('\n');
    }
    for h in exclude {
        input.push('^');
        input.push_str(h);
        input.push('\n');
    }
    let out = run(
        dir,
        &["rev-list", "--reverse", "--topo-order", "--stdin"],
        Some(input.as_bytes()),
        &[],
    )?;
    Ok(String::from_utf8_lossy(&out)
        .lines()
        .map(str::to_string)
        .collect())
}

/// Reads the raw bytes and numstat of each commit in `hashes`, in that order.
pub fn read_commits(dir: &Path, hashes: &[String]) -> Result<Vec<RawCommit>, GitError> {
    if hashes.is_empty() {
        return Ok(Vec::new());
    }
    let input = hashes.join("\n") + "\n";
    // The two git processes are independent: run them side by side.
    let (raws, files) = std::thread::scope(|sc| {
        let diffs = sc.spawn(|| diff_tree_batch(dir, input.as_bytes()));
        let raws = cat_file_batch(dir, input.as_bytes());
        (raws, diffs.join().expect("diff-tree reader panicked"))
    });
    let (raws, mut files) = (raws?, files?);
    hashes
        .iter()
        .zip(raws)
        .map(|(sha1, (got, raw))| {
            if &got != sha1 {
                return Err(GitError::Parse {
                    dir: dir.to_path_buf(),
                    what: format!("cat-file returned {got} where {sha1} was asked"),
                });
            }
            Ok(RawCommit {
                sha1: sha1.clone(),
                raw,
                files: files.remove(sha1).unwrap_or_default(),
            })
        })
        .collect()
}

fn cat_file_batch(dir: &Path, input: &[u8]) -> Result<Vec<(String, Vec<u8>)>, GitError> {
    let out = run(dir, &["cat-file", "--batch"], Some(input), &[])?;
    let bad = |what: String| GitError::Parse {
        dir: dir.to_path_buf(),
        what,
    };
    let mut rest = &out[..];
    let mut commits = Vec::new();
    while !rest.is_empty() {
        let nl = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| bad("cat-file header without newline".into()))?;
        let header = String::from_utf8_lossy(&rest[..nl]).to_string();
        let mut parts = header.split(' ');
        let (sha, kind, size) = (parts.next(), parts.next(), parts.next());
        let (Some(sha), Some("commit"), Some(size)) = (sha, kind, size) else {
            return Err(bad(format!("cat-file header {header:?} (not a commit?)")));
        };
        let size: usize = size
            .parse()
            .map_err(|_| bad(format!("cat-file size in {header:?}")))?;
        let body = rest
            .get(nl + 1..nl + 1 + size)
            .ok_or_else(|| bad(format!("cat-file body of {sha} truncated")))?;
        commits.push((sha.to_string(), body.to_vec()));
        rest = rest.get(nl + 2 + size..).unwrap_or(&[]);
    }
    Ok(commits)
}

fn diff_tree_batch(
    dir: &Path,
    input: &[u8],
) -> Result<std::collections::HashMap<String, Vec<NumstatFile>>, GitError> {
    let out = run(
        dir,
        &[
            "diff-tree",
            "--stdin",
            "-r",
            "--root",
            "--numstat",
            "--no-renames",
        ],
        Some(input),
        &[],
    )?;
    let text = String::from_utf8_lossy(&out);
    let mut by_commit = std::collections::HashMap::new();
    let mut current: Option<&mut Vec<NumstatFile>> = None;
    for line in text.lines() {
        if is_hex40(line) {
            current = Some(by_commit.entry(line.to_string()).or_default());
            continue;
        }
        let mut parts = line.splitn(3, '\t');
        let (Some(a), Some(d), Some(file)) = (parts.next(), parts.next(), parts.next()) else {
            continue; // blank separator lines
        };
        let binary = a == "-" && d == "-";
        let file = NumstatFile {
            file: file.to_string(),
            added: a.parse().unwrap_or(0),
            deleted: d.parse().unwrap_or(0),
            binary,
        };
        match current.as_mut() {
            Some(files) => files.push(file),
            None => {
                return Err(GitError::Parse {
                    dir: dir.to_path_buf(),
                    what: format!("diff-tree numstat line before any commit: {line:?}"),
                })
            }
        }
    }
    Ok(by_commit)
}

/// True for a full lowercase hex SHA-1.
pub fn is_hex40(s: &str) -> bool {
    s.len() == 40
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
