//! The rules, in the order the bot runs them. Each is a pure function of the corpus and
//! the clock that returns actions; none acts.

use crate::exports::xbuild::platform::bot::{Action, ActionKind, CloseReason};
use crate::labelcmd;
use crate::query::{self, comments, each_change, each_issue, events, issues_in};
use crate::xbuild::platform::clock;
use crate::xbuild::platform::corpus::{Change, ChangeStatus, Issue, IssueQuery, StateFilter};
use crate::xbuild::platform::types::{IssueRef, Timestamp};

pub struct RuleDef {
    pub name: &'static str,
    pub description: &'static str,
    pub run: fn() -> Result<Vec<Action>, String>,
}

const DAY: i64 = 86_400;

pub const RULES: &[RuleDef] = &[
    RuleDef {
        name: "freeze old issues",
        description: "closed issues untouched for a year are locked and labelled FrozenDueToAge",
        run: freeze_old_issues,
    },
    RuleDef {
        name: "label proposals",
        description: "open \"proposal:\" issues get the Proposal milestone and label, unless a person changed either",
        run: label_proposals,
    },
    RuleDef {
        name: "set subrepo milestones",
        description: "open x/ issues without milestone history get Unreleased (not x/arch or vendored packages)",
        run: set_subrepo_milestones,
    },
    RuleDef {
        name: "set gccgo milestones",
        description: "open issues mentioning gccgo without milestone history get Gccgo",
        run: set_gccgo_milestones,
    },
    RuleDef {
        name: "label build issues",
        description: "open \"x/build\" issues get Builders, unless a label was ever removed",
        run: || label_by_prefix("x/build", "Builders"),
    },
    RuleDef {
        name: "label mobile issues",
        description: "open \"x/mobile\" issues get mobile, unless a label was ever removed",
        run: || label_by_prefix("x/mobile", "mobile"),
    },
    RuleDef {
        name: "label documentation issues",
        description: "open documentation issues get Documentation, unless a label was ever removed",
        run: label_documentation_issues,
    },
    RuleDef {
        name: "close stale WaitingForInfo",
        description: "issues WaitingForInfo for a month without word from their author are closed with a comment",
        run: close_stale_waiting_for_info,
    },
    RuleDef {
        name: "cl2issue",
        description: "changes of the last 30 days comment once on the golang/go issues they mention",
        run: cl2issue,
    },
    RuleDef {
        name: "check cherry picks",
        description: "a stub in Go's bot (golang/go#19776): never acts",
        run: || Ok(vec![]),
    },
    RuleDef {
        name: "update needs",
        description: "an issue with several Needs* labels keeps only the one added last",
        run: update_needs,
    },
    RuleDef {
        name: "congratulate new contributors",
        description: "the first open change of an author gets a welcome message, once",
        run: congratulate_new_contributors,
    },
    RuleDef {
        name: "label access issues",
        description: "open \"access: \" issues get Access, unless a label was ever removed",
        run: || label_by_prefix("access: ", "Access"),
    },
    RuleDef {
        name: "label tools issues",
        description: "open \"x/tools\" issues get Tools, unless a label was ever removed",
        run: || label_by_prefix("x/tools", "Tools"),
    },
    RuleDef {
        name: "label website issues",
        description: "open \"x/website:\" issues get website, unless a label was ever removed",
        run: || label_by_prefix("x/website:", "website"),
    },
    RuleDef {
        name: "label pkgsite issues",
        description: "open \"x/pkgsite:\" issues get pkgsite, unless a label was ever removed",
        run: || label_by_prefix("x/pkgsite:", "pkgsite"),
    },
    RuleDef {
        name: "handle telemetry issues",
        description: "open \"x/telemetry\" issues get telemetry, unless a label was ever removed",
        run: || label_by_prefix("x/telemetry", "telemetry"),
    },
    RuleDef {
        name: "apply labels from comments",
        description: "\"@gopherbot please add/remove label …\" in a comment, unless the label changed since",
        run: apply_labels_from_comments,
    },
    RuleDef {
        name: "close cherry pick issues",
        description: "a backport issue is closed when its change merges to the matching release branch",
        run: close_cherry_pick_issues,
    },
    RuleDef {
        name: "abandon scratch reviews",
        description: "changes in the scratch project open for more than 7 days are abandoned",
        run: abandon_scratch_reviews,
    },
];

