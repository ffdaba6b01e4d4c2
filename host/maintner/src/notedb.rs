//! Gerrit NoteDB meta commits (as Go's maintner/gerrit.go parses them): a subject, a blank
//! line, the change message, a blank line, then a block of `Key: value` footer lines. This
//! module only parses; the Gerrit model in [`crate::gerrit`] applies the result in order.

use crate::git::{person_email, GitHash};

/// A change's status as NoteDB records it.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ClStatus {
    #[default]
    New,
    Merged,
    Abandoned,
    Draft,
}

impl ClStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ClStatus::New => "new",
            ClStatus::Merged => "merged",
            ClStatus::Abandoned => "abandoned",
            ClStatus::Draft => "draft",
        }
    }

    /// Go's `getGerritStatus`: the first of merged, abandoned, draft, new that the value
    /// starts with.
    pub fn parse(v: &str) -> Option<ClStatus> {
        [
            ClStatus::Merged,
            ClStatus::Abandoned,
            ClStatus::Draft,
            ClStatus::New,
        ]
        .into_iter()
        .find(|s| v.starts_with(s.as_str()))
    }
}

/// One `Label:` footer value (Go's `parseGerritLabelValue` in maintner/gerrit.go).
pub type LabelLine<'a> = LabelLineOf<&'a str>;

/// A [`LabelLine`] whose text is of type `S` (a `&str`, or a [`Span`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LabelLineOf<S> {
    pub label: S,
    /// `None` for a removal (`-Label`).
    pub value: Option<i8>,
    /// Account id of the voter when the vote is cast or removed on someone's behalf.
    pub on_behalf_of: Option<i64>,
}

/// Parses a `Label:` value: `Name=+N`, `-Name`, either followed by ` Name <id@server>`;
/// newer Gerrit writes `Name=+N, <uuid>` — the uuid is skipped.
pub fn parse_label(v: &str) -> Option<LabelLine<'_>> {
    let v = v.trim();
    let (token, rest) = v.split_once(' ').unwrap_or((v, ""));
    let token = token.trim_end_matches(',');
    let mut rest = rest.trim();
    // Skip a vote uuid (newer NoteDB): a single word before the voter, if any.
    if v[token.len()..].starts_with(',') {
        rest = rest.split_once(' ').map_or("", |(_, r)| r.trim());
    }
    let on_behalf_of = if rest.is_empty() {
        None
    } else {
        Some(account_id(rest)?)
    };
    if let Some(label) = token.strip_prefix('-') {
        if label.is_empty() || label.contains('=') {
            return None;
        }
        return Some(LabelLine {
            label,
            value: None,
            on_behalf_of,
        });
    }
    let (label, value) = token.split_once('=')?;
    if label.is_empty() {
        return None;
    }
    let value: i8 = value.strip_prefix('+').unwrap_or(value).parse().ok()?;
    Some(LabelLine {
        label,
        value: Some(value),
        on_behalf_of,
    })
}

/// The Gerrit account id in `Name <12345@server-uuid>` (or a bare `12345@server-uuid`).
pub fn account_id(person: &str) -> Option<i64> {
    let email = if person.contains('<') {
        person_email(person)
    } else {
        person.trim()
    };
    email.split('@').next()?.parse().ok()
}

/// A footer line, classified.
pub type Footer<'a> = FooterOf<&'a str>;

/// A [`Footer`] whose text is of type `S` (a `&str`, or a [`Span`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FooterOf<S> {
    PatchSet {
        number: i32,
        draft: bool,
    },
    ChangeId(S),
    Subject(S),
    Branch(S),
    Topic(S),
    Status(ClStatus),
    Commit(GitHash),
    Tag(S),
    Reviewer(i64),
    Cc(i64),
    Removed(i64),
    Label(LabelLineOf<S>),
    Hashtags(Vec<S>),
    Private(bool),
    WorkInProgress(bool),
    /// Known to NoteDB, not used by the corpus (Groups, Submission-id, Attention, …).
    Ignored,
    /// A key this parser does not know, or a known key with a value it cannot read.
    Unknown {
        key: S,
        value: S,
    },
}

