//! `xb gomote`: remote buildlets from the command line, for people without Go's own
//! `gomote`. It speaks the same API (`/buildlet/create`, `/buildlet/list`, and buildlet
//! requests through the coordinator with `X-Buildlet-Proxy`), over TLS, as
//! `user-<name>` with the key HMAC-MD5(master key, `user-<name>`).

use anyhow::{bail, Context, Result};
use buildlet::client::{BoxError, ReqBody};
use buildlet::{Client, ClientOptions, ExecOpts, ListDirOpts};
use bytes::Bytes;
use clap::Subcommand;
use coordinator::gomote::RemoteBuildlet;
use http_body_util::{BodyExt, Full};
use std::path::PathBuf;
use std::sync::Arc;

/// What the gomote client sends as its version (newer than Go's minimum).
pub const CLIENT_VERSION: &str = "20240101";

#[derive(clap::Args, Debug)]
pub struct GomoteArgs {
    /// The coordinator's TLS address.
    #[arg(long, default_value = "localhost:8119")]
    pub coordinator: String,
    /// Your user name (you are `user-<name>`).
    #[arg(long, env = "USER")]
    pub user: String,
    /// File holding your key [default: ~/.config/gomote/user-<name>.token, as Go's gomote].
    #[arg(long)]
    pub token: Option<PathBuf>,
    /// Certificate (PEM) to trust for the coordinator [default: xbuild-data/tls/cert.pem].
    #[arg(long, default_value = "xbuild-data/tls/cert.pem")]
    pub ca: PathBuf,
    #[command(subcommand)]
    pub command: GomoteCommand,
}

#[derive(Subcommand, Debug)]
pub enum GomoteCommand {
    /// Create a buildlet of a builder type; prints its name.
    Create { builder: String },
    /// Your buildlets.
    List,
    /// Write a file: `put NAME LOCAL-FILE [REMOTE-PATH]`.
    Put {
        name: String,
        file: PathBuf,
        dest: Option<String>,
        #[arg(long, default_value_t = 0o644)]
        mode: u32,
    },
    /// Extract a local .tar.gz into a directory of the buildlet.
    Puttar {
        name: String,
        tgz: PathBuf,
        #[arg(long, default_value = ".")]
        dir: String,
    },
    /// Run a command (relative to the work dir, or a system command with --system).
    Run {
        #[arg(long)]
        system: bool,
        #[arg(long)]
        dir: Option<String>,
        /// KEY=value, repeatable.
        #[arg(short = 'e')]
        env: Vec<String>,
        name: String,
        cmd: String,
        /// The command's arguments, dashes and all (options of `run` go before NAME).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// List files.
    Ls {
        name: String,
        #[arg(default_value = ".")]
        dir: String,
        #[arg(short = 'R')]
        recursive: bool,
    },
    /// Write a directory of the buildlet as .tar.gz to stdout.
    Gettar {
        name: String,
        #[arg(long, default_value = ".")]
        dir: String,
    },
    /// Remove files or directories.
    Rm { name: String, paths: Vec<String> },
    /// Give the buildlet back.
    Destroy { name: String },
}

/// A signed-in gomote user of one coordinator.
pub struct Session {
    addr: String,
    opts: ClientOptions,
}

impl Session {
    pub fn new(
        addr: &str,
        user: &str,
        key: &str,
        roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    ) -> Result<Session> {
        let tls = buildlet::tls::client_config_with_roots(roots)?;
        let user = if user.starts_with("user-") {
            user.to_string()
        } else {
            format!("user-{user}")
        };
        Ok(Session {
            addr: addr.to_string(),
            opts: ClientOptions {
                user: Some(user),
                password: Some(key.trim().to_string()),
                tls: Some(Arc::new(tls)),
                proxy_name: None,
            },
        })
    }

    fn coordinator(&self) -> Client {
        Client::new(self.addr.clone(), self.opts.clone())
    }

    /// The remote buildlet `name`, driven through the coordinator.
    pub fn buildlet(&self, name: &str) -> Client {
        let mut opts = self.opts.clone();
        opts.proxy_name = Some(name.to_string());
        Client::new(self.addr.clone(), opts)
    }