fn act(kind: ActionKind, reason: impl Into<String>) -> Action {
    Action {
        kind,
        reason: reason.into(),
    }
}

fn has_label(i: &Issue, label: &str) -> bool {
    i.labels.iter().any(|l| l == label)
}

/// golang/go issues whose title starts with `prefix`, in `state`; pull requests too
/// when `prs` is none.
fn titled(prefix: &str, state: StateFilter) -> IssueQuery {
    IssueQuery {
        title_prefix: Some(prefix.into()),
        ..issues_in(state)
    }
}

fn freeze_old_issues() -> Result<Vec<Action>, String> {
    let too_old = clock::now() - 365 * DAY;
    let mut out = vec![];
    let q = IssueQuery {
        pull_requests: None,
        ..issues_in(StateFilter::Closed)
    };
    each_issue(q, |i| {
        if i.locked || i.updated > too_old {
            return Ok(());
        }
        let why = "closed and not updated for a year";
        out.push(act(ActionKind::Lock(i.id.clone()), why));
        out.push(act(
            ActionKind::AddLabel((i.id, "FrozenDueToAge".into())),
            why,
        ));
        Ok(())
    })?;
    Ok(out)
}

fn label_proposals() -> Result<Vec<Action>, String> {
    let mut out = vec![];
    for prefix in ["proposal:", "Proposal:"] {
        each_issue(titled(prefix, StateFilter::Open), |i| {
            let ev = events(&i.id)?;
            if i.milestone.is_none() && !query::has_milestone_history(&ev) {
                out.push(act(
                    ActionKind::SetMilestone((i.id.clone(), "Proposal".into())),
                    format!("title starts with {prefix:?}, no milestone ever"),
                ));
            }
            if !has_label(&i, "Proposal") && !query::has_event(&ev, "unlabeled") {
                out.push(act(
                    ActionKind::AddLabel((i.id.clone(), "Proposal".into())),
                    format!("title starts with {prefix:?}, no label ever removed"),
                ));
            }
            Ok(())
        })?;
    }
    Ok(out)
}

/// Packages vendored into the standard library: their issues belong to Go's milestones.
const VENDORED: &[&str] = &[
    "x/crypto/chacha20poly1305",
    "x/crypto/curve25519",
    "x/crypto/poly1305",
    "x/net/http2",
    "x/net/idna",
    "x/net/lif",
    "x/net/proxy",
    "x/net/route",
    "x/text/unicode/norm",
    "x/text/width",
];

/// Open issues without a milestone that nobody ever milestoned.
fn unmilestoned(
    q: IssueQuery,
    mut f: impl FnMut(&Issue) -> Option<String>,
    milestone: &str,
) -> Result<Vec<Action>, String> {
    let mut out = vec![];
    each_issue(
        IssueQuery {
            no_milestone: true,
            ..q
        },
        |i| {
            let Some(why) = f(&i) else { return Ok(()) };
            if query::has_milestone_history(&events(&i.id)?) {
                return Ok(());
            }
            out.push(act(
                ActionKind::SetMilestone((i.id, milestone.into())),
                format!("{why}, no milestone ever"),
            ));
            Ok(())
        },
    )?;
    Ok(out)
}

fn set_subrepo_milestones() -> Result<Vec<Action>, String> {
    unmilestoned(
        titled("x/", StateFilter::Open),
        |i| {
            let pkg = i.title.split([':', ' ']).next().unwrap_or_default();
            if pkg.starts_with("x/arch") || VENDORED.contains(&pkg) {
                return None;
            }
            Some(format!("subrepo package {pkg}"))
        },
        "Unreleased",
    )
}

fn set_gccgo_milestones() -> Result<Vec<Action>, String> {
    unmilestoned(
        issues_in(StateFilter::Open),
        |i| {
            i.title
                .contains("gccgo")
                .then(|| "title mentions gccgo".into())
        },
        "Gccgo",
    )
}

