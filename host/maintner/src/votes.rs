//! Votes per patch set, and what happens to them when a new patch set is uploaded.
//!
//! NoteDB records each vote as a `Label:` footer on the meta commit of the patch set it
//! applies to; the voter is the meta commit's author unless the line names someone else
//! (a vote cast or removed on their behalf). `-Label` (or `Label=0`) removes the vote.
//!
//! When a new patch set is uploaded, Gerrit copies some of the previous patch set's votes
//! according to each label's configuration on the server (`copyAllScoresIfNoChange`,
//! `copyMinScore`, …). That configuration is not in the log, so the rule is explicit here
//! and configurable per label ([`VoteConfig`]).
//!
//! The default ([`VoteConfig::default`]) is what Go's maintner did (`LabelVotes` in
//! maintner/gerrit.go, commit 8a70402e): `Run-TryBot` and `TryBot-Result` are **cleared on
//! a new patch set unless its diff stat equals the previous patch set's** (Gerrit's
//! `copyAllScoresIfNoChange`, which keeps a trybot result across a trivial rebase or a
//! commit-message edit); every other label is carried over. Use [`CopyRule::Never`] to
//! clear a label on every upload (Gerrit's behaviour for a label with no copy setting).

use std::collections::HashMap;

/// What happens to a label's votes when a new patch set is uploaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CopyRule {
    /// Cleared on every new patch set.
    Never,
    /// Copied to every new patch set.
    Always,
    /// Copied when the new patch set changes the same files by the same line counts as the
    /// previous one (`copyAllScoresIfNoChange`); cleared otherwise, or when either patch
    /// set's commit is not in the corpus.
    IfNoChange,
}

/// The per-label copy rules.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VoteConfig {
    pub labels: HashMap<String, CopyRule>,
    /// For labels not listed.
    pub default_rule: CopyRule,
}

impl Default for VoteConfig {
    fn default() -> Self {
        VoteConfig {
            labels: [
                (RUN_TRYBOT.to_owned(), CopyRule::IfNoChange),
                (TRYBOT_RESULT.to_owned(), CopyRule::IfNoChange),
            ]
            .into(),
            default_rule: CopyRule::Always,
        }
    }
}

impl VoteConfig {
    pub fn rule(&self, label: &str) -> CopyRule {
        self.labels.get(label).copied().unwrap_or(self.default_rule)
    }

    /// Sets the rule for one label (builder style).
    pub fn with(mut self, label: &str, rule: CopyRule) -> Self {
        self.labels.insert(label.to_owned(), rule);
        self
    }

    /// Would a vote on `label` survive a new patch set (`same_diff`: its diff stat equals
    /// the previous one's)?
    pub fn copies(&self, label: &str, same_diff: bool) -> bool {
        match self.rule(label) {
            CopyRule::Never => false,
            CopyRule::Always => true,
            CopyRule::IfNoChange => same_diff,
        }
    }
}

pub const RUN_TRYBOT: &str = "Run-TryBot";
pub const TRYBOT_RESULT: &str = "TryBot-Result";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rules_follow_go() {
        let c = VoteConfig::default();
        assert!(!c.copies(RUN_TRYBOT, false));
        assert!(c.copies(RUN_TRYBOT, true));
        assert!(!c.copies(TRYBOT_RESULT, false));
        assert!(c.copies("Code-Review", false));
        let strict = c.with(RUN_TRYBOT, CopyRule::Never);
        assert!(!strict.copies(RUN_TRYBOT, true));
    }
}
