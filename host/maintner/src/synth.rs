//! Builders of realistic mutations — git commits and Gerrit changes with NoteDB meta
//! history, the way `maintnerd`'s Gerrit poller logs them (commits first, then refs) — for
//! tests, the synthetic benchmark log and recorded-corpus generators.
//!
//! Commit hashes are made up (40 hex digits from a counter), not SHA-1 of the content: the
//! corpus never recomputes them.

use std::collections::HashMap;
use std::fmt::Write;

use crate::maintpb::{
    GerritMutation, GitCommit, GitDiffTree, GitDiffTreeFile, GitMutation, GitRef, GitRepo, Mutation,
};

/// The server UUID of go-review's NoteDB identities.
pub const SERVER_UUID: &str = "62eb7196-b449-3ce5-99f1-c037f21e1705";

/// A Gerrit identity: `Name <id@uuid>`.
pub fn gerrit_person(name: &str, account: i64) -> String {
    format!("{name} <{account}@{SERVER_UUID}>")
}

/// Output of `git cat-file commit`.
pub fn raw_commit(tree: &str, parents: &[&str], person: &str, time: i64, msg: &str) -> Vec<u8> {
    let mut s = format!("tree {tree}\n");
    for p in parents {
        let _ = writeln!(s, "parent {p}");
    }
    let _ = write!(
        s,
        "author {person} {time} +0000\ncommitter {person} {time} +0000\n\n{msg}"
    );
    s.into_bytes()
}

/// Files for a diff tree: (path, added, deleted).
pub fn diff_tree(files: &[(&str, i64, i64)]) -> Option<GitDiffTree> {
    Some(GitDiffTree {
        file: files
            .iter()
            .map(|&(f, a, d)| GitDiffTreeFile {
                file: f.to_owned(),
                added: a,
                deleted: d,
                binary: false,
            })
            .collect(),
    })
}

/// Makes up distinct commit hashes.
#[derive(Default)]
pub struct Hasher {
    next: u64,
    salt: u32,
}

impl Hasher {
    pub fn with_salt(salt: u32) -> Hasher {
        Hasher { next: 0, salt }
    }

    pub fn next_hash(&mut self) -> String {
        self.next += 1;
        format!("{:08x}{:032x}", self.salt, self.next)
    }
}

/// A git commit mutation for a plain repo (`GitMutation`).
pub fn git_mutation(repo: &str, commit: GitCommit) -> Mutation {
    Mutation {
        git: Some(GitMutation {
            repo: Some(GitRepo {
                go_repo: repo.to_owned(),
            }),
            commit: Some(commit),
        }),
        ..Default::default()
    }
}

struct ClSim {
    meta_head: Option<String>,
    patch_set: i32,
    ps_commit: String,
}

/// A Gerrit project whose changes are driven step by step.
pub struct GerritSim {
    pub project: String,
    pub hasher: Hasher,
    /// Unix seconds of the next commit; advanced by every step.
    pub clock: i64,
    /// Parent of new patch set commits (the branch head).
    pub base: String,
    cls: HashMap<i32, ClSim>,
}

fn shard(cl: i32) -> String {
    format!("{:02}", cl % 100)
}

impl GerritSim {
    pub fn new(project: &str, clock: i64, hasher: Hasher) -> GerritSim {
        GerritSim {
            project: project.to_owned(),
            hasher,
            clock,
            base: String::new(),
            cls: HashMap::new(),
        }
    }

