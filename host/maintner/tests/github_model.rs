//! GitHub mutations applied to the corpus, as Go's corpus tests check them.

use maintner::maintpb::*;
use maintner::query::IssueQuery;
use maintner::Corpus;

fn m(f: impl FnOnce(&mut GithubIssueMutation)) -> Mutation {
    let mut im = GithubIssueMutation {
        owner: "golang".into(),
        repo: "go".into(),
        number: 5,
        ..Default::default()
    };
    f(&mut im);
    Mutation {
        github_issue: Some(im),
        ..Default::default()
    }
}

fn user(id: i64, login: &str) -> Option<GithubUser> {
    Some(GithubUser {
        id,
        login: login.into(),
    })
}

fn new_issue() -> Mutation {
    m(|i| {
        i.id = 1234;
        i.user = user(1, "gopher");
        i.title = "title".into();
        i.body = "body".into();
        i.created = Some(Timestamp::from_unix(10));
        i.updated = Some(Timestamp::from_unix(20));
    })
}

#[test]
fn new_issue_interns_its_user() {
    // TestProcessMutation_Github_NewIssue.
    let mut c = Corpus::default();
    c.apply(&new_issue());
    let i = c.issue("golang", "go", 5).unwrap();
    assert_eq!(
        (i.id, i.title.as_str(), i.body.as_str()),
        (1234, "title", "body")
    );
    assert_eq!(i.user.as_ref().unwrap().login, "gopher");
    assert_eq!(i.created, Some(maintner::time::Time::from_unix(10)));
    // The login is kept once per user id and follows renames.
    c.apply(&m(|i| {
        i.comment = vec![GithubIssueCommentMutation {
            id: 9,
            user: user(1, "gopher2"),
            body: "hi".into(),
            ..Default::default()
        }]
    }));
    assert_eq!(
        c.issue("golang", "go", 5).unwrap().user.unwrap().login,
        "gopher2"
    );
    assert_eq!(c.github().user_count(), 1);
}

#[test]
fn repo_mutation_without_labels_keeps_the_repo() {
    // TestProcessMutation_Github.
    let mut c = Corpus::default();
    c.apply(&Mutation {
        github: Some(GithubMutation {
            owner: "golang".into(),
            repo: "go".into(),
            ..Default::default()
        }),
        ..Default::default()
    });
    assert!(c.github().find_repo(c.strings(), "golang", "go").is_some());
    assert_eq!(c.stats().github_repos, 1);
}

#[test]
fn body_change_can_clear_the_body_and_old_body_still_sets_it() {
    // HEAD TestProcessMutation_Github_RemoveBody.
    let mut c = Corpus::default();
    c.apply(&new_issue());
    c.apply(&m(|i| i.body = String::new()));
    assert_eq!(
        c.issue("golang", "go", 5).unwrap().body,
        "body",
        "empty body means no change"
    );
    c.apply(&m(|i| {
        i.body_change = Some(StringChange { val: String::new() })
    }));
    assert_eq!(c.issue("golang", "go", 5).unwrap().body, "");
    c.apply(&m(|i| i.body = "again".into()));
    assert_eq!(c.issue("golang", "go", 5).unwrap().body, "again");
}

#[test]
fn deleted_assignees_are_removed() {
    // TestAssigneesDeleted.
    let mut c = Corpus::default();
    c.apply(&m(|i| {
        i.id = 1;
        i.created = Some(Timestamp::from_unix(1));
        i.assignees = vec![user(1, "u1").unwrap(), user(2, "u2").unwrap()];
    }));
    assert_eq!(c.issue("golang", "go", 5).unwrap().assignees.len(), 2);
    c.apply(&m(|i| i.deleted_assignees = vec![1]));
    let a = c.issue("golang", "go", 5).unwrap().assignees;
    assert_eq!(a.iter().map(|u| u.id).collect::<Vec<_>>(), [2]);
}

#[test]
fn not_exist_hides_an_issue_until_a_later_mutation_revives_it() {
    let mut c = Corpus::default();
    c.apply(&new_issue());
    c.apply(&m(|i| i.not_exist = true));
    assert!(c.issue("golang", "go", 5).is_err());
    let q = IssueQuery {
        owner: "golang".into(),
        repo: "go".into(),
        ..Default::default()
    };
    assert!(c.issues(&q).unwrap().items.is_empty());
    c.apply(&m(|i| i.title = "back".into()));
    assert_eq!(c.issue("golang", "go", 5).unwrap().title, "back");
    assert_eq!(c.issues(&q).unwrap().items.len(), 1);
}

