//! The git part of the corpus (Go's maintner/git.go): commits with parents, author and
//! committer, message and changed files, indexed by hash.

use std::fmt;

use hashbrown::HashTable;

use crate::fxhash::FxBuild;
use crate::hexdigit::HEX_VALUE;
use crate::intern::{Interner, Sym};
use crate::issuerefs::{parse_github_refs, IssueRefText};
use crate::maintpb;
use crate::notedb::ParsedMeta;
use crate::time::Time;

/// A git object name, 20 bytes (hex only at the edges).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct GitHash(pub [u8; 20]);

impl GitHash {
    /// Parses a full 40-digit lowercase or uppercase hex hash.
    pub fn parse(hex40: &str) -> Option<GitHash> {
        let digits: &[u8; 40] = hex40.as_bytes().try_into().ok()?;
        let mut out = [0u8; 20];
        for (o, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
            let (hi, lo) = (
                HEX_VALUE[usize::from(pair[0])],
                HEX_VALUE[usize::from(pair[1])],
            );
            if (hi | lo) & 0xf0 != 0 {
                return None;
            }
            *o = hi << 4 | lo;
        }
        Some(GitHash(out))
    }

    pub fn hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 40];
        for (i, b) in self.0.iter().enumerate() {
            out[2 * i] = DIGITS[usize::from(b >> 4)];
            out[2 * i + 1] = DIGITS[usize::from(b & 15)];
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

impl fmt::Display for GitHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

impl fmt::Debug for GitHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GitHash({})", self.hex())
    }
}

/// Index of a commit in [`Git`]'s table; stable for the corpus's lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CommitId(pub(crate) u32);

/// One line of `git diff-tree --numstat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileChange {
    pub path: Sym,
    pub added: u32,
    pub deleted: u32,
    pub binary: bool,
}

/// A commit's parents; almost every commit has one, which is stored inline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parents {
    One(CommitId),
    /// None (a root commit) or several (a merge).
    Other(Box<[CommitId]>),
}

impl Default for Parents {
    fn default() -> Self {
        Parents::Other(Box::default())
    }
}

impl From<Vec<CommitId>> for Parents {
    fn from(v: Vec<CommitId>) -> Self {
        match v.as_slice() {
            [one] => Parents::One(*one),
            _ => Parents::Other(v.into_boxed_slice()),
        }
    }
}

impl std::ops::Deref for Parents {
    type Target = [CommitId];
    fn deref(&self) -> &[CommitId] {
        match self {
            Parents::One(c) => std::slice::from_ref(c),
            Parents::Other(v) => v,
        }
    }
}

/// A git commit. Parents seen before their own commit are placeholders
/// (`placeholder == true`) until it arrives; the slot is then filled in place so earlier
/// references stay valid.
#[derive(Clone, Debug, Default)]
pub struct GitCommit {
    pub hash: GitHash,
    pub tree: GitHash,
    pub parents: Parents,
    /// `Name <email>`, interned.
    pub author: Sym,
    pub author_time: Time,
    /// Offset east of UTC in minutes, from the `±hhmm` of the header.
    pub author_tz: i16,
    pub committer: Sym,
    pub commit_time: Time,
    pub committer_tz: i16,
    pub msg: Box<str>,
    pub files: Box<[FileChange]>,
    pub placeholder: bool,
}

impl GitCommit {
    /// The trimmed first line of the message.
    pub fn summary(&self) -> &str {
        self.msg.lines().next().unwrap_or("").trim()
    }
}

/// The name part of `Name <email>`.
pub fn person_name(person: &str) -> &str {
    person.split('<').next().unwrap_or("").trim()
}

/// The email part of `Name <email>`.
pub fn person_email(person: &str) -> &str {
    match (person.find('<'), person.rfind('>')) {
        (Some(a), Some(b)) if a < b => &person[a + 1..b],
        _ => "",
    }
}

