//! What the coordinator shows: `/status` (HTML, like Go's farmer page: pools and
//! machines, the queue with wait times, active builds with live logs, recent results,
//! queue latency per host type, remote buildlets lent to people), `/status.json` (the
//! same), `/status/logs/{id}` (a build's log, streamed while it runs) and Prometheus
//! text for `/metrics`.

use crate::coordinator::{unserved, Coordinator};
use crate::gomote::RemoteBuildlet;
use crate::pool::reverse::Fleet;
use crate::pool::{Capacity, Machine};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use dashboard::store::now;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

#[derive(Serialize)]
pub struct Snapshot {
    pub pools: Vec<PoolStatus>,
    /// Host types with queued builds and no pool.
    pub unserved: Vec<String>,
    pub queue: Vec<QueuedStatus>,
    pub queued_total: usize,
    pub active: Vec<BuildStatus>,
    pub recent: Vec<BuildStatus>,
    pub latency: Vec<LatencyStatus>,
    pub scheduler_fallback: Option<String>,
    /// Remote buildlets (gomote) and the machines they are; `None` when gomote is not served.
    pub remote: Option<Vec<RemoteStatus>>,
}

#[derive(Serialize)]
pub struct RemoteStatus {
    #[serde(flatten)]
    pub buildlet: RemoteBuildlet,
    pub machine: String,
}

#[derive(Serialize)]
pub struct PoolStatus {
    pub host_type: String,
    pub kind: &'static str,
    pub capacity: Capacity,
    pub machines: Vec<Machine>,
}

#[derive(Serialize)]
pub struct QueuedStatus {
    pub id: u64,
    pub build: String,
    pub builder: String,
    pub host_type: String,
    pub kind: &'static str,
    pub waiting_s: f64,
    pub attempts: u32,
}

#[derive(Serialize)]
pub struct BuildStatus {
    pub id: u64,
    pub build: String,
    pub builder: String,
    pub repo: String,
    pub commit: String,
    pub machine: String,
    /// `running`, `passed`, `failed: …`.
    pub state: String,
    pub seconds: f64,
    pub log: String,
}

#[derive(Serialize)]
pub struct LatencyStatus {
    pub host_type: String,
    pub samples: usize,
    pub p50_s: f64,
    pub p95_s: f64,
}

/// Queue entries listed on the page (the total is always given).
const LISTED: usize = 200;

impl Coordinator {
    pub fn snapshot(&self) -> Snapshot {
        let inner = &self.inner;
        let st = inner.state.lock().unwrap();
        let t = now();
        let secs = |from: maintner::time::Time| (t.nanos() - from.nanos()).max(0) as f64 / 1e9;
        let mut queue: Vec<&crate::schedule::Queued> = st.queue.values().collect();
        queue.sort_by_key(|q| (q.enqueued, q.id));
        Snapshot {
            pools: inner
                .pools
                .iter()
                .map(|p| PoolStatus {
                    host_type: p.host_type().into(),
                    kind: p.kind(),
                    capacity: p.capacity(),
                    machines: p.machines(),
                })
                .collect(),
            unserved: unserved(&st, &inner.pools).into_iter().collect(),
            queued_total: queue.len(),
            queue: queue
                .iter()
                .take(LISTED)
                .map(|q| QueuedStatus {
                    id: q.id,
                    build: q.spec.title(),
                    builder: q.spec.builder.clone(),
                    host_type: q.spec.host_type.clone(),
                    kind: if q.spec.work.is_try() {
                        "try"
                    } else {
                        "post-submit"
                    },
                    waiting_s: secs(q.enqueued),
                    attempts: q.attempts,
                })
                .collect(),
            active: st
                .active
                .values()
                .map(|a| BuildStatus {
                    id: a.id,
                    build: a.spec.title(),
                    builder: a.spec.builder.clone(),
                    repo: a.spec.work.repo.clone(),
                    commit: a.spec.work.commit.clone(),
                    machine: a.machine.clone(),
                    state: "running".into(),
                    seconds: secs(a.started),
                    log: format!("/status/logs/{}", a.id),
                })
                .collect(),
            recent: st
                .recent
                .iter()
                .map(|f| BuildStatus {
                    id: f.id,
                    build: f.spec.title(),
                    builder: f.spec.builder.clone(),
                    repo: f.spec.work.repo.clone(),
                    commit: f.spec.work.commit.clone(),
                    machine: String::new(),
                    state: f.outcome.clone(),
                    seconds: f.duration.as_secs_f64(),
                    log: format!("/status/logs/{}", f.id),
                })
                .collect(),
            latency: st
                .latency
                .percentiles()
                .into_iter()
                .map(|(host_type, samples, p50, p95)| LatencyStatus {
                    host_type,
                    samples,
                    p50_s: p50.as_secs_f64(),
                    p95_s: p95.as_secs_f64(),
                })
                .collect(),
            scheduler_fallback: st.last_fallback.clone(),
            remote: inner.remote.get().map(|g| {
                g.all()
                    .into_iter()
                    .map(|(buildlet, machine)| RemoteStatus { buildlet, machine })
                    .collect()
            }),
        }
    }

