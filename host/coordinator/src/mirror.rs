//! Sources for builds: a bare mirror of each watched repository, and `git archive`
//! tarballs cached by revision (Go's gitmirror). A revision the mirror lacks triggers one
//! fetch; a revision the remote no longer has is a clear error, not a hang. A cached
//! tarball is checked against the SHA-256 recorded beside it when it was made, and made
//! again if it no longer matches: a damaged cache never reaches a buildlet.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use tokio::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    #[error("no remote is configured for repository {0:?}")]
    UnknownRepo(String),
    #[error("revision {rev} is not in {repo} (fetched from {remote})")]
    UnknownRevision {
        repo: String,
        rev: String,
        remote: String,
    },
    #[error("{0}")]
    Git(String),
}

pub struct Mirror {
    dir: PathBuf,
    remotes: HashMap<String, String>,
    /// One git operation per repository at a time.
    locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
}

impl Mirror {
    /// Mirrors and archives live under `dir`; `remotes` maps repo names to git URLs or paths.
    pub fn new(dir: &Path, remotes: HashMap<String, String>) -> Mirror {
        Mirror {
            dir: dir.to_path_buf(),
            remotes,
            locks: Mutex::default(),
        }
    }

    pub fn has_repo(&self, repo: &str) -> bool {
        self.remotes.contains_key(repo)
    }

    /// The `.tar.gz` of `repo` at `rev` (a full hex commit), made once and kept.
    pub async fn tarball(&self, repo: &str, rev: &str) -> Result<PathBuf, MirrorError> {
        let remote = self
            .remotes
            .get(repo)
            .ok_or_else(|| MirrorError::UnknownRepo(repo.into()))?;
        if rev.len() != 40 || !rev.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(MirrorError::Git(format!("not a full commit hash: {rev:?}")));
        }
        let out = self
            .dir
            .join("archives")
            .join(format!("{repo}-{rev}.tar.gz"));
        let lock = self.lock(repo).await;
        let _held = lock.lock().await;
        if intact(&out).await {
            return Ok(out);
        }
        let git_dir = self.dir.join("git").join(format!("{repo}.git"));
        if !git_dir.exists() {
            let tmp = git_dir.with_extension("tmp");
            let _ = std::fs::remove_dir_all(&tmp);
            git(None, &["clone", "--quiet", "--mirror", remote, &path(&tmp)]).await?;
            std::fs::rename(&tmp, &git_dir).map_err(|e| MirrorError::Git(e.to_string()))?;
        }
        let commit = format!("{rev}^{{commit}}");
        if git(Some(&git_dir), &["cat-file", "-e", &commit])
            .await
            .is_err()
        {
            git(Some(&git_dir), &["fetch", "--quiet", "--prune", "origin"]).await?;
            if git(Some(&git_dir), &["cat-file", "-e", &commit])
                .await
                .is_err()
            {
                return Err(MirrorError::UnknownRevision {
                    repo: repo.into(),
                    rev: rev.into(),
                    remote: remote.clone(),
                });
            }
        }
        std::fs::create_dir_all(out.parent().unwrap())
            .map_err(|e| MirrorError::Git(e.to_string()))?;
        let tmp = out.with_extension("tmp");
        git(
            Some(&git_dir),
            &["archive", "--format=tar.gz", "-o", &path(&tmp), rev],
        )
        .await?;
        let sum = sha256(&tmp).map_err(|e| MirrorError::Git(e.to_string()))?;
        std::fs::write(sum_path(&out), sum).map_err(|e| MirrorError::Git(e.to_string()))?;
        std::fs::rename(&tmp, &out).map_err(|e| MirrorError::Git(e.to_string()))?;
        Ok(out)
    }

    async fn lock(&self, repo: &str) -> Arc<Mutex<()>> {
        self.locks
            .lock()
            .await
            .entry(repo.into())
            .or_default()
            .clone()
    }
}

fn sum_path(tarball: &Path) -> PathBuf {
    tarball.with_extension("gz.sha256")
}

fn sha256(p: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    std::io::copy(&mut std::fs::File::open(p)?, &mut h)?;
    Ok(hex::encode(h.finalize()))
}

/// Whether `tarball` exists and still has the hash recorded when it was made.
async fn intact(tarball: &Path) -> bool {
    let t = tarball.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let recorded = std::fs::read_to_string(sum_path(&t)).ok();
        recorded.is_some() && recorded == sha256(&t).ok()
    })
    .await
    .unwrap_or(false)
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

async fn git(dir: Option<&Path>, args: &[&str]) -> Result<(), MirrorError> {
    let mut cmd = tokio::process::Command::new("git");
    if let Some(d) = dir {
        cmd.arg("--git-dir").arg(d);
    }
    let out = cmd
        .args(args)
        .stdin(Stdio::null())
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .await
        .map_err(|e| MirrorError::Git(format!("running git: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(MirrorError::Git(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}
