//! The synthetic log: the shape of the Go project's corpus (issues with comments and
//! events, a long git history, Gerrit changes with NoteDB votes), logged the way Go's
//! maintner logs it.
//!
//! - GitHub: a new issue with all its fields, then its comments in pages of up to 100
//!   (the last page carries `comment_status`), then a page of events with `event_status`
//!   (Go's `maintner/github.go`, `syncIssues`, `syncComments`, `syncEvents`).
//! - Gerrit: every commit in a mutation of its own, then, once per poll, one mutation with
//!   the refs that moved since the last poll (Go's `maintner/gerrit.go`, `syncOnce` and
//!   `syncCommits`). Polls come every five minutes of the simulated clock.
//!
//! Every run writes the same bytes.

use std::collections::BTreeMap;
use std::path::Path;

use crate::disklog::{DiskLog, LogError, SyncPolicy};
use crate::maintpb::{
    BoolChange, GerritMutation, GitRef, GithubIssueSyncStatus, GithubLabel, GithubMilestone,
    GithubMutation, Mutation, Timestamp,
};
use crate::synth::{self, gerrit_person, GerritSim, Hasher, IssueSpec};

/// The shape of the synthetic log: what the loaded corpus holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenSpec {
    pub issues: u32,
    pub comments: u32,
    pub changes: u32,
    /// All commits: the branch history, and each change's patch sets and NoteDB metas.
    pub commits: u32,
}

impl Default for GenSpec {
    /// The shape of the log Go's maintner was measured loading: 40,002 issues, 200,000
    /// comments, 6,000 changes, 110,002 commits.
    fn default() -> Self {
        GenSpec {
            issues: 40_002,
            comments: 200_000,
            changes: 6_000,
            commits: 110_002,
        }
    }
}

impl GenSpec {
    /// Every count multiplied by `factor`.
    pub fn scaled(&self, factor: f64) -> GenSpec {
        let s = |n: u32| (f64::from(n) * factor).round() as u32;
        GenSpec {
            issues: s(self.issues),
            comments: s(self.comments),
            changes: s(self.changes),
            commits: s(self.commits),
        }
    }
}

/// What [`generate`] wrote.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GenReport {
    pub mutations: u64,
    pub bytes: u64,
    pub segments: usize,
}

/// A small deterministic generator (so every run writes the same log).
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }

    /// Between `min` and `min + spread - 1` words.
    fn words(&mut self, min: u64, spread: u64) -> String {
        let n = min + self.below(spread);
        self.text(n)
    }

    fn text(&mut self, words: u64) -> String {
        const VOCAB: &[&str] = &[
            "the",
            "go",
            "command",
            "runtime",
            "fails",
            "when",
            "building",
            "with",
            "module",
            "cache",
            "error",
            "test",
            "panic",
            "linux",
            "amd64",
            "reproduce",
            "version",
            "expected",
            "got",
            "output",
            "goroutine",
            "stack",
            "trace",
            "please",
            "fix",
            "this",
            "issue",
            "also",
            "happens",
            "on",
            "darwin",
            "windows",
            "arm64",
            "compiler",
            "gc",
            "memory",
            "allocation",
            "slow",
            "benchmark",
            "regression",
            "since",
            "release",
        ];
        let mut s = String::new();
        for i in 0..words {
            if i > 0 {
                s.push(if i % 13 == 0 { '\n' } else { ' ' });
            }
            s.push_str(VOCAB[self.below(VOCAB.len() as u64) as usize]);
        }
        s
    }
}

const OWNER: &str = "golang";
const REPO: &str = "go";
pub(crate) const PROJECT: &str = "go.googlesource.com/go";
pub(crate) const START: i64 = 1_500_000_000;
/// Go's GitHub API page size.
const PAGE: usize = 100;
/// Seconds between two Gerrit polls.
const POLL: i64 = 300;

