//! `xb serve`'s configuration file: named environments (dev, staging, prod, like Go's
//! buildenv), each a [`Settings`]. Every value has a default; the embedded
//! `xbuild.toml` is used when no file is given.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The embedded configuration.
pub const DEFAULT: &str = include_str!("../xbuild.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    env: BTreeMap<String, Settings>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub listen: Option<SocketAddr>,
    /// TLS listener: reverse buildlets register and gomote users connect here.
    pub listen_tls: Option<SocketAddr>,
    /// Certificate chain and key (PEM) of the TLS listener; without them a self-signed
    /// certificate is made in `<data>/tls/`.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Use Go's public development master key ("gophers rule"), so Go's buildlets and
    /// gomote started in dev mode work with no key files.
    pub dev_keys: Option<bool>,
    pub data: Option<PathBuf>,
    /// Create and build the demo repository.
    pub demo: Option<bool>,
    pub maintner: MaintnerSettings,
    pub coordinator: CoordinatorSettings,
    /// Where trybot results are posted.
    pub gerrit: Option<GerritSettings>,
    /// Per host type.
    pub pools: BTreeMap<String, PoolSettings>,
    /// How gopherbot's decisions are carried out.
    pub bot: BotSettings,
}

/// The bot's executor: dry-run unless `live`, which needs credentials for both APIs.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BotSettings {
    /// Carry actions out through GitHub's and Gerrit's REST APIs.
    pub live: Option<bool>,
    /// Default `https://api.github.com`.
    pub github_url: Option<String>,
    /// A file holding the GitHub token.
    pub github_token_file: Option<PathBuf>,
    /// Default `https://go-review.googlesource.com`.
    pub gerrit_url: Option<String>,
    pub gerrit_user: Option<String>,
    /// A file holding the Gerrit HTTP password.
    pub gerrit_password_file: Option<PathBuf>,
    /// Least time between two calls to one API, in milliseconds (default 1000).
    pub interval_ms: Option<u64>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MaintnerSettings {
    pub watch_gerrit: Vec<String>,
    pub watch_github: Vec<String>,
    pub watch_git: Vec<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoordinatorSettings {
    /// Run the coordinator (default: yes).
    pub enabled: Option<bool>,
    pub window: Option<u32>,
    pub trybots: Option<bool>,
    pub max_builds: Option<usize>,
    /// Longest a step may run, whatever its plan says, in seconds.
    pub step_timeout_cap: Option<u64>,
    pub repo: Vec<RepoSettings>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GerritSettings {
    /// Gerrit's base URL.
    pub url: String,
    /// This server's public URL, for links in the posts.
    pub public_url: String,
    /// HTTP credentials: the user, and a file holding the password.
    pub user: Option<String>,
    pub password_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepoSettings {
    pub name: String,
    pub project: String,
    pub remote: String,
    #[serde(default = "master")]
    pub branches: Vec<String>,
}

fn master() -> Vec<String> {
    vec!["master".into()]
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PoolSettings {
    /// Local pool: buildlet processes at once.
    pub count: Option<u32>,
    /// Buildlets that run elsewhere (`host:port`), instead of local processes.
    pub fixed: Vec<String>,
    /// Their password, read from this file.
    pub password_file: Option<PathBuf>,
    /// Machines of this host type dial in (reverse buildlets) instead.
    pub reverse: Option<bool>,
    /// Reverse machines expected (shown as `Expect` in `/status/reverse.json`).
    pub expect: Option<u32>,
}

/// The environment `env` of the file at `path` (the embedded file if `None`).
pub fn load(path: Option<&Path>, env: &str) -> Result<Settings> {
    let (text, name) = match path {
        Some(p) => (
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
            p.display().to_string(),
        ),
        None => (DEFAULT.to_string(), "the embedded xbuild.toml".into()),
    };
    parse(&text, env).with_context(|| format!("in {name}"))
}

fn parse(text: &str, env: &str) -> Result<Settings> {
    let file: File = toml::from_str(text)?;
    match file.env.get(env) {
        Some(s) => Ok(s.clone()),
        None => bail!(
            "no environment {env:?} (there are: {})",
            file.env.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_file_has_three_environments() {
        for env in ["dev", "staging", "prod"] {
            let s = parse(DEFAULT, env).unwrap();
            assert!(s.listen.is_some(), "{env}");
        }
        let dev = parse(DEFAULT, "dev").unwrap();
        assert_eq!(dev.demo, Some(true));
        assert_eq!(dev.pools["host-linux-amd64-localdev"].count, Some(3));
        let staging = parse(DEFAULT, "staging").unwrap();
        assert_eq!(staging.coordinator.repo[1].name, "net");
        assert_eq!(staging.coordinator.repo[1].branches, ["master"]);
    }

    #[test]
    fn every_value_has_a_default() {
        let s = parse("[env.x]\n", "x").unwrap();
        assert!(s.listen.is_none() && s.pools.is_empty() && s.coordinator.repo.is_empty());
    }

    #[test]
    fn unknown_environments_and_keys_are_named() {
        let e = parse(DEFAULT, "qa").unwrap_err().to_string();
        assert!(
            e.contains("\"qa\"") && e.contains("dev, prod, staging"),
            "{e}"
        );
        let e = format!(
            "{:#}",
            parse("[env.x]\nlisten = 1\nbogus = 2\n", "x").unwrap_err()
        );
        assert!(e.contains("listen") || e.contains("bogus"), "{e}");
        let e = format!("{:#}", parse("[env.x]\nbogus = 2\n", "x").unwrap_err());
        assert!(e.contains("bogus"), "{e}");
    }
}
