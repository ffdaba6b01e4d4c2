//! golang/go issues in the shapes gopherbot's rules read, for the recorded corpus: titles
//! made from the x/build commit subjects of `testdata/` the way golang/go titles them
//! (`x/build/cmd/coordinator: …`, `proposal: …`, `doc: …`), a `labeled` or `milestoned`
//! event behind every label and milestone, and hand-made cases where a rule should act
//! and where its guard should hold it back (a person removing a label the bot added,
//! WaitingForInfo issues gone quiet or answered, `@gopherbot` commands, issues the
//! x/build changes of the last 30 days mention).
//!
//! Everything is deterministic: times are offsets from [`CLOCK`], the generator seeded.

use serde_json::{json, Value};

use crate::fakegithub::generate::{self, Rng};
use crate::fakegithub::{EventPages, FakeGitHub};

/// The fake's clock and the bot's "now" when replaying the recorded corpus:
/// 2026-08-01T00:00:00Z, a week after the last x/build commit of `testdata/`.
pub const CLOCK: i64 = 1_785_542_400;
const DAY: i64 = 86_400;
/// Generated issues are created from 2024-01-01 on, one every three days.
const START: i64 = 1_704_067_200;

/// The bot's GitHub account.
pub const BOT: &str = "gopherbot";

/// Labels a bot rule reads or writes, beside [`generate::LABELS`].
pub const BOT_LABELS: &[&str] = &[
    "mobile",
    "Security",
    "CherryPickCandidate",
    "CherryPickApproved",
    "Tools",
    "website",
    "Access",
    "pkgsite",
    "telemetry",
];

/// Milestones a bot rule sets (Go's numbers), beside [`generate::MILESTONES`].
const BOT_MILESTONES: &[(&str, i64)] = &[
    ("Proposal", 30),
    ("Unreleased", 22),
    ("Gccgo", 23),
    ("Go1.22.6", 330),
];

/// How a generated title is made from a commit subject `pkg: what`.
const TITLE_SHAPES: &[&str] = &[
    "x/build/{pkg}: {what}",
    "x/build/{pkg}: {what}",
    "x/build/{pkg}: {what}",
    "{pkg}: {what}",
    "proposal: x/build/{pkg}: {what}",
    "x/mobile: {what}",
    "doc: {what}",
    "x/tools/gopls: {what}",
    "cmd/go: gccgo: {what}",
    "x/net/http2: {what}",
    "x/website: {what}",
    "access: {what}",
];

