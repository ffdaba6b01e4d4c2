//! `maintpb`: the protobuf schema of the mutation log (Go's maintner.proto),
//! wire-compatible with Go's `golang.org/x/build/maintner/maintpb` — seed (2017) fields
//! and the HEAD additions.
//!
//! Written by hand with `prost` derives (no protoc). Fields are declared in field-number
//! order, so encoding produces the same bytes as Go's protobuf marshaller, which also emits
//! known fields in number order and omits proto3 defaults.
//!
//! Unknown fields: a top-level [`Mutation`] keeps fields it does not know in
//! [`Mutation::unknown`] and re-emits them on encode, so a mutation from a newer writer
//! survives a decode/encode round trip. Inside nested messages prost drops unknown fields;
//! the disk log never re-encodes records it reads (it keeps the raw bytes), so nothing is
//! lost on disk either way.

use bytes::{Buf, BufMut};
use prost::encoding::{
    self, decode_varint, encode_key, encode_varint, skip_field, DecodeContext, WireType,
};
use prost::DecodeError;

/// `google.protobuf.Timestamp` (same wire shape as the seed's `ptypes/timestamp`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, prost::Message)]
pub struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl Timestamp {
    pub fn from_unix(seconds: i64) -> Self {
        Timestamp { seconds, nanos: 0 }
    }
}

/// One entry of the log. Not a `oneof`: in practice exactly one of the four is set, and the
/// corpus applies whichever are present in the order github_issue, github, git, gerrit.
#[derive(Clone, PartialEq, Default)]
pub struct Mutation {
    pub github_issue: Option<GithubIssueMutation>, // 1
    pub git: Option<GitMutation>,                  // 2
    pub github: Option<GithubMutation>,            // 3
    pub gerrit: Option<GerritMutation>,            // 4
    /// Fields this schema does not know, as their raw encoded key+value bytes, in the
    /// order they appeared. Re-emitted after the known fields on encode.
    pub unknown: Vec<u8>,
}

impl std::fmt::Debug for Mutation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Mutation");
        if let Some(m) = &self.github_issue {
            d.field("github_issue", m);
        }
        if let Some(m) = &self.git {
            d.field("git", m);
        }
        if let Some(m) = &self.github {
            d.field("github", m);
        }
        if let Some(m) = &self.gerrit {
            d.field("gerrit", m);
        }
        if !self.unknown.is_empty() {
            d.field("unknown", &hex::encode(&self.unknown));
        }
        d.finish()
    }
}

