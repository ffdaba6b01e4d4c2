//! `/exec`: running a command in its own process group, streaming its combined stdout
//! and stderr while it runs, and reporting the outcome in the `Process-State` trailer.
//! The whole group is killed when the client disconnects, on timeout, on `/halt`, and
//! once the command itself has exited (nothing it started outlives it).

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use http_body::Frame;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;

use crate::body::{ChannelBody, Item};

/// Name of the trailer carrying the result.
pub const PROCESS_STATE: &str = "Process-State";

/// A command ready to start.
#[derive(Debug, Clone)]
pub struct Command {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub dir: PathBuf,
    /// Complete environment, `KEY=value` pairs.
    pub env: Vec<String>,
    pub debug: bool,
    pub timeout: Option<Duration>,
}

/// Process groups of the commands running now, so `/halt` can end them all.
#[derive(Debug, Default)]
pub struct ProcessTable {
    groups: Mutex<HashMap<i32, String>>,
}

impl ProcessTable {
    /// Kills every running process group.
    pub fn kill_all(&self) {
        for pgid in self.groups.lock().unwrap().keys() {
            kill_group(*pgid);
        }
    }

    /// `pgid command` lines for `/debug/goroutines`.
    pub fn describe(&self) -> String {
        let mut v: Vec<_> = self
            .groups
            .lock()
            .unwrap()
            .iter()
            .map(|(p, c)| format!("{p} {c}\n"))
            .collect();
        v.sort();
        v.concat()
    }
}

fn kill_group(pgid: i32) {
    // SAFETY: killpg has no memory-safety preconditions; a stale id fails with ESRCH.
    unsafe {
        libc::killpg(pgid, libc::SIGKILL);
    }
}

/// Removes a group from the table and kills what is left of it when dropped.
struct GroupGuard {
    pgid: i32,
    table: Arc<ProcessTable>,
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        kill_group(self.pgid);
        self.table.groups.lock().unwrap().remove(&self.pgid);
    }
}

/// Starts `cmd` and returns the streaming response body.
pub fn start(cmd: Command, table: Arc<ProcessTable>) -> ChannelBody {
    let (tx, body) = ChannelBody::new(32);
    tokio::spawn(run(cmd, tx, table));
    body
}

async fn run(cmd: Command, tx: mpsc::Sender<Item>, table: Arc<ProcessTable>) {
    if cmd.debug {
        let line = format!(
            ":: Running {} with args {} and env {} in dir {}\n\n",
            cmd.program.display(),
            go_quote_list(
                std::iter::once(cmd.program.to_string_lossy().into_owned())
                    .chain(cmd.args.iter().cloned())
            ),
            go_quote_list(cmd.env.iter().cloned()),
            cmd.dir.display()
        );
        let _ = tx.send(Ok(Frame::data(Bytes::from(line)))).await;
    }
    let state = execute(&cmd, &tx, table).await;
    let mut trailers = HeaderMap::new();
    let value = HeaderValue::from_str(&state)
        .unwrap_or_else(|_| HeaderValue::from_static("invalid process state"));
    trailers.insert(PROCESS_STATE, value);
    let _ = tx.send(Ok(Frame::trailers(trailers))).await;
}