impl<S> FooterOf<S> {
    /// The same footer with each piece of text passed through `f`.
    pub fn map<T>(self, mut f: impl FnMut(S) -> T) -> FooterOf<T> {
        use FooterOf::*;
        match self {
            PatchSet { number, draft } => PatchSet { number, draft },
            ChangeId(s) => ChangeId(f(s)),
            Subject(s) => Subject(f(s)),
            Branch(s) => Branch(f(s)),
            Topic(s) => Topic(f(s)),
            Status(x) => Status(x),
            Commit(h) => Commit(h),
            Tag(s) => Tag(f(s)),
            Reviewer(a) => Reviewer(a),
            Cc(a) => Cc(a),
            Removed(a) => Removed(a),
            Label(l) => Label(LabelLineOf {
                label: f(l.label),
                value: l.value,
                on_behalf_of: l.on_behalf_of,
            }),
            Hashtags(v) => Hashtags(v.into_iter().map(f).collect()),
            Private(b) => Private(b),
            WorkInProgress(b) => WorkInProgress(b),
            Ignored => Ignored,
            Unknown { key, value } => Unknown {
                key: f(key),
                value: f(value),
            },
        }
    }
}

/// Footer keys Gerrit writes that the corpus has no use for.
const IGNORED_KEYS: &[&str] = &[
    "Groups",
    "Submission-id",
    "Submitted-with",
    "Attention",
    "Real-user",
    "Copied-Label",
    "Current",
    "Revert-of",
    "Cherry-pick-of",
    "Contributor-agreement",
    "Assignee",
    "Patchset-description",
    "Read-only-until",
    "Reviewer-email",
    "CC-email",
    "Removed-email",
];

fn classify<'a>(key: &'a str, value: &'a str) -> Footer<'a> {
    let unknown = Footer::Unknown { key, value };
    let bool_value = |v: &str| match v {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    };
    let parsed = match key {
        "Patch-set" => {
            let (n, rest) = value.split_once(' ').unwrap_or((value, ""));
            n.parse().ok().map(|number| Footer::PatchSet {
                number,
                draft: rest.trim() == "(draft)",
            })
        }
        "Change-id" => Some(Footer::ChangeId(value)),
        "Subject" => Some(Footer::Subject(value)),
        "Branch" => Some(Footer::Branch(value)),
        "Topic" => Some(Footer::Topic(value)),
        "Status" => ClStatus::parse(value).map(Footer::Status),
        "Commit" => GitHash::parse(value).map(Footer::Commit),
        "Tag" => Some(Footer::Tag(value)),
        "Reviewer" => account_id(value).map(Footer::Reviewer),
        "CC" => account_id(value).map(Footer::Cc),
        "Removed" => account_id(value).map(Footer::Removed),
        "Label" => parse_label(value).map(Footer::Label),
        "Hashtags" => Some(Footer::Hashtags(
            value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect(),
        )),
        "Private" => bool_value(value).map(Footer::Private),
        "Work-in-progress" => bool_value(value).map(Footer::WorkInProgress),
        k if IGNORED_KEYS.contains(&k) => Some(Footer::Ignored),
        _ => None,
    };
    parsed.unwrap_or(unknown)
}

/// A meta commit message, split into its parts.
pub type MetaMessage<'a> = MetaMessageOf<&'a str>;

/// A [`MetaMessage`] whose text is of type `S` (a `&str`, or a [`Span`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaMessageOf<S> {
    pub subject: S,
    pub footers: Vec<FooterOf<S>>,
    /// The change message and its patch set, when the commit carries one.
    pub message: Option<(i32, S)>,
}

/// Where a piece of text sits in the message it was parsed from: start and end bytes.
/// A message parsed into spans on one thread is read on another beside its text.
pub type Span = (u32, u32);

impl<'a> MetaMessage<'a> {
    /// The same parse, its text as spans of `msg` (the message it was parsed from).
    pub fn to_spans(self, msg: &'a str) -> MetaMessageOf<Span> {
        let span = |s: &str| {
            let start = s.as_ptr() as usize - msg.as_ptr() as usize;
            (start as u32, (start + s.len()) as u32)
        };
        self.map(span)
    }
}

impl MetaMessageOf<Span> {
    /// The parse as text of `msg`, the message it was parsed from.
    pub fn in_text(self, msg: &str) -> MetaMessage<'_> {
        self.map(|(a, b)| msg.get(a as usize..b as usize).unwrap_or_default())
    }
}

