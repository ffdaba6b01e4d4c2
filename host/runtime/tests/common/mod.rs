//! Test components: tiny core modules written as WAT, wrapped into components for a
//! world of `wit/` (or a test world) with wit-component, the way wasmtime's and Spin's
//! own tests do. Plus the real `local-builders` plugin, built from `plugins/`.

#![allow(dead_code)]

use runtime::{Registry, Runtime, RuntimeConfig};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use wit_component::{embed_component_metadata, ComponentEncoder, StringEncoding};
use wit_parser::Resolve;

pub fn wit_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wit")
}

/// Wrap a core module into a component of `world`. `extra_wit` adds a package with
/// test worlds (e.g. one that imports more than the host grants).
pub fn component(world: &str, extra_wit: Option<&str>, wat: &str) -> Vec<u8> {
    let mut resolve = Resolve::default();
    let pkg = match extra_wit {
        Some(src) if src.contains("package xbuild:platform@") => {
            resolve.push_str("test.wit", src).unwrap()
        }
        Some(src) => {
            resolve.push_dir(wit_dir()).unwrap();
            resolve.push_str("test.wit", src).unwrap()
        }
        None => resolve.push_dir(wit_dir()).unwrap().0,
    };
    let world = resolve.select_world(&[pkg], Some(world)).unwrap();
    let mut module = wat::parse_str(wat).unwrap();
    embed_component_metadata(&mut module, &resolve, world, StringEncoding::UTF8).unwrap();
    ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .validate(true)
        .encode()
        .unwrap()
}

/// An error with its sources, as the CLI prints it.
pub fn message(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        out.push_str(&format!(": {e}"));
        source = e.source();
    }
    out
}

/// Kind byte of `plugin-kind` in the WIT enum.
pub const BUILDERS: u8 = 0;
pub const SCHEDULER: u8 = 1;

/// Core-module pieces every test component shares: memory, a bump `cabi_realloc`, the
/// `describe` record at 0 (name at 200, version at 300) and an empty list at 100.
fn prelude(name: &str, version: &str, kind: u8) -> String {
    let le = |n: usize| {
        format!(
            "\\{:02x}\\{:02x}\\{:02x}\\{:02x}",
            n & 0xff,
            (n >> 8) & 0xff,
            0,
            0
        )
    };
    format!(
        r#"
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 4096))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $p i32)
    ;; Nothing outlives a call: wrap around instead of running out (benchmarks reuse
    ;; one instance for many calls).
    (if (i32.gt_u (global.get $heap) (i32.const 100000)) (then (global.set $heap (i32.const 4096))))
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
                           (i32.xor (i32.sub (local.get 2) (i32.const 1)) (i32.const -1))))
    (global.set $heap (i32.add (local.get $p) (local.get 3)))
    (local.get $p))
  (data (i32.const 0) "{name_ptr}{name_len}{ver_ptr}{ver_len}\{kind:02x}\00\00\00\00\00\00\00\00\00\00\00")
  (data (i32.const 200) "{name}")
  (data (i32.const 300) "{version}")
  (func (export "xbuild:platform/plugin@0.2.0#describe") (result i32) (i32.const 0))
"#,
        name_ptr = le(200),
        name_len = le(name.len()),
        ver_ptr = le(300),
        ver_len = le(version.len()),
    )
}

/// A builders component whose `builds` runs `builds_body` (15 flat i32 params, returns
/// an i32 bool); `imports` are extra core imports, e.g. the clock.
pub fn builders_wat(
    name: &str,
    version: &str,
    kind: u8,
    imports: &str,
    builds_body: &str,
) -> String {
    let p15 = "(param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)";
    format!(
        r#"(module
  {imports}
  {prelude}
  (func (export "xbuild:platform/builder-config@0.2.0#host-types") (result i32) (i32.const 100))
  (func (export "xbuild:platform/builder-config@0.2.0#builders") (result i32) (i32.const 100))
  (func (export "xbuild:platform/builder-config@0.2.0#builds") {p15} (result i32) {builds_body})
  (func (export "xbuild:platform/builder-config@0.2.0#plan") {p15} (result i32) unreachable)
  (func (export "xbuild:platform/builder-config@0.2.0#shard-tests") (param i32 i32 i32 i32 i32) (result i32) (i32.const 100))
)"#,
        prelude = prelude(name, version, kind),
    )
}

