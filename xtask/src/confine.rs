//! The repository must read nothing outside itself: a user's clone has nothing beside it.
//!
//! Two checks, both run by `cargo xtask ci`:
//! - [`scan`]: no string literal in a source names an existing path outside the
//!   repository, either relative to its crate (`concat!(env!("CARGO_MANIFEST_DIR"),
//!   "/../..")`, `Path::new(env!("CARGO_MANIFEST_DIR")).join(..)`) or absolute into the
//!   directory that holds the checkout. (Literals like `../../etc` in path-escape tests
//!   name nothing that exists and pass.)
//! - [`copy_alone`]: the tests run in a copy of the working tree that sits alone in an
//!   empty directory, so a read of a sibling of the checkout fails there.

use std::fs;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

/// Source files the scan reads.
const SOURCE_EXTS: &[&str] = &["rs", "toml", "sh", "py", "js", "mjs", "ts", "wit"];

/// The files of the working tree: tracked, plus untracked ones git does not ignore.
/// Outside a git checkout (the copy [`copy_alone`] makes, an unpacked tarball) every
/// file but build output and hidden directories.
pub fn files(root: &Path) -> Result<Vec<PathBuf>, String> {
    if !root.join(".git").exists() {
        let mut found = Vec::new();
        walk(root, Path::new(""), &mut found)
            .map_err(|e| format!("listing {}: {e}", root.display()))?;
        return Ok(found);
    }
    let out = Command::new("git")
        .current_dir(root)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output()
        .map_err(|e| format!("running git ls-files: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git ls-files: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(out
        .stdout
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| PathBuf::from(String::from_utf8_lossy(p).into_owned()))
        .filter(|p| root.join(p).is_file())
        .collect())
}

fn walk(root: &Path, rel: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(root.join(rel))? {
        let entry = entry?;
        let name = entry.file_name();
        let path = rel.join(&name);
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if name != "target" && !name.to_string_lossy().starts_with('.') {
                walk(root, &path, found)?;
            }
        } else if kind.is_file() {
            found.push(path);
        }
    }
    Ok(())
}

/// Every place a source names a path outside `root`, as "file:line: literal".
pub fn scan(root: &Path, files: &[PathBuf]) -> Vec<String> {
    let outside = root.parent().unwrap_or(root);
    let mut found = Vec::new();
    for rel in files {
        let ext = rel.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !SOURCE_EXTS.contains(&ext) {
            continue;
        }
        let Ok(text) = fs::read_to_string(root.join(rel)) else {
            continue;
        };
        let base = crate_dir(root, rel);
        for (line, lit) in string_literals(&text) {
            if escapes(root, outside, &base, &lit) {
                found.push(format!("{}:{line}: \"{lit}\"", rel.display()));
            }
        }
    }
    found
}

/// Whether a literal names an existing path outside `root`: relative with `..`
/// resolving above it from the crate directory, or absolute inside the directory
/// holding the checkout.
fn escapes(root: &Path, outside: &Path, base: &Path, lit: &str) -> bool {
    let resolved = if lit.starts_with('/') && !lit.starts_with("/..") {
        let abs = normalize(Path::new(lit));
        // The directory holding the checkout (or one above it) names no sibling.
        if !abs.starts_with(outside) || abs == outside || outside == Path::new("/") {
            return false;
        }
        abs
    } else if lit.split('/').any(|seg| seg == "..") {
        normalize(&base.join(lit.trim_start_matches('/')))
    } else {
        return false;
    };
    !resolved.starts_with(root) && resolved.exists()
}

/// The directory of the nearest Cargo.toml above a file, inside `root` (or `root`).
fn crate_dir(root: &Path, rel: &Path) -> PathBuf {
    let mut dir = root.join(rel);
    while dir.pop() && dir.starts_with(root) {
        if dir.join("Cargo.toml").is_file() {
            return dir;
        }
    }
    root.to_path_buf()
}

