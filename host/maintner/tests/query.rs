//! Plugin queries: results equal a brute-force filter over the same data, across pages;
//! changes, messages, votes and commits.

use std::collections::{BTreeMap, BTreeSet};

use maintner::maintpb::{BoolChange, GithubIssueMutation, GithubLabel, Mutation, Timestamp};
use maintner::notedb::ClStatus;
use maintner::query::*;
use maintner::synth::{self, gerrit_person, GerritSim, Hasher, IssueSpec};
use maintner::time::Time;
use maintner::Corpus;

/// A tiny deterministic generator.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

const LABELS: [&str; 5] = ["NeedsFix", "Documentation", "Proposal", "Tools", "OS-Linux"];
const MILESTONES: [&str; 3] = ["Go1.21", "Go1.22", "Backlog"];

#[derive(Clone, Debug)]
struct Model {
    title: String,
    labels: BTreeSet<usize>,
    milestone: Option<usize>,
    closed: bool,
    updated: i64,
    pr: bool,
}

fn issue_update(number: i32, f: impl FnOnce(&mut GithubIssueMutation)) -> Mutation {
    let mut m = GithubIssueMutation {
        owner: "golang".into(),
        repo: "go".into(),
        number,
        ..Default::default()
    };
    f(&mut m);
    Mutation {
        github_issue: Some(m),
        ..Default::default()
    }
}

fn build() -> (Corpus, BTreeMap<i32, Model>) {
    let mut c = Corpus::default();
    let mut rng = Lcg(7);
    let mut model = BTreeMap::new();
    let titles = [
        "x/tools/gopls: crash",
        "cmd/go: slow",
        "runtime: leak",
        "x/net/http2: hang",
    ];
    for n in 1..=400 {
        let labels: BTreeSet<usize> = (0..rng.next(3)).map(|_| rng.next(5) as usize).collect();
        let label_list: Vec<(i64, &str)> =
            labels.iter().map(|&l| (l as i64 + 1, LABELS[l])).collect();
        let milestone = match rng.next(4) {
            3 => None,
            m => Some(m as usize),
        };
        let title = format!("{} #{n}", titles[rng.next(4) as usize]);
        let spec = IssueSpec {
            owner: "golang",
            repo: "go",
            number: n,
            id: 10_000 + n as i64,
            user: (100 + n as i64 % 7, "someone"),
            created: 1_600_000_000 + n as i64 * 100,
            updated: 1_600_000_000 + n as i64 * 100 + rng.next(50_000) as i64,
            title: &title,
            body: "body",
            labels: &label_list,
            milestone: milestone.map(|m| (m as i64 + 50, MILESTONES[m], m as i64 + 1)),
            closed: rng.next(3) == 0,
            pull_request: rng.next(5) == 0,
        };
        c.apply(&synth::new_issue(&spec));
        model.insert(
            n,
            Model {
                title: title.clone(),
                labels,
                milestone,
                closed: spec.closed,
                updated: spec.updated,
                pr: spec.pull_request,
            },
        );
    }
    // Later changes: labels removed and added, closes and reopens, retitles, touches.
    for step in 0..600 {
        let n = rng.next(400) as i32 + 1;
        let t = 1_700_000_000 + step;
        let e = model.get_mut(&n).unwrap();
        e.updated = t;
        let m = match rng.next(4) {
            0 => {
                let l = rng.next(5) as usize;
                if e.labels.remove(&l) {
                    issue_update(n, |m| {
                        m.remove_label = vec![l as i64 + 1];
                        m.updated = Some(Timestamp::from_unix(t));
                    })
                } else {
                    e.labels.insert(l);
                    issue_update(n, |m| {
                        m.add_label = vec![GithubLabel {
                            id: l as i64 + 1,
                            name: LABELS[l].into(),
                        }];
                        m.updated = Some(Timestamp::from_unix(t));
                    })
                }
            }
            1 => {
                e.closed = !e.closed;
                let closed = e.closed;
                issue_update(n, |m| {
                    m.closed = Some(BoolChange { val: closed });
                    m.updated = Some(Timestamp::from_unix(t));
                })
            }
            2 => {
                e.title = format!("cmd/go: retitled {step}");
                let title = e.title.clone();
                issue_update(n, |m| {
                    m.title = title;
                    m.updated = Some(Timestamp::from_unix(t));
                })
            }
            _ => {
                e.milestone = None;
                issue_update(n, |m| {
                    m.no_milestone = true;
                    m.updated = Some(Timestamp::from_unix(t));
                })
            }
        };
        c.apply(&m);
    }
    (c, model)
}

