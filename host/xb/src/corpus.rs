//! `xb corpus …`: maintnerd's corpus commands on the data directory. A log has one
//! writer; while `xb serve` holds it, `import-git` hands its work to that server through
//! the admin API instead of failing, and the server logs the commits itself.

use std::time::Duration;

use anyhow::{Context, Result};
use maintner::LogError;
use maintnerd::cli::{absolute, CorpusCommand};

use crate::data::DataDir;
use crate::serve::ImportGit;

/// Runs `cmd` and returns what it reports.
pub async fn execute(cmd: CorpusCommand, data: &DataDir) -> Result<String> {
    let import = match &cmd {
        CorpusCommand::ImportGit { repo, name } => Some((repo.clone(), name.clone())),
        _ => None,
    };
    match maintnerd::cli::execute(cmd, &data.maintner()).await {
        Err(e) if held_by_serve(&e) => match (import, running_server(data)) {
            (Some((repo, name)), Some(addr)) => {
                let req = ImportGit {
                    repo: absolute(&repo),
                    name,
                };
                hand_over(data, &addr, &req).await
            }
            _ => Err(e),
        },
        r => r,
    }
}

/// Did `e` come from a log that `xb serve` holds? (Not a sync, say, nor a server
/// that left a stale address behind.)
fn held_by_serve(e: &anyhow::Error) -> bool {
    e.chain().any(|c| match c.downcast_ref::<LogError>() {
        Some(LogError::Locked { holder, .. }) => is_xb_serve(holder),
        _ => false,
    })
}

/// Is `holder` (`pid N: argv…`) an `xb … serve …` process? It is an xb when it is
/// named so or runs this very executable (a copy named otherwise, say).
fn is_xb_serve(holder: &str) -> bool {
    let mut words = holder.split_whitespace();
    let pid = words
        .nth(1)
        .and_then(|p| p.trim_end_matches(':').parse::<u32>().ok());
    let program = words.next().unwrap_or_default();
    let named_xb = program == "xb" || program.ends_with("/xb");
    (named_xb || pid.is_some_and(runs_this_executable)) && words.any(|a| a == "serve")
}

/// Does process `pid` run the same executable file as this one?
fn runs_this_executable(pid: u32) -> bool {
    let theirs = std::fs::canonicalize(format!("/proc/{pid}/exe"));
    let ours = std::env::current_exe().and_then(std::fs::canonicalize);
    matches!((theirs, ours), (Ok(a), Ok(b)) if a == b)
}

/// The address a running `xb serve` wrote into the data directory.
fn running_server(data: &DataDir) -> Option<String> {
    let addr = std::fs::read_to_string(data.serve_addr()).ok()?;
    Some(addr.trim().to_string()).filter(|a| !a.is_empty())
}

/// The answer is a line or an error message: more than this is not read.
const MAX_ANSWER: usize = 64 << 10;

async fn bounded_text(mut answer: reqwest::Response) -> Result<String> {
    let mut body = Vec::new();
    while let Some(chunk) = answer.chunk().await? {
        if body.len() + chunk.len() > MAX_ANSWER {
            anyhow::bail!("the server's answer goes past {MAX_ANSWER} bytes");
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// The server answers when its git fetch ends, which for a large repository takes
/// minutes; a server silent for longer than this is given up on.
const IMPORT_TIMEOUT: Duration = Duration::from_secs(3600);

/// Posts the import to the server and returns its answer.
async fn hand_over(data: &DataDir, addr: &str, req: &ImportGit) -> Result<String> {
    let url = format!("http://{addr}/admin/corpus/import-git");
    let token = data.admin_token()?;
    let answer = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(IMPORT_TIMEOUT)
        .build()?
        .post(&url)
        .bearer_auth(token)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(serde_json::to_vec(req)?)
        .send()
        .await
        .with_context(|| format!("handing the import to the running xb serve at {addr}"))?;
    let status = answer.status();
    let text = bounded_text(answer).await?;
    if !status.is_success() {
        anyhow::bail!("the running xb serve at {addr} refused the import ({status}): {text}");
    }
    Ok(format!(
        "the log is held by xb serve at {addr}; it ran the import: {text}"
    ))
}

#[cfg(test)]
mod tests {
    use super::is_xb_serve;

    #[test]
    fn a_server_is_known_by_its_name_or_by_running_this_executable() {
        assert!(is_xb_serve("pid 1: /usr/bin/xb serve --data d"));
        assert!(!is_xb_serve("pid 1: /usr/bin/xb corpus sync URL"));
        assert!(!is_xb_serve("pid 1: /usr/bin/xbuild serve"));
        // This test process runs under another name, but it is this executable.
        let me = std::process::id();
        assert!(is_xb_serve(&format!(
            "pid {me}: /tmp/renamed serve --data d"
        )));
        assert!(!is_xb_serve(&format!(
            "pid {me}: /tmp/renamed corpus stats"
        )));
    }
}
