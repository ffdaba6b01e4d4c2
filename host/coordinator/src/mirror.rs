//! Sources for builds: a bare mirror of each watched repository, and `git archive`
//! tarballs cached by revision (Go's gitmirror). A revision the mirror lacks triggers one
//! fetch; a revision the remote no longer has is a clear error, not a hang.

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
        if out.exists() {
            return Ok(out);
        }
        let lock = self.lock(repo).await;
        let _held = lock.lock().await;
        if out.exists() {
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
