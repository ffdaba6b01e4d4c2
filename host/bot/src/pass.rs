//! One bot pass: every rule of a bot version run over a corpus with the clock fixed,
//! fuel metered, and what each rule returns checked before anything may act on it.

use crate::pin::{Pinned, MAX_SKIPPED};
use runtime::{
    Action, ActionKind, CallOptions, ChangeRef, Clock, CloseReason, CorpusQueries, Handle,
    HostData, IssueRef, Plugin,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

/// GitHub refuses issue comments longer than this many characters.
pub const GITHUB_COMMENT_MAX: usize = 65_536;
/// GitHub refuses label names longer than this.
pub const GITHUB_LABEL_MAX: usize = 50;
/// Gerrit's default `change.commentSizeLimit` (16 KiB).
pub const GERRIT_MESSAGE_MAX: usize = 16 << 10;
/// Actions kept from one rule in one pass; the rest are reported, never carried out.
pub const DEFAULT_ACTION_CAP: usize = 1_000;

/// How a pass runs.
#[derive(Debug, Clone)]
pub struct PassOptions {
    /// The bot's "now" (Unix seconds).
    pub at: i64,
    /// Fuel each rule may burn; a rule that runs out is reported and the others run.
    pub fuel_budget: u64,
    pub action_cap: usize,
    pub deadline: Duration,
}

impl PassOptions {
    pub fn at(at: i64) -> Self {
        PassOptions {
            at,
            fuel_budget: 50_000_000_000,
            action_cap: DEFAULT_ACTION_CAP,
            deadline: Duration::from_secs(120),
        }
    }
}

/// An action a rule decided on, as JSON shows it and the executor reads it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Decision {
    /// `add-label`, `comment`, `close`, `gerrit-message`, …
    pub action: String,
    /// `golang/go#123`, a change as `go.googlesource.com/build/+/791861`, or a repo.
    pub target: String,
    /// The label, milestone, comment body, close reason, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub reason: String,
}

/// An action refused before it could act, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refused {
    pub decision: Decision,
    pub why: String,
}

/// What one rule did in a pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleRun {
    pub rule: String,
    pub actions: Vec<Decision>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<Refused>,
    /// How many actions the rule returned when that was over the cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capped_from: Option<usize>,
    /// The rule's error or the plugin's fault; the other rules still ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The plugin faulted (trapped, ran out of fuel or time), rather than the rule
    /// reporting an error of its own.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub faulted: bool,
    /// Subjects the rule trapped on, each left out of a run again: the rule's other
    /// decisions stand.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
    /// Fuel the rule burned (deterministic for the same component and corpus).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
}

/// An issue or change a rule trapped on, and the fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub subject: String,
    pub error: String,
}

/// A whole pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pass {
    pub plugin: String,
    pub version: String,
    pub at: String,
    pub rules: Vec<RuleRun>,
}

impl Pass {
    /// Every kept decision with its rule, in pass order.
    pub fn decisions(&self) -> impl Iterator<Item = (&str, &Decision)> {
        self.rules
            .iter()
            .flat_map(|r| r.actions.iter().map(move |d| (r.rule.as_str(), d)))
    }

    pub fn fuel(&self) -> u64 {
        self.rules.iter().filter_map(|r| r.fuel).sum()
    }

