//! NoteDB meta history applied to changes: votes per patch set with copy rules, status,
//! reviewers, hashtags, branch moves, unknown footers, out-of-order refs; and try work.

use maintner::gerrit::GerritCL;
use maintner::synth::{gerrit_person, GerritSim, Hasher};
use maintner::{CopyRule, Corpus, Mutation, VoteConfig};

const PROJECT: &str = "go.googlesource.com/go";
const OWNER: (&str, i64) = ("Gopher", 1001);
const GOBOT: (&str, i64) = ("Gobot Gobot", 5976);
const REVIEWER: (&str, i64) = ("Reviewer", 2002);
const CHANGE_ID: &str = "I0bcae339624e7d61037d9ea0885b7bd07491bbb6";
const FILES_A: &[(&str, i64, i64)] = &[("src/a.go", 10, 2)];
const FILES_B: &[(&str, i64, i64)] = &[("src/a.go", 12, 2)];

fn owner() -> String {
    gerrit_person(OWNER.0, OWNER.1)
}

struct World {
    corpus: Corpus,
    sim: GerritSim,
}

impl World {
    fn new(votes: VoteConfig) -> World {
        let mut w = World {
            corpus: Corpus::new(votes),
            sim: GerritSim::new(PROJECT, 1_500_000_000, Hasher::default()),
        };
        let m = w.sim.branch_commit(
            "master",
            "Gopher <g@golang.org>",
            "initial\n",
            &[("README", 1, 0)],
        );
        w.apply(m);
        w
    }

    fn apply(&mut self, m: Mutation) -> maintner::Applied {
        self.corpus.apply(&m)
    }

    fn upload(&mut self, cl: i32, files: &[(&str, i64, i64)], msg: Option<&str>, footers: &[&str]) {
        let footers: Vec<String> = footers.iter().map(|s| s.to_string()).collect();
        let m = self.sim.upload(
            cl,
            &owner(),
            "runtime: fix a thing",
            CHANGE_ID,
            files,
            msg,
            &footers,
        );
        self.apply(m);
    }

    fn vote(&mut self, cl: i32, author: (&str, i64), voter: (&str, i64), label: &str, value: i8) {
        let m = self.sim.vote(cl, author, voter, label, value);
        self.apply(m);
    }

    fn cl(&self, n: i32) -> &GerritCL {
        let g = self.corpus.gerrit();
        let pid = g.find(self.corpus.strings(), PROJECT).unwrap();
        &g.project(pid).cls[&n]
    }

    /// Current votes as (label, account, value).
    fn votes(&self, n: i32) -> Vec<(String, i64, i8)> {
        let st = self.corpus.strings();
        let mut v: Vec<_> = self
            .cl(n)
            .current_votes()
            .iter()
            .map(|v| (st.resolve(v.label).to_owned(), v.account, v.value))
            .collect();
        v.sort();
        v
    }

    fn try_cls(&self) -> Vec<i32> {
        self.corpus.try_work().iter().map(|t| t.cl).collect()
    }
}

fn v(label: &str, account: i64, value: i8) -> (String, i64, i8) {
    (label.to_owned(), account, value)
}

#[test]
fn upload_with_run_trybot_is_try_work() {
    let mut w = World::new(VoteConfig::default());
    w.upload(
        100,
        FILES_A,
        Some("Uploaded patch set 1: Run-TryBot+1."),
        &["Label: Run-TryBot=+1"],
    );
    assert_eq!(w.votes(100), [v("Run-TryBot", OWNER.1, 1)]);
    let work = w.corpus.try_work();
    assert_eq!(work.len(), 1);
    let t = &work[0];
    assert_eq!(
        (t.project.as_str(), t.branch.as_str(), t.cl, t.version),
        ("go", "master", 100, 1)
    );
    assert_eq!(t.change_id, CHANGE_ID);
    assert_eq!(t.commit, w.sim.current_commit(100).unwrap());
    assert!(t.go_commit.is_empty(), "the go project tests itself");
    assert_eq!(
        t.author_email,
        format!("{}@{}", OWNER.1, maintner::synth::SERVER_UUID)
    );
    let cl = w.cl(100);
    assert_eq!(cl.owner, Some(OWNER.1));
    assert_eq!(cl.messages.len(), 1);
    assert_eq!(&*cl.messages[0].text, "Uploaded patch set 1: Run-TryBot+1.");
}

