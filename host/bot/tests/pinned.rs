//! A rule that traps on one issue is skipped for that issue only: the real gopherbot
//! reads an issue whose comment is larger than the plugin's memory cap, traps there,
//! and its other decisions — and the other rules — still come out of the pass.

use bot::pass::{self, PassOptions};
use maintner::maintpb::{
    GithubIssueCommentMutation, GithubIssueMutation, GithubLabel, GithubUser, Timestamp,
};
use maintner::{Corpus, Mutation};
use runtime::{CallOptions, Registry, Runtime, RuntimeConfig};
use std::path::Path;
use std::sync::Arc;

const AT: i64 = 1_785_542_400;
const MEMORY_CAP: usize = 16 << 20;

fn gopherbot() -> Vec<u8> {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    std::fs::read(root.join("plugins/target/wasm32-wasip2/release/gopherbot.wasm"))
        .expect("build the plugins: cargo xtask plugins")
}

fn ts(s: i64) -> Option<Timestamp> {
    Some(Timestamp {
        seconds: s,
        nanos: 0,
    })
}

fn issue(number: i32, title: &str, comment: Option<String>, label: Option<&str>) -> Mutation {
    let user = Some(GithubUser {
        id: 1,
        login: "gopher".into(),
    });
    Mutation {
        github_issue: Some(GithubIssueMutation {
            owner: "golang".into(),
            repo: "go".into(),
            number,
            id: 1000 + number as i64,
            title: title.into(),
            user: user.clone(),
            created: ts(AT - 86_400),
            updated: ts(AT - 86_400),
            comment: comment
                .into_iter()
                .map(|body| GithubIssueCommentMutation {
                    id: 5000 + number as i64,
                    user: user.clone(),
                    body,
                    created: ts(AT - 3_600),
                    updated: ts(AT - 3_600),
                })
                .collect(),
            add_label: label
                .into_iter()
                .map(|l| GithubLabel {
                    id: 77,
                    name: l.into(),
                })
                .collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Issue 1 makes "Builders" a label of the repo; issue 2 asks for it in a comment;
/// issue 3's comment is larger than the plugin may hold; issue 4 is an x/build issue.
fn corpus() -> Corpus {
    let mut c = Corpus::default();
    for m in [
        issue(1, "cmd/go: labelled", None, Some("Builders")),
        issue(
            2,
            "cmd/go: flaky",
            Some("@gopherbot please add label Builders".into()),
            None,
        ),
        issue(3, "cmd/go: huge", Some("@gopherbot ".repeat(2 << 20)), None),
        issue(4, "x/build: coordinator", None, None),
    ] {
        c.apply(&m);
    }
    c
}

#[test]
fn a_rule_that_traps_on_one_issue_skips_that_issue_only() {
    let rt = Arc::new(
        Runtime::new(RuntimeConfig {
            defaults: CallOptions {
                memory: MEMORY_CAP,
                ..Default::default()
            },
            ..Default::default()
        })
        .unwrap(),
    );
    let reg = Registry::in_memory(rt.clone());
    reg.load(&gopherbot(), "gopherbot.wasm").unwrap();
    let bot = reg.serving("gopherbot").unwrap();
    let view = bot::attach(&rt, corpus());
    let p = pass::run(&bot, view.as_ref(), &PassOptions::at(AT)).unwrap();
    let rule = |name: &str| p.rules.iter().find(|r| r.rule == name).unwrap();

    let cmds = rule("apply labels from comments");
    assert!(!cmds.faulted, "{cmds:?}");
    assert_eq!(cmds.skipped.len(), 1, "{cmds:?}");
    assert_eq!(cmds.skipped[0].subject, "golang/go#3");
    assert!(
        cmds.skipped[0].error.contains("memory"),
        "{}",
        cmds.skipped[0].error
    );
    let added: Vec<_> = cmds
        .actions
        .iter()
        .map(|d| (d.action.as_str(), d.target.as_str(), d.value.as_deref()))
        .collect();
    assert_eq!(added, [("add-label", "golang/go#2", Some("Builders"))]);

    // The other rules ran over every issue, the huge one included.
    let build = rule("label build issues");
    assert!(build.skipped.is_empty() && !build.faulted, "{build:?}");
    assert!(build
        .actions
        .iter()
        .any(|d| d.target == "golang/go#4" && d.value.as_deref() == Some("Builders")));
}
