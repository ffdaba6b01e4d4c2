//! Validation of the slash-separated relative paths clients name (`path`, `dir`, `cmd`,
//! tar entry names). Stricter than the seed's `validRelPath`, which let `..` through
//! (so `/removeall path=..` removed the work dir's parent); this is the rule of buildlet v26 (`nativeRelPath`): no component may be `..`.

use std::path::PathBuf;

/// Why a client-supplied path was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PathError {
    #[error("empty path")]
    Empty,
    #[error("path {0:?} contains a backslash")]
    Backslash(String),
    #[error("path {0:?} is absolute; want a path relative to the work directory")]
    Absolute(String),
    #[error("path {0:?} contains a '..' component")]
    DotDot(String),
    #[error("path {0}")]
    Symlink(String),
    #[error("path {0:?} contains a NUL byte")]
    Nul(String),
}

/// Turns a client path into a normalized relative path. `.` and empty components are
/// dropped, so `"."`, `"./"` and `""` (when `allow_empty`) become the work dir root `"."`.
pub fn rel_path(p: &str, allow_empty: bool) -> Result<PathBuf, PathError> {
    if p.is_empty() {
        return if allow_empty {
            Ok(PathBuf::from("."))
        } else {
            Err(PathError::Empty)
        };
    }
    if p.contains('\\') {
        return Err(PathError::Backslash(p.into()));
    }
    if p.contains('\0') {
        return Err(PathError::Nul(p.into()));
    }
    if p.starts_with('/') {
        return Err(PathError::Absolute(p.into()));
    }
    let mut out = PathBuf::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err(PathError::DotDot(p.into())),
            c => out.push(c),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    Ok(out)
}

/// True when `p` (already normalized) names the work dir itself.
pub fn is_root(p: &std::path::Path) -> bool {
    p == std::path::Path::new(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalizes() {
        assert_eq!(rel_path("a/b/c", false).unwrap(), PathBuf::from("a/b/c"));
        assert_eq!(rel_path("./a//b/", false).unwrap(), PathBuf::from("a/b"));
        assert_eq!(rel_path(".", false).unwrap(), PathBuf::from("."));
        assert_eq!(rel_path("", true).unwrap(), PathBuf::from("."));
        assert_eq!(
            rel_path("a..b/..c", false).unwrap(),
            PathBuf::from("a..b/..c")
        );
    }

    #[test]
    fn refuses_escapes() {
        assert_eq!(rel_path("", false), Err(PathError::Empty));
        for p in ["..", "../x", "a/..", "a/../..", "a/../b", "./.."] {
            assert!(
                matches!(rel_path(p, true), Err(PathError::DotDot(_))),
                "{p}"
            );
        }
        assert!(matches!(
            rel_path("/etc", true),
            Err(PathError::Absolute(_))
        ));
        assert!(matches!(
            rel_path("a\\..\\b", true),
            Err(PathError::Backslash(_))
        ));
        assert!(matches!(rel_path("a\0b", true), Err(PathError::Nul(_))));
    }
}
