//! Git ingestion over the `git` CLI: plain repositories (Go's `TrackGoGitRepo` and
//! `syncGitCommits` in maintner/git.go) and Gerrit projects fetched over git — branches,
//! tags, `refs/changes/*` patch sets and NoteDB `meta` refs (Go's `GerritProject.sync` in
//! maintner/gerrit.go).
//!
//! Both keep a bare mirror in the data directory, fetch into it, and log what the corpus
//! does not have yet: commits first (parents before children), then the refs that point at
//! them, so a replay never sees a ref to an unknown commit.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use maintner::maintpb::{
    GerritMutation, GitCommit, GitDiffTree, GitDiffTreeFile, GitMutation, GitRef, GitRepo, Mutation,
};

use crate::git::{self, GitError, RawCommit};
use crate::ingest::Ingest;
use crate::view::{is_tracked_gerrit_ref, PollerView};
use crate::webhook::Wakers;

/// Commits read from git and logged per batch (one `cat-file`/`diff-tree` pair each).
const COMMIT_BATCH: usize = 1000;
/// Refs per Gerrit ref mutation (Go's fetch batch).
const REF_BATCH: usize = 250;

#[derive(Debug, thiserror::Error)]
pub enum GitPollError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("writing the log: {0}")]
    Log(#[from] maintner::LogError),
    #[error("locking the mirror for a round: {path}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What one round logged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GitRoundStats {
    pub commits: usize,
    pub refs: usize,
    pub deleted_refs: usize,
    /// Time spent in `git fetch` (the network part).
    pub fetch: Duration,
    /// Time spent reading commits and writing them and the refs to the log.
    pub ingest: Duration,
}

impl GitRoundStats {
    /// Adds another project's round (a recording that polls several).
    pub fn add(&mut self, o: &GitRoundStats) {
        self.commits += o.commits;
        self.refs += o.refs;
        self.deleted_refs += o.deleted_refs;
        self.fetch += o.fetch;
        self.ingest += o.ingest;
    }
}

fn pb_commit(c: RawCommit) -> GitCommit {
    GitCommit {
        sha1: c.sha1,
        raw: c.raw,
        diff_tree: Some(GitDiffTree {
            file: c
                .files
                .into_iter()
                .map(|f| GitDiffTreeFile {
                    file: f.file,
                    added: f.added,
                    deleted: f.deleted,
                    binary: f.binary,
                })
                .collect(),
        }),
    }
}

/// Directory name for a mirror: the project name with `/` escaped, like Go's
/// `url.PathEscape`.
fn mirror_name(name: &str) -> String {
    name.replace('%', "%25").replace('/', "%2F")
}

/// Logs `hashes` (parents first) in batches, wrapping each commit with `wrap`.
async fn log_commits(
    ingest: &Ingest,
    mirror: &Path,
    hashes: Vec<String>,
    wrap: impl Fn(GitCommit) -> Mutation,
) -> Result<usize, GitPollError> {
    let n = hashes.len();
    for chunk in hashes.chunks(COMMIT_BATCH) {
        let (dir, chunk) = (mirror.to_path_buf(), chunk.to_vec());
        let raws = tokio::task::spawn_blocking(move || git::read_commits(&dir, &chunk))
            .await
            .expect("git read task panicked")?;
        let ms = raws.into_iter().map(|c| wrap(pb_commit(c))).collect();
        ingest.record(ms).await?;
    }
    Ok(n)
}

/// Waits for and takes the round lock of `mirror`: an exclusive lock on `<mirror>.lock`,
/// held until the returned file is dropped. Two rounds on one mirror — an import handed
/// to the server while another, or its watcher, syncs the same repository — would both
/// fetch into it and both log the commits the corpus did not have yet: one after the
/// other, the second finds them logged.
async fn round_lock(mirror: &Path) -> Result<std::fs::File, GitPollError> {
    let mut path = mirror.as_os_str().to_owned();
    path.push(".lock");
    let path = PathBuf::from(path);
    let at = path.clone();
    tokio::task::spawn_blocking(move || {
        if let Some(dir) = at.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::File::create(&at)?;
        file.lock()?;
        Ok(file)
    })
    .await
    .expect("lock task panicked")
    .map_err(|source| GitPollError::Lock { path, source })
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, GitError> + Send + 'static,
) -> Result<T, GitError> {
    tokio::task::spawn_blocking(f)
        .await
        .expect("git task panicked")
}