fn all_pages(c: &Corpus, mut q: IssueQuery) -> Vec<i32> {
    let mut out = Vec::new();
    q.limit = 7;
    loop {
        let page = c.issues(&q).unwrap();
        assert!(page.items.len() <= 7);
        out.extend(page.items.iter().map(|i| i.number));
        match page.next_cursor {
            Some(cur) => q.cursor = Some(cur),
            None => return out,
        }
    }
}

#[test]
fn issue_queries_match_brute_force_across_pages() {
    let (c, model) = build();
    let base = IssueQuery {
        owner: "golang".into(),
        repo: "Go".into(), // case-insensitive, like GitHub
        ..Default::default()
    };
    type Pred = Box<dyn Fn(&Model) -> bool>;
    let cases: Vec<(IssueQuery, Pred)> = vec![
        (base.clone(), Box::new(|_| true)),
        (
            IssueQuery {
                state: Some(IssueState::Open),
                ..base.clone()
            },
            Box::new(|m| !m.closed),
        ),
        (
            IssueQuery {
                state: Some(IssueState::Closed),
                labels: vec!["NeedsFix".into()],
                ..base.clone()
            },
            Box::new(|m| m.closed && m.labels.contains(&0)),
        ),
        (
            IssueQuery {
                labels: vec!["Tools".into(), "Proposal".into()],
                ..base.clone()
            },
            Box::new(|m| m.labels.contains(&3) && m.labels.contains(&2)),
        ),
        (
            IssueQuery {
                milestone: Some("Go1.22".into()),
                state: Some(IssueState::Open),
                ..base.clone()
            },
            Box::new(|m| m.milestone == Some(1) && !m.closed),
        ),
        (
            IssueQuery {
                no_milestone: true,
                ..base.clone()
            },
            Box::new(|m| m.milestone.is_none()),
        ),
        (
            IssueQuery {
                title_prefix: Some("cmd/go:".into()),
                ..base.clone()
            },
            Box::new(|m| m.title.starts_with("cmd/go:")),
        ),
        (
            IssueQuery {
                updated_since: Some(Time::from_unix(1_700_000_300)),
                ..base.clone()
            },
            Box::new(|m| m.updated >= 1_700_000_300),
        ),
        (
            IssueQuery {
                updated_since: Some(Time::from_unix(1_600_020_000)),
                title_prefix: Some("runtime".into()),
                pull_request: Some(false),
                ..base.clone()
            },
            Box::new(|m| m.updated >= 1_600_020_000 && m.title.starts_with("runtime") && !m.pr),
        ),
        (
            IssueQuery {
                labels: vec!["NoSuchLabel".into()],
                ..base.clone()
            },
            Box::new(|_| false),
        ),
    ];
    for (q, pred) in cases {
        let want: Vec<i32> = model
            .iter()
            .filter(|(_, m)| pred(m))
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(all_pages(&c, q.clone()), want, "{q:?}");
    }
}