    /// The coordinator's part of `/metrics`.
    pub fn metrics(&self) -> String {
        let s = self.snapshot();
        let c = &self.inner.counters;
        let mut out = String::new();
        let mut queued = std::collections::BTreeMap::<&str, usize>::new();
        for q in &s.queue {
            *queued.entry(&q.host_type).or_default() += 1;
        }
        let _ = writeln!(out, "# TYPE xb_coordinator_queued gauge");
        let _ = writeln!(out, "xb_coordinator_queued {}", s.queued_total);
        let _ = writeln!(out, "# TYPE xb_coordinator_running gauge");
        let _ = writeln!(out, "xb_coordinator_running {}", s.active.len());
        let _ = writeln!(out, "# TYPE xb_coordinator_builds_total counter");
        for (outcome, n) in [
            ("started", &c.started),
            ("passed", &c.passed),
            ("failed", &c.failed),
            ("lost", &c.lost),
            ("requeued", &c.requeued),
            ("dropped", &c.dropped),
        ] {
            let _ = writeln!(
                out,
                "xb_coordinator_builds_total{{outcome=\"{outcome}\"}} {}",
                n.load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# TYPE xb_coordinator_scheduler_fallbacks_total counter"
        );
        let _ = writeln!(
            out,
            "xb_coordinator_scheduler_fallbacks_total {}",
            c.fallbacks.load(Relaxed)
        );
        let _ = writeln!(out, "# TYPE xb_coordinator_pool_machines gauge");
        for p in &s.pools {
            let h = &p.host_type;
            let _ = writeln!(
                out,
                "xb_coordinator_pool_machines{{host_type=\"{h}\",state=\"total\"}} {}",
                p.capacity.total
            );
            let _ = writeln!(
                out,
                "xb_coordinator_pool_machines{{host_type=\"{h}\",state=\"free\"}} {}",
                p.capacity.free
            );
        }
        let _ = writeln!(out, "# TYPE xb_coordinator_queue_wait_seconds summary");
        for l in &s.latency {
            let h = &l.host_type;
            let _ = writeln!(
                out,
                "xb_coordinator_queue_wait_seconds{{host_type=\"{h}\",quantile=\"0.5\"}} {}",
                l.p50_s
            );
            let _ = writeln!(
                out,
                "xb_coordinator_queue_wait_seconds{{host_type=\"{h}\",quantile=\"0.95\"}} {}",
                l.p95_s
            );
            let _ = writeln!(
                out,
                "xb_coordinator_queue_wait_seconds_count{{host_type=\"{h}\"}} {}",
                l.samples
            );
        }
        out
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/status", get(page))
            .route("/status.json", get(json))
            .route("/status/logs/{id}", get(log))
            .with_state(self.clone())
    }

    /// `/status/reverse.json` (Go's `types.ReverseBuilderStatus`) for `fleet`.
    pub fn reverse_router(self: &Arc<Self>, fleet: Fleet) -> Router {
        let c = self.clone();
        Router::new().route(
            "/status/reverse.json",
            get(move || async move { Json(fleet.status(&c.queued_by_host_type())) }),
        )
    }

    /// Builds waiting, per host type.
    pub fn queued_by_host_type(&self) -> BTreeMap<String, u32> {
        let st = self.inner.state.lock().unwrap();
        let mut by = BTreeMap::new();
        for q in st.queue.values() {
            *by.entry(q.spec.host_type.clone()).or_insert(0) += 1;
        }
        by
    }

    /// The log of a running or recently ended build.
    pub fn live_log(&self, id: u64) -> Option<crate::livelog::LiveLog> {
        let st = self.inner.state.lock().unwrap();
        st.active
            .get(&id)
            .map(|a| a.log.clone())
            .or_else(|| st.recent.iter().find(|f| f.id == id).map(|f| f.log.clone()))
    }
}

async fn json(State(c): State<Arc<Coordinator>>) -> Json<Snapshot> {
    Json(c.snapshot())
}

/// The log so far, then what is appended until the build ends.
async fn log(State(c): State<Arc<Coordinator>>, Path(id): Path<String>) -> Response {
    let Some(log) = id.parse().ok().and_then(|id| c.live_log(id)) else {
        return (
            StatusCode::NOT_FOUND,
            "no such build (finished builds' logs are at /log/<hash>)\n",
        )
            .into_response();
    };
    let progress = log.subscribe();
    let stream = futures_util::stream::unfold(
        (log, progress, 0usize, false),
        |(log, mut progress, from, ended)| async move {
            if ended {
                return None;
            }
            loop {
                let (text, done) = log.since(from);
                if !text.is_empty() || done {
                    let next = from + text.len();
                    let chunk = Ok::<_, std::io::Error>(axum::body::Bytes::from(text));
                    return Some((chunk, (log, progress, next, done)));
                }
                if progress.changed().await.is_err() {
                    return None;
                }
            }
        },
    );
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (
                header::HeaderName::from_static("x-content-type-options"),
                "nosniff",
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

async fn page(State(c): State<Arc<Coordinator>>) -> Html<String> {
    Html(render(&c.snapshot()))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn render(s: &Snapshot) -> String {
    let mut h = String::from(
        "<!doctype html><html lang=en><head><meta charset=utf-8>\
         <meta name=viewport content=\"width=device-width,initial-scale=1\">\
         <meta http-equiv=refresh content=5><title>xbuild coordinator</title>\
         <style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}\
         td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}.fail{color:#b00}\
         .ok{color:#070}</style></head><body><h1>Coordinator</h1>",
    );
    table(
        &mut h,
        "Pools",
        &["host type", "kind", "machines", "free", "state"],
        s.pools.iter().map(|p| {
            let machines: Vec<String> = p
                .machines
                .iter()
                .map(|m| format!("{} ({})", esc(&m.name), esc(&m.state)))
                .collect();
            vec![
                esc(&p.host_type),
                p.kind.into(),
                p.capacity.total.to_string(),
                p.capacity.free.to_string(),
                machines.join("<br>"),
            ]
        }),
    );
    if !s.unserved.is_empty() {
        let _ = write!(
            h,
            "<p class=fail>No pool for: {}</p>",
            esc(&s.unserved.join(", "))
        );
    }
    if let Some(why) = &s.scheduler_fallback {
        let _ = write!(
            h,
            "<p class=fail>Scheduling first-in-first-out: {}</p>",
            esc(why)
        );
    }
    table(
        &mut h,
        "Queue latency",
        &["host type", "builds", "p50", "p95"],
        s.latency.iter().map(|l| {
            vec![
                esc(&l.host_type),
                l.samples.to_string(),
                format!("{:.2}s", l.p50_s),
                format!("{:.2}s", l.p95_s),
            ]
        }),
    );
    let active = format!("Active builds ({})", s.active.len());
    table(
        &mut h,
        &active,
        &["build", "machine", "running", "log"],
        s.active.iter().map(|b| {
            vec![
                esc(&b.build),
                esc(&b.machine),
                format!("{:.0}s", b.seconds),
                format!("<a href=\"{}\">live log</a>", b.log),
            ]
        }),
    );
    let queued = format!("Queue ({})", s.queued_total);
    table(
        &mut h,
        &queued,
        &["build", "host type", "kind", "waiting"],
        s.queue.iter().map(|q| {
            vec![
                esc(&q.build),
                esc(&q.host_type),
                q.kind.into(),
                format!("{:.0}s", q.waiting_s),
            ]
        }),
    );
    table(
        &mut h,
        "Recent builds",
        &["build", "result", "took", "log"],
        s.recent.iter().map(|b| {
            let class = if b.state == "passed" { "ok" } else { "fail" };
            vec![
                esc(&b.build),
                format!("<span class={class}>{}</span>", esc(&b.state)),
                format!("{:.1}s", b.seconds),
                format!("<a href=\"{}\">log</a>", b.log),
            ]
        }),
    );
    if let Some(remote) = &s.remote {
        let title = format!("Remote buildlets ({})", remote.len());
        table(
            &mut h,
            &title,
            &["name", "user", "host type", "machine", "created", "expires"],
            remote.iter().map(|r| {
                let b = &r.buildlet;
                vec![
                    esc(&b.name),
                    esc(&b.user),
                    esc(&b.host_type),
                    esc(&r.machine),
                    esc(&b.created),
                    esc(&b.expires),
                ]
            }),
        );
    }
    h.push_str("</body></html>\n");
    h
}

/// A section: a heading and a table whose cells are HTML already escaped.
fn table(h: &mut String, title: &str, head: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    let _ = write!(h, "<h2>{title}</h2><table><tr>");
    for c in head {
        let _ = write!(h, "<th>{c}");
    }
    h.push_str("</tr>");
    for row in rows {
        h.push_str("<tr>");
        for c in row {
            let _ = write!(h, "<td>{c}");
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
}