/// Open issues (not pull requests) matching `q` and `is`, lacking `label`, never
/// unlabeled (someone disagreed with a bot or a person; no edit war): add the label.
fn label_where(
    q: IssueQuery,
    is: impl Fn(&Issue) -> bool,
    label: &str,
    why: &str,
) -> Result<Vec<Action>, String> {
    let mut out = vec![];
    each_issue(q, |i| {
        if !is(&i) || has_label(&i, label) || query::has_event(&events(&i.id)?, "unlabeled") {
            return Ok(());
        }
        out.push(act(ActionKind::AddLabel((i.id, label.into())), why));
        Ok(())
    })?;
    Ok(out)
}

fn label_by_prefix(prefix: &str, label: &str) -> Result<Vec<Action>, String> {
    label_where(
        titled(prefix, StateFilter::Open),
        |_| true,
        label,
        &format!("title starts with {prefix:?}"),
    )
}

/// Go's `isDocumentationTitle`.
pub fn is_documentation_title(t: &str) -> bool {
    if !t.contains("doc") && !t.contains("Doc") {
        return false;
    }
    let t = t.to_lowercase();
    if t.starts_with("x/pkgsite:") || t.starts_with("cmd/doc:") || t.starts_with("go/doc:") {
        return false;
    }
    if t.starts_with("doc:") || t.starts_with("docs:") {
        return true;
    }
    if t.contains("godoc:") {
        return false;
    }
    t.contains("document") || t.contains("docs ")
}

fn label_documentation_issues() -> Result<Vec<Action>, String> {
    label_where(
        issues_in(StateFilter::Open),
        |i| is_documentation_title(&i.title),
        "Documentation",
        "a documentation title",
    )
}

const TIMED_OUT: &str = "Timed out in state WaitingForInfo. Closing.\n\n(I am just a bot, though. Please speak up if this is a mistake or you have the requested information.)";

fn close_stale_waiting_for_info() -> Result<Vec<Action>, String> {
    let now = clock::now();
    let mut out = vec![];
    let q = IssueQuery {
        labels: vec!["WaitingForInfo".into()],
        ..issues_in(StateFilter::Open)
    };
    each_issue(q, |i| {
        // The wait starts at the last time the label was added; an unlabel or a
        // reopen ends it.
        let mut wait_start = None;
        for e in events(&i.id)? {
            match (e.kind.as_str(), e.label.as_deref()) {
                ("reopened", _) | ("unlabeled", Some("WaitingForInfo")) => wait_start = None,
                ("labeled", Some("WaitingForInfo")) => wait_start = Some(e.created),
                _ => {}
            }
        }
        let Some(start) = wait_start else {
            return Ok(());
        };
        // A month, as Go's AddDate(0, 1, 0) from most days.
        if now < start + 30 * DAY {
            return Ok(());
        }
        let cs = comments(&i.id)?;
        if cs.iter().any(|c| c.author == i.author && c.created > start) {
            return Ok(());
        }
        let why = format!(
            "WaitingForInfo for {} days, no word from its author",
            (now - start) / DAY
        );
        if !cs.iter().any(|c| c.body.contains(TIMED_OUT)) {
            out.push(act(
                ActionKind::Comment((i.id.clone(), TIMED_OUT.into())),
                why.clone(),
            ));
        }
        out.push(act(ActionKind::Close((i.id, CloseReason::NotPlanned)), why));
        Ok(())
    })?;
    Ok(out)
}

/// When a change last changed: its newest message, or its creation (Go reads the time
/// of the last NoteDB meta commit).
fn last_activity(c: &Change) -> Result<Timestamp, String> {
    Ok(query::messages(c)?
        .iter()
        .map(|m| m.created)
        .fold(c.created, i64::max))
}

fn issue_ref(s: &str) -> Option<IssueRef> {
    let (repo, n) = s.split_once('#')?;
    Some(IssueRef {
        repo: repo.into(),
        number: n.parse().ok()?,
    })
}

