//! A world to build in: a git repository with a make step and sharded tests, ingested
//! into a real corpus by maintnerd's Gerrit poller; buildlets running in this process
//! (each work directory inside a throwaway parent holding a canary file); the real
//! `local-builders` and `scheduler` plugins; a real results store.
#![allow(dead_code)]

#[path = "../../../runtime/tests/common/mod.rs"]
pub mod rt;

use buildlet::{Buildlet, Config as BuildletConfig, WorkDir};
use coordinator::coordinator::Parts;
use coordinator::pool::fixed::FixedPool;
use coordinator::pool::Pools;
use coordinator::{Config, Coordinator, RepoWatch};
use dashboard::store::Store;
use maintnerd::gitpoll::GerritPoller;
use maintnerd::ingest::Ingest;
use maintnerd::store::SharedLog;
use runtime::Registry;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;

pub const HOST: &str = "host-linux-amd64-localdev";
pub const BUILDER: &str = "linux-amd64-demo";
pub const PROJECT: &str = "local/demo";
pub const CANARY: &str = "do not remove";

pub const MAKE: &str = "#!/bin/sh\nset -e\ncd \"$(dirname \"$0\")\"\nmkdir -p bin\ncat lib/*.sh > bin/all\necho built\n";
pub const TEST: &str = "#!/bin/sh\ncd \"$(dirname \"$0\")\"\nif [ \"$1\" = -list ]; then for t in tests/*.sh; do basename \"$t\" .sh; done; exit 0; fi\ns=0\nfor t in \"$@\"; do if sh tests/$t.sh; then echo \"ok   $t\"; else echo \"FAIL $t\"; s=1; fi; done\nexit $s\n";

pub struct World {
    pub dir: TempDir,
    pub work: PathBuf,
    pub remote: PathBuf,
    pub ingest: Ingest,
    pub poller: GerritPoller,
    pub registry: Arc<Registry>,
    pub store: Store,
    pub buildlets: Vec<InProcess>,
}

/// A buildlet served from this process; its work directory sits in a parent that
/// also holds a canary file.
pub struct InProcess {
    pub addr: String,
    pub parent: PathBuf,
    pub task: tokio::task::JoinHandle<()>,
}

impl InProcess {
    pub fn canary_alive(&self) -> bool {
        std::fs::read_to_string(self.parent.join("canary")).is_ok_and(|c| c == CANARY)
    }
}