/// The table hash of a commit hash: all 20 bytes, since made-up hashes (tests,
/// benchmarks) differ only in a few.
fn hash_key(h: &GitHash) -> u64 {
    use std::hash::BuildHasher;
    FxBuild::default().hash_one(h)
}

/// All commits the corpus knows, from git and Gerrit mutations alike.
#[derive(Default)]
pub struct Git {
    commits: Vec<GitCommit>,
    /// Commit ids by hash; the hash itself is read from `commits`, so an entry is 4 bytes
    /// instead of 24.
    by_hash: HashTable<CommitId>,
    placeholders: usize,
}

/// Why a `maintpb.GitCommit` was not indexed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommitError {
    #[error("bad sha1 {0:?}: want 40 hex digits")]
    BadSha1(String),
    #[error("commit {0}: raw object is not UTF-8")]
    NotUtf8(String),
}

impl Git {
    pub fn get(&self, id: CommitId) -> &GitCommit {
        &self.commits[id.0 as usize]
    }

    pub fn lookup(&self, hash: &GitHash) -> Option<CommitId> {
        let commits = &self.commits;
        self.by_hash
            .find(hash_key(hash), |id| commits[id.0 as usize].hash == *hash)
            .copied()
    }

    /// The commit with this hash if it is known and not just a placeholder.
    pub fn commit(&self, hash: &GitHash) -> Option<&GitCommit> {
        self.lookup(hash)
            .map(|id| self.get(id))
            .filter(|c| !c.placeholder)
    }

    /// Number of real (non-placeholder) commits.
    pub fn len(&self) -> usize {
        self.commits.len() - self.placeholders
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn placeholders(&self) -> usize {
        self.placeholders
    }

    /// Every real commit, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (CommitId, &GitCommit)> {
        self.commits
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.placeholder)
            .map(|(i, c)| (CommitId(i as u32), c))
    }

    fn id_or_placeholder(&mut self, hash: GitHash) -> CommitId {
        if let Some(id) = self.lookup(&hash) {
            return id;
        }
        let id = CommitId(self.commits.len() as u32);
        self.commits.push(GitCommit {
            hash,
            placeholder: true,
            ..Default::default()
        });
        self.placeholders += 1;
        let commits = &self.commits;
        self.by_hash.insert_unique(hash_key(&hash), id, |id| {
            hash_key(&commits[id.0 as usize].hash)
        });
        id
    }

    /// Indexes a commit (Go's `processGitCommit` in maintner/git.go). A commit seen again
    /// replaces what was known (same raw object; a later diff-tree may add files).
    pub fn add(
        &mut self,
        pb: &maintpb::GitCommit,
        strings: &mut Interner,
    ) -> Result<CommitId, CommitError> {
        Ok(self.add_parsed(pb, &mut ParsedCommit::parse(pb, "")?, strings))
    }

    /// [`Git::add`] of a commit already parsed from `pb`: only interning and ids are left.
    /// Takes the message out of `parsed`; the rest is left to be dropped by the thread that
    /// parsed it.
    pub fn add_parsed(
        &mut self,
        pb: &maintpb::GitCommit,
        parsed: &mut ParsedCommit,
        strings: &mut Interner,
    ) -> CommitId {
        let id = self.id_or_placeholder(parsed.hash);
        let files = pb
            .diff_tree
            .as_ref()
            .map(|dt| {
                dt.file
                    .iter()
                    .map(|f| FileChange {
                        path: strings.intern(&f.file),
                        added: f.added.clamp(0, u32::MAX as i64) as u32,
                        deleted: f.deleted.clamp(0, u32::MAX as i64) as u32,
                        binary: f.binary,
                    })
                    .collect::<Box<[_]>>()
            })
            .unwrap_or_default();
        let Some(body) = &mut parsed.body else {
            // Only more information about a commit we may already have.
            if !files.is_empty() {
                self.commits[id.0 as usize].files = files;
            }
            return id;
        };
        let parents = match (body.parent, body.more_parents.is_empty()) {
            (Some(h), true) => Parents::One(self.id_or_placeholder(h)),
            (first, _) => Parents::Other(
                first
                    .iter()
                    .chain(&body.more_parents)
                    .map(|&h| self.id_or_placeholder(h))
                    .collect(),
            ),
        };
        let raw = &pb.raw;
        let author = body.author.as_ref().map(|p| p.intern(raw, strings));
        let committer = match (&body.committer, &body.author, author) {
            // The committer is usually the author: skip the second lookup.
            (Some(c), Some(a), Some((sym, ..))) if raw[c.text.clone()] == raw[a.text.clone()] => {
                Some((sym, c.time, c.tz))
            }
            (c, ..) => c.as_ref().map(|p| p.intern(raw, strings)),
        };
        let mut c = GitCommit {
            hash: parsed.hash,
            tree: body.tree,
            parents,
            msg: std::mem::take(&mut body.msg),
            files,
            ..Default::default()
        };
        if let Some(a) = author {
            (c.author, c.author_time, c.author_tz) = a;
        }
        if let Some(a) = committer {
            (c.committer, c.commit_time, c.committer_tz) = a;
        }
        let slot = &mut self.commits[id.0 as usize];
        if slot.placeholder {
            self.placeholders -= 1;
        }
        *slot = c;
        id
    }

    /// Is `ancestor` reachable from `commit` through parents (a commit is not its own
    /// ancestor)? Placeholders end a path.
    pub fn has_ancestor(&self, commit: CommitId, ancestor: CommitId) -> bool {
        let mut seen = crate::fxhash::FxHashSet::default();
        let mut stack: Vec<CommitId> = self.get(commit).parents.to_vec();
        while let Some(c) = stack.pop() {
            if c == ancestor {
                return true;
            }
            if seen.insert(c) {
                stack.extend_from_slice(&self.get(c).parents);
            }
        }
        false
    }
}

