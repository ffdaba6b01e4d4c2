//! gopherbot while `xb serve` runs: on every corpus change the serving version's pass
//! goes to the executor (dry-run unless the configuration's `[bot]` says `live` and
//! gives GitHub and Gerrit credentials), a
//! candidate set with `xb plugin shadow` runs beside it, disagreements and automatic
//! rollbacks are recorded in `bot.db` and shown at `/bot/shadow`.

use crate::config::BotSettings;
use crate::data::DataDir;
use anyhow::{bail, Result};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use bot::execute::{Api, Executor, Mode};
use bot::journal::Journal;
use bot::pass::PassOptions;
use bot::shadow::{BotService, ShadowStore};
use runtime::Registry;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The bot plugin's name.
pub const BOT: &str = "gopherbot";

pub fn store_path(data: &Path) -> PathBuf {
    data.join("bot.db")
}

pub fn journal_path(data: &Path) -> PathBuf {
    data.join("bot-journal.db")
}

/// The executor's mode from the configuration: dry-run, or live with the credentials
/// read from their files (a live bot without them does not start).
pub fn mode(s: &BotSettings) -> Result<Mode> {
    if !s.live.unwrap_or(false) {
        return Ok(Mode::DryRun);
    }
    let (Some(token), Some(user), Some(password)) = (
        &s.github_token_file,
        &s.gerrit_user,
        &s.gerrit_password_file,
    ) else {
        bail!("a live bot needs github_token_file, gerrit_user and gerrit_password_file");
    };
    let interval = Duration::from_millis(s.interval_ms.unwrap_or(1000));
    let (token, password) = (non_empty(token)?, non_empty(password)?);
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    Ok(Mode::Live {
        github: Api {
            base: base_url(&s.github_url, "https://api.github.com"),
            authorization: Some(format!("token {token}")),
            interval,
        },
        gerrit: Api {
            base: base_url(&s.gerrit_url, "https://go-review.googlesource.com"),
            authorization: Some(format!("Basic {basic}")),
            interval,
        },
    })
}

/// A credential from its file; an empty one is refused, not sent.
fn non_empty(path: &Path) -> Result<String> {
    let s = crate::builds::secret(path)?;
    if s.is_empty() {
        bail!("{} is empty", path.display());
    }
    Ok(s)
}

fn base_url(url: &Option<String>, default: &str) -> String {
    url.as_deref()
        .unwrap_or(default)
        .trim_end_matches('/')
        .to_string()
}

/// Runs the bot once now and again after every corpus change, until the corpus goes.
pub fn spawn(
    mode: Mode,
    data: &DataDir,
    registry: Arc<Registry>,
    corpus: maintnerd::SharedCorpus,
    mut changed: tokio::sync::watch::Receiver<u64>,
) -> Result<tokio::task::JoinHandle<()>> {
    let view: Arc<dyn runtime::CorpusQueries> = Arc::new(runtime::MaintnerCorpus(corpus));
    let journal = Journal::open(&journal_path(data.path()))?;
    let store = ShadowStore::open(&store_path(data.path()))?;
    tracing::info!(
        mode = if matches!(mode, Mode::DryRun) {
            "dry-run"
        } else {
            "live"
        },
        "bot"
    );
    let executor = Executor::new(mode, journal, view.clone());
    let mut bot = BotService::new(BOT, registry, view, store, executor);
    Ok(tokio::spawn(async move {
        loop {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            match bot.step(&PassOptions::at(now)).await {
                Ok(step) => {
                    if let Some(r) = step.executed {
                        tracing::debug!(would = r.would.len(), taken = r.taken.len(), "bot pass");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "bot pass failed"),
            }
            if changed.changed().await.is_err() {
                return;
            }
        }
    }))
}

#[derive(serde::Serialize)]
struct ShadowPage {
    name: String,
    candidate: Option<String>,
    disagreements: Vec<bot::shadow::Disagreement>,
    events: Vec<bot::shadow::BotEvent>,
}

/// `/bot/shadow`: the candidate, its last disagreements with the serving version, and
/// the automatic rollbacks.
pub fn router(data: &Path) -> Router {
    Router::new()
        .route("/bot/shadow", get(shadow_page))
        .with_state(store_path(data))
}

async fn shadow_page(State(path): State<PathBuf>) -> Result<Json<ShadowPage>, String> {
    tokio::task::spawn_blocking(move || shadow(&path, BOT, 20))
        .await
        .map_err(|e| e.to_string())?
        .map(Json)
        .map_err(|e| format!("{e:#}"))
}

fn shadow(path: &Path, name: &str, n: usize) -> Result<ShadowPage> {
    let store = ShadowStore::open(path)?;
    Ok(ShadowPage {
        name: name.into(),
        candidate: store.candidate(name)?,
        disagreements: store.disagreements(name, n)?,
        events: store.events(name)?,
    })
}

/// `xb plugin shadow NAME [VERSION]`: set the candidate, or show what it disagreed on.
pub fn shadow_cmd(data: &DataDir, name: &str, version: Option<&str>) -> Result<String> {
    let store = ShadowStore::open(&store_path(data.path()))?;
    let Some(version) = version else {
        let page = shadow(&store_path(data.path()), name, 10)?;
        let mut out = match &page.candidate {
            Some(c) => format!("{name}: candidate {c} runs in shadow\n"),
            None => format!("{name}: no candidate\n"),
        };
        for d in &page.disagreements {
            out.push_str(&format!(
                "\n{} serving {} vs candidate {}: {} only serving, {} only candidate\n{}",
                d.at, d.serving, d.candidate, d.only_serving, d.only_candidate, d.text
            ));
        }
        for e in &page.events {
            out.push_str(&format!("\n{} {}: {}\n", e.at, e.kind, e.detail));
        }
        return Ok(out);
    };
    let reg = data.registry()?;
    let id = if Path::new(version).is_file() {
        let bytes = std::fs::read(version)?;
        reg.add(&bytes, version)?.id.clone()
    } else {
        reg.resolve(version)?
    };
    let v = reg.handle(&id)?.version;
    if v.name() != name || v.kind() != runtime::Kind::Gopherbot {
        anyhow::bail!(
            "{version} is {} plugin {:?}, not the bot {name:?}",
            v.kind(),
            v.name()
        );
    }
    store.set_candidate(name, &id)?;
    Ok(format!(
        "{name}: {} ({id}) runs in shadow beside the serving version; `xb plugin shadow {name}` shows where they disagree, `xb plugin promote {name}` swaps it in\n",
        v.description.version
    ))
}

/// `xb plugin promote NAME`: the candidate serves, atomically.
pub fn promote_cmd(data: &DataDir, name: &str) -> Result<String> {
    let store = ShadowStore::open(&store_path(data.path()))?;
    let reg = data.registry()?;
    let id = bot::shadow::promote(&reg, &store, name)?;
    Ok(format!(
        "{name}: serving {id}; `xb plugin rollback {name}` restores the previous version\n"
    ))
}
