//! `gopherbot`: the bot's rules as a plugin. Each rule reads the corpus through the
//! host's indexed queries and returns the actions it would take; the host decides
//! whether to carry them out (dry-run or live) and journals them.
//!
//! This first version has HEAD gopherbot's title-prefix labelling tasks (the tasks of
//! Go's `cmd/gopherbot/gopherbot.go` named in `PREFIX_LABELS`). Like the Go code, a
//! rule leaves an issue alone when it already has the label or when any label was ever
//! removed from it (someone disagreed with a bot or a human; no edit war), and it skips
//! pull requests.

wit_bindgen::generate!({
    path: "../../wit",
    world: "gopherbot",
});

use exports::xbuild::platform::bot::{Action, ActionKind, Guest as Bot, Rule};
use exports::xbuild::platform::plugin::Guest as Plugin;
use xbuild::platform::corpus::{self, IssueQuery, StateFilter};
use xbuild::platform::types::{Description, IssueRef, PluginKind};

const GO_REPO: &str = "golang/go";

/// (task name, title prefix, label), in gopherbot's order.
const PREFIX_LABELS: &[(&str, &str, &str)] = &[
    ("label access issues", "access: ", "Access"),
    ("label tools issues", "x/tools", "Tools"),
    ("label website issues", "x/website:", "website"),
    ("label pkgsite issues", "x/pkgsite:", "pkgsite"),
    ("handle telemetry issues", "x/telemetry", "telemetry"),
];

struct Gopherbot;

impl Plugin for Gopherbot {
    fn describe() -> Description {
        Description {
            name: "gopherbot".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            kind: PluginKind::Gopherbot,
            summary: format!(
                "{} labelling rules of gopherbot over golang/go",
                PREFIX_LABELS.len()
            ),
        }
    }
}

impl Bot for Gopherbot {
    fn rules() -> Vec<Rule> {
        PREFIX_LABELS
            .iter()
            .map(|(name, prefix, label)| Rule {
                name: name.to_string(),
                description: format!("open issues titled {prefix:?}… get the {label:?} label"),
                explicit_only: false,
            })
            .collect()
    }

    fn run(rule: String) -> Result<Vec<Action>, String> {
        let (_, prefix, label) = PREFIX_LABELS
            .iter()
            .find(|(name, _, _)| *name == rule)
            .ok_or_else(|| format!("unknown rule {rule:?}"))?;
        label_by_prefix(prefix, label)
    }
}

/// Open issues (not pull requests) whose title starts with `prefix`, lacking `label`,
/// never unlabeled: add the label.
fn label_by_prefix(prefix: &str, label: &str) -> Result<Vec<Action>, String> {
    let mut actions = vec![];
    let mut cursor = None;
    loop {
        let page = corpus::issues(&IssueQuery {
            repo: GO_REPO.into(),
            state: StateFilter::Open,
            labels: vec![],
            milestone: None,
            no_milestone: false,
            title_prefix: Some(prefix.into()),
            updated_since: None,
            pull_requests: Some(false),
            limit: 0,
            cursor,
        })?;
        for issue in page.items {
            if issue.labels.iter().any(|l| l == label) || ever_unlabeled(&issue.id)? {
                continue;
            }
            actions.push(Action {
                kind: ActionKind::AddLabel((issue.id.clone(), label.to_string())),
                reason: format!("title starts with {prefix:?}"),
            });
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(actions),
        }
    }
}

fn ever_unlabeled(id: &IssueRef) -> Result<bool, String> {
    let mut cursor = None;
    loop {
        let page = corpus::issue_events(id, 0, cursor.as_deref())?;
        if page.items.iter().any(|e| e.kind == "unlabeled") {
            return Ok(true);
        }
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(false),
        }
    }
}

export!(Gopherbot);