/// A `maintpb.GitCommit` parsed as far as it can be without the corpus: hashes decoded,
/// header lines split, the message copied out, GitHub references found. Loading parses
/// commits on the reading threads; [`Git::add_parsed`] does the rest (ids, interning).
#[derive(Clone, Debug)]
pub struct ParsedCommit {
    pub hash: GitHash,
    /// `None` when the mutation carries no raw object (only files for a known commit).
    pub body: Option<CommitBody>,
}

/// What a commit's raw object says. Only the message is copied out of it: parsing
/// allocates as little as it can, since whatever it allocates the applying thread has
/// to hand back.
#[derive(Clone, Debug, Default)]
pub struct CommitBody {
    pub tree: GitHash,
    /// The first parent (almost every commit has exactly one), then any others.
    pub parent: Option<GitHash>,
    pub more_parents: Vec<GitHash>,
    pub author: Option<Person>,
    pub committer: Option<Person>,
    pub msg: Box<str>,
    pub facts: MessageFacts,
}

/// What the corpus indexes a commit under, read from its message.
#[derive(Clone, Debug, Default)]
pub struct MessageFacts {
    /// A NoteDB meta commit (its footer block starts with `Patch-set:`).
    pub meta: bool,
    /// The GitHub issues the message mentions (none for a meta commit).
    pub refs: Vec<IssueRefText>,
    /// A meta commit's NoteDB message, parsed.
    pub notedb: Option<ParsedMeta>,
}

/// An author or committer line: where `Name <email>` sits in the raw object, its
/// interning hash, time and zone.
#[derive(Clone, Debug)]
pub struct Person {
    text: std::ops::Range<usize>,
    hash: u64,
    pub time: Time,
    pub tz: i16,
}

impl Person {
    /// Interns the person's text, read from `raw`, the raw object it was parsed from.
    fn intern(&self, raw: &[u8], strings: &mut Interner) -> (Sym, Time, i16) {
        let text = std::str::from_utf8(&raw[self.text.clone()]).unwrap_or_default();
        (strings.intern_hashed(text, self.hash), self.time, self.tz)
    }
}