pub async fn buildlet(root: &Path, i: usize) -> InProcess {
    let parent = root.join(format!("buildlet-{i}"));
    std::fs::create_dir_all(parent.join("work")).unwrap();
    std::fs::write(parent.join("canary"), CANARY).unwrap();
    let b = Buildlet::new(
        WorkDir::open(&parent.join("work"), true).unwrap(),
        BuildletConfig::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let task = tokio::spawn(async move {
        let _ = buildlet::h1::serve(listener, b.router(), None, std::future::pending()).await;
    });
    InProcess { addr, parent, task }
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub fn write(p: &Path, text: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

impl World {
    /// A repository whose first commit has `tests` (name → script body), `buildlets`
    /// buildlets, the bundled plugins.
    pub async fn new(tests: &[(&str, &str)], buildlets: usize) -> World {
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path().join("work");
        std::fs::create_dir_all(&work).unwrap();
        git(&work, &["init", "--quiet"]);
        git(&work, &["symbolic-ref", "HEAD", "refs/heads/master"]);
        write(&work.join("make.sh"), MAKE);
        write(&work.join("test.sh"), TEST);
        write(&work.join("lib/a.sh"), "a() { :; }\n");
        for (name, body) in tests {
            write(&work.join(format!("tests/{name}.sh")), body);
        }
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "--quiet", "-m", "first"]);
        let remote = dir.path().join("remote.git");
        git(
            dir.path(),
            &["clone", "--quiet", "--bare", "work", "remote.git"],
        );
        let log = SharedLog::open(&dir.path().join("log")).unwrap();
        let ingest = Ingest::new(log).unwrap();
        let poller = GerritPoller::new(
            PROJECT,
            &remote.to_string_lossy(),
            &dir.path().join("maintner"),
            ingest.clone(),
        );
        poller.sync_round().await.unwrap();
        let registry = Arc::new(rt::registry());
        registry
            .load(&rt::bundled("local_builders"), "local-builders.wasm")
            .unwrap();
        registry
            .load(&rt::bundled("scheduler"), "scheduler.wasm")
            .unwrap();
        let store = Store::open(&dir.path().join("dashboard.db")).unwrap();
        let mut bs = vec![];
        for i in 0..buildlets {
            bs.push(buildlet(dir.path(), i).await);
        }
        World {
            dir,
            work,
            remote,
            ingest,
            poller,
            registry,
            store,
            buildlets: bs,
        }
    }

    /// Commits `file` in the work tree, not yet pushed.
    pub fn commit(&self, file: &str, text: &str, subject: &str) {
        write(&self.work.join(file), text);
        git(&self.work, &["add", "-A"]);
        git(&self.work, &["commit", "--quiet", "-m", subject]);
    }

    /// Pushes the work tree's master to the remote; the poller sees it on its next round.
    pub fn push(&self) -> String {
        let remote = self.remote.to_string_lossy();
        git(&self.work, &["push", "--quiet", &remote, "master"]);
        self.head()
    }

    /// Lands a commit writing `file` and lets the poller see it. Returns its hash.
    pub async fn land(&self, file: &str, text: &str, subject: &str) -> String {
        self.commit(file, text, subject);
        let head = self.push();
        self.poller.sync_round().await.unwrap();
        head
    }

    pub fn head(&self) -> String {
        git(&self.work, &["rev-parse", "HEAD"])
    }

    pub fn repo(&self) -> RepoWatch {
        RepoWatch {
            name: "demo".into(),
            project: PROJECT.into(),
            remote: self.remote.to_string_lossy().into_owned(),
            branches: vec!["master".into()],
        }
    }

    pub fn config(&self) -> Config {
        let mut c = Config::new(self.dir.path().join("mirror"), vec![self.repo()]);
        c.rescan = Duration::from_secs(3600);
        c
    }

    /// A fixed pool over `addrs` (the buildlets by default).
    pub fn pools(&self, addrs: Option<Vec<String>>) -> Pools {
        let addrs =
            addrs.unwrap_or_else(|| self.buildlets.iter().map(|b| b.addr.clone()).collect());
        let machines: Vec<(String, Option<String>)> =
            addrs.into_iter().map(|a| (a, None)).collect();
        let mut pools = Pools::new();
        pools.add(Arc::new(FixedPool::new(HOST, &machines, pools.notifier())));
        pools
    }

    pub fn start(&self, cfg: Config, pools: Pools) -> Arc<Coordinator> {
        Arc::new(
            Coordinator::start(
                cfg,
                Parts {
                    registry: self.registry.clone(),
                    corpus: self.ingest.corpus().clone(),
                    corpus_changed: self.ingest.subscribe(),
                    store: self.store.clone(),
                    pools,
                },
            )
            .unwrap(),
        )
    }

    /// Waits until `n` results are recorded (or panics after a while, with the status).
    pub async fn results(&self, c: &Coordinator, n: usize) -> Vec<dashboard::model::BuildResult> {
        for _ in 0..600 {
            let r = self.store.recent(100).unwrap();
            if r.len() >= n {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{n} results never came; status: {}",
            serde_json::to_string_pretty(&c.snapshot()).unwrap()
        );
    }

    pub fn log(&self, r: &dashboard::model::BuildResult) -> String {
        self.store.log(&r.log_hash).unwrap().unwrap_or_default()
    }

    pub fn canaries_alive(&self) -> bool {
        self.buildlets.iter().all(InProcess::canary_alive)
    }
}

/// A TCP relay to `to` that can be cut: every connection through it drops at once, as
/// when a machine dies.
pub struct Relay {
    pub addr: String,
    cut: tokio::sync::watch::Sender<bool>,
}

impl Relay {
    pub async fn new(to: String) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (cut, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            loop {
                let mut rx1 = rx.clone();
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = rx1.wait_for(|c| *c) => return,
                };
                let Ok((mut inbound, _)) = accepted else {
                    return;
                };
                let (to, mut rx2) = (to.clone(), rx.clone());
                tokio::spawn(async move {
                    let Ok(mut out) = tokio::net::TcpStream::connect(&to).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut out) => {},
                        _ = rx2.wait_for(|c| *c) => {},
                    }
                });
            }
        });
        Relay { addr, cut }
    }

    pub fn cut(&self) {
        let _ = self.cut.send(true);
    }
}
