//! The plugin author's guide (`plugin-tests/README.md`) works as written: every command
//! in its `sh` blocks is run, in order, from the repository's root with the `xb` built
//! by this test and an empty data directory, and must succeed.

use std::path::Path;
use std::process::Command;

/// The shell commands of the guide, in order.
fn commands(guide: &str) -> Vec<String> {
    let mut out = vec![];
    let mut in_sh = false;
    for line in guide.lines() {
        match line.trim() {
            "```sh" => in_sh = true,
            "```" => in_sh = false,
            cmd if in_sh && !cmd.is_empty() => out.push(cmd.to_string()),
            _ => {}
        }
    }
    out
}

#[test]
fn every_command_of_the_authors_guide_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let guide = std::fs::read_to_string(root.join("plugin-tests/README.md")).unwrap();
    let cmds = commands(&guide);
    assert!(cmds.len() >= 10, "{cmds:?}");
    let xb = Path::new(env!("CARGO_BIN_EXE_xb"));
    let path = format!(
        "{}:{}",
        xb.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let data = tempfile::tempdir().unwrap();
    for cmd in &cmds {
        assert!(
            cmd.starts_with("xb ")
                || cmd.starts_with("cd plugins && cargo build")
                || cmd == "sh plugins/polyglot/build.sh",
            "the guide runs only xb and the plugin builds: {cmd}"
        );
        let out = Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .current_dir(&root)
            .env("PATH", &path)
            .env("XB_DATA", data.path())
            .env("RUST_LOG", "error")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{cmd}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