impl ParsedCommit {
    /// Parses `pb`; `repo` (a Gerrit project or git repo name) says what a bare `#N` in
    /// the message refers to (see [`parse_github_refs`]).
    pub fn parse(pb: &maintpb::GitCommit, repo: &str) -> Result<ParsedCommit, CommitError> {
        let hash = GitHash::parse(&pb.sha1).ok_or_else(|| CommitError::BadSha1(pb.sha1.clone()))?;
        let raw =
            std::str::from_utf8(&pb.raw).map_err(|_| CommitError::NotUtf8(pb.sha1.clone()))?;
        let body = (!raw.is_empty()).then(|| parse_raw_commit(hash, raw, repo));
        Ok(ParsedCommit { hash, body })
    }

    /// The message's facts, taken out (`None` without a raw object).
    pub fn take_facts(&mut self) -> Option<MessageFacts> {
        self.body.as_mut().map(|b| std::mem::take(&mut b.facts))
    }
}

/// Parses the output of `git cat-file commit`: header lines, a blank line, the message.
fn parse_raw_commit(hash: GitHash, raw: &str, repo: &str) -> CommitBody {
    let mut c = CommitBody::default();
    // One pass over the header lines, up to the first blank line (`\n\n`).
    let b = raw.as_bytes();
    let mut msg = "";
    let mut pos = 0;
    while pos < b.len() {
        let end = memchr::memchr(b'\n', &b[pos..]).map_or(b.len(), |i| pos + i);
        if end == pos && pos > 0 {
            msg = &raw[pos + 1..];
            break;
        }
        let line = &raw[pos..end];
        header_line(&mut c, hash, raw, line.strip_suffix('\r').unwrap_or(line));
        pos = end + 1;
    }
    let meta = is_meta_commit(msg);
    c.msg = msg.into();
    c.facts = MessageFacts {
        meta,
        refs: if meta {
            Vec::new()
        } else {
            parse_github_refs(repo, msg)
        },
        notedb: meta.then(|| ParsedMeta::parse(msg)),
    };
    c
}

/// Records what one header line of `raw` says in `c`.
fn header_line(c: &mut CommitBody, hash: GitHash, raw: &str, line: &str) {
    let (key, rest) = match line.as_bytes().iter().position(|&x| x == b' ') {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, ""),
    };
    match key {
        "tree" => c.tree = GitHash::parse(rest).unwrap_or_default(),
        "parent" => match GitHash::parse(rest) {
            Some(h) if c.parent.is_none() => c.parent = Some(h),
            Some(h) => c.more_parents.push(h),
            None => tracing::warn!(commit = %hash, line, "bad parent line"),
        },
        "author" | "committer" => {
            let Some((person, time, tz)) = parse_person(rest) else {
                tracing::warn!(commit = %hash, line, "bad person line");
                return;
            };
            let start = person.as_ptr() as usize - raw.as_ptr() as usize;
            let p = Person {
                text: start..start + person.len(),
                hash: crate::intern::hash(person),
                time,
                tz,
            };
            if key == "author" {
                c.author = Some(p);
            } else {
                c.committer = Some(p);
            }
        }
        // Signatures (and their continuation lines), encodings and hg ids carry
        // nothing the corpus uses.
        "" | "gpgsig" | "gpgsig-sha256" | "mergetag" | "encoding" | "golang-hg" => {}
        _ if line.starts_with(' ') => {}
        _ => tracing::debug!(commit = %hash, line, "unknown commit header line"),
    }
}

/// Is this commit message a NoteDB meta commit's? Its footer block starts with
/// `Patch-set:`.
pub fn is_meta_commit(msg: &str) -> bool {
    crate::notedb::footer_block(msg).starts_with("Patch-set:")
}

