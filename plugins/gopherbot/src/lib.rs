//! `gopherbot`: the bot's rules as a plugin. Each rule reads the corpus through the
//! host's indexed queries and returns the actions it would take, each with its reason;
//! the host decides whether to carry them out (dry-run or live) and journals them.
//!
//! The rules are the twelve tasks of Go's 2017 `cmd/gopherbot/gopherbot.go`, in its
//! order, with their guards against undoing what a person did (a label a person
//! removed is never re-added, a milestone a person changed is left alone, a comment is
//! never posted twice), then tasks of the newer bot: title-prefix labels, `@gopherbot`
//! label commands, closing backport issues when their change merges, and abandoning
//! old scratch reviews. "Now" is the host's clock, fixed when a corpus is replayed.

wit_bindgen::generate!({
    path: "../../wit",
    world: "gopherbot",
});

mod labelcmd;
mod query;
mod rules;

use exports::xbuild::platform::bot::{Action, Guest as Bot, Rule};
use exports::xbuild::platform::plugin::Guest as Plugin;
use xbuild::platform::types::{Description, PluginKind};

struct Gopherbot;

impl Plugin for Gopherbot {
    fn describe() -> Description {
        Description {
            name: "gopherbot".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            kind: PluginKind::Gopherbot,
            summary: format!(
                "{} rules of gopherbot over golang/go and go.googlesource.com",
                rules::RULES.len()
            ),
        }
    }
}

impl Bot for Gopherbot {
    fn rules() -> Vec<Rule> {
        rules::RULES
            .iter()
            .map(|r| Rule {
                name: r.name.to_string(),
                description: r.description.to_string(),
                explicit_only: false,
            })
            .collect()
    }

    fn run(rule: String) -> Result<Vec<Action>, String> {
        let r = rules::RULES
            .iter()
            .find(|r| r.name == rule)
            .ok_or_else(|| format!("unknown rule {rule:?}"))?;
        (r.run)()
    }
}

export!(Gopherbot);