#[test]
fn issue_record_comments_and_events() {
    let mut c = Corpus::default();
    c.apply(&synth::new_issue(&IssueSpec {
        owner: "golang",
        repo: "go",
        number: 5,
        id: 99,
        user: (1, "gopher"),
        created: 100,
        updated: 200,
        title: "t",
        body: "b",
        labels: &[(1, "NeedsFix")],
        milestone: Some((7, "Go1.22", 3)),
        ..Default::default()
    }));
    // Comments arrive out of id order; listed by created time.
    c.apply(&synth::comments(
        "golang",
        "go",
        5,
        &[(30, (2, "a"), 300, "late"), (10, (3, "b"), 100, "early")],
    ));
    c.apply(&synth::comments(
        "golang",
        "go",
        5,
        &[(20, (2, "a"), 200, "middle")],
    ));
    c.apply(&synth::events(
        "golang",
        "go",
        5,
        &[
            (1, "labeled", 1, 150, "NeedsFix"),
            (2, "closed", 1, 250, ""),
        ],
    ));
    let i = c.issue("golang", "go", 5).unwrap();
    assert_eq!(
        i.user,
        Some(UserRecord {
            id: 1,
            login: "gopher".into()
        })
    );
    assert_eq!(i.labels, ["NeedsFix"]);
    assert_eq!(i.milestone.as_ref().unwrap().title, "Go1.22");
    assert_eq!((i.comments, i.events), (3, 2));
    let p1 = c.issue_comments("golang", "go", 5, 2, &None).unwrap();
    assert_eq!(
        p1.items.iter().map(|c| c.body.as_str()).collect::<Vec<_>>(),
        ["early", "middle"]
    );
    let p2 = c
        .issue_comments("golang", "go", 5, 2, &p1.next_cursor)
        .unwrap();
    assert_eq!(p2.items[0].body, "late");
    assert_eq!(p2.next_cursor, None);
    let ev = c.issue_events("golang", "go", 5, 0, &None).unwrap();
    assert_eq!(ev.items[0].event_type, "labeled");
    assert_eq!(ev.items[0].label, "NeedsFix");
    // Plain data: serializes for the Wasm boundary.
    let json = serde_json::to_string(&i).unwrap();
    assert_eq!(serde_json::from_str::<IssueRecord>(&json).unwrap(), i);
    assert!(matches!(
        c.issue("golang", "nope", 1),
        Err(QueryError::UnknownRepo(_))
    ));
    assert!(matches!(
        c.issue_comments("golang", "go", 5, 1, &Some("x".into())),
        Err(QueryError::BadCursor(_))
    ));
}

const NET: &str = "go.googlesource.com/net";

fn gerrit_corpus() -> (Corpus, GerritSim) {
    let mut c = Corpus::default();
    let mut sim = GerritSim::new(NET, 1_500_000_000, Hasher::default());
    c.apply(&sim.branch_commit("master", "G <g@x>", "one\n", &[("a", 1, 0)]));
    c.apply(&sim.branch_commit("master", "G <g@x>", "two\n", &[("b", 1, 0)]));
    c.apply(&sim.branch_commit("master", "G <g@x>", "three\n", &[("c", 1, 0)]));
    for n in 1..=30 {
        let owner = gerrit_person("Owner", 100 + i64::from(n % 3));
        let mut footers = vec![];
        if n % 5 == 0 {
            footers.push("Hashtags: wait-release".to_owned());
        }
        if n % 7 == 0 {
            footers.push("Private: true".to_owned());
        }
        let change_id = format!("I{:040x}", n);
        c.apply(&sim.upload(
            n,
            &owner,
            &format!("http2: change {n}"),
            &change_id,
            &[("h2.go", 1, 1)],
            None,
            &footers,
        ));
        if n % 2 == 0 {
            c.apply(&sim.vote(n, ("Reviewer", 7), ("Reviewer", 7), "Code-Review", 2));
        }
        if n % 3 == 0 {
            c.apply(&sim.meta(
                n,
                &owner,
                "Update patch set 1",
                Some("Merged"),
                &["Status: merged".into()],
            ));
        }
    }
    (c, sim)
}

#[test]
fn change_queries_use_every_filter() {
    let (c, _) = gerrit_corpus();
    let numbers = |q: ChangeQuery| -> Vec<i32> {
        let mut q = q;
        q.limit = 4;
        let mut out = vec![];
        loop {
            let p = c.changes(&q).unwrap();
            out.extend(p.items.iter().map(|r| r.number));
            match p.next_cursor {
                Some(cur) => q.cursor = Some(cur),
                None => return out,
            }
        }
    };
    let base = ChangeQuery {
        project: "net".into(),
        ..Default::default()
    };
    let public = |n: &i32| n % 7 != 0;
    let all: Vec<i32> = (1..=30).filter(public).collect();
    assert_eq!(numbers(base.clone()), all);
    assert_eq!(
        numbers(ChangeQuery {
            include_private: true,
            ..base.clone()
        }),
        (1..=30).collect::<Vec<_>>()
    );
    assert_eq!(
        numbers(ChangeQuery {
            status: Some(ClStatus::Merged),
            ..base.clone()
        }),
        all.iter()
            .copied()
            .filter(|n| n % 3 == 0)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        numbers(ChangeQuery {
            status: Some(ClStatus::New),
            owner: Some(101),
            ..base.clone()
        }),
        all.iter()
            .copied()
            .filter(|n| n % 3 == 1)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        numbers(ChangeQuery {
            hashtag: Some("wait-release".into()),
            ..base.clone()
        }),
        [5, 10, 15, 20, 25, 30]
    );
    assert_eq!(
        numbers(ChangeQuery {
            label_vote: Some(LabelVote {
                label: "Code-Review".into(),
                value: 2
            }),
            branch: Some("master".into()),
            ..base.clone()
        }),
        all.iter()
            .copied()
            .filter(|n| n % 2 == 0)
            .collect::<Vec<_>>()
    );
    assert!(numbers(ChangeQuery {
        branch: Some("dev".into()),
        ..base.clone()
    })
    .is_empty());
    assert!(matches!(
        c.changes(&ChangeQuery {
            project: "nope".into(),
            ..Default::default()
        }),
        Err(QueryError::UnknownProject(_))
    ));
}

