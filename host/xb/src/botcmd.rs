//! `xb plugin test` and `xb plugin diff`: a bot plugin replayed over a recorded corpus
//! with the clock fixed, its decisions as stable JSON, and the decisions two versions
//! do not share.

use crate::data::DataDir;
use anyhow::{bail, Context, Result};
use bot::pass::{self, Decision, Pass, PassOptions};
use bot::replay::{self, Timed};
use runtime::{CorpusQueries, Handle, Registry, Runtime, RuntimeConfig};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What `xb plugin test` and `diff` are given.
#[derive(Debug, Clone, clap::Args)]
pub struct ReplayArgs {
    /// The recorded corpus: a `.mutlog` segment or a directory of them.
    #[arg(long, default_value = crate::RECORDED_CORPUS)]
    pub corpus: PathBuf,
    /// The corpus as it stood at this time (2026-08-01T00:00:00Z, a date or Unix
    /// seconds), which is also the bot's "now" [default: the corpus's latest time].
    #[arg(long)]
    pub at: Option<String>,
    /// Fuel each rule may burn; a rule that runs out is reported, the others run.
    #[arg(long)]
    pub fuel: Option<u64>,
    /// Actions kept from one rule in one pass; the rest are reported, none carried out.
    #[arg(long, default_value_t = pass::DEFAULT_ACTION_CAP)]
    pub cap: usize,
}

/// What a command prints and the exit status it asks for.
pub struct Outcome {
    pub text: String,
    pub code: i32,
}

/// A bot version to replay: a component file, or a name or version id in the data
/// directory. Each gets a runtime of its own, so two versions can read two corpora.
pub fn bot_handle(data: &DataDir, what: &str) -> Result<Handle> {
    if Path::new(what).is_file() {
        let rt = Arc::new(Runtime::new(RuntimeConfig::default())?);
        let alone = Registry::in_memory(rt.clone());
        let bytes = std::fs::read(what).with_context(|| format!("reading {what}"))?;
        return Ok(Handle {
            version: alone.add(&bytes, what)?,
            rt,
        });
    }
    let reg = data.registry_read_only()?;
    if let Ok(h) = reg.serving(what) {
        return Ok(h);
    }
    let id = reg
        .resolve(what)
        .with_context(|| format!("{what:?} is not a component file, a plugin name or a version"))?;
    Ok(reg.handle(&id)?)
}

fn options(args: &ReplayArgs, log: &[Timed]) -> Result<PassOptions> {
    let at = match &args.at {
        Some(t) => replay::parse_time(t).map_err(anyhow::Error::msg)?,
        None => replay::last_time(log),
    };
    let mut o = PassOptions::at(at);
    if let Some(f) = args.fuel {
        o.fuel_budget = f;
    }
    o.action_cap = args.cap;
    Ok(o)
}

fn pass_at(bot: &Handle, log: &[Timed], opts: &PassOptions) -> Result<Pass> {
    let view = bot::attach(&bot.rt, replay::corpus_at(log, opts.at));
    Ok(pass::run(bot, view.as_ref() as &dyn CorpusQueries, opts)?)
}

fn json<T: Serialize>(v: &T) -> Result<String> {
    Ok(serde_json::to_string_pretty(v)? + "\n")
}

/// One step of `--step`: what changed after applying mutations up to `mutation`.
#[derive(Serialize)]
struct Step {
    mutation: usize,
    at: String,
    added: Vec<(String, Decision)>,
    dropped: Vec<(String, Decision)>,
}

/// `xb plugin test`: the decisions of one pass as JSON; with `golden`, compared with
/// a golden file (fuel left out: it changes with every rebuild of the plugin).
pub fn test(
    data: &DataDir,
    plugin: &str,
    args: &ReplayArgs,
    step: Option<usize>,
    golden: Option<&Path>,
) -> Result<Outcome> {
    let log = replay::read_log(&args.corpus)?;
    let bot = bot_handle(data, plugin)?;
    let opts = options(args, &log)?;
    if let Some(every) = step {
        return steps(&bot, &log, &opts, every.max(1));
    }
    let p = pass_at(&bot, &log, &opts)?;
    let Some(golden) = golden else {
        return Ok(Outcome {
            text: json(&p)?,
            code: 0,
        });
    };
    let got = json(&p.without_fuel())?;
    let want = std::fs::read_to_string(golden)
        .with_context(|| format!("reading golden file {}", golden.display()))?;
    if got == want {
        return Ok(Outcome {
            text: format!("{}: same decisions as {}\n", p.plugin, golden.display()),
            code: 0,
        });
    }
    let old: Pass = serde_json::from_str(&want)
        .with_context(|| format!("{} is not a pass's JSON", golden.display()))?;
    let d = bot::diff::diff(&old, &p, |_| true);
    Ok(Outcome {
        text: format!(
            "decisions differ from {} (old: the golden file, new: this run)\n{}",
            golden.display(),
            bot::diff::render(&d, &old, &p)
        ),
        code: 1,
    })
}

