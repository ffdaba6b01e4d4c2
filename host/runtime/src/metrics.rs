//! Plugin counters in the Prometheus text exposition format, for `/metrics`.

use crate::error::Cause;
use crate::registry::Registry;
use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;

/// Render the registry's counters.
pub fn render(reg: &Registry) -> String {
    let mut out = String::new();
    let versions = reg.versions();
    let labels = |v: &crate::plugin::PluginVersion| {
        format!(
            "kind=\"{}\",name=\"{}\",version=\"{}\",id=\"{}\"",
            v.kind(),
            escape(v.name()),
            escape(&v.description.version),
            v.id.short()
        )
    };
    header(
        &mut out,
        "xbuild_plugin_calls_total",
        "counter",
        "Calls into a plugin version.",
    );
    for v in &versions {
        let _ = writeln!(
            out,
            "xbuild_plugin_calls_total{{{}}} {}",
            labels(v),
            v.stats.calls.load(Relaxed)
        );
    }
    header(
        &mut out,
        "xbuild_plugin_faults_total",
        "counter",
        "Calls that failed, by cause.",
    );
    for v in &versions {
        for cause in Cause::ALL {
            let _ = writeln!(
                out,
                "xbuild_plugin_faults_total{{{},cause=\"{}\"}} {}",
                labels(v),
                cause.label(),
                v.stats.faults(cause)
            );
        }
    }
    header(
        &mut out,
        "xbuild_plugin_call_seconds_total",
        "counter",
        "Time spent in calls.",
    );
    for v in &versions {
        let secs = v.stats.nanos.load(Relaxed) as f64 / 1e9;
        let _ = writeln!(
            out,
            "xbuild_plugin_call_seconds_total{{{}}} {secs}",
            labels(v)
        );
    }
    header(
        &mut out,
        "xbuild_plugin_fuel_total",
        "counter",
        "Fuel consumed by metered calls.",
    );
    for v in &versions {
        let _ = writeln!(
            out,
            "xbuild_plugin_fuel_total{{{}}} {}",
            labels(v),
            v.stats.fuel.load(Relaxed)
        );
    }
    header(
        &mut out,
        "xbuild_plugin_serving",
        "gauge",
        "1 for the version serving under each name.",
    );
    for slot in reg.list() {
        let _ = writeln!(out, "xbuild_plugin_serving{{{}}} 1", labels(&slot.serving));
    }
    let c = &reg.counters;
    for (name, help, value) in [
        (
            "xbuild_plugin_swaps_total",
            "Swaps to another version.",
            c.swaps.load(Relaxed),
        ),
        (
            "xbuild_plugin_rollbacks_total",
            "Rollbacks to an earlier version.",
            c.rollbacks.load(Relaxed),
        ),
        (
            "xbuild_plugin_rejected_total",
            "Components that failed validation.",
            c.rejected.load(Relaxed),
        ),
    ] {
        header(&mut out, name, "counter", help);
        let _ = writeln!(out, "{name} {value}");
    }
    out
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