/// Waits `interval` or until `topic` is fired.
async fn sleep_or_wake(wakers: &Wakers, topic: &str, interval: Duration) {
    let wake = wakers.topic(topic);
    tokio::select! {
        _ = tokio::time::sleep(interval) => {}
        _ = wake.notified() => {}
    }
}

/// Watches a plain git repository: new commits on its branches become `GitMutation`s with
/// `repo.go_repo = name`.
pub struct GitRepoPoller {
    pub name: String,
    pub remote: String,
    mirror: PathBuf,
    ingest: Ingest,
}

impl GitRepoPoller {
    /// `name` like `build` (Go's `go_repo`), `remote` any URL or path git can fetch from;
    /// the mirror lives in `<data_dir>/git/<name>`.
    pub fn new(name: &str, remote: &str, data_dir: &Path, ingest: Ingest) -> Self {
        GitRepoPoller {
            name: name.to_string(),
            remote: remote.to_string(),
            mirror: data_dir.join("git").join(mirror_name(name)),
            ingest,
        }
    }

    pub fn topic(&self) -> String {
        format!("git:{}", self.name)
    }

    pub async fn run(self, wakers: Wakers, interval: Duration) {
        loop {
            match self.sync_round().await {
                Ok(s) => tracing::info!(repo = %self.name, ?s, "git sync round"),
                Err(e) => tracing::warn!(repo = %self.name, error = %e, "git sync round failed"),
            }
            sleep_or_wake(&wakers, &self.topic(), interval).await;
        }
    }

    /// Fetches, then logs every commit on a branch that the corpus does not have.
    pub async fn sync_round(&self) -> Result<GitRoundStats, GitPollError> {
        let _round = round_lock(&self.mirror).await?;
        let started = Instant::now();
        let (mirror, remote) = (self.mirror.clone(), self.remote.clone());
        let heads = blocking(move || {
            git::init_bare(&mirror)?;
            git::fetch(&mirror, &remote, &["+refs/heads/*:refs/heads/*"])?;
            git::refs(&mirror)
        })
        .await?;
        let fetch = started.elapsed();
        let heads: Vec<String> = heads.into_iter().map(|(_, h)| h).collect();
        let mirror = self.mirror.clone();
        let all = blocking(move || git::rev_list(&mirror, &heads, &[])).await?;
        let new: Vec<String> = {
            let view = self.ingest.view();
            all.into_iter()
                .filter(|h| !view.has_git_commit(h))
                .collect()
        };
        let repo = self.name.clone();
        let commits = log_commits(&self.ingest, &self.mirror, new, |c| Mutation {
            git: Some(GitMutation {
                repo: Some(GitRepo {
                    go_repo: repo.clone(),
                }),
                commit: Some(c),
            }),
            ..Default::default()
        })
        .await?;
        Ok(GitRoundStats {
            commits,
            fetch,
            ingest: started.elapsed() - fetch,
            ..Default::default()
        })
    }
}

/// Polls a Gerrit project over git: `refs/heads/*`, `refs/tags/*` and `refs/changes/*`
/// (patch sets and NoteDB metas) become `GerritMutation`s for `project`.
pub struct GerritPoller {
    /// `go.googlesource.com/build`.
    pub project: String,
    pub remote: String,
    mirror: PathBuf,
    ingest: Ingest,
}

impl GerritPoller {
    /// The mirror lives in `<data_dir>/gerrit/<escaped project>`.
    pub fn new(project: &str, remote: &str, data_dir: &Path, ingest: Ingest) -> Self {
        GerritPoller {
            project: project.to_string(),
            remote: remote.to_string(),
            mirror: data_dir.join("gerrit").join(mirror_name(project)),
            ingest,
        }
    }

