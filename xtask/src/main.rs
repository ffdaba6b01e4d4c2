//! Developer entry points, so that one command does everything a fresh machine needs:
//!
//! - `cargo xtask plugins` — add the wasm32-wasip2 target if missing, build the guest
//!   plugins in `plugins/` (release: small, fast components), and the bot rules in
//!   Python and JavaScript with their own tools (`plugins/polyglot/build.sh`).
//! - `cargo xtask serve [ARGS]` — plugins, then `xb serve ARGS` with embedded defaults.
//! - `cargo xtask test [ARGS]` — plugins, then `cargo test --workspace ARGS`.
//! - `cargo xtask ci` — check that nothing reads outside the repository (see
//!   `confine.rs`), run the tests in a copy of the working tree that sits alone in an
//!   empty directory, then `cargo fmt --check` and clippy with `-D warnings` over both
//!   workspaces, and the unit tests of `plugins/web` on the host.

mod confine;

use std::path::{Path, PathBuf};
use std::process::{exit, Command};

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = args
        .split_first()
        .map(|(c, r)| (c.as_str(), r))
        .unwrap_or(("help", &[]));
    let result = match cmd {
        "plugins" => plugins(),
        "serve" => plugins().and_then(|_| {
            cargo(
                &root(),
                &[&["run", "-p", "xb", "--", "serve"], strs(rest).as_slice()].concat(),
            )
        }),
        "test" => plugins().and_then(|_| browser()).and_then(|_| {
            cargo(
                &root(),
                &[&["test", "--workspace"], strs(rest).as_slice()].concat(),
            )
        }),
        "ci" => ci(),
        _ => {
            eprintln!("usage: cargo xtask plugins | serve [ARGS] | test [ARGS] | ci");
            exit(2)
        }
    };
    if let Err(e) = result {
        eprintln!("xtask {cmd}: {e}");
        exit(1);
    }
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}

/// The browser tests drive Debian's Chromium over WebDriver: install `chromium` and
/// `chromium-driver` with apt-get when either is missing.
fn browser() -> Result<(), String> {
    if Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists() {
        return Ok(());
    }
    apt_install(&["chromium", "chromium-driver"], "the browser tests")
}

/// Install Debian packages with apt-get (through sudo when not root).
fn apt_install(packages: &[&str], why: &str) -> Result<(), String> {
    let install = format!(
        "apt-get update && apt-get install -y --no-install-recommends {}",
        packages.join(" ")
    );
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let script = if root {
        install
    } else {
        format!("sudo sh -c '{install}'")
    };
    println!("xtask: installing what {why} need: {script}");
    let ok = Command::new("sh")
        .args(["-c", &script])
        .status()
        .map_err(|e| format!("running apt-get: {e}"))?
        .success();
    if ok {
        Ok(())
    } else {
        Err(format!("installing {} failed", packages.join(", ")))
    }
}

/// Whether `cmd args` runs and succeeds.
fn works(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The bot rules in Python and JavaScript (`plugins/polyglot`), built with their own
/// tools, which the script installs at pinned versions through pip and npm: those two
/// (and Python and Node) come from apt-get when missing.
fn polyglot(root: &Path) -> Result<(), String> {
    let mut missing = vec![];
    if !works("python3", &["-m", "pip", "--version"]) {
        missing.extend(["python3", "python3-pip"]);
    }
    if !works("npm", &["--version"]) {
        missing.extend(["nodejs", "npm"]);
    }
    if !missing.is_empty() {
        apt_install(&missing, "the Python and JavaScript plugins")?;
    }
    run(Command::new("sh").arg(root.join("plugins/polyglot/build.sh")))
}

fn plugins() -> Result<(), String> {
    build_plugins(&root())
}

fn build_plugins(root: &Path) -> Result<(), String> {
    ensure_target()?;
    // Where `xb` and the tests look for them, whatever CARGO_TARGET_DIR says.
    let target_dir = root.join("plugins/target");
    cargo(
        &root.join("plugins"),
        &[
            "build",
            "--release",
            "--target",
            TARGET,
            "--target-dir",
            &target_dir.to_string_lossy(),
        ],
    )?;
    polyglot(root)
}

fn ci() -> Result<(), String> {
    let root = root();
    let files = confine::files(&root)?;
    let outside = confine::scan(&root, &files);
    if !outside.is_empty() {
        return Err(format!(
            "sources name paths outside the repository:\n  {}",
            outside.join("\n  ")
        ));
    }
    let copy = confine::copy_alone(&root, &files)?;
    println!("xtask ci: testing a copy alone in {}", copy.display());
    build_plugins(&copy)?;
    browser()?;
    cargo(&copy, &["test", "--workspace"])?;
    let _ = std::fs::remove_dir_all(copy.parent().unwrap_or(&copy));
    cargo(&root, &["fmt", "--all", "--check"])?;
    cargo(
        &root,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    let plugins = root.join("plugins");
    // What the page plugins share is plain Rust: its unit tests run on the host.
    cargo(
        &plugins,
        &["test", "-p", "web", "--target", &host_target()?],
    )?;
    cargo(&plugins, &["fmt", "--all", "--check"])?;
    cargo(
        &plugins,
        &[
            "clippy",
            "--release",
            "--target",
            TARGET,
            "--",
            "-D",
            "warnings",
        ],
    )
}

/// rustup knows whether the target's standard library is installed.
fn ensure_target() -> Result<(), String> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| format!("running rustup: {e}"))?;
    if String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == TARGET)
    {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", TARGET]))
}

/// The target triple of this machine, as rustc names it.
fn host_target() -> Result<String, String> {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .map_err(|e| format!("rustc -vV: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_string)
        .ok_or_else(|| "rustc -vV names no host".into())
}

fn cargo(dir: &Path, args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(Command::new(cargo).current_dir(dir).args(args))
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let status = cmd.status().map_err(|e| format!("{cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed: {status}"))
    }
}