#[test]
fn change_record_messages_and_votes() {
    let (c, sim) = gerrit_corpus();
    let r = c.change(NET, 4).unwrap();
    assert_eq!(r.subject, "http2: change 4");
    assert_eq!(r.branch, "master");
    assert_eq!(r.owner, Some(101));
    assert_eq!(r.version, 1);
    assert_eq!(r.commit.as_deref(), sim.current_commit(4));
    assert_eq!(
        r.votes,
        [VoteRecord {
            label: "Code-Review".into(),
            account: 7,
            value: 2
        }]
    );
    let msgs = c.change_messages(NET, 4, 0, &None).unwrap();
    let texts: Vec<_> = msgs.items.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["Patch Set 1: Code-Review+2"]);
    assert_eq!(msgs.items[0].author_account, Some(7));
    assert_eq!(c.change_votes(NET, 4, Some(1)).unwrap(), r.votes);
    assert!(c.change_votes(NET, 4, Some(9)).unwrap().is_empty());
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["status"], "new");
}

#[test]
fn commits_by_branch_and_by_time() {
    let (c, _) = gerrit_corpus();
    let q = CommitQuery {
        repo: "net".into(),
        branch: Some("master".into()),
        limit: 2,
        cursor: None,
    };
    let p1 = c.commits(&q).unwrap();
    let msgs: Vec<_> = p1.items.iter().map(|c| c.message.as_str()).collect();
    assert_eq!(msgs, ["three\n", "two\n"]);
    assert_eq!(p1.items[0].files[0].path, "c");
    let p2 = c
        .commits(&CommitQuery {
            cursor: p1.next_cursor.clone(),
            ..q.clone()
        })
        .unwrap();
    assert_eq!(
        p2.items
            .iter()
            .map(|c| c.message.as_str())
            .collect::<Vec<_>>(),
        ["one\n"]
    );
    assert_eq!(p2.next_cursor, None);
    // Without a branch: every non-meta commit of the project, newest first, all pages.
    let mut q = CommitQuery {
        repo: NET.into(),
        limit: 10,
        ..Default::default()
    };
    let mut seen = vec![];
    loop {
        let p = c.commits(&q).unwrap();
        seen.extend(p.items.into_iter().map(|c| c.commit_time));
        match p.next_cursor {
            Some(cur) => q.cursor = Some(cur),
            None => break,
        }
    }
    assert_eq!(
        seen.len(),
        3 + 30,
        "3 branch commits and 30 patch set commits"
    );
    assert!(seen.windows(2).all(|w| w[0] >= w[1]));
    assert!(c
        .commits(&CommitQuery {
            repo: "nope".into(),
            ..Default::default()
        })
        .is_err());
}

#[test]
fn get_ref_and_has_ancestor_like_maintnerd_rpcs() {
    let mut c = Corpus::default();
    let mut sim = GerritSim::new(
        "go.googlesource.com/build",
        1_500_000_000,
        Hasher::default(),
    );
    c.apply(&sim.branch_commit("master", "G <g@x>", "one\n", &[]));
    let first = sim.base.clone();
    c.apply(&sim.branch_commit("master", "G <g@x>", "two\n", &[]));
    let second = sim.base.clone();
    // TestGetRef: by the review host too; a bogus ref is None; a bogus project an error.
    assert_eq!(
        c.get_ref("go-review.googlesource.com", "build", "refs/heads/master")
            .unwrap(),
        Some(second.clone())
    );
    assert_eq!(
        c.get_ref("go.googlesource.com", "build", "refs/heads/nope")
            .unwrap(),
        None
    );
    assert!(matches!(
        c.get_ref("go.googlesource.com", "nope", "HEAD"),
        Err(QueryError::UnknownProject(_))
    ));
    // TestGitAncestor.
    let yes = c.has_ancestor(&second, &first).unwrap();
    assert!(yes.has_ancestor && !yes.unknown_commit);
    assert!(!c.has_ancestor(&first, &second).unwrap().has_ancestor);
    assert!(
        !c.has_ancestor(&first, &first).unwrap().has_ancestor,
        "not its own ancestor"
    );
    assert!(
        c.has_ancestor(&"f".repeat(40), &first)
            .unwrap()
            .unknown_commit
    );
    assert!(
        !c.has_ancestor(&second, &"f".repeat(40))
            .unwrap()
            .has_ancestor
    );
    assert!(c.has_ancestor("short", &first).is_err());
}