/// `--step N`: the corpus grows in time order, N mutations at a time; after each step
/// the bot runs with the clock at the last mutation's time, and the decisions that
/// appeared or went away are printed, one JSON object per line.
fn steps(bot: &Handle, log: &[Timed], opts: &PassOptions, every: usize) -> Result<Outcome> {
    let order = replay::in_time_order(log);
    let corpus = Arc::new(std::sync::RwLock::new(maintner::Corpus::default()));
    let view = bot::attach_shared(&bot.rt, corpus.clone());
    let mut before: Vec<(String, Decision)> = vec![];
    let mut text = String::new();
    for (i, chunk) in order.chunks(every).enumerate() {
        {
            let mut c = corpus
                .write()
                .map_err(|_| anyhow::anyhow!("corpus lock poisoned"))?;
            for t in chunk {
                c.apply(&t.mutation);
            }
        }
        let at = chunk.last().map_or(0, |t| t.at);
        if at > opts.at {
            break;
        }
        let p = pass::run(bot, view.as_ref(), &PassOptions { at, ..opts.clone() })?;
        let now: Vec<(String, Decision)> = p
            .decisions()
            .map(|(r, d)| (r.to_string(), d.clone()))
            .collect();
        let step = Step {
            mutation: (i * every + chunk.len()),
            at: replay::rfc3339(at),
            added: now
                .iter()
                .filter(|d| !before.contains(d))
                .cloned()
                .collect(),
            dropped: before
                .iter()
                .filter(|d| !now.contains(d))
                .cloned()
                .collect(),
        };
        if !step.added.is_empty() || !step.dropped.is_empty() {
            text.push_str(&serde_json::to_string(&step)?);
            text.push('\n');
        }
        before = now;
    }
    Ok(Outcome { text, code: 0 })
}

/// `xb plugin diff OLD NEW`: decisions only one version takes (of one rule, with
/// `rule`); exit status 1 when they differ, 0 when not.
pub fn diff(
    data: &DataDir,
    old: &str,
    new: &str,
    args: &ReplayArgs,
    since: Option<&str>,
    rule: Option<&str>,
) -> Result<Outcome> {
    let log = replay::read_log(&args.corpus)?;
    let (a, b) = (bot_handle(data, old)?, bot_handle(data, new)?);
    for h in [&a, &b] {
        if h.version.kind() != runtime::Kind::Gopherbot {
            bail!(
                "cannot diff {} ({} plugin): only bot (gopherbot) plugins make decisions to compare",
                h.version.name(),
                h.version.kind()
            );
        }
    }
    let opts = options(args, &log)?;
    let corpus = Arc::new(std::sync::RwLock::new(replay::corpus_at(&log, opts.at)));
    let view = bot::attach_shared(&a.rt, corpus.clone());
    bot::attach_shared(&b.rt, corpus);
    let mut pa = pass::run(&a, view.as_ref(), &opts)?;
    let mut pb = pass::run(&b, view.as_ref(), &opts)?;
    if let Some(rule) = rule {
        pa.rules.retain(|r| r.rule == rule);
        pb.rules.retain(|r| r.rule == rule);
        if pa.rules.is_empty() && pb.rules.is_empty() {
            bail!(
                "neither {} nor {} has a rule {rule:?}",
                a.version.name(),
                b.version.name()
            );
        }
    }
    let since = since
        .map(|s| replay::parse_time(s).map_err(anyhow::Error::msg))
        .transpose()?;
    let touched_since = |d: &Decision| match since {
        None => true,
        Some(t) => updated(view.as_ref(), d).is_none_or(|u| u >= t),
    };
    let d = bot::diff::diff(&pa, &pb, touched_since);
    Ok(Outcome {
        text: bot::diff::render(&d, &pa, &pb),
        code: i32::from(!d.is_empty()),
    })
}

/// When a decision's issue or change last changed, if the corpus knows it.
fn updated(corpus: &dyn CorpusQueries, d: &Decision) -> Option<i64> {
    if let Some(id) = pass::parse_change_target(&d.target) {
        return corpus.change(&id).ok().map(|c| c.created);
    }
    let id = pass::parse_issue_target(&d.target)?;
    corpus.issue(&id).ok().map(|i| i.updated)
}
