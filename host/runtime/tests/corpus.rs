//! The `corpus` import over a real maintner corpus, exercised by the real gopherbot
//! plugin: the corpus is built the only way it is ever built, by applying mutations.

mod common;

use maintner::maintpb::{
    GithubIssueEvent, GithubIssueMutation, GithubLabel, GithubUser, Timestamp,
};
use maintner::{Corpus, Mutation};
use runtime::{ActionKind, HostData, MaintnerCorpus};
use std::sync::{Arc, RwLock};

fn issue(number: i32, title: &str, labels: &[(i64, &str)]) -> GithubIssueMutation {
    GithubIssueMutation {
        owner: "golang".into(),
        repo: "go".into(),
        number,
        id: 1000 + number as i64,
        title: title.into(),
        user: Some(GithubUser {
            id: 7,
            login: "gopher".into(),
        }),
        created: Some(Timestamp {
            seconds: 1_500_000_000 + number as i64,
            nanos: 0,
        }),
        updated: Some(Timestamp {
            seconds: 1_500_000_000 + number as i64,
            nanos: 0,
        }),
        add_label: labels
            .iter()
            .map(|(id, name)| GithubLabel {
                id: *id,
                name: name.to_string(),
            })
            .collect(),
        ..Default::default()
    }
}

fn corpus() -> Arc<RwLock<Corpus>> {
    let mut c = Corpus::default();
    let mut apply = |m: GithubIssueMutation| {
        c.apply(&Mutation {
            github_issue: Some(m),
            ..Default::default()
        });
    };
    apply(issue(1, "x/tools: completion is slow", &[]));
    apply(issue(2, "x/tools/gopls: hover", &[(5, "Tools")]));
    let mut unlabeled = issue(3, "x/tools: someone removed the label", &[]);
    unlabeled.event = vec![GithubIssueEvent {
        id: 99,
        event_type: "unlabeled".into(),
        actor_id: 7,
        label: Some(GithubLabel {
            id: 5,
            name: "Tools".into(),
        }),
        ..Default::default()
    }];
    apply(unlabeled);
    apply(issue(4, "cmd/go: build cache", &[]));
    let mut closed = issue(5, "x/tools: closed already", &[]);
    closed.closed = Some(maintner::maintpb::BoolChange { val: true });
    apply(closed);
    let mut pr = issue(6, "x/tools: a pull request", &[]);
    pr.pull_request = true;
    apply(pr);
    apply(issue(7, "x/website: typo", &[]));
    Arc::new(RwLock::new(c))
}

#[test]
fn gopherbot_labels_open_x_tools_issues_through_corpus_queries() {
    let reg = common::registry();
    reg.runtime().set_host_data(HostData {
        corpus: Arc::new(MaintnerCorpus(corpus())),
        ..Default::default()
    });
    reg.load(&common::bundled("gopherbot"), "gopherbot.wasm")
        .unwrap();
    let h = reg.serving("gopherbot").unwrap();
    let actions = h.plugin().run_rule("label tools issues").unwrap().unwrap();
    let kinds: Vec<_> = actions.iter().map(|a| a.kind.clone()).collect();
    assert_eq!(kinds.len(), 1, "{kinds:?}");
    match &kinds[0] {
        ActionKind::AddLabel((id, label)) => {
            assert_eq!(
                (id.repo.as_str(), id.number, label.as_str()),
                ("golang/go", 1, "Tools")
            );
        }
        other => panic!("unexpected action {other:?}"),
    }
    // x/website: needs the colon, which #7 has.
    let website = h
        .plugin()
        .run_rule("label website issues")
        .unwrap()
        .unwrap();
    assert_eq!(website.len(), 1);
    let unknown = h.plugin().run_rule("no such rule").unwrap();
    assert!(unknown.unwrap_err().contains("unknown rule"));
}

#[test]
fn without_a_corpus_the_rule_reports_it_instead_of_acting() {
    let reg = common::registry();
    reg.load(&common::bundled("gopherbot"), "gopherbot.wasm")
        .unwrap();
    let h = reg.serving("gopherbot").unwrap();
    let err = h
        .plugin()
        .run_rule("label tools issues")
        .unwrap()
        .unwrap_err();
    assert!(err.contains("no corpus"), "{err}");
}

#[test]
fn corpus_queries_page_and_reject_unknown_repos() {
    use runtime::bindings::corpus::{IssueQuery, StateFilter};
    use runtime::CorpusQueries;
    let view = MaintnerCorpus(corpus());
    let mut q = IssueQuery {
        repo: "golang/go".into(),
        state: StateFilter::Any,
        labels: vec![],
        milestone: None,
        no_milestone: false,
        title_prefix: None,
        updated_since: None,
        pull_requests: None,
        limit: 3,
        cursor: None,
    };
    let first = view.issues(&q).unwrap();
    assert_eq!(
        first.items.iter().map(|i| i.id.number).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    q.cursor = first.next_cursor;
    let second = view.issues(&q).unwrap();
    assert_eq!(second.items[0].id.number, 4);
    q.repo = "golang/nope".into();
    assert!(view.issues(&q).unwrap_err().contains("unknown GitHub repo"));
    q.repo = "no-slash".into();
    assert!(view
        .issues(&q)
        .unwrap_err()
        .contains("is not \"owner/name\""));
    assert!(view.generation() >= 7);
}

#[test]
fn a_change_closes_when_noted_merged_and_commits_are_found_by_hash() {
    use maintner::synth::{gerrit_person, GerritSim, Hasher};
    use runtime::bindings::types::ChangeRef;
    use runtime::CorpusQueries;
    const NET: &str = "go.googlesource.com/net";
    let mut c = Corpus::default();
    let mut sim = GerritSim::new(NET, 1_500_000_000, Hasher::default());
    let base = sim.branch_commit("master", "G <g@x>", "one\n", &[("a", 1, 0)]);
    c.apply(&base);
    let owner = gerrit_person("Owner", 100);
    for n in [1, 2] {
        let id = format!("I{n:040x}");
        c.apply(&sim.upload(n, &owner, "net: x", &id, &[("x.go", 1, 0)], None, &[]));
    }
    c.apply(&sim.meta(
        1,
        &owner,
        "Update patch set 1",
        Some("Merged"),
        &["Status: merged".into()],
    ));
    let merged_at = sim.clock;
    c.apply(&sim.meta(
        1,
        &owner,
        "Update patch set 1",
        Some("Patch Set 1:\n\nThanks"),
        &[],
    ));
    let view = MaintnerCorpus(Arc::new(RwLock::new(c)));
    let cl = |number| ChangeRef {
        project: NET.into(),
        number,
    };
    assert_eq!(view.change_closed(&cl(1)), Ok(Some(merged_at)));
    assert_eq!(view.change_closed(&cl(2)), Ok(None));
    assert!(view.change_closed(&cl(3)).is_err());

    let hash = sim.base.clone();
    assert_eq!(view.commit(&hash).unwrap().message, "one\n");
    let missing = view.commit(&"f".repeat(40)).unwrap_err();
    assert!(missing.contains("no commit"), "{missing}");
}
