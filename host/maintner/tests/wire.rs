//! Wire compatibility with Go's maintner: byte-exact vectors derived from Go's
//! maintner/maintpb/maintner.proto, and the log written by Go's maintner
//! (testdata/maintner-go).

use std::path::PathBuf;

use maintner::maintpb::*;
use maintner::{reclog, DiskLog, LogError, SyncPolicy};
use prost::Message;

pub fn go_log_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/maintner-go/maintner-2017-07-01.mutlog")
}

fn enc(m: &Mutation) -> Vec<u8> {
    m.encode_to_vec()
}

#[test]
fn vector_github_labels_and_milestones() {
    // Mutation.github (3) = GithubMutation{owner(1), repo(2), labels(3), milestones(4)}.
    let m = Mutation {
        github: Some(GithubMutation {
            owner: "golang".into(),
            repo: "go".into(),
            labels: vec![GithubLabel {
                id: 1001,
                name: "NeedsFix".into(),
            }],
            milestones: vec![GithubMilestone {
                id: 5002,
                title: "Go1.8".into(),
                closed: Some(BoolChange { val: true }),
                number: 2,
            }],
        }),
        ..Default::default()
    };
    let want: &[u8] = &[
        0x1a, 0x2d, // field 3, length 45
        0x0a, 0x06, b'g', b'o', b'l', b'a', b'n', b'g', // owner
        0x12, 0x02, b'g', b'o', // repo
        0x1a, 0x0d, 0x08, 0xe9, 0x07, // label: id 1001 (varint e9 07)
        0x12, 0x08, b'N', b'e', b'e', b'd', b's', b'F', b'i', b'x', //   name
        0x22, 0x10, 0x08, 0x8a, 0x27, // milestone: id 5002
        0x12, 0x05, b'G', b'o', b'1', b'.', b'8', //   title
        0x1a, 0x02, 0x08, 0x01, //   closed = BoolChange{val: true}
        0x20, 0x02, //   number 2
    ];
    assert_eq!(enc(&m), want);
    assert_eq!(Mutation::decode(want).unwrap(), m);
}