pub fn builders_component(name: &str, version: &str, builds_body: &str) -> Vec<u8> {
    component(
        "builders",
        None,
        &builders_wat(name, version, BUILDERS, "", builds_body),
    )
}

/// A builders component with one host type, "host-test", and a builder of each name
/// on it. The records are laid out in memory as the canonical ABI has them on wasm32
/// (a string or a list is a pointer and a length, 8 bytes) at 1000..4000, below the
/// bump allocator's heap.
pub fn builders_defining(name: &str, version: &str, builders: &[&str]) -> Vec<u8> {
    const BASE: usize = 1000;
    const HOST_TYPE: usize = 1000; // host-type record, 60 bytes
    const LISTS: usize = 1100; // (ptr, len) of the host-types list, then of the builders
    const RECORDS: usize = 1200; // builder records, 92 bytes each
    const BUILDER_SIZE: usize = 92;
    let mut mem = vec![0u8; 3000];
    let mut strings = 2400;
    let put_u32 = |mem: &mut Vec<u8>, at: usize, v: usize| {
        mem[at - BASE..at - BASE + 4].copy_from_slice(&(v as u32).to_le_bytes())
    };
    let mut put_str = |mem: &mut Vec<u8>, at: usize, s: &str| {
        mem[strings - BASE..strings - BASE + s.len()].copy_from_slice(s.as_bytes());
        put_u32(mem, at, strings);
        put_u32(mem, at + 4, s.len());
        strings += s.len();
    };
    // host-type: name 0, pool 8 (local = 0), image 12, expect-num 20, hermetic 24,
    // env 28, host-arch 36, owners 44, notes 52.
    put_str(&mut mem, HOST_TYPE, "host-test");
    put_str(&mut mem, HOST_TYPE + 36, "linux-amd64");
    put_u32(&mut mem, LISTS, HOST_TYPE);
    put_u32(&mut mem, LISTS + 4, 1);
    // builder: name 0, host-type 8, goos 16, goarch 24, trybot 32, try-only 33, env 36,
    // helpers 44, try-helpers 48, build-timeout 52, test-timeout-scale 56, repos 60,
    // try-repos 68, known-issues 76, notes 84.
    for (i, b) in builders.iter().enumerate() {
        let at = RECORDS + i * BUILDER_SIZE;
        put_str(&mut mem, at, b);
        put_str(&mut mem, at + 8, "host-test");
    }
    put_u32(&mut mem, LISTS + 8, RECORDS);
    put_u32(&mut mem, LISTS + 12, builders.len());
    let data: String = mem.iter().map(|b| format!("\\{b:02x}")).collect();
    let wat = builders_wat(name, version, BUILDERS, "", "(i32.const 1)")
        .replace(
            r#"builder-config@0.2.0#host-types") (result i32) (i32.const 100))"#,
            r#"builder-config@0.2.0#host-types") (result i32) (i32.const 1100))"#,
        )
        .replace(
            r#"builder-config@0.2.0#builders") (result i32) (i32.const 100))"#,
            &format!(
                r#"builder-config@0.2.0#builders") (result i32) (i32.const 1108))
  (data (i32.const {BASE}) "{data}")"#
            ),
        );
    component("builders", None, &wat)
}