    /// The pass without its fuel figures: what golden files hold, since fuel changes
    /// with every rebuild of the plugin while decisions do not.
    pub fn without_fuel(&self) -> Pass {
        let mut p = self.clone();
        for r in &mut p.rules {
            r.fuel = None;
        }
        p
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error("{0} is a {1} plugin, not a bot (gopherbot) plugin")]
    NotABot(String, runtime::Kind),
    #[error(transparent)]
    Runtime(#[from] runtime::Error),
}

/// Runs every rule of `bot` over `corpus` (which the runtime's host data must serve:
/// see [`crate::attach`]).
pub fn run(
    bot: &Handle,
    corpus: &dyn CorpusQueries,
    opts: &PassOptions,
) -> Result<Pass, PassError> {
    let v = &bot.version;
    if v.kind() != runtime::Kind::Gopherbot {
        return Err(PassError::NotABot(v.name().to_string(), v.kind()));
    }
    let call = CallOptions {
        deadline: opts.deadline,
        fuel: Some(opts.fuel_budget),
        clock: Clock::Fixed(opts.at),
        ..bot.rt.defaults().clone()
    };
    // One instance for the whole pass: instantiating an interpreter's component for
    // every rule would cost more than most rules.
    let mut plugin = bot.plugin().with_options(call.clone()).reusing_instance();
    let mut rules = vec![];
    for rule in plugin.rules()? {
        rules.push(run_rule(&mut plugin, &rule.name, corpus, opts, &call));
    }
    Ok(Pass {
        plugin: v.name().to_string(),
        version: v.description.version.clone(),
        at: crate::replay::rfc3339(opts.at),
        rules,
    })
}

/// Runs one rule. When it traps while deciding on an issue or change, the trap is
/// pinned on that subject and the rule runs again over a corpus that leaves it out,
/// up to [`MAX_SKIPPED`] times; a trap it did not pin fails the whole rule.
fn run_rule(
    plugin: &mut Plugin,
    rule: &str,
    corpus: &dyn CorpusQueries,
    opts: &PassOptions,
    call: &CallOptions,
) -> RuleRun {
    let base = plugin.runtime().host_data();
    let mut skip = BTreeSet::new();
    let mut skipped = vec![];
    loop {
        let view = Arc::new(Pinned::new(base.corpus.clone(), skip.clone()));
        let data = HostData {
            corpus: view.clone(),
            ..base.clone()
        };
        plugin.set_options(CallOptions {
            data: Some(data),
            ..call.clone()
        });
        let fuel = || plugin.last_report().and_then(|r| r.fuel);
        let run = match plugin.run_rule(rule) {
            Ok(Ok(actions)) => RuleRun {
                fuel: fuel(),
                ..checked(rule, actions, corpus, opts.action_cap)
            },
            Ok(Err(e)) => RuleRun {
                fuel: fuel(),
                error: Some(e),
                ..checked(rule, vec![], corpus, 0)
            },
            Err(e) => match view.deciding() {
                Some(s) if skipped.len() < MAX_SKIPPED && skip.insert(s.clone()) => {
                    skipped.push(Skipped {
                        subject: s,
                        error: e.to_string(),
                    });
                    continue;
                }
                _ => RuleRun {
                    error: Some(e.to_string()),
                    faulted: true,
                    ..checked(rule, vec![], corpus, 0)
                },
            },
        };
        return RuleRun { skipped, ..run };
    }
}

/// What a rule returned, checked: the first `cap` actions are looked at, the rest
/// dropped and counted; an action that could not be carried out as it stands (on an
/// issue or change the corpus does not have, a malformed label, a comment over the
/// size GitHub or Gerrit takes) is refused with its reason.
pub fn checked(
    rule: &str,
    actions: Vec<Action>,
    corpus: &dyn CorpusQueries,
    cap: usize,
) -> RuleRun {
    let mut run = RuleRun {
        rule: rule.to_string(),
        actions: vec![],
        refused: vec![],
        capped_from: (actions.len() > cap).then_some(actions.len()),
        error: None,
        faulted: false,
        skipped: vec![],
        fuel: None,
    };
    for a in actions.into_iter().take(cap) {
        let d = decision(&a);
        match check(&a.kind, corpus) {
            Ok(()) => run.actions.push(d),
            Err(why) => run.refused.push(Refused { decision: d, why }),
        }
    }
    run
}

pub fn issue_target(id: &IssueRef) -> String {
    format!("{}#{}", id.repo, id.number)
}

pub fn change_target(id: &ChangeRef) -> String {
    format!("{}/+/{}", id.project, id.number)
}

/// `golang/go#123` back into a reference.
pub fn parse_issue_target(s: &str) -> Option<IssueRef> {
    let (repo, n) = s.rsplit_once('#')?;
    Some(IssueRef {
        repo: repo.into(),
        number: n.parse().ok()?,
    })
}

/// `go.googlesource.com/build/+/791861` back into a reference.
pub fn parse_change_target(s: &str) -> Option<ChangeRef> {
    let (project, n) = s.rsplit_once("/+/")?;
    Some(ChangeRef {
        project: project.into(),
        number: n.parse().ok()?,
    })
}

fn decision(a: &Action) -> Decision {
    use ActionKind as K;
    let issue = |id: &IssueRef, action: &str, value: Option<String>| {
        (action.to_string(), issue_target(id), value)
    };
    let change = |id: &ChangeRef, action: &str, value: Option<String>| {
        (action.to_string(), change_target(id), value)
    };
    let (action, target, value) = match &a.kind {
        K::AddLabel((id, l)) => issue(id, "add-label", Some(l.clone())),
        K::RemoveLabel((id, l)) => issue(id, "remove-label", Some(l.clone())),
        K::SetMilestone((id, m)) => issue(id, "set-milestone", Some(m.clone())),
        K::RemoveMilestone(id) => issue(id, "remove-milestone", None),
        K::Comment((id, body)) => issue(id, "comment", Some(body.clone())),
        K::Close((id, why)) => issue(
            id,
            "close",
            Some(match why {
                CloseReason::Completed => "completed".into(),
                CloseReason::NotPlanned => "not_planned".into(),
            }),
        ),
        K::Lock(id) => issue(id, "lock", None),
        K::CreateIssue(n) => ("create-issue".into(), n.repo.clone(), Some(n.title.clone())),
        K::GerritMessage((id, m)) => change(id, "gerrit-message", Some(m.clone())),
        K::GerritVote((id, label, v)) => change(id, "gerrit-vote", Some(format!("{label}={v:+}"))),
        K::AddHashtag((id, h)) => change(id, "add-hashtag", Some(h.clone())),
        K::RemoveHashtag((id, h)) => change(id, "remove-hashtag", Some(h.clone())),
        K::SetReviewers((id, r, cc)) => change(
            id,
            "set-reviewers",
            Some(format!("reviewers={} cc={}", r.join(","), cc.join(","))),
        ),
        K::Abandon((id, m)) => change(id, "abandon", Some(m.clone())),
        K::Submit(id) => change(id, "submit", None),
    };
    Decision {
        action,
        target,
        value,
        reason: a.reason.clone(),
    }
}

/// Why an action cannot be carried out as it stands, if it cannot.
fn check(kind: &ActionKind, corpus: &dyn CorpusQueries) -> Result<(), String> {
    use ActionKind as K;
    let issue = |id: &IssueRef| {
        corpus
            .issue(id)
            .map(|_| ())
            .map_err(|e| format!("no issue {}: {e}", issue_target(id)))
    };
    let change = |id: &ChangeRef| {
        corpus
            .change(id)
            .map(|_| ())
            .map_err(|e| format!("no change {}: {e}", change_target(id)))
    };
    match kind {
        K::AddLabel((id, l)) | K::RemoveLabel((id, l)) => {
            check_label(l)?;
            issue(id)
        }
        K::SetMilestone((id, m)) => {
            if m.trim().is_empty() {
                return Err("an empty milestone".into());
            }
            issue(id)
        }
        K::Comment((id, body)) => {
            check_text(body, GITHUB_COMMENT_MAX, "comment")?;
            issue(id)
        }
        K::RemoveMilestone(id) | K::Close((id, _)) | K::Lock(id) => issue(id),
        K::CreateIssue(n) => {
            check_text(&n.body, GITHUB_COMMENT_MAX, "issue body")?;
            n.labels.iter().try_for_each(|l| check_label(l))?;
            if n.title.trim().is_empty() {
                return Err("an issue without a title".into());
            }
            Ok(())
        }
        K::GerritMessage((id, m)) | K::Abandon((id, m)) => {
            check_text(m, GERRIT_MESSAGE_MAX, "Gerrit message")?;
            change(id)
        }
        K::AddHashtag((id, h)) | K::RemoveHashtag((id, h)) => {
            if h.trim().is_empty() || h.contains(char::is_whitespace) {
                return Err(format!("malformed hashtag {h:?}"));
            }
            change(id)
        }
        K::GerritVote((id, ..)) | K::SetReviewers((id, ..)) | K::Submit(id) => change(id),
    }
}

fn check_label(l: &str) -> Result<(), String> {
    let chars = l.chars().count();
    if l.trim().is_empty()
        || l.trim() != l
        || chars > GITHUB_LABEL_MAX
        || l.chars().any(char::is_control)
    {
        return Err(format!(
            "malformed label {:?} (GitHub labels are 1 to {GITHUB_LABEL_MAX} printable characters, no surrounding spaces)",
            truncate(l, 60)
        ));
    }
    Ok(())
}

fn check_text(s: &str, max: usize, what: &str) -> Result<(), String> {
    let n = s.chars().count();
    if n > max {
        return Err(format!(
            "{what} of {n} characters is over the limit of {max}"
        ));
    }
    if s.trim().is_empty() {
        return Err(format!("an empty {what}"));
    }
    Ok(())
}

fn truncate(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}