    fn mutation(&self, commits: Vec<GitCommit>, refs: Vec<(String, String)>) -> Mutation {
        Mutation {
            gerrit: Some(GerritMutation {
                project: self.project.clone(),
                commits,
                refs: refs
                    .into_iter()
                    .map(|(r, sha1)| GitRef { r#ref: r, sha1 })
                    .collect(),
                deleted_refs: vec![],
            }),
            ..Default::default()
        }
    }

    /// A plain commit on a branch, with the branch ref moved to it.
    pub fn branch_commit(
        &mut self,
        branch: &str,
        author: &str,
        msg: &str,
        files: &[(&str, i64, i64)],
    ) -> Mutation {
        self.clock += 60;
        let hash = self.hasher.next_hash();
        let parents: Vec<&str> = if self.base.is_empty() {
            vec![]
        } else {
            vec![&self.base]
        };
        let commit = GitCommit {
            sha1: hash.clone(),
            raw: raw_commit(&"1".repeat(40), &parents, author, self.clock, msg),
            diff_tree: diff_tree(files),
        };
        self.base = hash.clone();
        self.mutation(vec![commit], vec![(format!("refs/heads/{branch}"), hash)])
    }

    /// A meta commit for `cl` at its current patch set: `subject`, optional change message
    /// body, then `Patch-set:` and the given footers. Returns the mutation logging it and
    /// moving the meta ref.
    pub fn meta(
        &mut self,
        cl: i32,
        author: &str,
        subject: &str,
        body: Option<&str>,
        footers: &[String],
    ) -> Mutation {
        let ps = self.cls.get(&cl).map_or(1, |c| c.patch_set);
        self.meta_at(cl, ps, author, subject, body, footers, vec![], vec![])
    }

    #[allow(clippy::too_many_arguments)]
    fn meta_at(
        &mut self,
        cl: i32,
        ps: i32,
        author: &str,
        subject: &str,
        body: Option<&str>,
        footers: &[String],
        mut commits: Vec<GitCommit>,
        mut refs: Vec<(String, String)>,
    ) -> Mutation {
        self.clock += 60;
        let hash = self.hasher.next_hash();
        let state = self.cls.entry(cl).or_insert(ClSim {
            meta_head: None,
            patch_set: ps,
            ps_commit: String::new(),
        });
        let mut msg = format!("{subject}\n\n");
        if let Some(b) = body {
            msg.push_str(b);
            msg.push_str("\n\n");
        }
        let _ = writeln!(msg, "Patch-set: {ps}");
        for f in footers {
            msg.push_str(f);
            msg.push('\n');
        }
        let parents: Vec<&str> = state.meta_head.iter().map(String::as_str).collect();
        commits.push(GitCommit {
            sha1: hash.clone(),
            raw: raw_commit(&"0".repeat(40), &parents, author, self.clock, &msg),
            diff_tree: None,
        });
        state.meta_head = Some(hash.clone());
        refs.push((format!("refs/changes/{}/{cl}/meta", shard(cl)), hash));
        self.mutation(commits, refs)
    }

    /// Uploads a new patch set of `cl` (creating the change on the first one): its commit
    /// with `files`, then the meta commit `Create change` / `Create patch set N` carrying
    /// `upload_message` (e.g. `Uploaded patch set 2: Run-TryBot+1.`) and the footers.
    #[allow(clippy::too_many_arguments)]
    pub fn upload(
        &mut self,
        cl: i32,
        uploader: &str,
        title: &str,
        change_id: &str,
        files: &[(&str, i64, i64)],
        upload_message: Option<&str>,
        footers: &[String],
    ) -> Mutation {
        self.clock += 60;
        let ps = self.cls.get(&cl).map_or(1, |c| c.patch_set + 1);
        let commit_hash = self.hasher.next_hash();
        let parents: Vec<&str> = if self.base.is_empty() {
            vec![]
        } else {
            vec![&self.base]
        };
        let msg = format!("{title}\n\nChange-Id: {change_id}\n");
        let commit = GitCommit {
            sha1: commit_hash.clone(),
            raw: raw_commit(&"2".repeat(40), &parents, uploader, self.clock, &msg),
            diff_tree: diff_tree(files),
        };
        if let Some(c) = self.cls.get_mut(&cl) {
            c.patch_set = ps;
        }
        let subject = if ps == 1 {
            "Create change".to_owned()
        } else {
            format!("Create patch set {ps}")
        };
        let default_msg = format!("Uploaded patch set {ps}.");
        let mut all = vec![];
        if ps == 1 {
            all.push(format!("Change-id: {change_id}"));
            all.push(format!("Subject: {}", title.lines().next().unwrap_or("")));
            all.push("Branch: refs/heads/master".to_owned());
            all.push("Status: new".to_owned());
        }
        all.push(format!("Commit: {commit_hash}"));
        all.push("Tag: autogenerated:gerrit:newPatchSet".to_owned());
        all.extend(footers.iter().cloned());
        let m = self.meta_at(
            cl,
            ps,
            uploader,
            &subject,
            Some(upload_message.unwrap_or(&default_msg)),
            &all,
            vec![commit],
            vec![(
                format!("refs/changes/{}/{cl}/{ps}", shard(cl)),
                commit_hash.clone(),
            )],
        );
        let state = self.cls.get_mut(&cl).expect("created by meta_at");
        state.patch_set = ps;
        state.ps_commit = commit_hash;
        m
    }

    /// A vote (or removal with `value == 0` → `-Label`) by `voter` on the current patch set,
    /// authored by `author` (on someone's behalf when they differ).
    pub fn vote(
        &mut self,
        cl: i32,
        author: (&str, i64),
        voter: (&str, i64),
        label: &str,
        value: i8,
    ) -> Mutation {
        let ps = self.cls.get(&cl).map_or(1, |c| c.patch_set);
        let behalf = if author.1 == voter.1 {
            String::new()
        } else {
            format!(" {}", gerrit_person(voter.0, voter.1))
        };
        let (line, text) = if value == 0 {
            (
                format!("Label: -{label}{behalf}"),
                format!("Patch Set {ps}: -{label}"),
            )
        } else {
            (
                format!("Label: {label}={value:+}{behalf}"),
                format!("Patch Set {ps}: {label}{value:+}"),
            )
        };
        self.meta(
            cl,
            &gerrit_person(author.0, author.1),
            &format!("Update patch set {ps}"),
            Some(&text),
            &[line],
        )
    }

    /// The commit hash of the current patch set of `cl`.
    pub fn current_commit(&self, cl: i32) -> Option<&str> {
        self.cls.get(&cl).map(|c| c.ps_commit.as_str())
    }

    /// The meta head of `cl`.
    pub fn meta_head(&self, cl: i32) -> Option<&str> {
        self.cls.get(&cl).and_then(|c| c.meta_head.as_deref())
    }
}

/// A GitHub issue as the poller first logs it (every field of a new issue, as Go's
/// `newMutationFromIssue` in maintner/github.go).
#[derive(Clone, Debug, Default)]
pub struct IssueSpec<'a> {
    pub owner: &'a str,
    pub repo: &'a str,
    pub number: i32,
    pub id: i64,
    pub user: (i64, &'a str),
    pub created: i64,
    pub updated: i64,
    pub title: &'a str,
    pub body: &'a str,
    pub labels: &'a [(i64, &'a str)],
    /// (id, title, number).
    pub milestone: Option<(i64, &'a str, i64)>,
    pub closed: bool,
    pub pull_request: bool,
}

fn ts(secs: i64) -> Option<crate::maintpb::Timestamp> {
    Some(crate::maintpb::Timestamp::from_unix(secs))
}

fn user(u: (i64, &str)) -> crate::maintpb::GithubUser {
    crate::maintpb::GithubUser {
        id: u.0,
        login: u.1.to_owned(),
    }
}

/// A small new issue, golang/go#`n` (id `n`, by user 1 "gopher", at time 100): what
/// tests fill a log with.
pub fn numbered_issue(n: i32) -> Mutation {
    new_issue(&IssueSpec {
        owner: "golang",
        repo: "go",
        number: n,
        id: n as i64,
        user: (1, "gopher"),
        created: 100,
        updated: 100,
        title: "t",
        ..Default::default()
    })
}

/// Appends issues 1 to `n` ([`numbered_issue`]), then a well-framed record that is not a
/// mutation, then issue `n + 1`; returns where the bad record is. With a few thousand
/// issues, loading reaches it on another thread than the first batches.
pub fn issues_then_a_bad_record(
    log: &mut crate::DiskLog,
    n: i32,
) -> Result<crate::RecordPos, crate::LogError> {
    let ms: Vec<_> = (1..=n).map(numbered_issue).collect();
    log.append_batch(&ms)?;
    // Field 1, length 100, then one byte.
    let bad = log.append_raw(&[0x0a, 0x64, 0x01])?;
    log.append(&numbered_issue(n + 1))?;
    Ok(bad)
}

/// The mutation for a newly seen issue.
pub fn new_issue(s: &IssueSpec<'_>) -> Mutation {
    use crate::maintpb::{BoolChange, GithubIssueMutation, GithubLabel};
    Mutation {
        github_issue: Some(GithubIssueMutation {
            owner: s.owner.to_owned(),
            repo: s.repo.to_owned(),
            number: s.number,
            id: s.id,
            user: Some(user(s.user)),
            created: ts(s.created),
            updated: ts(s.updated),
            body: s.body.to_owned(),
            title: s.title.to_owned(),
            assignees: vec![],
            no_milestone: s.milestone.is_none(),
            milestone_id: s.milestone.map_or(0, |m| m.0),
            milestone_title: s.milestone.map_or(String::new(), |m| m.1.to_owned()),
            milestone_num: s.milestone.map_or(0, |m| m.2),
            closed: Some(BoolChange { val: s.closed }),
            closed_at: if s.closed { ts(s.updated) } else { None },
            add_label: s
                .labels
                .iter()
                .map(|&(id, name)| GithubLabel {
                    id,
                    name: name.to_owned(),
                })
                .collect(),
            pull_request: s.pull_request,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A page of new comments on an issue: (id, user, created, body).
pub fn comments(
    owner: &str,
    repo: &str,
    number: i32,
    list: &[(i64, (i64, &str), i64, &str)],
) -> Mutation {
    use crate::maintpb::{GithubIssueCommentMutation, GithubIssueMutation};
    Mutation {
        github_issue: Some(GithubIssueMutation {
            owner: owner.to_owned(),
            repo: repo.to_owned(),
            number,
            comment: list
                .iter()
                .map(|&(id, u, t, body)| GithubIssueCommentMutation {
                    id,
                    user: Some(user(u)),
                    body: body.to_owned(),
                    created: ts(t),
                    updated: ts(t),
                })
                .collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// New events on an issue: (id, type, actor, created, label name).
pub fn events(
    owner: &str,
    repo: &str,
    number: i32,
    list: &[(i64, &str, i64, i64, &str)],
) -> Mutation {
    use crate::maintpb::{GithubIssueEvent, GithubIssueMutation, GithubLabel};
    Mutation {
        github_issue: Some(GithubIssueMutation {
            owner: owner.to_owned(),
            repo: repo.to_owned(),
            number,
            event: list
                .iter()
                .map(|&(id, ty, actor, t, label)| GithubIssueEvent {
                    id,
                    event_type: ty.to_owned(),
                    actor_id: actor,
                    created: ts(t),
                    label: (!label.is_empty()).then(|| GithubLabel {
                        id: 0,
                        name: label.to_owned(),
                    }),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
}
