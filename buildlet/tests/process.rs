//! Process control (Go's `handleExec`): output streams while the command runs; a client
//! that disconnects, a timeout, or `/halt` kills the command's whole process group.

mod common;

use std::time::Duration;

use buildlet::{Config, Error, ExecOpts};
use common::*;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// Whether `pid` is a live (non-zombie) process.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !matches!(
            s.rsplit_once(") ").and_then(|(_, r)| r.chars().next()),
            Some('Z' | 'X')
        ),
        Err(_) => false,
    }
}

async fn wait_dead(pid: u32) {
    for _ in 0..400 {
        if !alive(pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("process {pid} still alive");
}

fn sys(script: &str) -> ExecOpts {
    ExecOpts {
        system_level: true,
        args: vec!["-c".into(), script.into()],
        ..Default::default()
    }
}

/// The script prints, then waits for a file only the test creates after having seen
/// the first output: it can only finish if output streams while it runs.
#[tokio::test]
async fn output_arrives_while_the_command_runs() {
    let h = Harness::start().await;
    let (w, r) = tokio::io::duplex(1 << 16);
    let client = h.client.clone();
    let run = tokio::spawn(async move {
        let mut w = w;
        client.exec("/bin/sh", &sys("echo first; while [ ! -e \"$WORKDIR/go-on\" ]; do sleep 0.01; done; echo second"), &mut w).await
    });
    let mut lines = BufReader::new(r).lines();
    assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("first"));
    assert!(!run.is_finished());
    std::fs::write(h.workdir.join("go-on"), b"").unwrap();
    assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("second"));
    run.await.unwrap().unwrap();
}

/// A grandchild that would write a file a second later: after the client hangs up it
/// must be dead and the file must never appear.
#[tokio::test]
async fn client_disconnect_kills_the_whole_group() {
    let h = Harness::start().await;
    let body = "cmd=%2Fbin%2Fsh&mode=sys&cmdArg=-c&cmdArg=(sleep+1%3B+touch+%22%24WORKDIR%2Flate%22)+%26+echo+%24!%3B+wait";
    let mut s = tokio::net::TcpStream::connect(h.addr).await.unwrap();
    let req = format!(
        "POST /exec HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let pid = loop {
        let mut buf = [0u8; 1024];
        let n = s.read(&mut buf).await.unwrap();
        assert!(
            n > 0,
            "connection closed early: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got);
        // Chunked body: the pid is the first line of the first chunk's data.
        if let Some(body) = text.split("\r\n\r\n").nth(1) {
            if let Some(pid) = body
                .lines()
                .nth(1)
                .and_then(|l| l.trim().parse::<u32>().ok())
            {
                break pid;
            }
        }
    };
    assert!(alive(pid));
    drop(s);
    wait_dead(pid).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(
        !h.workdir.join("late").exists(),
        "grandchild outlived the disconnect"
    );
}

#[tokio::test]
async fn client_timeout_disconnects_and_kills() {
    let h = Harness::start().await;
    let (w, r) = tokio::io::duplex(1 << 16);
    let client = h.client.clone();
    let mut opts = sys("sleep 30 & echo $!; wait");
    opts.timeout = Some(Duration::from_millis(1500));
    let run = tokio::spawn(async move {
        let mut w = w;
        client.exec("/bin/sh", &opts, &mut w).await
    });
    let mut lines = BufReader::new(r).lines();
    let pid: u32 = lines.next_line().await.unwrap().unwrap().parse().unwrap();
    let e = run.await.unwrap().unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    wait_dead(pid).await;
}

#[tokio::test]
async fn server_timeout_kills_the_group() {
    let h = Harness::with_config(Config {
        exec_timeout: Some(Duration::from_millis(1500)),
        ..Default::default()
    })
    .await;
    let mut out = Vec::new();
    let e = h
        .client
        .exec("/bin/sh", &sys("sleep 30 & echo $!; wait"), &mut out)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Remote(s) if s == "timeout after 1.5s: signal: killed"),
        "{e}"
    );
    let pid: u32 = String::from_utf8(out).unwrap().trim().parse().unwrap();
    wait_dead(pid).await;
}

/// Background children of a command that has exited are killed, and do not hold the
/// response open.
#[tokio::test]
async fn nothing_outlives_its_command() {
    let h = Harness::start().await;
    let mut out = Vec::new();
    h.client
        .exec("/bin/sh", &sys("sleep 30 & echo $!"), &mut out)
        .await
        .unwrap();
    let pid: u32 = String::from_utf8(out).unwrap().trim().parse().unwrap();
    wait_dead(pid).await;
}

/// The real binary: `/halt` kills running commands (and their children) and the
/// buildlet exits normally: with no `--halt-machine` flag nothing else happens.
#[tokio::test]
async fn halt_ends_the_process_and_its_children() {
    let parent = tempfile::tempdir().unwrap();
    let wd = parent.path().join("wd");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_buildlet"))
        .args(["--listen", "127.0.0.1:0", "--workdir"])
        .arg(&wd)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = stdout.next_line().await.unwrap().unwrap();
    let addr = line.strip_prefix("listening on ").unwrap().to_string();
    let client = buildlet::Client::new(addr, Default::default());
    let (w, r) = tokio::io::duplex(1 << 16);
    let c2 = client.clone();
    tokio::spawn(async move {
        let mut w = w;
        let _ = c2
            .exec(
                "/bin/sh",
                &sys("(sleep 2; touch \"$WORKDIR/late\") & echo $!; wait"),
                &mut w,
            )
            .await;
    });
    let pid: u32 = BufReader::new(r)
        .lines()
        .next_line()
        .await
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    client.halt().await.unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("buildlet did not exit")
        .unwrap();
    assert!(status.success(), "{status}");
    wait_dead(pid).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!wd.join("late").exists());
}