impl prost::Message for Mutation {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        if let Some(m) = &self.github_issue {
            encoding::message::encode(1, m, buf);
        }
        if let Some(m) = &self.git {
            encoding::message::encode(2, m, buf);
        }
        if let Some(m) = &self.github {
            encoding::message::encode(3, m, buf);
        }
        if let Some(m) = &self.gerrit {
            encoding::message::encode(4, m, buf);
        }
        buf.put_slice(&self.unknown);
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        fn field<M: prost::Message + Default>(
            slot: &mut Option<M>,
            wire_type: WireType,
            buf: &mut impl Buf,
            ctx: DecodeContext,
        ) -> Result<(), DecodeError> {
            encoding::message::merge(wire_type, slot.get_or_insert_with(M::default), buf, ctx)
        }
        match tag {
            1 => field(&mut self.github_issue, wire_type, buf, ctx),
            2 => field(&mut self.git, wire_type, buf, ctx),
            3 => field(&mut self.github, wire_type, buf, ctx),
            4 => field(&mut self.gerrit, wire_type, buf, ctx),
            _ => keep_unknown(&mut self.unknown, tag, wire_type, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        self.github_issue
            .as_ref()
            .map_or(0, |m| encoding::message::encoded_len(1, m))
            + self
                .git
                .as_ref()
                .map_or(0, |m| encoding::message::encoded_len(2, m))
            + self
                .github
                .as_ref()
                .map_or(0, |m| encoding::message::encoded_len(3, m))
            + self
                .gerrit
                .as_ref()
                .map_or(0, |m| encoding::message::encoded_len(4, m))
            + self.unknown.len()
    }

    fn clear(&mut self) {
        *self = Mutation::default();
    }
}

/// Appends an unknown field (key and value) to `out` in its wire form.
fn keep_unknown(
    out: &mut Vec<u8>,
    tag: u32,
    wire_type: WireType,
    buf: &mut impl Buf,
    ctx: DecodeContext,
) -> Result<(), DecodeError> {
    match wire_type {
        WireType::Varint => {
            let v = decode_varint(buf)?;
            encode_key(tag, wire_type, out);
            encode_varint(v, out);
        }
        WireType::ThirtyTwoBit | WireType::SixtyFourBit => {
            let len = if wire_type == WireType::ThirtyTwoBit {
                4
            } else {
                8
            };
            if buf.remaining() < len {
                // Let prost produce its usual underflow error.
                return skip_field(wire_type, tag, buf, ctx);
            }
            encode_key(tag, wire_type, out);
            let start = out.len();
            out.resize(start + len, 0);
            buf.copy_to_slice(&mut out[start..]);
        }
        WireType::LengthDelimited => {
            let mut value = Vec::new();
            encoding::bytes::merge(wire_type, &mut value, buf, ctx)?;
            encoding::bytes::encode(tag, &value, out);
        }
        // Groups are proto2-only and never written by maintner; skip them.
        WireType::StartGroup | WireType::EndGroup => skip_field(wire_type, tag, buf, ctx)?,
    }
    Ok(())
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GithubMutation {
    #[prost(string, tag = "1")]
    pub owner: String,
    #[prost(string, tag = "2")]
    pub repo: String,
    #[prost(message, repeated, tag = "3")]
    pub labels: Vec<GithubLabel>,
    #[prost(message, repeated, tag = "4")]
    pub milestones: Vec<GithubMilestone>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GithubIssueMutation {
    #[prost(string, tag = "1")]
    pub owner: String,
    #[prost(string, tag = "2")]
    pub repo: String,
    /// The issue number, not its ID.
    #[prost(int32, tag = "3")]
    pub number: i32,
    #[prost(message, optional, tag = "4")]
    pub user: Option<GithubUser>,
    #[prost(message, optional, tag = "5")]
    pub created: Option<Timestamp>,
    #[prost(message, optional, tag = "6")]
    pub updated: Option<Timestamp>,
    /// Seed: empty means "no change". Superseded by `body_change` (31).
    #[prost(string, tag = "7")]
    pub body: String,
    #[prost(message, repeated, tag = "8")]
    pub comment: Vec<GithubIssueCommentMutation>,
    #[prost(string, tag = "9")]
    pub title: String,
    #[prost(message, repeated, tag = "10")]
    pub assignees: Vec<GithubUser>,
    #[prost(int64, repeated, tag = "11")]
    pub deleted_assignees: Vec<i64>,
    #[prost(int64, tag = "12")]
    pub id: i64,
    #[prost(bool, tag = "13")]
    pub not_exist: bool,
    #[prost(message, optional, tag = "14")]
    pub comment_status: Option<GithubIssueSyncStatus>,
    #[prost(bool, tag = "15")]
    pub no_milestone: bool,
    #[prost(int64, tag = "16")]
    pub milestone_id: i64,
    #[prost(int64, tag = "17")]
    pub milestone_num: i64,
    #[prost(string, tag = "18")]
    pub milestone_title: String,
    #[prost(message, optional, tag = "19")]
    pub closed: Option<BoolChange>,
    #[prost(message, optional, tag = "21")]
    pub closed_at: Option<Timestamp>,
    #[prost(message, optional, tag = "22")]
    pub closed_by: Option<GithubUser>,
    #[prost(int64, repeated, tag = "23")]
    pub remove_label: Vec<i64>,
    #[prost(message, repeated, tag = "24")]
    pub add_label: Vec<GithubLabel>,
    #[prost(message, optional, tag = "25")]
    pub locked: Option<BoolChange>,
    #[prost(message, repeated, tag = "26")]
    pub event: Vec<GithubIssueEvent>,
    #[prost(message, optional, tag = "27")]
    pub event_status: Option<GithubIssueSyncStatus>,
    /// HEAD.
    #[prost(bool, tag = "28")]
    pub pull_request: bool,
    /// HEAD.
    #[prost(message, repeated, tag = "29")]
    pub review: Vec<GithubReview>,
    /// HEAD.
    #[prost(message, optional, tag = "30")]
    pub review_status: Option<GithubIssueSyncStatus>,
    /// HEAD: preferred over `body`; can set an empty body.
    #[prost(message, optional, tag = "31")]
    pub body_change: Option<StringChange>,
}

#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct BoolChange {
    #[prost(bool, tag = "1")]
    pub val: bool,
}

/// HEAD.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StringChange {
    #[prost(string, tag = "1")]
    pub val: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GithubLabel {
    #[prost(int64, tag = "1")]
    pub id: i64,
    #[prost(string, tag = "2")]
    pub name: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GithubMilestone {
    #[prost(int64, tag = "1")]
    pub id: i64,
    #[prost(string, tag = "2")]
    pub title: String,
    #[prost(message, optional, tag = "3")]
    pub closed: Option<BoolChange>,
    #[prost(int64, tag = "4")]
    pub number: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GithubUser {
    #[prost(int64, tag = "1")]
    pub id: i64,
    #[prost(string, tag = "2")]
    pub login: String,
}

/// HEAD.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GithubTeam {
    #[prost(int64, tag = "1")]
    pub id: i64,
    #[prost(string, tag = "2")]
    pub slug: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GithubCommit {
    #[prost(string, tag = "1")]
    pub owner: String,
    #[prost(string, tag = "2")]
    pub repo: String,
    #[prost(string, tag = "3")]
    pub commit_id: String,
}

#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct GithubIssueSyncStatus {
    /// The GitHub `Date` header of the final HTTP response.
    #[prost(message, optional, tag = "1")]
    pub server_date: Option<Timestamp>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GithubIssueCommentMutation {
    #[prost(int64, tag = "1")]
    pub id: i64,
    #[prost(message, optional, tag = "2")]
    pub user: Option<GithubUser>,
    #[prost(string, tag = "3")]
    pub body: String,
    #[prost(message, optional, tag = "4")]
    pub created: Option<Timestamp>,
    #[prost(message, optional, tag = "5")]
    pub updated: Option<Timestamp>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GithubIssueEvent {
    #[prost(int64, tag = "1")]
    pub id: i64,
    #[prost(string, tag = "2")]
    pub event_type: String,
    #[prost(int64, tag = "3")]
    pub actor_id: i64,
    #[prost(message, optional, tag = "4")]
    pub created: Option<Timestamp>,
    #[prost(message, optional, tag = "5")]
    pub label: Option<GithubLabel>,
    #[prost(message, optional, tag = "6")]
    pub milestone: Option<GithubMilestone>,
    #[prost(int64, tag = "7")]
    pub assignee_id: i64,
    #[prost(int64, tag = "8")]
    pub assigner_id: i64,
    #[prost(message, optional, tag = "9")]
    pub commit: Option<GithubCommit>,
    /// JSON object of the fields the poller did not understand.
    #[prost(bytes = "vec", tag = "10")]
    pub other_json: Vec<u8>,
    #[prost(string, tag = "11")]
    pub rename_from: String,
    #[prost(string, tag = "12")]
    pub rename_to: String,
    /// HEAD.
    #[prost(int64, tag = "13")]
    pub reviewer_id: i64,
    /// HEAD.
    #[prost(int64, tag = "14")]
    pub review_requester_id: i64,
    /// HEAD.
    #[prost(message, optional, tag = "15")]
    pub dismissed_review: Option<GithubDismissedReviewEvent>,
    /// HEAD.
    #[prost(message, optional, tag = "16")]
    pub team_reviewer: Option<GithubTeam>,
}

/// HEAD. Field 2 is reserved (an old int64 state).
#[derive(Clone, PartialEq, prost::Message)]
pub struct GithubDismissedReviewEvent {
    #[prost(int64, tag = "1")]
    pub review_id: i64,
    #[prost(string, tag = "3")]
    pub dismissal_message: String,
    #[prost(string, tag = "4")]
    pub state: String,
}

/// HEAD.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GithubReview {
    #[prost(int64, tag = "1")]
    pub id: i64,
    #[prost(int64, tag = "2")]
    pub actor_id: i64,
    #[prost(message, optional, tag = "3")]
    pub created: Option<Timestamp>,
    #[prost(string, tag = "4")]
    pub body: String,
    #[prost(string, tag = "5")]
    pub state: String,
    #[prost(string, tag = "6")]
    pub commit_id: String,
    #[prost(string, tag = "7")]
    pub actor_association: String,
    #[prost(bytes = "vec", tag = "8")]
    pub other_json: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GitMutation {
    #[prost(message, optional, tag = "1")]
    pub repo: Option<GitRepo>,
    /// Adds a commit, or adds information to it.
    #[prost(message, optional, tag = "2")]
    pub commit: Option<GitCommit>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GitRepo {
    /// Means go.googlesource.com/<go_repo>.
    #[prost(string, tag = "1")]
    pub go_repo: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GitCommit {
    /// Full lowercase 40-hex.
    #[prost(string, tag = "1")]
    pub sha1: String,
    /// Output of `git cat-file commit <sha1>`.
    #[prost(bytes = "vec", tag = "2")]
    pub raw: Vec<u8>,
    #[prost(message, optional, tag = "3")]
    pub diff_tree: Option<GitDiffTree>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GitDiffTree {
    #[prost(message, repeated, tag = "1")]
    pub file: Vec<GitDiffTreeFile>,
}

/// One line of `git diff-tree --numstat`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GitDiffTreeFile {
    #[prost(string, tag = "1")]
    pub file: String,
    #[prost(int64, tag = "2")]
    pub added: i64,
    #[prost(int64, tag = "3")]
    pub deleted: i64,
    #[prost(bool, tag = "4")]
    pub binary: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GerritMutation {
    /// "go.googlesource.com/go": server/project, no scheme, no trailing slash.
    #[prost(string, tag = "1")]
    pub project: String,
    #[prost(message, repeated, tag = "2")]
    pub commits: Vec<GitCommit>,
    #[prost(message, repeated, tag = "3")]
    pub refs: Vec<GitRef>,
    /// HEAD.
    #[prost(string, repeated, tag = "4")]
    pub deleted_refs: Vec<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GitRef {
    /// e.g. `refs/heads/master`, `refs/changes/00/14700/1`, `refs/changes/00/14700/meta`.
    #[prost(string, tag = "1")]
    pub r#ref: String,
    /// Lowercase hex.
    #[prost(string, tag = "2")]
    pub sha1: String,
}

/// Which of the four parts a mutation carries, for counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MutationKind {
    GithubIssue,
    Github,
    Git,
    Gerrit,
    Empty,
}

impl Mutation {
    /// The part this mutation carries (the first set one in field order).
    pub fn kind(&self) -> MutationKind {
        if self.github_issue.is_some() {
            MutationKind::GithubIssue
        } else if self.git.is_some() {
            MutationKind::Git
        } else if self.github.is_some() {
            MutationKind::Github
        } else if self.gerrit.is_some() {
            MutationKind::Gerrit
        } else {
            MutationKind::Empty
        }
    }
}