#[test]
fn trybot_result_on_behalf_ends_try_work() {
    let mut w = World::new(VoteConfig::default());
    w.upload(100, FILES_A, None, &[]);
    w.vote(100, OWNER, OWNER, "Run-TryBot", 1);
    assert_eq!(w.try_cls(), [100]);
    // The coordinator's account posts TryBot-Result on behalf of Gobot.
    w.vote(100, ("Coordinator", 9999), GOBOT, "TryBot-Result", 1);
    assert_eq!(
        w.votes(100),
        [v("Run-TryBot", OWNER.1, 1), v("TryBot-Result", GOBOT.1, 1)]
    );
    assert!(w.try_cls().is_empty());
    // Removing the result on Gobot's behalf makes it wait again.
    w.vote(100, ("Coordinator", 9999), GOBOT, "TryBot-Result", 0);
    assert_eq!(w.votes(100), [v("Run-TryBot", OWNER.1, 1)]);
    assert_eq!(w.try_cls(), [100]);
    // -Run-TryBot by the owner: no longer requested.
    w.vote(100, OWNER, OWNER, "Run-TryBot", 0);
    assert!(w.votes(100).is_empty());
    assert!(w.try_cls().is_empty());
}

#[test]
fn new_patch_set_clears_trybot_votes_unless_diff_is_the_same() {
    let mut w = World::new(VoteConfig::default());
    w.upload(100, FILES_A, None, &[]);
    w.vote(100, OWNER, OWNER, "Run-TryBot", 1);
    w.vote(100, GOBOT, GOBOT, "TryBot-Result", -1);
    w.vote(100, REVIEWER, REVIEWER, "Code-Review", 2);
    // A different diff: trybot labels cleared, Code-Review carried over (Go's rule).
    w.upload(100, FILES_B, None, &[]);
    assert_eq!(w.cl(100).version(), 2);
    assert_eq!(w.votes(100), [v("Code-Review", REVIEWER.1, 2)]);
    // Patch set 1 keeps its votes.
    assert_eq!(w.cl(100).patch_set(1).unwrap().votes.len(), 3);
    w.vote(100, OWNER, OWNER, "Run-TryBot", 1);
    w.vote(100, GOBOT, GOBOT, "TryBot-Result", 1);
    // A rebase with the same diff stat keeps everything.
    w.upload(100, FILES_B, None, &[]);
    assert_eq!(
        w.votes(100),
        [
            v("Code-Review", REVIEWER.1, 2),
            v("Run-TryBot", OWNER.1, 1),
            v("TryBot-Result", GOBOT.1, 1)
        ]
    );
    assert!(w.try_cls().is_empty());
}

#[test]
fn copy_rules_are_configurable_per_label() {
    let cfg = VoteConfig::default()
        .with("Code-Review", CopyRule::Never)
        .with("Run-TryBot", CopyRule::Always);
    let mut w = World::new(cfg);
    w.upload(100, FILES_A, None, &[]);
    w.vote(100, OWNER, OWNER, "Run-TryBot", 1);
    w.vote(100, REVIEWER, REVIEWER, "Code-Review", 2);
    w.upload(100, FILES_B, None, &[]);
    assert_eq!(w.votes(100), [v("Run-TryBot", OWNER.1, 1)]);
    assert_eq!(
        w.try_cls(),
        [100],
        "Run-TryBot copied, so still waiting on patch set 2"
    );
    assert_eq!(w.corpus.try_work()[0].version, 2);
}

#[test]
fn upload_vote_on_new_patch_set_requests_trybots_again() {
    let mut w = World::new(VoteConfig::default());
    w.upload(
        100,
        FILES_A,
        Some("Uploaded patch set 1: Run-TryBot+1."),
        &["Label: Run-TryBot=+1"],
    );
    w.vote(100, GOBOT, GOBOT, "TryBot-Result", 1);
    assert!(w.try_cls().is_empty());
    w.upload(
        100,
        FILES_B,
        Some("Uploaded patch set 2: Run-TryBot+1."),
        &["Label: Run-TryBot=+1"],
    );
    assert_eq!(w.votes(100), [v("Run-TryBot", OWNER.1, 1)]);
    assert_eq!(w.try_cls(), [100]);
    assert_eq!(
        w.corpus.try_work()[0].commit,
        w.sim.current_commit(100).unwrap()
    );
}