#[test]
fn vector_issue_with_seed_and_head_fields() {
    let m = Mutation {
        github_issue: Some(GithubIssueMutation {
            owner: "o".into(),
            repo: "r".into(),
            number: 5,
            created: Some(Timestamp::from_unix(1_500_000_000)),
            id: 300,
            no_milestone: true,
            closed: Some(BoolChange { val: false }),
            remove_label: vec![7],
            pull_request: true,
            body_change: Some(StringChange { val: String::new() }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let want: &[u8] = &[
        0x0a, 0x21, // field 1 (github_issue), length 33
        0x0a, 0x01, b'o', // owner
        0x12, 0x01, b'r', // repo
        0x18, 0x05, // number 5
        0x2a, 0x06, 0x08, 0x80, 0xde, 0xa0, 0xcb, 0x05, // created {seconds 1500000000}
        0x60, 0xac, 0x02, // id (12) = 300
        0x78, 0x01, // no_milestone (15)
        0x9a, 0x01, 0x00, // closed (19) = BoolChange{} (empty but present)
        0xb8, 0x01, 0x07, // remove_label (23), unpacked form
        0xe0, 0x01, 0x01, // pull_request (28)
        0xfa, 0x01, 0x00, // body_change (31) = StringChange{""}
    ];
    // proto3 packs repeated scalars: field 23 wire type 2, length 1, value 7.
    let mut packed = want.to_vec();
    let at = packed
        .windows(3)
        .position(|w| w == [0xb8, 0x01, 0x07])
        .unwrap();
    packed.splice(at..at + 3, [0xba, 0x01, 0x01, 0x07]);
    packed[1] += 1;
    assert_eq!(enc(&m), packed);
    assert_eq!(Mutation::decode(&packed[..]).unwrap(), m);
    // Go's decoder also accepts the unpacked form; so must we.
    assert_eq!(Mutation::decode(want).unwrap(), m);
}

#[test]
fn vector_gerrit_refs_and_deleted_refs() {
    let m = Mutation {
        gerrit: Some(GerritMutation {
            project: "go.googlesource.com/go".into(),
            commits: vec![],
            refs: vec![GitRef {
                r#ref: "refs/changes/07/40007/meta".into(),
                sha1: "2f7d1bdfda3b876701748ce8ff5d2d68f038ee63".into(),
            }],
            deleted_refs: vec!["refs/heads/old".into()],
        }),
        ..Default::default()
    };
    let mut want = vec![0x22, 0x70]; // field 4, length 112
    want.extend_from_slice(b"\x0a\x16go.googlesource.com/go");
    want.extend_from_slice(b"\x1a\x46"); // refs (3), length 70
    want.extend_from_slice(b"\x0a\x1arefs/changes/07/40007/meta");
    want.extend_from_slice(b"\x12\x282f7d1bdfda3b876701748ce8ff5d2d68f038ee63");
    want.extend_from_slice(b"\x22\x0erefs/heads/old"); // deleted_refs (4)
    assert_eq!(want.len(), 2 + 0x70);
    assert_eq!(enc(&m), want);
    assert_eq!(Mutation::decode(&want[..]).unwrap(), m);
}

#[test]
fn vector_git_commit_with_diff_tree() {
    let m = Mutation {
        git: Some(GitMutation {
            repo: Some(GitRepo {
                go_repo: "net".into(),
            }),
            commit: Some(GitCommit {
                sha1: "a".repeat(40),
                raw: b"tree t\n\nm".to_vec(),
                diff_tree: Some(GitDiffTree {
                    file: vec![GitDiffTreeFile {
                        file: "a.go".into(),
                        added: 3,
                        deleted: 0,
                        binary: true,
                    }],
                }),
            }),
        }),
        ..Default::default()
    };
    let mut want = vec![0x12, 0x4c]; // field 2 (git), length 76
    want.extend_from_slice(b"\x0a\x05\x0a\x03net"); // repo {go_repo}
    want.extend_from_slice(b"\x12\x43"); // commit, length 67
    want.extend_from_slice(b"\x0a\x28");
    want.extend_from_slice("a".repeat(40).as_bytes());
    want.extend_from_slice(b"\x12\x09tree t\n\nm");
    want.extend_from_slice(b"\x1a\x0c\x0a\x0a\x0a\x04a.go\x10\x03\x20\x01");
    assert_eq!(want.len(), 2 + 0x4c);
    assert_eq!(enc(&m), want);
    assert_eq!(Mutation::decode(&want[..]).unwrap(), m);
}

#[test]
fn vector_event_head_fields() {
    let ev = GithubIssueEvent {
        id: 1,
        event_type: "review_dismissed".into(),
        dismissed_review: Some(GithubDismissedReviewEvent {
            review_id: 9,
            dismissal_message: "m".into(),
            state: "approved".into(),
        }),
        team_reviewer: Some(GithubTeam {
            id: 4,
            slug: "t".into(),
        }),
        ..Default::default()
    };
    let mut want = b"\x08\x01\x12\x10review_dismissed".to_vec();
    // 15: dismissed_review {1: 9, (2 reserved), 3: "m", 4: "approved"}
    want.extend_from_slice(b"\x7a\x0f\x08\x09\x1a\x01m\x22\x08approved");
    // 16: team_reviewer {1: 4, 2: "t"}
    want.extend_from_slice(b"\x82\x01\x05\x08\x04\x12\x01t");
    assert_eq!(ev.encode_to_vec(), want);
    assert_eq!(GithubIssueEvent::decode(&want[..]).unwrap(), ev);
}

#[test]
fn go_written_log_re_encodes_byte_for_byte() {
    let bytes = std::fs::read(go_log_path()).unwrap();
    let mut n = 0;
    for rec in reclog::records(&bytes, 0) {
        let rec = rec.unwrap();
        let m = Mutation::decode(rec.data).unwrap();
        assert!(
            m.unknown.is_empty(),
            "record at {} has unknown fields",
            rec.offset
        );
        assert_eq!(
            m.encode_to_vec(),
            rec.data,
            "record at offset {}",
            rec.offset
        );
        n += 1;
    }
    assert_eq!(n, 48);
}

#[test]
fn go_written_log_rewritten_by_disklog_is_identical() {
    let bytes = std::fs::read(go_log_path()).unwrap();
    let ms: Vec<Mutation> = reclog::records(&bytes, 0)
        .map(|r| Mutation::decode(r.unwrap().data).unwrap())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut log = DiskLog::open_with(dir.path(), SyncPolicy::Manual).unwrap();
    log.append_batch(&ms).unwrap();
    log.sync().unwrap();
    // One day file of Go's disk logger == one segment of ours, offsets from 0.
    assert_eq!(log.read_segment(0).unwrap(), bytes);
    // And it reads back to the same mutations.
    let mut again = Vec::new();
    log.for_each_mutation(|_, m| {
        again.push(m);
        Ok::<_, LogError>(())
    })
    .unwrap();
    assert_eq!(again, ms);
}