/// Writes a synthetic log of shape `spec` into `dir` (which should be empty).
pub fn generate(dir: &Path, spec: &GenSpec) -> Result<GenReport, LogError> {
    let mut out = Writer {
        log: DiskLog::open_with(dir, SyncPolicy::Manual)?,
        mutations: 0,
    };
    let mut rng = Rng(42);
    out.put(repo_mutation())?;
    github(&mut out, &mut rng, spec)?;
    gerrit(&mut out, &mut rng, spec)?;
    out.log.sync()?;
    Ok(GenReport {
        mutations: out.mutations,
        bytes: out.log.total_size(),
        segments: out.log.segments().len(),
    })
}

struct Writer {
    log: DiskLog,
    mutations: u64,
}

impl Writer {
    fn put(&mut self, m: Mutation) -> Result<(), LogError> {
        self.mutations += 1;
        self.log.append_batch(std::slice::from_ref(&m)).map(|_| ())
    }
}

const LABELS: &[&str] = &[
    "NeedsFix",
    "NeedsInvestigation",
    "NeedsDecision",
    "Documentation",
    "Proposal",
    "Testing",
    "FrozenDueToAge",
    "OS-Linux",
    "OS-Windows",
    "OS-Darwin",
    "WaitingForInfo",
    "release-blocker",
    "Performance",
    "compiler/runtime",
    "gopls",
    "Tools",
    "help wanted",
    "ExpertNeeded",
];

fn repo_mutation() -> Mutation {
    Mutation {
        github: Some(GithubMutation {
            owner: OWNER.into(),
            repo: REPO.into(),
            labels: LABELS
                .iter()
                .enumerate()
                .map(|(i, l)| GithubLabel {
                    id: 1000 + i as i64,
                    name: (*l).into(),
                })
                .collect(),
            milestones: (0..30)
                .map(|i| GithubMilestone {
                    id: 5000 + i,
                    title: format!("Go1.{i}"),
                    closed: Some(BoolChange { val: i < 25 }),
                    number: i + 1,
                })
                .collect(),
        }),
        ..Default::default()
    }
}

fn sync_status(secs: i64) -> Option<GithubIssueSyncStatus> {
    Some(GithubIssueSyncStatus {
        server_date: Some(Timestamp::from_unix(secs)),
    })
}

fn github(out: &mut Writer, rng: &mut Rng, spec: &GenSpec) -> Result<(), LogError> {
    let per_issue = u64::from(spec.comments / spec.issues.max(1));
    let mut comment_id = 1_000_000i64;
    let mut event_id = 5_000_000i64;
    let mut comments_left = u64::from(spec.comments);
    for n in 1..=spec.issues as i32 {
        let created = START + i64::from(n) * 600;
        let synced = created + 7200;
        let labels: Vec<(i64, &str)> = (0..rng.below(3))
            .map(|_| {
                let i = rng.below(LABELS.len() as u64) as usize;
                (1000 + i as i64, LABELS[i])
            })
            .collect();
        let milestone = rng.below(30) as i64;
        let title = format!("cmd/go: {}", rng.text(4));
        let body = rng.words(3, 8);
        let login = format!("user{}", rng.below(5000));
        out.put(synth::new_issue(&IssueSpec {
            owner: OWNER,
            repo: REPO,
            number: n,
            id: 100_000_000 + i64::from(n),
            user: (10_000 + rng.below(5000) as i64, &login),
            created,
            updated: created + 3600,
            title: &title,
            body: &body,
            labels: &labels,
            milestone: (milestone < 28).then(|| (5000 + milestone, "", milestone + 1)),
            closed: rng.below(3) > 0,
            pull_request: rng.below(10) == 0,
        }))?;
        let count = if n == spec.issues as i32 {
            comments_left
        } else {
            rng.below(2 * per_issue + 1).min(comments_left)
        };
        comments_left -= count;
        let bodies: Vec<(i64, (i64, String), i64, String)> = (0..count)
            .map(|i| {
                comment_id += 1;
                let u = rng.below(5000) as i64;
                (
                    comment_id,
                    (10_000 + u, format!("user{u}")),
                    created + 60 * (i as i64 + 1),
                    rng.words(2, 5),
                )
            })
            .collect();
        let list: Vec<_> = bodies
            .iter()
            .map(|(id, (u, l), t, b)| (*id, (*u, l.as_str()), *t, b.as_str()))
            .collect();
        // One mutation per page, even an empty one; the last says when it was synced.
        let pages: Vec<&[_]> = if list.is_empty() {
            vec![&[]]
        } else {
            list.chunks(PAGE).collect()
        };
        for (i, page) in pages.iter().enumerate() {
            let mut m = synth::comments(OWNER, REPO, n, page);
            if i + 1 == pages.len() {
                if let Some(im) = &mut m.github_issue {
                    im.comment_status = sync_status(synced);
                }
            }
            out.put(m)?;
        }
        let mut evs: Vec<(i64, &str, i64, i64, &str)> = Vec::new();
        for (_, name) in &labels {
            event_id += 1;
            evs.push((event_id, "labeled", 10_000, created + 30, name));
        }
        event_id += 1;
        evs.push((event_id, "closed", 10_000, created + 3600, ""));
        let mut m = synth::events(OWNER, REPO, n, &evs);
        if let Some(im) = &mut m.github_issue {
            im.event_status = sync_status(synced);
        }
        out.put(m)?;
    }
    Ok(())
}