/// Parses `Name <email> <unixsecs> <±hhmm>` by cutting at the last two spaces.
pub fn parse_person(s: &str) -> Option<(&str, Time, i16)> {
    let last_space = |s: &str| memchr::memrchr(b' ', s.as_bytes());
    let i = last_space(s)?;
    let (rest, tz) = (&s[..i], &s[i + 1..]);
    let j = last_space(rest)?;
    let (person, secs) = (&rest[..j], &rest[j + 1..]);
    let secs: i64 = secs.parse().ok()?;
    let sign = match tz.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hhmm: i16 = tz.get(1..5)?.parse().ok()?;
    Some((
        person,
        Time::from_unix(secs),
        sign * (hhmm / 100 * 60 + hhmm % 100),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_starts_after_the_first_blank_line() {
        for s in [
            "",
            "\n",
            "\n\n",
            "a\nb\n\nc",
            "a\n\n\nb",
            "tree x\nparent y\n",
            "é\n\n",
            "\nfoo\n\nbar",
            "a\r\n\r\nb",
            "tree x\n\nsubject\n\nbody\n",
        ] {
            let msg = s.find("\n\n").map_or("", |i| &s[i + 2..]);
            assert_eq!(
                &*parse_raw_commit(GitHash::default(), s, "go").msg,
                msg,
                "{s:?}"
            );
        }
    }

    #[test]
    fn hash_hex_round_trips() {
        let hex = "c386fbdc7be64b4994e751b4fa22445abc92401a";
        assert_eq!(GitHash::parse(hex).unwrap().hex(), hex);
        assert_eq!(GitHash::parse(&hex.to_uppercase()).unwrap().hex(), hex);
        assert_eq!(GitHash::parse("c386"), None);
    }

    #[test]
    fn parse_person_like_go() {
        // TestParsePerson.
        let (p, t, tz) = parse_person("Foo Bar <foo@bar.com> 1257894000 -0800").unwrap();
        assert_eq!(p, "Foo Bar <foo@bar.com>");
        assert_eq!(t, Time::from_unix(1257894000));
        assert_eq!(tz, -480);
        assert_eq!(person_email(p), "foo@bar.com");
        assert_eq!(person_name(p), "Foo Bar");
        assert_eq!(parse_person("x 12 +0530").unwrap().2, 330);
        assert!(parse_person("nobody").is_none());
    }

    #[test]
    fn people_are_interned_and_placeholders_filled_in_place() {
        let mut strings = Interner::default();
        let mut git = Git::default();
        let child = maintpb::GitCommit {
            sha1: "b".repeat(40),
            raw: format!(
                "tree {t}\nparent {p}\nauthor A <a@x> 10 +0000\ncommitter A <a@x> 11 +0000\n\nchild\n",
                t = "1".repeat(40),
                p = "a".repeat(40)
            )
            .into_bytes(),
            diff_tree: None,
        };
        let cid = git.add(&child, &mut strings).unwrap();
        assert_eq!(git.len(), 1);
        assert_eq!(git.placeholders(), 1);
        let parent_id = git.get(cid).parents[0];
        assert!(git.get(parent_id).placeholder);
        let parent = maintpb::GitCommit {
            sha1: "a".repeat(40),
            raw: b"tree 1111111111111111111111111111111111111111\nauthor A <a@x> 5 +0000\ncommitter A <a@x> 6 +0000\n\nroot\n".to_vec(),
            diff_tree: None,
        };
        assert_eq!(git.add(&parent, &mut strings).unwrap(), parent_id);
        assert_eq!(git.placeholders(), 0);
        assert_eq!(git.get(parent_id).summary(), "root");
        assert_eq!(git.get(cid).author, git.get(parent_id).author);
        assert!(git.has_ancestor(cid, parent_id));
        assert!(!git.has_ancestor(parent_id, cid));
        assert!(!git.has_ancestor(cid, cid));
    }

    #[test]
    fn bad_sha1_is_an_error() {
        let mut git = Git::default();
        let pb = maintpb::GitCommit {
            sha1: "abc".into(),
            ..Default::default()
        };
        assert_eq!(
            git.add(&pb, &mut Interner::default()),
            Err(CommitError::BadSha1("abc".into()))
        );
    }
}