#[test]
fn status_private_and_wip() {
    let mut w = World::new(VoteConfig::default());
    w.upload(100, FILES_A, None, &["Label: Run-TryBot=+1"]);
    w.upload(
        101,
        FILES_A,
        None,
        &["Label: Run-TryBot=+1", "Private: true"],
    );
    w.upload(
        102,
        FILES_A,
        None,
        &["Label: Run-TryBot=+1", "Work-in-progress: true"],
    );
    assert_eq!(
        w.try_cls()
            .iter()
            .copied()
            .collect::<std::collections::BTreeSet<_>>(),
        [100, 102].into()
    );
    assert!(w.cl(101).private && w.cl(102).wip);
    let m = w.sim.meta(
        100,
        &owner(),
        "Update patch set 1",
        Some("Abandoned"),
        &["Status: abandoned".into()],
    );
    let applied = w.apply(m);
    assert!(applied.try_work_changed);
    assert_eq!(w.cl(100).status, maintner::notedb::ClStatus::Abandoned);
    assert_eq!(w.try_cls(), [102]);
    let m = w.sim.meta(
        100,
        &owner(),
        "Update patch set 1",
        Some("Restored"),
        &["Status: new".into()],
    );
    w.apply(m);
    assert_eq!(w.try_cls().len(), 2);
}

#[test]
fn reviewers_hashtags_topic_and_branch_moves() {
    let mut w = World::new(VoteConfig::default());
    w.upload(100, FILES_A, None, &[]);
    let r = gerrit_person(REVIEWER.0, REVIEWER.1);
    let g = gerrit_person(GOBOT.0, GOBOT.1);
    let footers = [
        format!("Reviewer: {r}"),
        format!("CC: {g}"),
        "Hashtags: wait-release, bugfix".to_owned(),
        "Topic: speed".to_owned(),
    ];
    let m = w
        .sim
        .meta(100, &owner(), "Update patch set 1", None, &footers);
    w.apply(m);
    let st = w.corpus.strings();
    let cl = w.cl(100);
    assert_eq!(cl.reviewers, [REVIEWER.1]);
    assert_eq!(cl.ccs, [GOBOT.1]);
    let tags: Vec<_> = cl.hashtags.iter().map(|h| st.resolve(*h)).collect();
    assert_eq!(tags, ["wait-release", "bugfix"]);
    assert_eq!(st.resolve(cl.topic), "speed");
    assert_eq!(st.resolve(cl.branch), "master");
    let footers = [
        format!("Removed: {r}"),
        "Hashtags:".to_owned(),
        "Branch: refs/heads/release-branch.go1.9".to_owned(),
    ];
    let m = w
        .sim
        .meta(100, &owner(), "Update patch set 1", None, &footers);
    w.apply(m);
    let st = w.corpus.strings();
    let cl = w.cl(100);
    assert!(cl.reviewers.is_empty());
    assert!(cl.hashtags.is_empty());
    assert_eq!(
        st.resolve(cl.branch),
        "release-branch.go1.9",
        "the latest Branch: wins"
    );
}

#[test]
fn unknown_notedb_footer_is_kept_and_not_fatal() {
    let mut w = World::new(VoteConfig::default());
    w.upload(100, FILES_A, None, &[]);
    let footers = [
        "Frobnicate: yes please".to_owned(),
        "Label: Run-TryBot=+1".to_owned(),
        "Status: merged".to_owned(),
    ];
    let m = w.sim.meta(
        100,
        &owner(),
        "Update patch set 1",
        Some("Patch Set 1: Run-TryBot+1"),
        &footers,
    );
    w.apply(m);
    let st = w.corpus.strings();
    let cl = w.cl(100);
    let unknown: Vec<_> = cl
        .unknown_footers
        .iter()
        .map(|(k, v)| (st.resolve(*k), st.resolve(*v)))
        .collect();
    assert_eq!(unknown, [("Frobnicate", "yes please")]);
    // The footers around it still applied.
    assert_eq!(cl.status, maintner::notedb::ClStatus::Merged);
    assert_eq!(w.votes(100), [v("Run-TryBot", OWNER.1, 1)]);
    assert_eq!(cl.messages.len(), 1);
    assert_eq!(w.corpus.stats().gerrit_unknown_footers, 1);
}