fn time(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn person(login: &str) -> Value {
    let id = 2_000_000 + login.bytes().map(i64::from).sum::<i64>();
    json!({"login": login, "id": id, "type": "User", "site_admin": false})
}

fn bot() -> Value {
    json!({"login": BOT, "id": 8_566_911, "type": "User", "site_admin": false})
}

fn label_json(name: &str) -> Value {
    let id = 160_000_000 + name.bytes().map(i64::from).sum::<i64>();
    json!({"id": id, "name": name, "color": "ededed", "default": false})
}

/// `pkg: what` of a commit subject, or the whole subject as `what`.
fn split_subject(subject: &str) -> (&str, &str) {
    match subject.split_once(": ") {
        Some((pkg, what)) if !pkg.contains(' ') => (pkg, what),
        _ => ("all", subject),
    }
}

fn shaped_title(shape: &str, subject: &str) -> String {
    let (pkg, what) = split_subject(subject);
    shape.replace("{pkg}", pkg).replace("{what}", what)
}

/// One issue as the fake holds it: its JSON, comments and events.
struct Made {
    issue: Value,
    comments: Vec<Value>,
    events: Vec<Value>,
}

impl Made {
    fn new(number: i32, title: &str, author: &str, created: i64) -> Made {
        Made {
            issue: json!({
                "url": format!("https://api.github.com/repos/golang/go/issues/{number}"),
                "id": 400_000_000 + number as i64,
                "number": number,
                "title": title,
                "user": person(author),
                "labels": [],
                "state": "open",
                "locked": false,
                "assignee": null,
                "assignees": [],
                "milestone": null,
                "comments": 0,
                "created_at": time(created),
                "updated_at": time(created),
                "closed_at": null,
                "author_association": "NONE",
                "body": format!("### What did you do?\n\n{title}\n\n### What did you see happen?\n\nIt failed.\n"),
            }),
            comments: vec![],
            events: vec![],
        }
    }

    fn number(&self) -> i64 {
        self.issue["number"].as_i64().unwrap_or(0)
    }

    fn touch(&mut self, at: i64) {
        if self.issue["updated_at"].as_str().unwrap_or("") < time(at).as_str() {
            self.issue["updated_at"] = json!(time(at));
        }
    }

    fn event(&mut self, kind: &str, actor: Value, at: i64, extra: Value) {
        let id = 5_000_000_000 + self.number() * 100 + self.events.len() as i64;
        let mut e = json!({
            "id": id,
            "url": format!("https://api.github.com/repos/golang/go/issues/events/{id}"),
            "actor": actor,
            "event": kind,
            "commit_id": null,
            "commit_url": null,
            "created_at": time(at),
        });
        if let (Some(e), Some(x)) = (e.as_object_mut(), extra.as_object()) {
            e.extend(x.clone());
        }
        self.events.push(e);
        self.touch(at);
    }

    /// A label added by `actor` at `at`: on the issue and as a `labeled` event.
    fn label(&mut self, name: &str, actor: Value, at: i64) {
        self.event(
            "labeled",
            actor,
            at,
            json!({"label": {"name": name, "color": "ededed"}}),
        );
        let labels = self.issue["labels"].as_array_mut().expect("labels");
        if !labels.iter().any(|l| l["name"] == name) {
            labels.push(label_json(name));
        }
    }

    fn unlabel(&mut self, name: &str, actor: Value, at: i64) {
        self.event(
            "unlabeled",
            actor,
            at,
            json!({"label": {"name": name, "color": "ededed"}}),
        );
        let labels = self.issue["labels"].as_array_mut().expect("labels");
        labels.retain(|l| l["name"] != name);
    }

    fn milestone(&mut self, title: &str, number: i64, actor: Value, at: i64) {
        self.event(
            "milestoned",
            actor,
            at,
            json!({"milestone": {"title": title}}),
        );
        self.issue["milestone"] = json!({"id": 9_000_000 + number, "number": number,
            "title": title, "state": "open"});
    }

    fn demilestone(&mut self, title: &str, actor: Value, at: i64) {
        self.event(
            "demilestoned",
            actor,
            at,
            json!({"milestone": {"title": title}}),
        );
        self.issue["milestone"] = Value::Null;
    }

    fn comment(&mut self, author: &str, body: &str, at: i64) {
        let id = 600_000_000 + self.number() * 100 + self.comments.len() as i64;
        self.comments.push(json!({
            "id": id,
            "user": person(author),
            "created_at": time(at),
            "updated_at": time(at),
            "author_association": "CONTRIBUTOR",
            "body": body,
        }));
        self.issue["comments"] = json!(self.comments.len());
        self.touch(at);
    }

    fn close(&mut self, actor: Value, at: i64) {
        self.event("closed", actor, at, json!({"state_reason": "completed"}));
        self.issue["state"] = json!("closed");
        self.issue["closed_at"] = json!(time(at));
    }

    fn reopen(&mut self, actor: Value, at: i64) {
        self.event("reopened", actor, at, json!({}));
        self.issue["state"] = json!("open");
        self.issue["closed_at"] = Value::Null;
    }

    fn lock(&mut self, actor: Value, at: i64) {
        self.event("locked", actor, at, json!({"lock_reason": null}));
        self.issue["locked"] = json!(true);
    }

    fn put(self, fake: &FakeGitHub) {
        let n = self.number() as i32;
        fake.put_comments("golang", "go", n, self.comments);
        fake.put_events("golang", "go", n, EventPages::Items(self.events));
        fake.put_issue("golang", "go", self.issue);
    }
}

/// Generated issue `number`: a shaped title, labels and a milestone each with the event
/// that set it (by a person or the bot), comments, and for a third of them a close.
fn generated(rng: &mut Rng, number: i32, subjects: &[String]) -> Made {
    let created = START + number as i64 * 3 * DAY;
    let subject = &subjects[rng.below(subjects.len() as u64) as usize];
    let shape = TITLE_SHAPES[rng.below(TITLE_SHAPES.len() as u64) as usize];
    let author = format!("gopher{}", rng.below(200));
    let mut m = Made::new(number, &shaped_title(shape, subject), &author, created);
    let mut t = created + 3600;
    for _ in 0..rng.below(3) {
        let name = generate::LABELS[rng.below(generate::LABELS.len() as u64) as usize];
        let actor = if rng.below(3) == 0 {
            bot()
        } else {
            person("triager")
        };
        m.label(name, actor, t);
        t += 3600;
    }
    if rng.below(2) == 0 {
        let (title, number, _) =
            generate::MILESTONES[rng.below(generate::MILESTONES.len() as u64) as usize];
        m.milestone(title, number, person("triager"), t);
    }
    let span = rng.below(90) as i64 * DAY;
    for k in 0..rng.below(4) {
        let who = format!("gopher{}", rng.below(200));
        let at = t + span * (k as i64 + 1) / 4;
        m.comment(&who, &format!("Comment {k} on #{number}."), at);
    }
    if rng.below(3) == 0 {
        m.close(person("triager"), t + span);
        if rng.below(20) == 0 {
            m.lock(person("triager"), t + span + 60);
        }
    }
    if rng.below(5) == 0 {
        m.issue["pull_request"] = json!({
            "url": format!("https://api.github.com/repos/golang/go/pulls/{number}")
        });
    }
    m
}

/// The hand-made cases, numbered from `first`: each rule acts on some and its guard
/// holds it back on others. `subjects` gives their titles a real x/build subject.
fn cases(first: i32, subjects: &[String]) -> Vec<Made> {
    let s = |k: usize| subjects[subjects.len() - 1 - k].as_str();
    let ago = |days: i64| CLOCK - days * DAY;
    let mut out = vec![];
    let mut n = first;
    let mut next = |title: String, created: i64| {
        let m = Made::new(n, &title, "gopher7", created);
        n += 1;
        m
    };

    // label build issues: a person removed the bot's Builders label (held back); the
    // milestone rule still acts on it.
    let mut m = next(format!("x/build/{}", s(0)), ago(40));
    m.label("Builders", bot(), ago(40) + 600);
    m.unlabel("Builders", person("dmitshur"), ago(39));
    out.push(m);

    // label proposals: a person took the Proposal milestone away (milestone held back,
    // label acts); and a person removed the Proposal label (label held back).
    let mut m = next(format!("proposal: x/build/{}", s(1)), ago(20));
    m.milestone("Proposal", 30, bot(), ago(20) + 600);
    m.demilestone("Proposal", person("rsc"), ago(19));
    out.push(m);
    let mut m = next(format!("proposal: x/build/{}", s(2)), ago(18));
    m.label("Proposal", bot(), ago(18) + 600);
    m.unlabel("Proposal", person("rsc"), ago(17));
    out.push(m);

    // close stale WaitingForInfo: quiet for two months (acts); answered by its author
    // (held back); asked five days ago (held back); reopened after the wait began (held).
    let mut m = next(format!("x/build/{}", s(3)), ago(90));
    m.label("WaitingForInfo", person("dmitshur"), ago(60));
    out.push(m);
    let mut m = next(format!("x/build/{}", s(4)), ago(90));
    m.label("WaitingForInfo", person("dmitshur"), ago(60));
    m.comment("gopher7", "Here is the log you asked for.", ago(50));
    out.push(m);
    let mut m = next(format!("x/build/{}", s(5)), ago(30));
    m.label("WaitingForInfo", person("dmitshur"), ago(5));
    out.push(m);
    let mut m = next(format!("x/build/{}", s(6)), ago(120));
    m.label("WaitingForInfo", person("dmitshur"), ago(100));
    m.close(person("dmitshur"), ago(70));
    m.event("reopened", person("gopher7"), ago(10), json!({}));
    m.issue["state"] = json!("open");
    m.issue["closed_at"] = Value::Null;
    out.push(m);

    // update needs: NeedsInvestigation, then NeedsFix (the older one goes).
    let mut m = next(format!("x/build/{}", s(7)), ago(30));
    m.label("NeedsInvestigation", person("triager"), ago(29));
    m.label("NeedsFix", person("dmitshur"), ago(10));
    out.push(m);

    // apply labels from comments: a command (acts); one undone by a later unlabel and a
    // forbidden removal (held back).
    let mut m = next(format!("x/build/{}", s(8)), ago(12));
    m.comment(
        "gopher9",
        "I can reproduce this.\n\n@gopherbot please add labels NeedsFix, help wanted",
        ago(11),
    );
    out.push(m);
    let mut m = next(format!("x/build/{}", s(9)), ago(12));
    m.label("Security", person("triager"), ago(12) + 60);
    m.comment(
        "gopher9",
        "@gopherbot add label Documentation\n\n@gopherbot remove label Security",
        ago(11),
    );
    m.label("Documentation", bot(), ago(11) + 60);
    m.unlabel("Documentation", person("dmitshur"), ago(10));
    out.push(m);

    // label mobile and documentation issues, with their guards and look-alikes.
    out.push(next(
        format!("x/mobile: {}", split_subject(s(10)).1),
        ago(8),
    ));
    let mut m = next(format!("x/mobile: {}", split_subject(s(11)).1), ago(8));
    m.label("mobile", bot(), ago(8) + 60);
    m.unlabel("mobile", person("hyangah"), ago(7));
    out.push(m);
    out.push(next(format!("doc: {}", split_subject(s(12)).1), ago(6)));
    out.push(next(format!("cmd/doc: {}", split_subject(s(13)).1), ago(6)));
    out.push(next(
        "net/http: document the Transport's idle timeout".into(),
        ago(6),
    ));

    // set gccgo / subrepo milestones: gccgo acts; x/arch and vendored x/net/http2 are skipped;
    // a milestone history holds the subrepo rule back.
    out.push(next(
        "cmd/cgo: gccgo rejects a packed struct".into(),
        ago(5),
    ));
    out.push(next(format!("x/arch: {}", split_subject(s(14)).1), ago(5)));
    out.push(next(
        format!("x/net/http2: {}", split_subject(s(15)).1),
        ago(5),
    ));
    let mut m = next(format!("x/build/{}", s(16)), ago(5));
    m.milestone("Unreleased", 22, bot(), ago(5) + 60);
    m.demilestone("Unreleased", person("dmitshur"), ago(4));
    out.push(m);

    // freeze old issues: closed 400 days ago (acts); the same, locked (held back).
    let mut m = next(format!("x/build/{}", s(17)), ago(420));
    m.close(person("triager"), ago(400));
    out.push(m);
    let mut m = next(format!("x/build/{}", s(18)), ago(420));
    m.close(person("triager"), ago(400));
    m.lock(person("triager"), ago(400) + 60);
    out.push(m);

    // a backport issue waiting for its change.
    let mut m = next(format!("x/build/{} [1.22 backport]", s(19)), ago(9));
    m.label("CherryPickCandidate", bot(), ago(9) + 60);
    m.milestone("Go1.22.6", 330, bot(), ago(9) + 60);
    out.push(m);

    // label pkgsite / telemetry issues: each acts on one, and is held back where a
    // person removed the label the bot added.
    out.push(next(
        format!("x/pkgsite: {}", split_subject(s(20)).1),
        ago(6),
    ));
    let mut m = next(format!("x/pkgsite: {}", split_subject(s(21)).1), ago(6));
    m.label("pkgsite", bot(), ago(6) + 60);
    m.unlabel("pkgsite", person("triager"), ago(5));
    out.push(m);
    out.push(next(
        format!("x/telemetry: {}", split_subject(s(22)).1),
        ago(6),
    ));
    let mut m = next(
        format!("x/telemetry/config: {}", split_subject(s(23)).1),
        ago(6),
    );
    m.label("telemetry", bot(), ago(6) + 60);
    m.unlabel("telemetry", person("triager"), ago(5));
    out.push(m);

    // close cherry pick issues: the change fixing #322 and this one merged to
    // release-branch.go1.22 three days ago (see `record`); #322 is closed, this one a
    // person reopened after the merge (held back).
    let mut m = next(format!("x/build/{} [1.22 backport]", s(24)), ago(9));
    m.label("CherryPickApproved", bot(), ago(9) + 60);
    m.milestone("Go1.22.6", 330, bot(), ago(9) + 60);
    m.close(bot(), ago(3) + 3700);
    m.reopen(person("dmitshur"), ago(2));
    out.push(m);
    out
}

/// The issues the x/build changes merged in the last 30 days refer to (by their real
/// numbers): cl2issue comments on them, unless one already says so or the issue is
/// frozen.
fn mentioned(subjects: &[String]) -> Vec<Made> {
    let mut out = vec![];
    for (k, n) in [77863, 80204, 80527].into_iter().enumerate() {
        out.push(Made::new(
            n,
            &format!("x/build/{}", subjects[k * 7]),
            "gopher3",
            CLOCK - 200 * DAY,
        ));
    }
    // Two changes mention 66635; the bot already said so for one of them.
    let mut m = Made::new(
        66635,
        "x/build: remove gomote",
        "gopher3",
        CLOCK - 600 * DAY,
    );
    m.comment(
        BOT,
        "Change https://go.dev/cl/791861 mentions this issue: `cmd/coordinator, internal/gomote: remove gomote functionality`",
        CLOCK - 30 * DAY,
    );
    out.push(m);
    let mut m = Made::new(36905, "x/build: an old one", "gopher3", CLOCK - 2000 * DAY);
    m.close(person("triager"), CLOCK - 1900 * DAY);
    m.lock(bot(), CLOCK - 1500 * DAY);
    m.label("FrozenDueToAge", bot(), CLOCK - 1500 * DAY);
    out.push(m);
    out
}

/// Fills golang/go with `issues` generated issues (numbers `1..=issues`), the hand-made
/// cases after them, the issues recent x/build changes mention, the labels and
/// milestones, and fixes the fake's clock to [`CLOCK`]. `subjects` are commit subjects
/// (first lines), oldest first.
pub fn populate(fake: &FakeGitHub, issues: i32, seed: u64, subjects: &[String]) {
    let mut rng = Rng::new(seed);
    let mut labels = generate::labels();
    labels.extend(BOT_LABELS.iter().map(|l| label_json(l)));
    fake.put_labels("golang", "go", labels);
    let mut milestones = generate::milestones();
    milestones.extend(BOT_MILESTONES.iter().map(|(title, number)| {
        json!({"id": 9_000_000 + number, "number": number, "title": title, "state": "open"})
    }));
    fake.put_milestones("golang", "go", milestones);
    for n in 1..=issues {
        generated(&mut rng, n, subjects).put(fake);
    }
    for m in cases(issues + 1, subjects) {
        m.put(fake);
    }
    for m in mentioned(subjects) {
        m.put(fake);
    }
    fake.set_clock(Some(CLOCK));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_take_the_shape_of_golang_go_titles() {
        assert_eq!(
            shaped_title("x/build/{pkg}: {what}", "cmd/coordinator: add a flag"),
            "x/build/cmd/coordinator: add a flag"
        );
        assert_eq!(
            shaped_title("doc: {what}", "cmd/coordinator: add a flag"),
            "doc: add a flag"
        );
        assert_eq!(
            shaped_title("x/build/{pkg}: {what}", "Revert \"x: y\""),
            "x/build/all: Revert \"x: y\""
        );
    }
}
