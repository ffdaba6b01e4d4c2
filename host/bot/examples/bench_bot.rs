//! Bot figures, measured:
//!
//! ```text
//! cargo run --release -p bot --example bench_bot [-- --issues 40000 --changes 6000]
//! ```
//!
//! 1. Replay throughput over the recorded corpus: mutations applied in time order with
//!    a full gopherbot pass every N mutations, in mutations per second (one thread).
//! 2. One full pass over a generated corpus of `--issues` golang/go issues (titles,
//!    labels with their events, comments) and `--changes` Gerrit changes: wall time and
//!    fuel, per rule and in all.
//! 3. From a swap of the serving gopherbot to the first action the new version decides
//!    (a dry-run pass that stops at the first rule with an action).
//! 4. The rules in Python and JavaScript (`plugins/polyglot`, when built): load time
//!    (compiling the component), one call on a fresh instance against one on a kept
//!    instance, and replay throughput as in 1, beside the Rust gopherbot's.

use bot::pass::{self, PassOptions};
use bot::replay;
use maintner::synth::{self, GerritSim, Hasher, IssueSpec};
use maintner::Corpus;
use runtime::{Handle, Registry, Runtime, RuntimeConfig};
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Instant;

const CLOCK: i64 = 1_785_542_400;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn gopherbot(reg: &Registry) -> Handle {
    let file = root().join("plugins/target/wasm32-wasip2/release/gopherbot.wasm");
    let bytes = std::fs::read(&file).expect("build the plugins first: cargo xtask plugins");
    reg.load(&bytes, "gopherbot.wasm").expect("load gopherbot");
    reg.serving("gopherbot").unwrap()
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn replay_throughput(bot: &Handle) {
    replay_passes(bot, &[7_614, 1_000, 100]);
}

/// Replay the recorded corpus with a pass of `bot` every `every` mutations.
fn replay_passes(bot: &Handle, every: &[usize]) {
    let log = replay::read_log(&root().join("plugin-tests/corpus/log")).unwrap();
    let order = replay::in_time_order(&log);
    let t = Instant::now();
    let mut c = Corpus::default();
    for m in &order {
        c.apply(&m.mutation);
    }
    let apply = t.elapsed().as_secs_f64();
    println!(
        "recorded corpus: {} mutations applied in time order in {:.3}s = {:.0} mutations/s (no bot)",
        order.len(),
        apply,
        order.len() as f64 / apply
    );
    for &every in every {
        let corpus = Arc::new(RwLock::new(Corpus::default()));
        let view = bot::attach_shared(&bot.rt, corpus.clone());
        let t = Instant::now();
        let mut passes = 0;
        let mut fuel = 0;
        for chunk in order.chunks(every) {
            {
                let mut c = corpus.write().unwrap();
                for m in chunk {
                    c.apply(&m.mutation);
                }
            }
            let at = chunk.last().unwrap().at;
            let p = pass::run(bot, view.as_ref(), &PassOptions::at(at)).unwrap();
            fuel += p.fuel();
            passes += 1;
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{} replay with a pass every {every} mutations: {passes} passes, {:.2}s, {:.0} mutations/s, {:.1} ms and {:.1}M fuel per pass",
            bot.version.name(),
            secs,
            order.len() as f64 / secs,
            secs * 1000.0 / passes as f64,
            fuel as f64 / 1e6 / passes as f64
        );
    }
}

/// A corpus of `issues` golang/go issues and `changes` Gerrit changes in the shapes the
/// rules read.
fn generated(issues: usize, changes: usize) -> Corpus {
    const SHAPES: &[&str] = &[
        "x/build/cmd/coordinator: flaky builder",
        "proposal: net/http: add a field",
        "cmd/go: build cache grows",
        "x/mobile: gomobile bind fails",
        "doc: clarify the memory model",
        "x/tools/gopls: hover is slow",
        "cmd/cgo: gccgo rejects a struct",
        "runtime: crash on arm64",
    ];
    const LABELS: &[&str] = &[
        "NeedsInvestigation",
        "NeedsFix",
        "WaitingForInfo",
        "Documentation",
        "Builders",
    ];
    let mut c = Corpus::default();
    for n in 1..=issues as i64 {
        let created = CLOCK - 900 * 86_400 + n * 1_800;
        // A label keeps one id across issues, as on GitHub.
        let labels: Vec<(i64, &str)> = (0..(n % 3))
            .map(|k| (n + k) % 5)
            .map(|i| (i + 1, LABELS[i as usize]))
            .collect();
        let title = SHAPES[(n % SHAPES.len() as i64) as usize];
        c.apply(&synth::new_issue(&IssueSpec {
            owner: "golang",
            repo: "go",
            number: n as i32,
            id: 10_000_000 + n,
            user: (n % 500, "gopher"),
            created,
            updated: created + 86_400,
            title,
            body: "What did you do?",
            labels: &labels,
            milestone: None,
            closed: n % 3 == 0,
            pull_request: n % 10 == 0,
        }));
        let events: Vec<(i64, &str, i64, i64, &str)> = labels
            .iter()
            .enumerate()
            .map(|(k, (_, l))| (n * 10 + k as i64, "labeled", 7, created + 60 * k as i64, *l))
            .collect();
        c.apply(&synth::events("golang", "go", n as i32, &events));
        c.apply(&synth::comments(
            "golang",
            "go",
            n as i32,
            &[(
                n * 10,
                (n % 500, "gopher"),
                created + 3_600,
                "I see this too.",
            )],
        ));
    }
    // Changes of the last 25 days: cl2issue looks at 30.
    let mut g = GerritSim::new(
        "go.googlesource.com/go",
        CLOCK - 25 * 86_400,
        Hasher::with_salt(7),
    );
    c.apply(&g.branch_commit(
        "master",
        "Gopher <g@golang.org>",
        "base\n",
        &[("README", 1, 0)],
    ));
    for cl in 1..=changes as i32 {
        let owner = synth::gerrit_person("Gopher", 1_000 + (cl % 2_000) as i64);
        let title = format!(
            "runtime: fix {cl}\n\nFixes #{}",
            (cl as usize * 7) % issues.max(1) + 1
        );
        c.apply(&g.upload(
            cl,
            &owner,
            &title,
            &format!("I{cl:040x}"),
            &[("src/runtime/a.go", 3, 1)],
            None,
            &[],
        ));
    }
    c
}

fn full_pass(bot: &Handle, issues: usize, changes: usize) {
    let t = Instant::now();
    let c = generated(issues, changes);
    println!(
        "generated corpus: {issues} issues, {changes} changes in {:.2}s",
        t.elapsed().as_secs_f64()
    );
    let view = bot::attach(&bot.rt, c);
    let t = Instant::now();
    let p = pass::run(bot, view.as_ref(), &PassOptions::at(CLOCK)).unwrap();
    let secs = t.elapsed().as_secs_f64();
    for r in &p.rules {
        println!(
            "  {:<32} {:>6} actions {:>12} fuel{}",
            r.rule,
            r.actions.len(),
            r.fuel.unwrap_or(0),
            r.error
                .as_deref()
                .map(|e| format!("  error: {e}"))
                .unwrap_or_default()
        );
    }
    println!(
        "one full pass: {:.2}s wall, {:.1}M fuel, {} decisions",
        secs,
        p.fuel() as f64 / 1e6,
        p.decisions().count()
    );
}

/// From swap to the new version's first decided action, over the recorded corpus.
fn promote_to_first_action(reg: &Registry) {
    let log = replay::read_log(&root().join("plugin-tests/corpus/log")).unwrap();
    let serving = reg.serving("gopherbot").unwrap();
    let view = bot::attach(&serving.rt, replay::corpus_at(&log, CLOCK));
    // The candidate: the same rules, a different component (a custom section changes
    // its bytes and so its version id).
    let file = root().join("plugins/target/wasm32-wasip2/release/gopherbot.wasm");
    let mut bytes = std::fs::read(file).unwrap();
    bytes.extend_from_slice(&[
        0, 11, 9, b'c', b'a', b'n', b'd', b'i', b'd', b'a', b't', b'e', 1,
    ]);
    let candidate = reg.add(&bytes, "candidate.wasm").unwrap();
    let t = Instant::now();
    reg.swap("gopherbot", &candidate.id).unwrap();
    let now = reg.serving("gopherbot").unwrap();
    let plugin = now.plugin().with_options(runtime::CallOptions {
        clock: runtime::Clock::Fixed(CLOCK),
        ..now.rt.defaults().clone()
    });
    let mut first = None;
    for rule in plugin.rules().unwrap() {
        let actions = plugin.run_rule(&rule.name).unwrap().unwrap();
        let run = pass::checked(&rule.name, actions, view.as_ref(), 1_000);
        if let Some(d) = run.actions.first() {
            first = Some((rule.name, d.clone()));
            break;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let (rule, d) = first.expect("an action");
    println!(
        "swap to first action of the new version: {:.1} ms ({rule}: {} {})",
        secs * 1000.0,
        d.action,
        d.target
    );
}

/// Load a component, timing it (compiling is most of it).
fn load_timed(reg: &Registry, file: &Path) -> Option<Handle> {
    let bytes = std::fs::read(file).ok()?;
    let t = Instant::now();
    let v = reg.add(&bytes, &file.display().to_string()).unwrap();
    println!(
        "{}: {:.1} MB component loaded (compiled, linked, described, checked) in {:.2}s",
        v.name(),
        bytes.len() as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    Some(reg.handle(&v.id).unwrap())
}

/// The cost of one `rules` call: on a fresh instance each time, and on a kept one.
fn call_cost(bot: &Handle) {
    const N: u32 = 200;
    let time = |p: &runtime::Plugin| {
        p.rules().unwrap();
        let t = Instant::now();
        for _ in 0..N {
            p.rules().unwrap();
        }
        t.elapsed().as_secs_f64() * 1000.0 / f64::from(N)
    };
    let fresh = time(&bot.plugin());
    let kept = time(&bot.plugin().reusing_instance());
    println!(
        "{}: one call {fresh:.3} ms on a fresh instance, {kept:.3} ms on a kept one",
        bot.version.name()
    );
}

/// The rules in other languages, beside the Rust gopherbot.
fn polyglot(bot: &Handle) {
    let dir = root().join("plugins/target/polyglot");
    let rt = Arc::new(Runtime::new(RuntimeConfig::default()).unwrap());
    let reg = Registry::in_memory(rt);
    let ports: Vec<Handle> = ["gopherbot_py.wasm", "gopherbot_js.wasm"]
        .iter()
        .filter_map(|f| load_timed(&reg, &dir.join(f)))
        .collect();
    if ports.is_empty() {
        println!("no rules in other languages: build them with plugins/polyglot/build.sh");
        return;
    }
    for h in std::iter::once(bot).chain(&ports) {
        call_cost(h);
    }
    for h in std::iter::once(bot).chain(&ports) {
        replay_passes(h, &[1_000, 100]);
    }
}

fn main() {
    let rt = Arc::new(Runtime::new(RuntimeConfig::default()).unwrap());
    let reg = Registry::in_memory(rt);
    let bot = gopherbot(&reg);
    replay_throughput(&bot);
    full_pass(&bot, arg("--issues", 40_000), arg("--changes", 6_000));
    promote_to_first_action(&reg);
    polyglot(&reg.serving("gopherbot").unwrap());
}