/// How one change lives, decided before any of it is written so the total number of
/// commits comes out exact.
struct ChangePlan {
    patch_sets: u32,
    /// The last patch set's trybot run has not reported yet.
    pending: bool,
    merged: bool,
}

impl ChangePlan {
    fn new(rng: &mut Rng) -> ChangePlan {
        let patch_sets = 1 + rng.below(3) as u32;
        ChangePlan {
            patch_sets,
            pending: rng.below(20) == 0,
            merged: rng.below(10) < 8,
        }
    }

    /// Per patch set: its commit, the upload's meta, Run-TryBot and (unless pending)
    /// TryBot-Result; then Code-Review, and the merge.
    fn commits(&self) -> u32 {
        self.patch_sets * 4 - u32::from(self.pending) + 1 + u32::from(self.merged)
    }
}

/// Logs Gerrit mutations as Go's poller does: each commit alone, then the refs that moved
/// since the last poll in one mutation, sorted by name like `git ls-remote`.
struct GerritPoller {
    refs: BTreeMap<String, String>,
    next_poll: i64,
}

impl GerritPoller {
    fn log(&mut self, out: &mut Writer, sim: &GerritSim, m: Mutation) -> Result<(), LogError> {
        let Some(g) = m.gerrit else { return out.put(m) };
        for c in g.commits {
            out.put(gerrit_mutation(vec![c], vec![]))?;
        }
        for r in g.refs {
            self.refs.insert(r.r#ref, r.sha1);
        }
        if sim.clock >= self.next_poll {
            self.next_poll = sim.clock + POLL;
            self.poll(out)?;
        }
        Ok(())
    }

    fn poll(&mut self, out: &mut Writer) -> Result<(), LogError> {
        if self.refs.is_empty() {
            return Ok(());
        }
        let refs = std::mem::take(&mut self.refs)
            .into_iter()
            .map(|(r#ref, sha1)| GitRef { r#ref, sha1 })
            .collect();
        out.put(gerrit_mutation(vec![], refs))
    }
}

fn gerrit_mutation(commits: Vec<crate::maintpb::GitCommit>, refs: Vec<GitRef>) -> Mutation {
    Mutation {
        gerrit: Some(GerritMutation {
            project: PROJECT.into(),
            commits,
            refs,
            deleted_refs: vec![],
        }),
        ..Default::default()
    }
}

fn gerrit(out: &mut Writer, rng: &mut Rng, spec: &GenSpec) -> Result<(), LogError> {
    let mut sim = GerritSim::new(PROJECT, START, Hasher::with_salt(7));
    let mut poller = GerritPoller {
        refs: BTreeMap::new(),
        next_poll: START,
    };
    let plans: Vec<ChangePlan> = (0..spec.changes).map(|_| ChangePlan::new(rng)).collect();
    let change_commits: u32 = plans.iter().map(ChangePlan::commits).sum();
    // The branch history makes up the rest, with the changes spread over it.
    let history = spec.commits.saturating_sub(change_commits);
    let mut plans = plans.into_iter().enumerate().peekable();
    for i in 0..history.max(1) {
        if i < history {
            let m = history_commit(&mut sim, rng, i);
            poller.log(out, &sim, m)?;
        }
        // Change k comes after history commit k * history / changes.
        while let Some((k, _)) = plans.peek() {
            if u64::from(i) + 1 < (*k as u64 + 1) * u64::from(history) / u64::from(spec.changes) {
                break;
            }
            let (k, plan) = plans.next().expect("peeked");
            change(out, &mut poller, rng, &mut sim, 10_001 + k as i32, &plan)?;
        }
    }
    poller.poll(out)
}

fn history_commit(sim: &mut GerritSim, rng: &mut Rng, i: u32) -> Mutation {
    let author = format!("Dev {0} <dev{0}@golang.org>", rng.below(800));
    let subject = format!("cmd/compile: {}", rng.text(4));
    let fixes = match rng.below(4) {
        0 => format!("Fixes #{}\n\n", 1 + rng.below(40_000)),
        _ => String::new(),
    };
    let msg = format!(
        "{subject}\n\n{fixes}Change-Id: I{:040x}\n",
        rng.below(u64::MAX)
    );
    let files = [
        (
            "src/cmd/compile/ssa.go",
            rng.below(40) as i64,
            rng.below(20) as i64,
        ),
        ("src/cmd/compile/ssa_test.go", rng.below(30) as i64, 0),
    ];
    sim.branch_commit("master", &author, &msg, &files[..1 + (i % 2) as usize])
}

/// One change's life: uploads, trybot runs, a review; most get merged.
fn change(
    out: &mut Writer,
    poller: &mut GerritPoller,
    rng: &mut Rng,
    sim: &mut GerritSim,
    cl: i32,
    plan: &ChangePlan,
) -> Result<(), LogError> {
    let gobot = ("Gopher Robot", 5976);
    let owner = ("Owner", 1000 + rng.below(500) as i64);
    let person = gerrit_person(owner.0, owner.1);
    let change_id = format!("I{:040x}", 0xc1_0000 + cl as u64);
    let title = format!("runtime: {}", rng.text(6));
    let reviewer = ("Reviewer", 2000 + rng.below(50) as i64);
    for ps in 1..=plan.patch_sets {
        let files = [("src/runtime/proc.go", 10 + i64::from(ps), 2)];
        let m = sim.upload(cl, &person, &title, &change_id, &files, None, &[]);
        poller.log(out, sim, m)?;
        let m = sim.vote(cl, owner, owner, "Run-TryBot", 1);
        poller.log(out, sim, m)?;
        if !(ps == plan.patch_sets && plan.pending) {
            let m = sim.vote(cl, gobot, gobot, "TryBot-Result", 1);
            poller.log(out, sim, m)?;
        }
    }
    let m = sim.vote(cl, reviewer, reviewer, "Code-Review", 2);
    poller.log(out, sim, m)?;
    if plan.merged {
        let m = sim.meta(
            cl,
            &person,
            &format!("Update patch set {}", plan.patch_sets),
            Some("Change has been successfully merged"),
            &["Status: merged".into()],
        );
        poller.log(out, sim, m)?;
    }
    Ok(())
}
