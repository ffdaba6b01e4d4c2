//! Every plugin call is a tracing span carrying kind, name, version, duration, fuel
//! (metered), memory peak and outcome.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use tracing_subscriber::fmt::format::FmtSpan;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn each_call_is_a_span_with_its_cost_and_outcome() {
    let buf = Buffer::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let reg = common::registry();
        reg.load(
            &common::builders_component("traced", "3", "unreachable"),
            "t.wasm",
        )
        .unwrap();
        let h = reg.serving("traced").unwrap();
        let metered = runtime::CallOptions {
            fuel: Some(1_000_000),
            ..Default::default()
        };
        let _ = h
            .plugin()
            .with_options(metered)
            .builds("b", &common::work());
    });
    let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    let call = out
        .lines()
        .find(|l| l.contains("plugin.call") && l.contains("op=\"builds\"") && l.contains("close"))
        .unwrap_or_else(|| panic!("no closed span for the builds call in:\n{out}"));
    for field in [
        "kind=\"builders\"",
        "name=traced",
        "version=3",
        "duration_us=",
        "fuel=",
        "memory_peak=",
        "outcome=\"trap\"",
    ] {
        assert!(call.contains(field), "{field} missing from {call}");
    }
}
