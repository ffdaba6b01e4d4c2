//! What a bot rule returns is checked before anything may act on it: each bad action
//! is refused with its reason, and a flood of actions is capped and counted.

use bot::pass::{checked, GITHUB_COMMENT_MAX};
use maintner::maintpb::{GithubIssueMutation, GithubUser, Timestamp};
use maintner::{Corpus, Mutation};
use runtime::{Action, ActionKind, IssueRef, MaintnerCorpus};
use std::sync::{Arc, RwLock};

fn corpus() -> MaintnerCorpus {
    let mut c = Corpus::default();
    c.apply(&Mutation {
        github_issue: Some(GithubIssueMutation {
            owner: "golang".into(),
            repo: "go".into(),
            number: 7,
            id: 1007,
            title: "x/build: flaky".into(),
            user: Some(GithubUser {
                id: 1,
                login: "gopher".into(),
            }),
            created: Some(Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
            ..Default::default()
        }),
        ..Default::default()
    });
    MaintnerCorpus(Arc::new(RwLock::new(c)))
}

fn issue(n: u32) -> IssueRef {
    IssueRef {
        repo: "golang/go".into(),
        number: n,
    }
}

fn act(kind: ActionKind) -> Action {
    Action {
        kind,
        reason: "test".into(),
    }
}

#[test]
fn an_action_on_an_issue_that_does_not_exist_is_refused() {
    let run = checked(
        "r",
        vec![
            act(ActionKind::AddLabel((issue(7), "Builders".into()))),
            act(ActionKind::AddLabel((issue(999_999), "Builders".into()))),
        ],
        &corpus(),
        10,
    );
    assert_eq!(run.actions.len(), 1);
    assert_eq!(run.refused.len(), 1);
    assert!(
        run.refused[0].why.contains("no issue golang/go#999999"),
        "{:?}",
        run.refused
    );
}

#[test]
fn malformed_labels_are_refused() {
    let bad = ["", " Builders", "a\nb", &"x".repeat(51)];
    let actions = bad
        .iter()
        .map(|l| act(ActionKind::AddLabel((issue(7), l.to_string()))))
        .collect();
    let run = checked("r", actions, &corpus(), 10);
    assert!(run.actions.is_empty());
    assert_eq!(run.refused.len(), bad.len());
    assert!(run
        .refused
        .iter()
        .all(|r| r.why.contains("malformed label")));
}

#[test]
fn a_comment_over_githubs_limit_is_refused() {
    let run = checked(
        "r",
        vec![
            act(ActionKind::Comment((
                issue(7),
                "x".repeat(GITHUB_COMMENT_MAX + 1),
            ))),
            act(ActionKind::Comment((
                issue(7),
                "é".repeat(GITHUB_COMMENT_MAX),
            ))),
        ],
        &corpus(),
        10,
    );
    assert_eq!(run.actions.len(), 1, "characters, not bytes, count");
    assert!(
        run.refused[0].why.contains("over the limit of 65536"),
        "{:?}",
        run.refused
    );
}

#[test]
fn tens_of_thousands_of_actions_are_capped_and_counted() {
    let many = (0..50_000)
        .map(|_| act(ActionKind::Lock(issue(7))))
        .collect();
    let run = checked("r", many, &corpus(), 1_000);
    assert_eq!(run.actions.len(), 1_000);
    assert_eq!(run.capped_from, Some(50_000));
}
