//! A version's identity: the sha256 of its component.

use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::Arc;

/// The sha256 of a component, in hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VersionId(Arc<str>);

impl VersionId {
    pub fn of(bytes: &[u8]) -> Self {
        VersionId(hex::encode(Sha256::digest(bytes)).into())
    }

    /// Accepts a full 64-digit lowercase hex id.
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| VersionId(s.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 digits, as shown to people.
    pub fn short(&self) -> &str {
        &self.0[..12]
    }
}

impl fmt::Display for VersionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short())
    }
}
