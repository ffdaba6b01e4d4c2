//! `@gopherbot` label commands in issue comments (Go's `labelCommandsFromBody` and
//! `mutationsFromCommands` in cmd/gopherbot):
//!
//! ```text
//! @gopherbot[,] [please] [add|remove|unlabel] [label|labels] a, b; c [and remove d]
//! ```
//!
//! Labels are lowercased here; the rule matches them against the repo's labels.

/// One command: add (or remove) a label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub add: bool,
    pub label: String,
}

/// The commands in a comment body, in order.
pub fn parse(body: &str) -> Vec<Command> {
    let mut out = vec![];
    for line in body.lines() {
        let line = line.trim();
        let Some(rest) = strip_word(line, "@gopherbot") else {
            continue;
        };
        let rest = rest.trim_start_matches([',', ' ', '\t']);
        let rest = strip_word(rest, "please").unwrap_or(rest);
        for part in rest.split(" and ") {
            parse_part(part.trim(), &mut out);
        }
    }
    out
}

fn parse_part(part: &str, out: &mut Vec<Command>) {
    let (add, rest) = if let Some(r) = strip_word(part, "add") {
        (true, r)
    } else if let Some(r) = strip_word(part, "remove").or_else(|| strip_word(part, "unlabel")) {
        (false, r)
    } else {
        (true, part)
    };
    let rest = strip_word(rest, "labels")
        .or_else(|| strip_word(rest, "label"))
        .unwrap_or(rest);
    for label in rest.split([',', ';']) {
        let label = label
            .trim_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation() && c != '-')
            .to_lowercase();
        if !label.is_empty() {
            out.push(Command { add, label });
        }
    }
}

/// `s` without a leading `word` (case-insensitive) followed by a space or the end.
fn strip_word<'a>(s: &'a str, word: &str) -> Option<&'a str> {
    let head = s.get(..word.len())?;
    if !head.eq_ignore_ascii_case(word) {
        return None;
    }
    let rest = &s[word.len()..];
    match rest.chars().next() {
        None => Some(rest),
        Some(c) if c.is_whitespace() || c == ',' => Some(rest.trim_start()),
        _ => None,
    }
}

/// Labels a command may not touch: the security label stays, and cherry-pick, CLA
/// and proposal-review labels are the release and proposal processes' to set.
pub fn forbidden(c: &Command) -> bool {
    let l = c.label.as_str();
    (!c.add && l == "security")
        || l.starts_with("cherrypick")
        || l.starts_with("cla:")
        || l.starts_with("proposal-")
}

/// The net effect of commands in order: an add and a remove of the same label cancel
/// out, repeats count once, forbidden ones are dropped. Sorted by label.
pub fn mutations(cmds: &[Command]) -> Vec<Command> {
    let mut net: std::collections::BTreeMap<&str, (bool, bool)> = Default::default();
    for c in cmds.iter().filter(|c| !forbidden(c)) {
        let e = net.entry(&c.label).or_default();
        if c.add {
            e.0 = true;
        } else {
            e.1 = true;
        }
    }
    net.into_iter()
        .filter(|(_, (add, remove))| add != remove)
        .map(|(label, (add, _))| Command {
            add,
            label: label.to_string(),
        })
        .collect()
}