impl<S> MetaMessageOf<S> {
    fn map<T>(self, mut f: impl FnMut(S) -> T) -> MetaMessageOf<T> {
        MetaMessageOf {
            subject: f(self.subject),
            footers: self.footers.into_iter().map(|x| x.map(&mut f)).collect(),
            message: self.message.map(|(v, s)| (v, f(s))),
        }
    }
}

impl<S> MetaMessageOf<S> {
    pub fn patch_set(&self) -> Option<i32> {
        self.footers.iter().find_map(|f| match f {
            FooterOf::PatchSet { number, .. } => Some(*number),
            _ => None,
        })
    }
}

/// The footer block: the text after the last blank line (Go's `GerritMeta.Footer`).
pub fn footer_block(msg: &str) -> &str {
    let msg = msg.trim_end_matches('\n');
    match rfind_blank_line(msg) {
        Some(i) => &msg[i + 2..],
        None => "",
    }
}

/// Where the last blank line (`\n\n`) of `s` starts. The footer block is a few lines at
/// the end, so hopping back from newline to newline beats a substring search.
fn rfind_blank_line(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut end = s.len();
    while let Some(i) = memchr::memrchr(b'\n', &b[..end]) {
        if i > 0 && b[i - 1] == b'\n' {
            return Some(i - 1);
        }
        end = i;
    }
    None
}

/// A meta commit's message parsed ahead, on a loading thread, for the applying one: what
/// [`parse_meta`] finds, as spans of the message, and whether it has a `Label:` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedMeta {
    pub spans: MetaMessageOf<Span>,
    pub has_label: bool,
}

impl ParsedMeta {
    pub fn parse(msg: &str) -> ParsedMeta {
        ParsedMeta {
            spans: parse_meta(msg).to_spans(msg),
            has_label: has_label_line(msg),
        }
    }
}

/// Does a meta commit message carry a vote (a `Label:` line)?
pub fn has_label_line(msg: &str) -> bool {
    newlines(msg).any(|i| msg[i..].starts_with("\nLabel: "))
}

/// Where the newlines of `msg` are. The phrases a meta message is searched for start a
/// line, and its lines are few, so hopping from newline to newline beats a substring
/// search (which sets up a searcher per phrase and call).
fn newlines(msg: &str) -> impl Iterator<Item = usize> + '_ {
    memchr::memchr_iter(b'\n', msg.as_bytes())
}

/// `s.lines()`, found with [`newlines`]: split at `\n`, a `\r` before it dropped, no
/// empty line after a final newline.
pub(crate) fn lines(s: &str) -> impl Iterator<Item = &str> + '_ {
    let mut from = 0;
    let mut ends = newlines(s);
    std::iter::from_fn(move || {
        let line = match ends.next() {
            Some(i) => {
                let line = &s[from..i];
                from = i + 1;
                line.strip_suffix('\r').unwrap_or(line)
            }
            None if from < s.len() => {
                let line = &s[from..];
                from = s.len();
                line
            }
            None => return None,
        };
        Some(line)
    })
}

/// Parses a meta commit message.
pub fn parse_meta(msg: &str) -> MetaMessage<'_> {
    let subject = lines(msg).next().unwrap_or("");
    let footers = lines(footer_block(msg))
        .filter_map(|line| {
            let (key, value) = line.split_once(':')?;
            Some(classify(key.trim(), value.trim()))
        })
        .collect();
    MetaMessage {
        subject,
        footers,
        message: change_message(msg),
    }
}