/// Runs the command to completion (or until cancelled) and returns the `Process-State`.
async fn execute(cmd: &Command, tx: &mpsc::Sender<Item>, table: Arc<ProcessTable>) -> String {
    let mut c = tokio::process::Command::new(&cmd.program);
    c.args(&cmd.args)
        .current_dir(&cmd.dir)
        .env_clear()
        .envs(cmd.env.iter().filter_map(|kv| kv.split_once('=')))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match c.spawn() {
        Ok(c) => c,
        Err(e) => return format!("fork/exec {}: {e}", cmd.program.display()),
    };
    let pgid = child.id().expect("running child has a pid") as i32;
    table
        .groups
        .lock()
        .unwrap()
        .insert(pgid, cmd.program.display().to_string());
    let guard = GroupGuard { pgid, table };
    let pumps = [
        tokio::spawn(pump(child.stdout.take().expect("piped"), tx.clone())),
        tokio::spawn(pump(child.stderr.take().expect("piped"), tx.clone())),
    ];
    let deadline = async {
        match cmd.timeout {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    let state = tokio::select! {
        status = child.wait() => match status {
            Ok(s) => go_process_state(s),
            Err(e) => format!("wait: {e}"),
        },
        _ = tx.closed() => {
            tracing::info!(pgid, "client went away; killing process group");
            drop(guard);
            let _ = child.wait().await;
            return "client disconnected".into();
        }
        _ = deadline => {
            let t = cmd.timeout.unwrap_or_default();
            tracing::info!(pgid, ?t, "command timed out; killing process group");
            kill_group(pgid);
            let s = child.wait().await.map(go_process_state).unwrap_or_else(|e| format!("wait: {e}"));
            format!("timeout after {t:?}: {s}")
        }
    };
    // Stragglers still holding the pipes would keep the output open forever.
    drop(guard);
    for p in pumps {
        let _ = tokio::time::timeout(Duration::from_secs(2), p).await;
    }
    state
}

async fn pump(mut r: impl AsyncRead + Unpin, tx: mpsc::Sender<Item>) {
    let mut buf = vec![0u8; 32 << 10];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if tx
                    .send(Ok(Frame::data(Bytes::copy_from_slice(&buf[..n]))))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
    }
}

/// Go's `ProcessState.String()`, or `ok` for success as the protocol wants.
pub fn go_process_state(s: ExitStatus) -> String {
    if s.success() {
        return "ok".into();
    }
    if let Some(code) = s.code() {
        return format!("exit status {code}");
    }
    let sig = s.signal().unwrap_or(0);
    let name = match sig {
        libc::SIGHUP => "hangup".to_string(),
        libc::SIGINT => "interrupt".to_string(),
        libc::SIGQUIT => "quit".to_string(),
        libc::SIGILL => "illegal instruction".to_string(),
        libc::SIGABRT => "aborted".to_string(),
        libc::SIGBUS => "bus error".to_string(),
        libc::SIGFPE => "floating point exception".to_string(),
        libc::SIGKILL => "killed".to_string(),
        libc::SIGSEGV => "segmentation fault".to_string(),
        libc::SIGPIPE => "broken pipe".to_string(),
        libc::SIGALRM => "alarm clock".to_string(),
        libc::SIGTERM => "terminated".to_string(),
        n => format!("signal {n}"),
    };
    let core = if s.core_dumped() {
        " (core dumped)"
    } else {
        ""
    };
    format!("signal: {name}{core}")
}

/// Go's `%q` of a `[]string`: `["a" "b"]`.
fn go_quote_list(items: impl Iterator<Item = String>) -> String {
    let quoted: Vec<String> = items.map(|s| format!("\"{}\"", s.escape_debug())).collect();
    format!("[{}]", quoted.join(" "))
}

/// `envutil.Dedup`: the last value of each key wins, kept at the key's first position.
pub fn dedup_env(env: Vec<String>) -> Vec<String> {
    let mut pos: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<String> = Vec::with_capacity(env.len());
    for kv in env {
        let key = kv
            .split_once('=')
            .map_or(kv.as_str(), |(k, _)| k)
            .to_string();
        match pos.get(&key) {
            Some(&i) => out[i] = kv,
            None => {
                pos.insert(key, out.len());
                out.push(kv);
            }
        }
    }
    out
}

/// The seed's `setPathEnv`: `["$EMPTY"]` removes PATH; otherwise `$PATH` elements expand
/// to the original value, `$WORKDIR` is substituted, and PATH is replaced in place.
pub fn set_path_env(mut env: Vec<String>, path: &[String], work_dir: &str) -> Vec<String> {
    if path.is_empty() {
        return env;
    }
    let idx = env.iter().position(|kv| kv.starts_with("PATH="));
    let orig = idx
        .map(|i| env[i]["PATH=".len()..].to_string())
        .unwrap_or_default();
    if path.len() == 1 && path[0] == "$EMPTY" {
        if let Some(i) = idx {
            env.remove(i);
        }
        return env;
    }
    let parts: Vec<String> = path
        .iter()
        .map(|p| {
            if p == "$PATH" {
                orig.clone()
            } else {
                p.clone()
            }
        })
        .map(|p| p.replace("$WORKDIR", work_dir))
        .collect();
    let kv = format!("PATH={}", parts.join(":"));
    match idx {
        Some(i) => env[i] = kv,
        None => env.push(kv),
    }
    env
}

/// Finds a bare command name in the buildlet's own PATH, as Go's `exec.Command` does.
pub fn look_path(name: &str, path_var: Option<&OsString>) -> PathBuf {
    if name.contains('/') {
        return PathBuf::from(name);
    }
    if let Some(pv) = path_var {
        for dir in std::env::split_paths(pv) {
            let p = Path::new(&dir).join(name);
            if is_executable(&p) {
                return p;
            }
        }
    }
    PathBuf::from(name)
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    // The cases of the seed's TestSetPathEnv.
    #[test]
    fn set_path_env_cases() {
        let env = v(&["A=1", "PATH=/bin:/usr/bin", "B=2"]);
        assert_eq!(set_path_env(env.clone(), &[], "/wd"), env);
        assert_eq!(
            set_path_env(env.clone(), &v(&["$EMPTY"]), "/wd"),
            v(&["A=1", "B=2"])
        );
        assert_eq!(
            set_path_env(env.clone(), &v(&["$WORKDIR/go/bin"]), "/wd"),
            v(&["A=1", "PATH=/wd/go/bin", "B=2"])
        );
        assert_eq!(
            set_path_env(env.clone(), &v(&["/x", "$PATH", "/y"]), "/wd"),
            v(&["A=1", "PATH=/x:/bin:/usr/bin:/y", "B=2"])
        );
        assert_eq!(
            set_path_env(env.clone(), &v(&["/x", "$PATH"]), "/wd"),
            v(&["A=1", "PATH=/x:/bin:/usr/bin", "B=2"])
        );
        assert_eq!(
            set_path_env(env.clone(), &v(&["$PATH", "/y"]), "/wd"),
            v(&["A=1", "PATH=/bin:/usr/bin:/y", "B=2"])
        );
        assert_eq!(
            set_path_env(v(&["A=1"]), &v(&["/z"]), "/wd"),
            v(&["A=1", "PATH=/z"])
        );
    }

    #[test]
    fn dedup_keeps_first_position_last_value() {
        assert_eq!(
            dedup_env(v(&["A=1", "B=2", "A=3", "C=4", "B="])),
            v(&["A=3", "B=", "C=4"])
        );
    }

    #[test]
    fn process_state_strings() {
        assert_eq!(go_process_state(ExitStatus::from_raw(0)), "ok");
        assert_eq!(
            go_process_state(ExitStatus::from_raw(1 << 8)),
            "exit status 1"
        );
        assert_eq!(
            go_process_state(ExitStatus::from_raw(libc::SIGKILL)),
            "signal: killed"
        );
    }
}