/// A scheduler that never starts anything.
pub fn scheduler_component(name: &str) -> Vec<u8> {
    let wat = format!(
        r#"(module {prelude}
  (func (export "xbuild:platform/scheduling@0.2.0#schedule") (param i32 i32 i32 i32 i32 i32) (result i32) (i32.const 100)))"#,
        prelude = prelude(name, "1", SCHEDULER)
    );
    component("scheduler", None, &wat)
}

/// A scheduler whose `schedule` answers `ids` whatever the queue, or traps (`None`);
/// an empty queue gets an empty answer, so it passes the self-check at load.
pub fn scheduler_answering(name: &str, ids: Option<&[u64]>) -> Vec<u8> {
    let hex = |bytes: &[u8]| {
        bytes
            .iter()
            .map(|b| format!("\\{b:02x}"))
            .collect::<String>()
    };
    let (body, data) = match ids {
        None => ("unreachable".to_string(), String::new()),
        Some(ids) => {
            let mut list = Vec::new();
            for id in ids {
                list.extend_from_slice(&id.to_le_bytes());
            }
            let mut ret = 1104u32.to_le_bytes().to_vec();
            ret.extend_from_slice(&(ids.len() as u32).to_le_bytes());
            (
                "(i32.const 1000)".to_string(),
                format!(
                    r#"(data (i32.const 1000) "{}") (data (i32.const 1104) "{}")"#,
                    hex(&ret),
                    hex(&list)
                ),
            )
        }
    };
    let wat = format!(
        r#"(module {prelude} {data}
  (func (export "xbuild:platform/scheduling@0.2.0#schedule") (param i32 i32 i32 i32 i32 i32) (result i32)
    (if (i32.eqz (local.get 3)) (then (return (i32.const 100))))
    {body}))"#,
        prelude = prelude(name, "1", SCHEDULER)
    );
    component("scheduler", None, &wat)
}

/// A post-submit build of Go's master branch.
pub fn work() -> runtime::Work {
    runtime::Work {
        kind: runtime::WorkKind::PostSubmit,
        repo: "go".into(),
        branch: "master".into(),
        commit: "0123456789abcdef0123456789abcdef01234567".into(),
        go_branch: None,
        go_commit: None,
    }
}

pub fn runtime() -> Arc<Runtime> {
    Arc::new(Runtime::new(RuntimeConfig::default()).expect("runtime"))
}

pub fn registry() -> Registry {
    Registry::in_memory(runtime())
}

/// A registry over the plugin store in `dir`, with its compiled-code cache: what a
/// process of the host (or the CLI) opens.
pub fn open_store(dir: &Path) -> Registry {
    let store = runtime::PluginStore::open(dir).unwrap();
    let rt = Runtime::new(RuntimeConfig {
        cache_dir: Some(store.cache_dir()),
        ..Default::default()
    })
    .unwrap();
    Registry::open(Arc::new(rt), store).unwrap()
}

/// The real `local-builders` plugin.
pub fn local_builders() -> Vec<u8> {
    bundled("local_builders")
}

/// A plugin of `plugins/`, by crate name with underscores. `cargo xtask test` builds
/// them first; a plain `cargo test` builds them here when one is missing.
pub fn bundled(krate: &str) -> Vec<u8> {
    static BUILD: OnceLock<()> = OnceLock::new();
    let plugins = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins");
    let wasm = plugins.join(format!("target/wasm32-wasip2/release/{krate}.wasm"));
    if !wasm.exists() {
        BUILD.get_or_init(|| {
            let status = std::process::Command::new(std::env::var("CARGO").unwrap_or("cargo".into()))
                .current_dir(&plugins)
                .args(["build", "--release", "--target", "wasm32-wasip2"])
                .status()
                .expect("run cargo for the plugins workspace");
            assert!(
                status.success(),
                "building plugins/ failed (is the wasm32-wasip2 target installed? `cargo xtask plugins` adds it)"
            );
        });
    }
    std::fs::read(&wasm).unwrap_or_else(|e| panic!("read {}: {e}", wasm.display()))
}