#[test]
fn meta_ref_logged_before_its_commits_waits_for_them() {
    let mut w = World::new(VoteConfig::default());
    let mut m = w.sim.upload(
        100,
        &owner(),
        "x: y",
        CHANGE_ID,
        FILES_A,
        None,
        &["Label: Run-TryBot=+1".into()],
    );
    // Split the mutation: refs first, commits later (as old logs did).
    let g = m.gerrit.as_mut().unwrap();
    let commits = std::mem::take(&mut g.commits);
    w.apply(m.clone());
    assert!(w.try_cls().is_empty());
    assert!(
        !w.corpus.check().is_empty(),
        "check reports the waiting refs"
    );
    let later = Mutation {
        gerrit: Some(maintner::maintpb::GerritMutation {
            project: PROJECT.into(),
            commits,
            ..Default::default()
        }),
        ..Default::default()
    };
    let applied = w.apply(later);
    assert_eq!(applied.cls.len(), 1);
    assert_eq!(w.try_cls(), [100]);
    assert_eq!(w.cl(100).version(), 1);
    assert_eq!(w.corpus.check(), Vec::<String>::new());
}

#[test]
fn rewound_meta_ref_rebuilds_the_change() {
    let mut w = World::new(VoteConfig::default());
    w.upload(100, FILES_A, None, &[]);
    let first_head = w.sim.meta_head(100).unwrap().to_owned();
    w.vote(100, OWNER, OWNER, "Run-TryBot", 1);
    assert_eq!(w.try_cls(), [100]);
    assert_eq!(w.cl(100).meta_count, 2);
    // The meta ref goes back to the creation commit (e.g. a NoteDB rewrite).
    let m = Mutation {
        gerrit: Some(maintner::maintpb::GerritMutation {
            project: PROJECT.into(),
            refs: vec![maintner::maintpb::GitRef {
                r#ref: "refs/changes/00/100/meta".into(),
                sha1: first_head,
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    w.apply(m);
    assert_eq!(w.cl(100).meta_count, 1);
    assert!(w.votes(100).is_empty());
    assert!(w.try_cls().is_empty());
}

#[test]
fn only_touched_changes_are_reevaluated() {
    let mut w = World::new(VoteConfig::default());
    for cl in 100..110 {
        w.upload(cl, FILES_A, None, &[]);
    }
    let m = w.sim.vote(105, OWNER, OWNER, "Run-TryBot", 1);
    let applied = w.apply(m);
    assert_eq!(applied.cls.len(), 1);
    assert_eq!(applied.cls[0].1, 105);
    assert!(applied.try_work_changed);
    let m = w.sim.vote(106, REVIEWER, REVIEWER, "Code-Review", 1);
    let applied = w.apply(m);
    assert_eq!(applied.cls.iter().map(|c| c.1).collect::<Vec<_>>(), [106]);
    assert!(!applied.try_work_changed);
}

#[test]
fn subrepo_try_work_tests_against_go_master() {
    let mut corpus = Corpus::default();
    let mut go = GerritSim::new(
        "go.googlesource.com/go",
        1_500_000_000,
        Hasher::with_salt(1),
    );
    let mut net = GerritSim::new(
        "go.googlesource.com/net",
        1_500_000_000,
        Hasher::with_salt(2),
    );
    corpus.apply(&go.branch_commit("master", "G <g@x>", "go 1\n", &[]));
    let go_master = go.base.clone();
    corpus.apply(&net.branch_commit("master", "G <g@x>", "net 1\n", &[]));
    corpus.apply(&upload_net_change(&mut net));
    let work = corpus.try_work();
    assert_eq!(work.len(), 1);
    assert_eq!(work[0].project, "net");
    assert_eq!(work[0].go_commit, [go_master]);
    assert_eq!(work[0].go_branch, ["master"]);
    // Go's master moves: the answer follows without touching the net change.
    let applied = corpus.apply(&go.branch_commit("master", "G <g@x>", "go 2\n", &[]));
    assert!(applied.cls.is_empty());
    assert!(applied.try_work_changed, "subrepo entries name Go's master");
    assert_eq!(corpus.try_work()[0].go_commit, [go.base.clone()]);
    // A waiting change's new patch set (Run-TryBot copied) changes its entry.
    let applied = corpus.apply(&net.upload(7, &owner(), "http2: x", CHANGE_ID, FILES_A, None, &[]));
    assert!(applied.try_work_changed);
    assert_eq!(corpus.try_work()[0].version, 2);
    assert_eq!(corpus.try_work()[0].commit, net.current_commit(7).unwrap());
}

#[test]
fn issue_references_from_cls_and_commits() {
    let mut w = World::new(VoteConfig::default());
    let m = w.sim.branch_commit(
        "master",
        "G <g@x>",
        "net/http: fix\n\nFixes #123\nUpdates golang/tools#9\n",
        &[],
    );
    w.apply(m);
    let m = w.sim.upload(
        100,
        &owner(),
        "runtime: x\n\nFixes #123",
        CHANGE_ID,
        FILES_A,
        None,
        &[],
    );
    w.apply(m);
    let refs = w.corpus.referrers("golang", "go", 123);
    assert_eq!(
        refs.len(),
        3,
        "the branch commit, the patch set commit and the CL: {refs:?}"
    );
    assert!(refs
        .iter()
        .any(|r| matches!(r, maintner::corpus::Referrer::Cl(_, 100))));
    assert_eq!(w.corpus.referrers("golang", "tools", 9).len(), 1);
    assert!(w.corpus.referrers("golang", "go", 124).is_empty());
}

/// CL 7 on x/net, patch set 1 asking for trybots.
fn upload_net_change(net: &mut GerritSim) -> Mutation {
    net.upload(
        7,
        &owner(),
        "http2: x",
        CHANGE_ID,
        FILES_A,
        None,
        &["Label: Run-TryBot=+1".into()],
    )
}

fn set_ref(project: &str, name: &str, sha1: &str) -> Mutation {
    Mutation {
        gerrit: Some(maintner::maintpb::GerritMutation {
            project: project.into(),
            refs: vec![maintner::maintpb::GitRef {
                r#ref: name.into(),
                sha1: sha1.into(),
            }],
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn subrepo_master_changes_also_test_the_two_supported_releases() {
    let mut corpus = Corpus::default();
    let go_proj = "go.googlesource.com/go";
    let mut go = GerritSim::new(go_proj, 1_500_000_000, Hasher::with_salt(1));
    let mut net = GerritSim::new(
        "go.googlesource.com/net",
        1_500_000_000,
        Hasher::with_salt(2),
    );
    let mut heads = std::collections::HashMap::new();
    for b in [
        "release-branch.go1.20",
        "release-branch.go1.21",
        "release-branch.go1.22",
        "master",
    ] {
        corpus.apply(&go.branch_commit(b, "G <g@x>", &format!("{b}\n"), &[]));
        heads.insert(b, go.base.clone());
    }
    // Tags: 1.22 has no release yet (only an rc); 1.21 and 1.20 have patch releases.
    for (tag, b) in [
        ("go1.20", "release-branch.go1.20"),
        ("go1.20.3", "release-branch.go1.20"),
        ("go1.21.1", "release-branch.go1.21"),
        ("go1.21.0", "release-branch.go1.21"),
        ("go1.22rc1", "release-branch.go1.22"),
    ] {
        corpus.apply(&set_ref(go_proj, &format!("refs/tags/{tag}"), &heads[b]));
    }
    let releases = corpus.go_releases("go.googlesource.com");
    let names: Vec<_> = releases
        .iter()
        .map(|r| (r.tag_name.as_str(), r.branch_name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("go1.21.1", "release-branch.go1.21"),
            ("go1.20.3", "release-branch.go1.20")
        ]
    );

    corpus.apply(&net.branch_commit("master", "G <g@x>", "net 1\n", &[]));
    corpus.apply(&upload_net_change(&mut net));
    let work = corpus.try_work();
    assert_eq!(
        work[0].go_branch,
        ["master", "release-branch.go1.21", "release-branch.go1.20"]
    );
    assert_eq!(
        work[0].go_commit,
        [
            heads["master"].clone(),
            heads["release-branch.go1.21"].clone(),
            heads["release-branch.go1.20"].clone()
        ]
    );
    // A change on an internal branch tests only against its release branch.
    let m = net.meta(
        7,
        &owner(),
        "Update patch set 1",
        None,
        &["Branch: refs/heads/internal-branch.go1.21-vendor".into()],
    );
    corpus.apply(&m);
    assert_eq!(corpus.try_work()[0].go_branch, ["release-branch.go1.21"]);
}