fn cl2issue() -> Result<Vec<Action>, String> {
    let since = clock::now() - 30 * DAY;
    let mut out = vec![];
    each_change(ChangeStatus::Any, |c| {
        let refs: Vec<IssueRef> = c
            .issue_refs
            .iter()
            .filter_map(|r| issue_ref(r))
            .filter(|r| r.repo == query::GO_REPO)
            .collect();
        if refs.is_empty() || last_activity(&c)? < since {
            return Ok(());
        }
        for r in refs {
            let Ok(issue) = crate::xbuild::platform::corpus::find_issue(&r) else {
                continue; // an issue that does not exist
            };
            if has_label(&issue, "FrozenDueToAge") {
                continue;
            }
            let said = format!("{} mentions this issue", c.id.number);
            if comments(&r)?.iter().any(|m| m.body.contains(&said)) {
                continue;
            }
            let msg = format!(
                "Change https://go.dev/cl/{} mentions this issue: `{}`",
                c.id.number, c.subject
            );
            out.push(act(
                ActionKind::Comment((r, msg)),
                format!("change {} of {} mentions it", c.id.number, c.id.project),
            ));
        }
        Ok(())
    })?;
    Ok(out)
}

const NEEDS: &[&str] = &["NeedsDecision", "NeedsFix", "NeedsInvestigation"];

/// "NeedsFix", "needs-fix" and "Needs Fix" are one label to this rule.
fn canonical_needs(label: &str) -> Option<String> {
    if !label.starts_with("Needs") && !label.starts_with("needs-") {
        return None;
    }
    Some(label.to_lowercase().replace(['-', ' '], ""))
}

fn update_needs() -> Result<Vec<Action>, String> {
    let mut out = vec![];
    each_issue(issues_in(StateFilter::Open), |i| {
        if i.labels
            .iter()
            .filter(|l| NEEDS.contains(&l.as_str()))
            .count()
            <= 1
        {
            return Ok(());
        }
        // Replay the label events: the needs-label added last stays.
        let mut order: Vec<String> = vec![];
        for e in events(&i.id)? {
            let Some(name) = e.label.as_deref().and_then(canonical_needs) else {
                continue;
            };
            order.retain(|n| *n != name);
            if e.kind == "labeled" {
                order.push(name);
            }
        }
        let Some(latest) = order.last() else {
            return Ok(());
        };
        for l in &i.labels {
            if canonical_needs(l).is_some_and(|c| c != *latest) {
                out.push(act(
                    ActionKind::RemoveLabel((i.id.clone(), l.clone())),
                    format!("{latest} was added after it"),
                ));
            }
        }
        Ok(())
    })?;
    Ok(out)
}

/// Go's congratsEpoch: 2017-06-17, when the bot started welcoming contributors.
const CONGRATS_EPOCH: Timestamp = 1_497_657_600;
const CONGRATS: &str = "Congratulations on opening your first change. Thank you for your contribution!\n\nNext steps:\nWithin the next week or so, a maintainer will review your change and provide\nfeedback. See https://go.dev/doc/contribute#review for more info and tips to get\nyour patch through code review.\n\nMost changes in the Go project go through a few rounds of revision. This can be\nsurprising to people new to the project. The careful, iterative review process\nis our way of helping mentor contributors and ensuring that their contributions\nhave a lasting impact.\n\nDuring May-July and Nov-Jan the Go project is in a code freeze, a time when we\nmerge only fixes for regressions, security issues and documentation changes.\nOther changes are held until the freeze ends.";
/// Earlier wordings of the welcome: any of them on a change means it was welcomed.
const OLD_CONGRATS: &[&str] = &[
    "Congratulations on opening your first change.",
    "It's your first ever CL!",
];

fn congratulate_new_contributors() -> Result<Vec<Action>, String> {
    let mut by_owner: std::collections::BTreeMap<i64, Vec<Change>> = Default::default();
    each_change(ChangeStatus::Any, |c| {
        if let Some(o) = c.owner {
            by_owner.entry(o).or_default().push(c);
        }
        Ok(())
    })?;
    let mut out = vec![];
    for (owner, changes) in by_owner {
        let [c] = changes.as_slice() else { continue };
        if c.created < CONGRATS_EPOCH || c.status == ChangeStatus::Merged {
            continue;
        }
        let welcomed = query::messages(c)?
            .iter()
            .any(|m| OLD_CONGRATS.iter().any(|p| m.body.contains(p)));
        if welcomed {
            continue;
        }
        out.push(act(
            ActionKind::GerritMessage((c.id.clone(), CONGRATS.into())),
            format!("the only change of account {owner}"),
        ));
    }
    Ok(out)
}

