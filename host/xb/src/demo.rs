//! The demo repository: a small project with a make step and tests, created in the data
//! directory on first start so that `xb serve` has something of its own to build. Its
//! history has six commits; the fifth breaks a test and the sixth fixes it, so the
//! dashboard shows a failure between passes.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Its Gerrit project in the corpus, and its short name.
pub const PROJECT: &str = "local/demo";
pub const NAME: &str = "demo";

const MAKE: &str = include_str!("demo/make.sh");
const TEST: &str = include_str!("demo/test.sh");

/// One commit: its subject and the files it writes.
type Commit = (&'static str, &'static [(&'static str, &'static str)]);

const HISTORY: &[Commit] = &[
    (
        "demo: words sorts its input",
        &[
            ("make.sh", MAKE),
            ("test.sh", TEST),
            ("lib/sort.sh", "sort_words() { tr ' ' '\\n' | sort; }\n"),
            (
                "tests/sort.sh",
                ". lib/sort.sh\n[ \"$(echo 'b c a' | sort_words | tr '\\n' ' ')\" = 'a b c ' ]\n",
            ),
        ],
    ),
    (
        "demo: count words",
        &[
            ("lib/count.sh", "count_words() { wc -w | tr -d ' '; }\n"),
            (
                "tests/count.sh",
                ". lib/count.sh\n[ \"$(echo 'a b c' | count_words)\" = 3 ]\n",
            ),
        ],
    ),
    (
        "demo: upper-case words",
        &[
            ("lib/upper.sh", "upper_words() { tr a-z A-Z; }\n"),
            (
                "tests/upper.sh",
                ". lib/upper.sh\n[ \"$(echo 'a b' | upper_words)\" = 'A B' ]\n",
            ),
        ],
    ),
    (
        "demo: unique words",
        &[
            (
                "lib/unique.sh",
                "unique_words() { tr ' ' '\\n' | sort -u; }\n",
            ),
            (
                "tests/unique.sh",
                ". lib/unique.sh\n[ \"$(echo 'a b a' | unique_words | wc -l)\" = 2 ]\n",
            ),
        ],
    ),
    (
        "demo: sort in reverse",
        &[("lib/sort.sh", "sort_words() { tr ' ' '\\n' | sort -r; }\n")],
    ),
    (
        "demo: sort ascending again",
        &[("lib/sort.sh", "sort_words() { tr ' ' '\\n' | sort; }\n")],
    ),
];

/// The bare repository of the demo inside `data`, created with its history if missing.
pub fn ensure(data: &Path) -> Result<PathBuf> {
    // git runs in other directories than ours: a relative data directory must not be
    // read relative to them.
    let data = &std::path::absolute(data)?;
    let remote = data.join("demo").join("remote.git");
    if remote.join("HEAD").exists() {
        return Ok(remote);
    }
    let work = data.join("demo").join("work");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    git(&work, &["init", "--quiet"])?;
    git(&work, &["symbolic-ref", "HEAD", "refs/heads/master"])?;
    for (subject, files) in HISTORY {
        for (path, text) in *files {
            write(&work.join(path), text)?;
        }
        commit(&work, subject)?;
    }
    let tmp = remote.with_extension("tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    git(
        data,
        &["clone", "--quiet", "--bare", &path(&work), &path(&tmp)],
    )?;
    std::fs::rename(&tmp, &remote)?;
    Ok(remote)
}

fn write(p: &Path, text: &str) -> Result<()> {
    std::fs::create_dir_all(p.parent().expect("a file in a directory"))?;
    std::fs::write(p, text)?;
    if p.extension().is_some_and(|e| e == "sh") {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(())
}

fn commit(work: &Path, subject: &str) -> Result<()> {
    git(work, &["add", "-A"])?;
    git(
        work,
        &[
            "-c",
            "user.name=Demo Gopher",
            "-c",
            "user.email=demo@example.com",
            "commit",
            "--quiet",
            "-m",
            subject,
        ],
    )
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn git(dir: &Path, args: &[&str]) -> Result<()> {
    // maintnerd's git runner: no user config, no prompts, no background maintenance.
    maintnerd::git::run(dir, args, None, &[])
        .map(drop)
        .with_context(|| format!("git {} (is git installed?)", args.join(" ")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_relative_data_directory_works() {
        // Relative to the current directory, as `xb serve`'s default `xbuild-data` is.
        let dir = tempfile::tempdir_in(".").unwrap();
        let rel = dir
            .path()
            .strip_prefix(std::env::current_dir().unwrap())
            .unwrap();
        let remote = super::ensure(rel).unwrap();
        assert!(remote.is_absolute() && remote.join("HEAD").exists());
        let out = std::process::Command::new("git")
            .args([
                "--git-dir",
                &remote.to_string_lossy(),
                "rev-list",
                "--count",
                "master",
            ])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "6");
    }
}