#[test]
fn a_page_of_comments_revives_a_hidden_issue_in_the_indexes() {
    let mut c = Corpus::default();
    c.apply(&new_issue());
    c.apply(&m(|i| i.not_exist = true));
    c.apply(&m(|i| {
        i.comment = vec![GithubIssueCommentMutation {
            id: 99,
            user: user(3, "commenter"),
            body: "still here".into(),
            ..Default::default()
        }]
    }));
    let q = IssueQuery {
        owner: "golang".into(),
        repo: "go".into(),
        title_prefix: Some("tit".into()),
        ..Default::default()
    };
    let found: Vec<i32> = c
        .issues(&q)
        .unwrap()
        .items
        .iter()
        .map(|i| i.number)
        .collect();
    assert_eq!(found, [5]);
    assert_eq!(c.issue("golang", "go", 5).unwrap().title, "title");
}

#[test]
fn milestones_labels_and_closing() {
    let mut c = Corpus::default();
    c.apply(&new_issue());
    c.apply(&m(|i| {
        i.milestone_id = 77;
        i.milestone_title = "Go1.22".into();
        i.milestone_num = 3;
        i.add_label = vec![GithubLabel {
            id: 8,
            name: "NeedsFix".into(),
        }];
        i.closed = Some(BoolChange { val: true });
        i.closed_at = Some(Timestamp::from_unix(30));
        i.closed_by = user(2, "closer");
        i.locked = Some(BoolChange { val: true });
    }));
    let i = c.issue("golang", "go", 5).unwrap();
    let ms = i.milestone.unwrap();
    assert_eq!((ms.id, ms.title.as_str(), ms.number), (77, "Go1.22", 3));
    assert_eq!(i.labels, ["NeedsFix"]);
    assert!(i.closed && i.locked);
    assert_eq!(i.closed_by.unwrap().login, "closer");
    c.apply(&m(|i| {
        i.no_milestone = true;
        i.remove_label = vec![8];
        i.closed = Some(BoolChange { val: false });
    }));
    let i = c.issue("golang", "go", 5).unwrap();
    assert!(i.milestone.is_none() && i.labels.is_empty() && !i.closed);
}

#[test]
fn events_and_reviews_are_stored_once_by_id() {
    let mut c = Corpus::default();
    c.apply(&new_issue());
    let ev = GithubIssueEvent {
        id: 3,
        event_type: "renamed".into(),
        actor_id: 1,
        created: Some(Timestamp::from_unix(40)),
        rename_from: "a".into(),
        rename_to: "b".into(),
        other_json: br#"{"performed_via_github_app":null}"#.to_vec(),
        ..Default::default()
    };
    c.apply(&m(|i| i.event = vec![ev.clone()]));
    c.apply(&m(|i| {
        i.event = vec![ev.clone()];
        i.review = vec![GithubReview {
            id: 4,
            actor_id: 1,
            state: "APPROVED".into(),
            ..Default::default()
        }];
        i.event_status = Some(GithubIssueSyncStatus {
            server_date: Some(Timestamp::from_unix(50)),
        });
    }));
    let events = c.issue_events("golang", "go", 5, 0, &None).unwrap().items;
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].rename_from.as_str(), events[0].rename_to.as_str()),
        ("a", "b")
    );
    let s = c.stats();
    assert_eq!((s.github_events, s.github_reviews), (1, 1));
}

#[test]
fn invalid_repo_and_zero_number_are_ignored() {
    let mut c = Corpus::default();
    c.apply(&m(|i| i.owner = String::new()));
    c.apply(&m(|i| i.number = 0));
    assert_eq!(c.stats().github_issues, 0);
    assert_eq!(c.stats().mutations.total, 2);
}

#[test]
fn a_repo_only_mentioned_in_a_commit_is_not_one_of_the_corpus_repos() {
    let mut c = Corpus::default();
    c.apply(&new_issue());
    let person = maintner::synth::gerrit_person("Gopher", 1);
    let raw = maintner::synth::raw_commit(
        "t",
        &[],
        &person,
        1_500_000_000,
        "x/crypto: update\n\nUpdates golang/crypto#12\n",
    );
    c.apply(&maintner::synth::git_mutation(
        "go",
        GitCommit {
            sha1: "c386fbdc7be64b4994e751b4fa22445abc92401a".into(),
            raw,
            diff_tree: None,
        },
    ));
    // The reference is kept …
    assert_eq!(c.referrers("golang", "crypto", 12).len(), 1);
    // … but only golang/go has mutations of its own, as Go counts and lists repos.
    assert_eq!(c.stats().github_repos, 1);
    let listed = c.github().repos_sorted(c.strings());
    assert_eq!(listed.len(), 1);
    // A mutation of its own makes it one.
    c.apply(&Mutation {
        github: Some(GithubMutation {
            owner: "golang".into(),
            repo: "crypto".into(),
            ..Default::default()
        }),
        ..Default::default()
    });
    assert_eq!(c.stats().github_repos, 2);
}