    async fn call(&self, method: http::Method, path: &str, body: String) -> Result<String> {
        let body: ReqBody = Full::new(Bytes::from(body))
            .map_err(|e| -> BoxError { match e {} })
            .boxed_unsync();
        let req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)?;
        let resp = self.coordinator().round_trip(req).await?;
        let status = resp.status();
        // The coordinator's answers here are small JSON: a bigger one is refused.
        let text = http_body_util::Limited::new(resp.into_body(), 1 << 20)
            .collect()
            .await
            .map_err(|e| anyhow::anyhow!("{path}: {e}"))?
            .to_bytes();
        let text = String::from_utf8_lossy(&text).into_owned();
        if !status.is_success() {
            bail!("{path}: {status}: {}", text.trim());
        }
        Ok(text)
    }

    pub async fn create(&self, builder: &str) -> Result<RemoteBuildlet> {
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("builderType", builder)
            .append_pair("version", CLIENT_VERSION)
            .finish();
        let text = self
            .call(http::Method::POST, "/buildlet/create", form)
            .await?;
        Ok(serde_json::from_str(&text)?)
    }

    pub async fn list(&self) -> Result<Vec<RemoteBuildlet>> {
        let text = self
            .call(http::Method::GET, "/buildlet/list", String::new())
            .await?;
        Ok(serde_json::from_str(&text)?)
    }
}

/// Runs one `xb gomote` command, writing what it prints to `out`.
pub async fn run(args: GomoteArgs, out: &mut (impl tokio::io::AsyncWrite + Unpin)) -> Result<()> {
    use tokio::io::AsyncWriteExt;
    let token = match &args.token {
        Some(t) => t.clone(),
        None => std::env::var_os("HOME")
            .map(PathBuf::from)
            .context("no HOME for the default token file")?
            .join(format!(".config/gomote/user-{}.token", args.user)),
    };
    let key =
        std::fs::read_to_string(&token).with_context(|| format!("reading {}", token.display()))?;
    let roots = buildlet::tls::load_certs(&args.ca)?;
    let s = Session::new(&args.coordinator, &args.user, &key, roots)?;
    match args.command {
        GomoteCommand::Create { builder } => {
            let b = s.create(&builder).await?;
            out.write_all(format!("{}\n", b.name).as_bytes()).await?;
        }
        GomoteCommand::List => {
            for b in s.list().await? {
                let line = format!(
                    "{}\t{}\t{}\texpires {}\n",
                    b.name, b.builder_type, b.host_type, b.expires
                );
                out.write_all(line.as_bytes()).await?;
            }
        }
        GomoteCommand::Put {
            name,
            file,
            dest,
            mode,
        } => {
            let dest = dest.unwrap_or_else(|| {
                file.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
            let f = tokio::fs::File::open(&file).await?;
            s.buildlet(&name).put(f, &dest, mode).await?;
        }
        GomoteCommand::Puttar { name, tgz, dir } => {
            let f = tokio::fs::File::open(&tgz).await?;
            s.buildlet(&name).put_tar(f, &dir).await?;
        }
        GomoteCommand::Run {
            name,
            cmd,
            args,
            system,
            dir,
            env,
        } => {
            let opts = ExecOpts {
                args,
                dir,
                extra_env: env,
                system_level: system,
                ..Default::default()
            };
            s.buildlet(&name).exec(&cmd, &opts, out).await?;
        }
        GomoteCommand::Ls {
            name,
            dir,
            recursive,
        } => {
            let opts = ListDirOpts {
                recursive,
                ..Default::default()
            };
            for e in s.buildlet(&name).list_dir(&dir, &opts).await? {
                out.write_all(format!("{}\n", e.line).as_bytes()).await?;
            }
        }
        GomoteCommand::Gettar { name, dir } => {
            let mut tgz = s.buildlet(&name).get_tar(&dir).await?;
            tokio::io::copy(&mut tgz, out).await?;
        }
        GomoteCommand::Rm { name, paths } => {
            let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
            s.buildlet(&name).remove_all(&paths).await?;
        }
        GomoteCommand::Destroy { name } => s.buildlet(&name).halt().await?,
    }
    out.flush().await?;
    Ok(())
}
