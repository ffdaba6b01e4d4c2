//! The action executor against a fake GitHub (maintnerd's, which checks each request
//! as GitHub does) and a fake Gerrit on loopback, with a real sqlite journal.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use bot::execute::{Api, ExecError, Executor, Mode};
use bot::journal::{Journal, State as JState};
use bot::pass::{checked, Pass};
use maintner::maintpb::{GithubIssueMutation, GithubLabel, GithubUser, Timestamp};
use maintner::{Corpus, Mutation};
use maintnerd::fakegithub::FakeGitHub;
use runtime::{
    Action, ActionKind, ChangeRef, CloseReason, CorpusQueries, IssueRef, MaintnerCorpus,
};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

const T0: i64 = 1_780_000_000;

fn time(t: i64) -> String {
    maintner::time::Time::from_unix(t).rfc3339()
}

/// Issue `n` of golang/go, the same in the fake and in the corpus.
fn issue(fake: &FakeGitHub, c: &mut Corpus, n: i32, labels: &[&str]) {
    fake.put_issue(
        "golang",
        "go",
        json!({"id": 1000 + n, "number": n, "title": format!("x/build: issue {n}"),
               "user": {"login": "gopher", "id": 1}, "state": "open", "locked": false,
               "labels": labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>(),
               "milestone": null, "comments": 0, "assignees": [],
               "created_at": time(T0), "updated_at": time(T0), "closed_at": null, "body": ""}),
    );
    c.apply(&Mutation {
        github_issue: Some(GithubIssueMutation {
            owner: "golang".into(),
            repo: "go".into(),
            number: n,
            id: 1000 + n as i64,
            title: format!("x/build: issue {n}"),
            user: Some(GithubUser {
                id: 1,
                login: "gopher".into(),
            }),
            created: Some(Timestamp {
                seconds: T0,
                nanos: 0,
            }),
            updated: Some(Timestamp {
                seconds: T0,
                nanos: 0,
            }),
            add_label: labels
                .iter()
                .enumerate()
                .map(|(i, l)| GithubLabel {
                    id: i as i64 + 1,
                    name: l.to_string(),
                })
                .collect(),
            ..Default::default()
        }),
        ..Default::default()
    });
}