/// Lexical normalisation: `a/b/../c` is `a/c`.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// The double-quoted string literals of a source, with the line each starts on. Line
/// comments and char literals (`'"'`) are skipped.
fn string_literals(text: &str) -> Vec<(usize, String)> {
    let c: Vec<char> = text.chars().collect();
    let (mut out, mut line, mut i) = (Vec::new(), 1, 0);
    while i < c.len() {
        match c[i] {
            '\n' => line += 1,
            '/' if c.get(i + 1) == Some(&'/') => {
                while i < c.len() && c[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '\'' if c.get(i + 1) == Some(&'\\') => {
                i += 3;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
            }
            '\'' if c.get(i + 2) == Some(&'\'') => i += 2,
            '"' => {
                let (start, mut lit) = (line, String::new());
                i += 1;
                while i < c.len() && c[i] != '"' {
                    if c[i] == '\\' {
                        i += 1;
                    }
                    if let Some(&ch) = c.get(i) {
                        line += usize::from(ch == '\n');
                        lit.push(ch);
                    }
                    i += 1;
                }
                out.push((start, lit));
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Copy the working tree into `<tmp>/xbuild-ci-<pid>/<name>`, alone in its directory,
/// with `target/` and `plugins/target/` linked to the originals so nothing rebuilds
/// that need not. Returns the copy's root.
pub fn copy_alone(root: &Path, files: &[PathBuf]) -> Result<PathBuf, String> {
    let parent = std::env::temp_dir().join(format!("xbuild-ci-{}", std::process::id()));
    let _ = fs::remove_dir_all(&parent);
    let name = root.file_name().unwrap_or("xbuild".as_ref());
    let copy = parent.join(name);
    let io = |what: &str, p: &Path, e: std::io::Error| format!("{what} {}: {e}", p.display());
    for rel in files {
        let to = copy.join(rel);
        if let Some(dir) = to.parent() {
            fs::create_dir_all(dir).map_err(|e| io("creating", dir, e))?;
        }
        fs::copy(root.join(rel), &to).map_err(|e| io("copying to", &to, e))?;
    }
    for target in ["target", "plugins/target"] {
        let (from, to) = (root.join(target), copy.join(target));
        fs::create_dir_all(&from).map_err(|e| io("creating", &from, e))?;
        std::os::unix::fs::symlink(&from, &to).map_err(|e| io("linking", &to, e))?;
    }
    Ok(copy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> PathBuf {
        let root = std::env::temp_dir()
            .join(format!("confine-test-{}", std::process::id()))
            .join(format!("{:?}", std::thread::current().id()).replace(['(', ')'], ""))
            .join("repo");
        let _ = fs::remove_dir_all(&root);
        for (path, text) in files {
            let p = root.join(path);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        }
        root
    }

    #[test]
    fn finds_paths_that_leave_the_repository() {
        let (up, two) = ("../".repeat(3), "../".repeat(2));
        let root = tree(&[
            ("host/a/Cargo.toml", "[package]"),
            (
                "host/a/tests/t.rs",
                &format!(
                    "const A: &str = concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/{up}shared/x\");\n\
                     // \"{up}in a comment\"\n\
                     fn f() {{ p.join(\"{two}testdata/x\"); p.join(\"{up}y\"); }}\n\
                     fn g() {{ p.join(\"{up}nothing/there\"); }}\n"
                ),
            ),
        ]);
        let outside = root.parent().unwrap().join("shared/data");
        fs::create_dir_all(&outside).unwrap();
        fs::create_dir_all(root.parent().unwrap().join("y")).unwrap();
        fs::create_dir_all(root.parent().unwrap().join("shared/x")).unwrap();
        fs::write(
            root.join("host/a/src.rs"),
            format!("const B: &str = \"{}\";", outside.display()),
        )
        .unwrap();
        fs::write(
            root.join("host/a/parent.rs"),
            format!("const P: &str = \"{}\";", root.parent().unwrap().display()),
        )
        .unwrap();
        let files = vec![
            PathBuf::from("host/a/tests/t.rs"),
            "host/a/src.rs".into(),
            "host/a/parent.rs".into(),
        ];
        let found = scan(&root, &files);
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(found[0].starts_with("host/a/tests/t.rs:1:"), "{found:#?}");
        assert!(found[1].starts_with("host/a/tests/t.rs:3:") && found[1].ends_with("y\""));
        assert!(found[2].starts_with("host/a/src.rs:1:"));
    }

    #[test]
    fn lists_a_tree_without_git() {
        let root = tree(&[
            ("a/b.rs", ""),
            ("target/x.rs", ""),
            (".hidden/y", ""),
            ("c", ""),
        ]);
        let mut found = files(&root).unwrap();
        found.sort();
        assert_eq!(found, [PathBuf::from("a/b.rs"), PathBuf::from("c")]);
    }

    #[test]
    fn the_repository_itself_is_confined() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let found = scan(root, &files(root).unwrap());
        assert!(
            found.is_empty(),
            "paths outside the repository:\n{found:#?}"
        );
    }
}