/// The change message of a meta commit (Go HEAD's `getGerritMessage`): from the first
/// `Patch Set N:` or `Uploaded patch set N:` line up to the blank line before the
/// `Patch-set:` footer. `None` when there is no such message, e.g. a plain
/// `Uploaded patch set 1.`
pub fn change_message(msg: &str) -> Option<(i32, &str)> {
    let (start, phrase) = message_start(msg)?;
    let num_start = start + phrase.len();
    let colon = msg[num_start..].find(':')?;
    let num = &msg[num_start..num_start + colon];
    if num.contains('\n') || num.contains('.') {
        return None;
    }
    let version: i32 = match num.parse() {
        Ok(v) => v,
        Err(_) => {
            tracing::debug!(num, "meta message with a bad patch set number");
            return None;
        }
    };
    let text_start = start + 1;
    let rest = &msg[text_start..];
    let mut l = 0;
    loop {
        let i = memchr::memchr(b'\n', &rest.as_bytes()[l..])?;
        if rest[l + i + 1..].starts_with("Patch-set:") {
            // The message ends at the blank line before the footer. (Go cuts one byte
            // there, assuming the line is blank; a missing blank line keeps its text.)
            let text = &rest[..l + i];
            return Some((version, text.strip_suffix('\n').unwrap_or(text)));
        }
        l += i + 1;
    }
}

/// The phrases that start a change message.
const MESSAGE_PHRASES: [&str; 2] = ["\nPatch Set ", "\nUploaded patch set "];