    pub fn topic(&self) -> String {
        format!("gerrit:{}", self.project)
    }

    pub async fn run(self, wakers: Wakers, interval: Duration) {
        loop {
            match self.sync_round().await {
                Ok(s) => tracing::info!(project = %self.project, ?s, "Gerrit sync round"),
                Err(e) => {
                    tracing::warn!(project = %self.project, error = %e, "Gerrit sync round failed")
                }
            }
            sleep_or_wake(&wakers, &self.topic(), interval).await;
        }
    }

    /// Fetches, diffs the refs against the corpus, logs missing commits then changed refs.
    pub async fn sync_round(&self) -> Result<GitRoundStats, GitPollError> {
        let _round = round_lock(&self.mirror).await?;
        let started = Instant::now();
        let (mirror, remote) = (self.mirror.clone(), self.remote.clone());
        let refs = blocking(move || {
            git::init_bare(&mirror)?;
            git::fetch(
                &mirror,
                &remote,
                &[
                    "+refs/heads/*:refs/heads/*",
                    "+refs/tags/*:refs/tags/*",
                    "+refs/changes/*:refs/changes/*",
                ],
            )?;
            git::refs(&mirror)
        })
        .await?;
        let fetch = started.elapsed();
        let current: std::collections::HashMap<&str, &str> =
            refs.iter().map(|(n, h)| (n.as_str(), h.as_str())).collect();
        let current_hashes: std::collections::HashSet<&str> = current.values().copied().collect();
        let (changed, deleted, known_tips) = {
            let view = self.ingest.view();
            let known = view.gerrit_refs(&self.project);
            let changed: Vec<(String, String)> = refs
                .iter()
                .filter(|(name, hash)| is_tracked_gerrit_ref(name) && known.get(name) != Some(hash))
                .cloned()
                .collect();
            let mut deleted: Vec<String> = known
                .keys()
                // A deleted meta ref leaves the change's history in the corpus (and in
                // Go's); reporting it would repeat every round.
                .filter(|k| !current.contains_key(k.as_str()) && !k.ends_with("/meta"))
                .cloned()
                .collect();
            deleted.sort();
            let mut tips: Vec<String> = known.into_values().collect();
            tips.sort();
            tips.dedup();
            (changed, deleted, tips)
        };
        let tips: Vec<String> = changed.iter().map(|(_, h)| h.clone()).collect();
        let mirror = self.mirror.clone();
        // Known tips are excluded in git (cheap); the corpus filter catches the rest.
        let exclude: Vec<String> = known_tips
            .into_iter()
            .filter(|h| current_hashes.contains(h.as_str()))
            .collect();
        let candidates = blocking(move || git::rev_list(&mirror, &tips, &exclude)).await?;
        let new: Vec<String> = {
            let view = self.ingest.view();
            candidates
                .into_iter()
                .filter(|h| !view.gerrit_has_commit(&self.project, h))
                .collect()
        };
        let project = self.project.clone();
        let commits = log_commits(&self.ingest, &self.mirror, new, |c| Mutation {
            gerrit: Some(GerritMutation {
                project: project.clone(),
                commits: vec![c],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await?;
        let mut ms: Vec<Mutation> = changed
            .chunks(REF_BATCH)
            .map(|batch| self.refs_mutation(batch, &[]))
            .collect();
        if !deleted.is_empty() {
            ms.push(self.refs_mutation(&[], &deleted));
        }
        self.ingest.record(ms).await?;
        Ok(GitRoundStats {
            commits,
            refs: changed.len(),
            deleted_refs: deleted.len(),
            fetch,
            ingest: started.elapsed() - fetch,
        })
    }

    fn refs_mutation(&self, refs: &[(String, String)], deleted: &[String]) -> Mutation {
        Mutation {
            gerrit: Some(GerritMutation {
                project: self.project.clone(),
                refs: refs
                    .iter()
                    .map(|(name, hash)| GitRef {
                        r#ref: name.clone(),
                        sha1: hash.clone(),
                    })
                    .collect(),
                deleted_refs: deleted.to_vec(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}