fn gh(n: u32) -> IssueRef {
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

/// A pass of one rule with these actions (checked against the corpus as a pass is).
fn pass_of(actions: Vec<Action>, corpus: &dyn CorpusQueries) -> Pass {
    Pass {
        plugin: "gopherbot".into(),
        version: "test".into(),
        at: time(T0),
        rules: vec![checked("test rule", actions, corpus, 1000)],
    }
}

/// A fake Gerrit REST API: `/a/` paths need HTTP basic auth, bodies are JSON, answers
/// carry Gerrit's `)]}'` prefix. It holds messages and the status of changes.
#[derive(Clone, Default)]
struct FakeGerrit {
    messages: Arc<Mutex<Vec<(String, String)>>>,
    abandoned: Arc<Mutex<Vec<String>>>,
    requests: Arc<Mutex<Vec<(String, u16)>>>,
}

fn gerrit_json(v: Value) -> (StatusCode, String) {
    (StatusCode::OK, format!(")]}}'\n{v}"))
}

impl FakeGerrit {
    async fn start(&self) -> String {
        let app = axum::Router::new()
            .route("/a/changes/{id}/revisions/current/review", post(review))
            .route("/a/changes/{id}/abandon", post(abandon))
            .route("/a/changes/{id}/messages", get(messages))
            .route("/a/changes/{id}", get(change))
            .with_state(self.clone());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        format!("http://{addr}")
    }

    fn check(
        &self,
        what: &str,
        h: &HeaderMap,
        body: &Bytes,
    ) -> Result<Value, (StatusCode, String)> {
        let authed = h
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Basic "));
        let parsed = serde_json::from_slice::<Value>(body);
        let status = match (&parsed, authed) {
            (_, false) => StatusCode::UNAUTHORIZED,
            (Err(_), _) => StatusCode::BAD_REQUEST,
            _ => StatusCode::OK,
        };
        self.requests
            .lock()
            .unwrap()
            .push((what.into(), status.as_u16()));
        match status {
            StatusCode::OK => Ok(parsed.unwrap()),
            s => Err((s, "Unauthorized or not JSON".into())),
        }
    }
}

async fn review(
    State(g): State<FakeGerrit>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let v = match g.check(&format!("review {id}"), &h, &body) {
        Ok(v) => v,
        Err(e) => return e,
    };
    if let Some(m) = v["message"].as_str() {
        g.messages.lock().unwrap().push((id, m.into()));
    }
    gerrit_json(json!({"labels": {}}))
}

async fn abandon(
    State(g): State<FakeGerrit>,
    Path(id): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    if let Err(e) = g.check(&format!("abandon {id}"), &h, &body) {
        return e;
    }
    g.abandoned.lock().unwrap().push(id);
    gerrit_json(json!({"status": "ABANDONED"}))
}

async fn messages(State(g): State<FakeGerrit>, Path(id): Path<String>) -> (StatusCode, String) {
    let ms: Vec<Value> = g
        .messages
        .lock()
        .unwrap()
        .iter()
        .filter(|(i, _)| *i == id)
        .map(|(_, m)| json!({"message": m}))
        .collect();
    gerrit_json(Value::Array(ms))
}

async fn change(State(g): State<FakeGerrit>, Path(id): Path<String>) -> (StatusCode, String) {
    let status = if g.abandoned.lock().unwrap().contains(&id) {
        "ABANDONED"
    } else {
        "NEW"
    };
    gerrit_json(json!({"status": status}))
}

struct Setup {
    fake: FakeGitHub,
    gerrit: FakeGerrit,
    corpus: Arc<MaintnerCorpus>,
    live: Mode,
    dir: tempfile::TempDir,
}

async fn setup(interval: Duration) -> Setup {
    let fake = FakeGitHub::start().await.unwrap();
    fake.put_milestones(
        "golang",
        "go",
        vec![json!({"number": 22, "title": "Unreleased", "state": "open"})],
    );
    let mut c = Corpus::default();
    issue(&fake, &mut c, 1, &[]);
    issue(&fake, &mut c, 2, &["Builders", "NeedsFix"]);
    issue(&fake, &mut c, 3, &[]);
    let gerrit = FakeGerrit::default();
    let gerrit_base = gerrit.start().await;
    let live = Mode::Live {
        github: Api {
            base: fake.base(),
            authorization: Some("token s3cret".into()),
            interval,
        },
        gerrit: Api {
            base: gerrit_base,
            authorization: Some("Basic Z29ib3Q6czNjcmV0".into()),
            interval,
        },
    };
    Setup {
        fake,
        gerrit,
        corpus: Arc::new(MaintnerCorpus(Arc::new(RwLock::new(c)))),
        live,
        dir: tempfile::tempdir().unwrap(),
    }
}

impl Setup {
    fn executor(&self, mode: Mode) -> Executor {
        let journal = Journal::open(&self.dir.path().join("journal.db")).unwrap();
        Executor::new(mode, journal, self.corpus.clone())
    }
}

fn cl() -> ChangeRef {
    ChangeRef {
        project: "go.googlesource.com/build".into(),
        number: 791_862,
    }
}

#[tokio::test]
async fn dry_run_is_the_default_and_takes_nothing() {
    let s = setup(Duration::ZERO).await;
    let pass = pass_of(
        vec![act(ActionKind::AddLabel((gh(1), "Builders".into())))],
        s.corpus.as_ref(),
    );
    let r = s.executor(Mode::DryRun).execute(&pass).await.unwrap();
    assert_eq!(r.would.len(), 1);
    assert!(r.taken.is_empty());
    assert!(s.fake.writes().is_empty());
    assert!(s
        .executor(Mode::DryRun)
        .journal()
        .entries()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn live_actions_go_through_the_apis_once_and_are_journaled() {
    let s = setup(Duration::ZERO).await;
    let actions = vec![
        act(ActionKind::AddLabel((gh(1), "help wanted".into()))),
        act(ActionKind::SetMilestone((gh(1), "Unreleased".into()))),
        act(ActionKind::Comment((gh(3), "Timed out.".into()))),
        act(ActionKind::Close((gh(3), CloseReason::NotPlanned))),
        act(ActionKind::Lock(gh(3))),
        act(ActionKind::RemoveLabel((gh(2), "NeedsFix".into()))),
        // Already so in the corpus: nothing to do.
        act(ActionKind::AddLabel((gh(2), "Builders".into()))),
    ];
    let mut pass = pass_of(actions, s.corpus.as_ref());
    // Gerrit changes are not in this corpus: the executor takes the decisions as given.
    pass.rules[0].actions.push(bot::pass::Decision {
        action: "gerrit-message".into(),
        target: bot::pass::change_target(&cl()),
        value: Some("Congratulations on opening your first change.".into()),
        reason: "test".into(),
    });
    let r = s.executor(s.live.clone()).execute(&pass).await.unwrap();
    assert_eq!(r.taken.len(), 7, "{r:?}");
    assert_eq!(r.already.len(), 1);
    let one = s.fake.issue("golang", "go", 1).unwrap();
    assert!(one["labels"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["name"] == "help wanted"));
    assert_eq!(one["milestone"]["title"], "Unreleased");
    let three = s.fake.issue("golang", "go", 3).unwrap();
    assert_eq!(
        (three["state"].as_str(), three["locked"].as_bool()),
        (Some("closed"), Some(true))
    );
    assert_eq!(three["state_reason"], "not_planned");
    assert_eq!(s.fake.comments("golang", "go", 3).len(), 1);
    assert!(
        s.fake
            .writes()
            .iter()
            .all(|w| (200..300).contains(&w.status)),
        "{:?}",
        s.fake.writes()
    );
    assert_eq!(s.gerrit.messages.lock().unwrap()[0].0, "build~791862");

    // The next pass finds every one journaled and calls nothing.
    let writes = s.fake.writes().len();
    let again = s.executor(s.live.clone()).execute(&pass).await.unwrap();
    assert_eq!(again.journaled.len(), 7);
    assert!(again.taken.is_empty());
    assert_eq!(s.fake.writes().len(), writes);
    assert_eq!(s.gerrit.messages.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_crash_between_the_api_call_and_the_journal_write_does_not_repeat_the_comment() {
    let s = setup(Duration::ZERO).await;
    let pass = pass_of(
        vec![act(ActionKind::Comment((
            gh(1),
            "Change https://go.dev/cl/1 mentions this issue.".into(),
        )))],
        s.corpus.as_ref(),
    );
    let mut first = s.executor(s.live.clone());
    first.crash_after_calls = Some(1);
    assert!(matches!(
        first.execute(&pass).await,
        Err(ExecError::Crashed(1))
    ));
    drop(first);
    assert_eq!(s.fake.comments("golang", "go", 1).len(), 1);
    let e = s.executor(s.live.clone());
    assert_eq!(e.journal().entries().unwrap()[0].state, JState::Started);

    // Restarted (the corpus has not seen the comment yet): GitHub shows it, so it is
    // settled, not posted again.
    let r = s.executor(s.live.clone()).execute(&pass).await.unwrap();
    assert_eq!(r.journaled.len(), 1, "{r:?}");
    assert_eq!(s.fake.comments("golang", "go", 1).len(), 1);
    assert_eq!(
        s.executor(s.live.clone()).journal().entries().unwrap()[0].state,
        JState::Done
    );
}

#[tokio::test]
async fn a_crash_before_the_api_call_carries_the_action_out_on_restart() {
    let s = setup(Duration::ZERO).await;
    let pass = pass_of(
        vec![act(ActionKind::Comment((gh(1), "Timed out.".into())))],
        s.corpus.as_ref(),
    );
    let (rule, d) = pass
        .decisions()
        .next()
        .map(|(r, d)| (r.to_string(), d.clone()))
        .unwrap();
    // The journal says started, but the call never happened.
    s.executor(s.live.clone())
        .journal()
        .set(&rule, &d, JState::Started, "")
        .unwrap();
    let r = s.executor(s.live.clone()).execute(&pass).await.unwrap();
    assert_eq!(r.taken.len(), 1, "{r:?}");
    assert_eq!(s.fake.comments("golang", "go", 1).len(), 1);
}

#[tokio::test]
async fn each_api_is_rate_limited() {
    let interval = Duration::from_millis(80);
    let s = setup(interval).await;
    let actions = (1..=3).map(|n| act(ActionKind::Lock(gh(n)))).collect();
    let pass = pass_of(actions, s.corpus.as_ref());
    let r = s.executor(s.live.clone()).execute(&pass).await.unwrap();
    assert_eq!(r.taken.len(), 3);
    let at: Vec<_> = s.fake.writes().iter().map(|w| w.at).collect();
    // The executor spaces its sends; the fake sees arrivals, which a loaded machine
    // delays unevenly. Without the limit they would come about 1 ms apart.
    for w in at.windows(2) {
        assert!(
            w[1] - w[0] >= interval - Duration::from_millis(25),
            "{:?}",
            w[1] - w[0]
        );
    }
}

#[tokio::test]
async fn a_refused_request_is_journaled_failed_and_tried_again() {
    let s = setup(Duration::ZERO).await;
    // GitHub no longer has #3 (deleted or transferred).
    s.fake.delete_issue("golang", "go", 3);
    let pass = pass_of(vec![act(ActionKind::Lock(gh(3)))], s.corpus.as_ref());
    let r = s.executor(s.live.clone()).execute(&pass).await.unwrap();
    assert_eq!(r.failed.len(), 1);
    assert!(r.failed[0].1.contains("404"), "{:?}", r.failed);
    assert_eq!(
        s.executor(s.live.clone()).journal().entries().unwrap()[0].state,
        JState::Failed
    );
    let again = s.executor(s.live.clone()).execute(&pass).await.unwrap();
    assert_eq!(again.failed.len(), 1, "tried again, still gone");

    // Without a token GitHub refuses, and the fake says why.
    let mut no_token = s.live.clone();
    if let Mode::Live { github, .. } = &mut no_token {
        github.authorization = None;
    }
    let pass = pass_of(vec![act(ActionKind::Lock(gh(1)))], s.corpus.as_ref());
    let r = s.executor(no_token).execute(&pass).await.unwrap();
    assert!(r.failed[0].1.contains("401"), "{:?}", r.failed);
}

#[tokio::test]
async fn an_answer_over_the_cap_fails_the_action_instead_of_being_buffered() {
    let s = setup(Duration::ZERO).await;
    // A GitHub that answers every call with more than the executor reads.
    let huge = axum::Router::new()
        .fallback(|| async { (StatusCode::OK, vec![b'x'; bot::execute::MAX_ANSWER + 1]) });
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, huge).await.unwrap() });
    let Mode::Live { github, gerrit } = s.live.clone() else {
        unreachable!()
    };
    let mode = Mode::Live {
        github: Api {
            base: format!("http://{addr}"),
            ..github
        },
        gerrit,
    };
    let pass = pass_of(
        vec![act(ActionKind::AddLabel((gh(1), "Builders".into())))],
        s.corpus.as_ref(),
    );
    let r = s.executor(mode).execute(&pass).await.unwrap();
    assert!(r.taken.is_empty(), "{r:?}");
    assert_eq!(r.failed.len(), 1, "{r:?}");
    assert!(r.failed[0].1.contains("over"), "{:?}", r.failed[0].1);
}