/// Where the first of [`MESSAGE_PHRASES`] in `msg` is, and which it is.
fn message_start(msg: &str) -> Option<(usize, &'static str)> {
    newlines(msg).find_map(|i| {
        MESSAGE_PHRASES
            .into_iter()
            .find(|p| msg[i..].starts_with(p))
            .map(|p| (i, p))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_blank_line_is_found_like_a_substring_search() {
        for s in [
            "",
            "\n",
            "\n\n",
            "a\nb\n\nc",
            "a\n\n\nb",
            "x\n\ny\n\nz\n",
            "é\n\n",
        ] {
            assert_eq!(rfind_blank_line(s), s.rfind("\n\n"), "{s:?}");
        }
    }

    #[test]
    fn phrases_are_found_like_a_substring_search() {
        let first = |msg: &str| {
            let at = |p: &'static str| msg.find(p).map(|i| (i, p));
            let [exist, new] = MESSAGE_PHRASES.map(at);
            match (exist, new) {
                (Some(e), Some(n)) => Some(e.min(n)),
                (e, n) => e.or(n),
            }
        };
        for msg in SAMPLES.into_iter().chain([
            "",
            "\n",
            "Patch Set 1: x\n\nPatch-set: 1\n",
            "a\nUploaded patch set 2: y\nPatch Set 1: z\n\nPatch-set: 2\nLabel: A=+1",
            "a\nPatch Set 3: y\nUploaded patch set 4: z\n\nPatch-set: 4\nLabel:x",
            "Label: A=+1\n\nPatch-set: 1",
        ]) {
            assert_eq!(message_start(msg), first(msg), "{msg:?}");
            assert_eq!(has_label_line(msg), msg.contains("\nLabel: "), "{msg:?}");
        }
    }

    #[test]
    fn lines_split_as_str_lines_does() {
        for s in SAMPLES.into_iter().chain([
            "",
            "\n",
            "\n\n",
            "a",
            "a\n",
            "a\r\nb\r\n",
            "a\rb\r",
            "\r\n",
            "a\n\nb",
            "é\nü",
        ]) {
            assert_eq!(
                lines(s).collect::<Vec<_>>(),
                s.lines().collect::<Vec<_>>(),
                "{s:?}"
            );
        }
    }

    const DRAFT: &str = "Create change\n\nUploaded patch set 1.\n\nPatch-set: 1 (draft)\nChange-id: I38a08cacc17bcd9587475495111fe98f10d6875c\nSubject: test: test\nBranch: refs/heads/master\nStatus: draft\nTopic:\nCommit: fee468c613a70d89f60fb5d683b0f796aabecaac\n";
    const MERGED: &str = "Update patch set 1\n\nChange has been successfully cherry-picked as 117ac82c422a11e4dd5f4c14b50bafc1df840481 by Brad Fitzpatrick\n\nPatch-set: 1\nStatus: merged\nSubmission-id: 16401-1446004855021-a20b3823\n";
    const REBASED: &str = "Create patch set 8\n\nUploaded patch set 8: Patch Set 7 was rebased.\n\nPatch-set: 8\nSubject: devapp: initial support for App Engine Flex\nCommit: 17839a9f284b473986f235ad2757a2b445d05068\nTag: autogenerated:gerrit:newPatchSet\nGroups: 17839a9f284b473986f235ad2757a2b445d05068\n";
    const REVIEW: &str = "Update patch set 1\n\nPatch Set 1: Code-Review+2\n\nJust to confirm, \"go test\" will consider an empty test file to be passing?\n\nPatch-set: 1\nReviewer: Quentin Smith <13020@62eb7196-b449-3ce5-99f1-c037f21e1705>\nLabel: Code-Review=+2\n";
    const UPLOAD_VOTE: &str = "Create change\n\nUploaded patch set 1: Run-TryBot+1.\n\nPatch-set: 1\nChange-id: I1e0035ffba986c3551479d5742809e43da5e7c73\nSubject: runtime: fall back to small mmaps if we fail to grow reservation\nBranch: refs/heads/master\nStatus: new\nTopic:\nCommit: 8776f8d725c001456037e8888a72885d46cd6744\nTag: autogenerated:gerrit:newPatchSet\nGroups: 8776f8d725c001456037e8888a72885d46cd6744\nReviewer: Keith Randall <5200@62eb7196-b449-3ce5-99f1-c037f21e1705>\nReviewer: Rick Hudson <5186@62eb7196-b449-3ce5-99f1-c037f21e1705>\nReviewer: Austin Clements <5167@62eb7196-b449-3ce5-99f1-c037f21e1705>\nLabel: Run-TryBot=+1\nPrivate: false\nWork-in-progress: false\n";
    const HASHTAGS: &str = "Update patch set 1\n\nHashtags removed:    foo, bar\n\nPatch-set: 1\nHashtags:\nTag: autogenerated:gerrit:setHashtag\n";
    const SAMPLES: [&str; 6] = [DRAFT, MERGED, REBASED, REVIEW, UPLOAD_VOTE, HASHTAGS];

    fn status(msg: &str) -> Option<ClStatus> {
        parse_meta(msg).footers.iter().find_map(|f| match f {
            Footer::Status(s) => Some(*s),
            _ => None,
        })
    }

    #[test]
    fn status_like_get_gerrit_status() {
        assert_eq!(status(DRAFT), Some(ClStatus::Draft));
        assert_eq!(status(MERGED), Some(ClStatus::Merged));
        assert_eq!(status(REBASED), None);
    }

    #[test]
    fn draft_creation_footers() {
        let m = parse_meta(DRAFT);
        assert_eq!(m.subject, "Create change");
        assert_eq!(
            m.footers[0],
            Footer::PatchSet {
                number: 1,
                draft: true
            }
        );
        assert!(m.footers.contains(&Footer::Branch("refs/heads/master")));
        assert!(m.footers.contains(&Footer::Topic("")));
        assert!(m.footers.contains(&Footer::Commit(
            GitHash::parse("fee468c613a70d89f60fb5d683b0f796aabecaac").unwrap()
        )));
        assert_eq!(m.message, None);
    }

    #[test]
    fn review_message_and_vote() {
        // TestGetGerritMessage, example (d).
        let m = parse_meta(REVIEW);
        assert_eq!(
            m.message,
            Some((1, "Patch Set 1: Code-Review+2\n\nJust to confirm, \"go test\" will consider an empty test file to be passing?"))
        );
        assert!(m.footers.contains(&Footer::Reviewer(13020)));
        assert!(m.footers.contains(&Footer::Label(LabelLine {
            label: "Code-Review",
            value: Some(2),
            on_behalf_of: None
        })));
    }

    #[test]
    fn upload_with_vote_private_and_wip() {
        // Example (e).
        let m = parse_meta(UPLOAD_VOTE);
        assert_eq!(m.message, Some((1, "Uploaded patch set 1: Run-TryBot+1.")));
        let reviewers: Vec<_> = m
            .footers
            .iter()
            .filter_map(|f| match f {
                Footer::Reviewer(id) => Some(*id),
                _ => None,
            })
            .collect();
        assert_eq!(reviewers, [5200, 5186, 5167]);
        assert!(m.footers.contains(&Footer::Private(false)));
        assert!(m.footers.contains(&Footer::WorkInProgress(false)));
        assert!(m
            .footers
            .contains(&Footer::Tag("autogenerated:gerrit:newPatchSet")));
        assert!(!m
            .footers
            .iter()
            .any(|f| matches!(f, Footer::Unknown { .. })));
    }

    #[test]
    fn messages_that_are_not_messages() {
        assert_eq!(change_message(DRAFT), None);
        assert_eq!(
            change_message(
                "Update patch set 7\n\nUploaded patch set 7.: Commit message was updated\n\nPatch-set: 7\n"
            ),
            None
        );
        assert_eq!(
            change_message(REBASED),
            Some((8, "Uploaded patch set 8: Patch Set 7 was rebased."))
        );
    }

    #[test]
    fn message_without_blank_line_before_footer_does_not_split_a_character() {
        let msg =
            "Update patch set 1\n\nPatch Set 1: Code-Review+1\n\nThanks, José\nPatch-set: 1\n";
        assert_eq!(
            change_message(msg),
            Some((1, "Patch Set 1: Code-Review+1\n\nThanks, José"))
        );
    }

    #[test]
    fn label_values() {
        // The cases of Go's TestParseGerritLabelValue (maintner/gerrit_test.go).
        let l = |label, value, on_behalf_of| {
            Some(LabelLine {
                label,
                value,
                on_behalf_of,
            })
        };
        assert_eq!(parse_label("Run-TryBot=+1"), l("Run-TryBot", Some(1), None));
        assert_eq!(parse_label("-Run-TryBot"), l("Run-TryBot", None, None));
        assert_eq!(
            parse_label(
                "Run-TryBot=+1 Brad Fitzpatrick <5065@62eb7196-b449-3ce5-99f1-c037f21e1705>"
            ),
            l("Run-TryBot", Some(1), Some(5065))
        );
        assert_eq!(
            parse_label("-TryBot-Result Gobot Gobot <5976@62eb7196-b449-3ce5-99f1-c037f21e1705>"),
            l("TryBot-Result", None, Some(5976))
        );
        assert_eq!(
            parse_label("TryBot-Result=-1 Gobot Gobot <5976@62eb7196-b449-3ce5-99f1-c037f21e1705>"),
            l("TryBot-Result", Some(-1), Some(5976))
        );
        assert_eq!(
            parse_label("Code-Review=+2, 4c7b8f6e0e2d4e3f9a1b2c3d4e5f6a7b8c9d0e1f"),
            l("Code-Review", Some(2), None)
        );
        assert_eq!(
            parse_label("Code-Review=0, 4c7b8f6e Gopher <7@x>"),
            l("Code-Review", Some(0), Some(7))
        );
        assert_eq!(parse_label("=1"), None);
        assert_eq!(parse_label("Code-Review=abc"), None);
        assert_eq!(parse_label("Code-Review=+1 nobody-here"), None);
    }

    #[test]
    fn hashtags_footer_empty_and_full() {
        let m = parse_meta(HASHTAGS);
        assert!(m.footers.contains(&Footer::Hashtags(vec![])));
        assert!(m
            .footers
            .contains(&Footer::Tag("autogenerated:gerrit:setHashtag")));
        let m = parse_meta(
            "Update patch set 1\n\nHashtag added: bar\n\nPatch-set: 1\nHashtags: foo, bar\n",
        );
        assert!(m.footers.contains(&Footer::Hashtags(vec!["foo", "bar"])));
    }

    #[test]
    fn unknown_footer_is_kept_as_unknown() {
        let m = parse_meta(
            "Update patch set 2\n\nPatch-set: 2\nFrobnicate: yes please\nStatus: bogus\n",
        );
        assert!(m.footers.contains(&Footer::Unknown {
            key: "Frobnicate",
            value: "yes please"
        }));
        assert!(m.footers.contains(&Footer::Unknown {
            key: "Status",
            value: "bogus"
        }));
        assert_eq!(m.patch_set(), Some(2));
    }

    /// A message parsed into spans (on a loading thread) reads back as the same parse.
    #[test]
    fn spans_read_back_as_the_same_parse() {
        for msg in SAMPLES
            .into_iter()
            .chain(["", "x\n\nPatch-set: 1\nFoo: bar\n"])
        {
            let parsed = ParsedMeta::parse(msg);
            assert_eq!(parsed.spans.in_text(msg), parse_meta(msg), "{msg:?}");
            assert_eq!(parsed.has_label, msg.contains("\nLabel: "));
        }
    }
}