/// Labels of golang/go by lowercase name, as issues carry them.
fn known_labels() -> Result<std::collections::BTreeMap<String, String>, String> {
    let mut labels = std::collections::BTreeMap::new();
    let q = IssueQuery {
        pull_requests: None,
        ..issues_in(StateFilter::Any)
    };
    each_issue(q, |i| {
        for l in i.labels {
            labels.insert(l.to_lowercase(), l);
        }
        Ok(())
    })?;
    Ok(labels)
}

fn apply_labels_from_comments() -> Result<Vec<Action>, String> {
    let known = known_labels()?;
    let mut out = vec![];
    each_issue(issues_in(StateFilter::Open), |i| {
        let cs = comments(&i.id)?;
        if !cs.iter().any(|c| c.body.contains("@gopherbot")) {
            return Ok(());
        }
        let ev = events(&i.id)?;
        let mut cmds = vec![];
        for c in cs.iter().filter(|c| c.author != "gopherbot") {
            for cmd in labelcmd::parse(&c.body) {
                // A person changed the label after the command: theirs is the last word.
                let changed_since = ev.iter().any(|e| {
                    e.created > c.created
                        && e.label
                            .as_deref()
                            .is_some_and(|l| l.eq_ignore_ascii_case(&cmd.label))
                });
                if !changed_since {
                    cmds.push(cmd);
                }
            }
        }
        for m in labelcmd::mutations(&cmds) {
            let Some(label) = known.get(&m.label) else {
                continue; // not a label of the repo
            };
            let has = has_label(&i, label);
            let kind = match (m.add, has) {
                (true, false) => ActionKind::AddLabel((i.id.clone(), label.clone())),
                (false, true) => ActionKind::RemoveLabel((i.id.clone(), label.clone())),
                _ => continue,
            };
            out.push(act(kind, "asked in a comment"));
        }
        Ok(())
    })?;
    Ok(out)
}

/// "release-branch.go1.22" → "Go1.22".
fn release_milestone_prefix(branch: &str) -> Option<String> {
    let v = branch.strip_prefix("release-branch.go")?;
    Some(format!("Go{v}"))
}

fn close_cherry_pick_issues() -> Result<Vec<Action>, String> {
    let since = clock::now() - 30 * DAY;
    let mut out = vec![];
    each_change(ChangeStatus::Merged, |c| {
        let Some(prefix) = release_milestone_prefix(&c.branch) else {
            return Ok(());
        };
        let merged = last_activity(&c)?;
        if merged < since {
            return Ok(());
        }
        for r in c.issue_refs.iter().filter_map(|r| issue_ref(r)) {
            if r.repo != query::GO_REPO {
                continue;
            }
            let Ok(i) = crate::xbuild::platform::corpus::find_issue(&r) else {
                continue;
            };
            let on_branch = i
                .milestone
                .as_deref()
                .is_some_and(|m| m == prefix || m.starts_with(&format!("{prefix}.")));
            if i.closed || !on_branch {
                continue;
            }
            if events(&r)?
                .iter()
                .any(|e| e.kind == "reopened" && e.created > merged)
            {
                continue; // reopened after the merge: a person wants it open
            }
            let commit = c.current_commit.clone().unwrap_or_default();
            let msg = format!(
                "Closed by merging [CL {n}](https://go.dev/cl/{n}) (commit {commit}) to `{}`.",
                c.branch,
                n = c.id.number
            );
            let why = format!("change {} merged to {}", c.id.number, c.branch);
            if !comments(&r)?.iter().any(|m| m.body.contains(&msg)) {
                out.push(act(ActionKind::Comment((r.clone(), msg)), why.clone()));
            }
            out.push(act(ActionKind::Close((r, CloseReason::Completed)), why));
        }
        Ok(())
    })?;
    Ok(out)
}

fn abandon_scratch_reviews() -> Result<Vec<Action>, String> {
    let too_old = clock::now() - 7 * DAY;
    let mut out = vec![];
    each_change(ChangeStatus::New, |c| {
        if c.id.project.ends_with("/scratch") && c.created < too_old {
            out.push(act(
                ActionKind::Abandon((c.id, "Auto-abandoning old scratch review.".into())),
                "a scratch review open for more than 7 days",
            ));
        }
        Ok(())
    })?;
    Ok(out)
}