/// Go keeps "no milestone" (`IsNone`) apart from "milestone never seen" (`IsUnknown`).
#[test]
fn issue_records_keep_the_three_milestone_states() {
    let mut c = Corpus::default();
    for n in 1..=3 {
        c.apply(&issue_update(n, |m| {
            m.id = n as i64;
            m.title = format!("issue {n}");
            m.created = Some(Timestamp::from_unix(100));
        }));
    }
    c.apply(&issue_update(2, |m| m.no_milestone = true));
    c.apply(&issue_update(3, |m| {
        m.milestone_id = 7;
        m.milestone_num = 3;
        m.milestone_title = "Go1.22".into();
    }));
    let state = |c: &Corpus, n| {
        let i = c.issue("golang", "go", n).unwrap();
        (i.milestone.map(|m| m.title), i.no_milestone)
    };
    assert_eq!(state(&c, 1), (None, false), "never seen: unknown");
    assert_eq!(state(&c, 2), (None, true), "explicitly none");
    assert_eq!(state(&c, 3), (Some("Go1.22".to_string()), false));
    // Removing a milestone makes it none, not unknown.
    c.apply(&issue_update(3, |m| m.no_milestone = true));
    assert_eq!(state(&c, 3), (None, true));
}

#[test]
fn a_change_is_closed_when_noted_merged_or_abandoned_not_at_its_last_message() {
    let (mut c, mut sim) = gerrit_corpus();
    let owner = gerrit_person("Owner", 100);
    let upload = |sim: &mut GerritSim, n: i32| {
        let change_id = format!("I{n:040x}");
        sim.upload(n, &owner, "x: y", &change_id, &[("y.go", 1, 0)], None, &[])
    };
    let merged = |sim: &mut GerritSim, n: i32| {
        sim.meta(
            n,
            &owner,
            "Update patch set 1",
            Some("Merged"),
            &["Status: merged".into()],
        )
    };
    let message = |sim: &mut GerritSim, n: i32, text: &str| {
        sim.meta(n, &owner, "Update patch set 1", Some(text), &[])
    };

    // Merged, then commented on, and a later meta commit that repeats the status.
    c.apply(&upload(&mut sim, 40));
    c.apply(&merged(&mut sim, 40));
    let merged_at = Time::from_unix(sim.clock);
    c.apply(&message(&mut sim, 40, "Patch Set 1:\n\nThanks!"));
    c.apply(&merged(&mut sim, 40));
    let r = c.change(NET, 40).unwrap();
    assert_eq!(r.status, ClStatus::Merged);
    assert_eq!(r.closed, Some(merged_at));
    let last = c.change_messages(NET, 40, 0, &None).unwrap();
    assert!(last.items.iter().any(|m| m.date > merged_at));

    // Abandoned, then restored: open again, no close time.
    c.apply(&upload(&mut sim, 41));
    c.apply(&sim.meta(
        41,
        &owner,
        "Abandon",
        Some("Abandoned"),
        &["Status: abandoned".into()],
    ));
    let abandoned_at = Time::from_unix(sim.clock);
    assert_eq!(c.change(NET, 41).unwrap().closed, Some(abandoned_at));
    c.apply(&sim.meta(
        41,
        &owner,
        "Restore",
        Some("Restored"),
        &["Status: new".into()],
    ));
    let r = c.change(NET, 41).unwrap();
    assert_eq!((r.status, r.closed), (ClStatus::New, None));
    let json = serde_json::to_value(&r).unwrap();
    assert!(json["closed"].is_null());
}
