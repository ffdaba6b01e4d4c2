//! A build's log as a page: what was built and how it ended at the top (the failing
//! step and its command), then the log. While the build runs the page streams: the log
//! grows as the build writes it and the view stays at its end (a column-reverse box, no
//! script needed); when the build ends the outcome is written below it.
//!
//! The coordinator's runner writes the markers read here: the build's title on the
//! first line, `:: step NAME: COMMAND ARGS` before each step, `:: shard I/N starts on
//! M: …` as each shard starts, `:: shard I/N on M, done in T s: …` before each shard's
//! output (in the order the shards end), and `:: Passed|Failed("why")|Lost("why") after
//! T` last.

use crate::pages::web_esc as esc;
use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use coordinator::livelog::LiveLog;

/// How a build ended, as its log says.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    Passed,
    Failed(String),
    Lost(String),
    /// No outcome line: still running, or a log written by another builder.
    Unknown,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Summary {
    pub title: String,
    pub ending: Ending,
    /// The step that failed and the command it ran.
    pub failed_step: Option<(String, String)>,
}

pub fn summarize(log: &str) -> Summary {
    let title = log
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .to_string();
    let ending = log
        .lines()
        .rev()
        .find_map(ending_of)
        .unwrap_or(Ending::Unknown);
    let failed_step = match &ending {
        Ending::Failed(why) | Ending::Lost(why) => failed_step(log, why),
        _ => None,
    };
    Summary {
        title,
        ending,
        failed_step,
    }
}

fn ending_of(line: &str) -> Option<Ending> {
    let rest = line.strip_prefix(":: ")?;
    if rest.starts_with("Passed") {
        return Some(Ending::Passed);
    }
    let quoted = |prefix: &str| {
        let s = rest.strip_prefix(prefix)?;
        let end = s.rfind("\")")?;
        Some(s[..end].replace("\\\"", "\"").replace("\\\\", "\\"))
    };
    quoted("Failed(\"")
        .map(Ending::Failed)
        .or_else(|| quoted("Lost(\"").map(Ending::Lost))
}

/// The step named by the failure ("step NAME: …", NAME possibly followed by a note in
/// parentheses) and the command of its `:: step` line; else the last step begun.
fn failed_step(log: &str, why: &str) -> Option<(String, String)> {
    let steps: Vec<(&str, &str)> = log
        .lines()
        .filter_map(|l| l.strip_prefix(":: step ")?.split_once(": "))
        .collect();
    let named = why
        .strip_prefix("step ")
        .and_then(|s| s.split_once(':'))
        .map(|(n, _)| n.split(" (").next().unwrap_or(n).trim());
    let found = named
        .and_then(|n| steps.iter().rev().find(|(s, _)| *s == n))
        .or(steps.last())?;
    Some((found.0.to_string(), found.1.trim().to_string()))
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:0 1em}\
h1{font-size:1.2em;margin:.5em 0}.fail{background:#fbe3e3;padding:.4em}\
.ok{background:#e6f4e6;padding:.4em}code,pre{font:12px ui-monospace,monospace}\
.log{display:flex;flex-direction:column-reverse;max-height:75vh;overflow:auto;border:1px solid #ddd}\
pre{margin:0;padding:.4em;white-space:pre-wrap;word-break:break-all}";

fn head(title: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<link rel=\"icon\" href=\"data:,\"><title>{}</title><style>{STYLE}</style></head>\n<body>\n",
        esc(title)
    )
}

fn summary_html(s: &Summary) -> String {
    match &s.ending {
        Ending::Passed => "<p class=\"ok\" id=\"outcome\">Passed.</p>\n".into(),
        Ending::Failed(why) | Ending::Lost(why) => {
            let verb = if matches!(s.ending, Ending::Lost(_)) {
                "Lost"
            } else {
                "Failed"
            };
            let mut h = format!(
                "<section class=\"fail\" id=\"outcome\" aria-label=\"outcome\"><p><strong>{verb}</strong>: {}</p>",
                esc(why)
            );
            if let Some((step, cmd)) = &s.failed_step {
                h.push_str(&format!(
                    "<p>Failing step <strong id=\"failed-step\">{}</strong>: <code id=\"failed-command\">{}</code></p>",
                    esc(step),
                    esc(cmd)
                ));
            }
            h.push_str("</section>\n");
            h
        }
        Ending::Unknown => String::new(),
    }
}

/// A stored log's page.
pub fn page(hash: &str, log: &str) -> Html<String> {
    static_page(
        &format!("log {}", &hash[..hash.len().min(10)]),
        &format!("/log/{hash}"),
        log,
    )
}

/// A log's page with its outcome on top; `plain` is where its text is.
fn static_page(untitled: &str, plain: &str, log: &str) -> Html<String> {
    let s = summarize(log);
    let title = if s.title.is_empty() {
        untitled.to_string()
    } else {
        s.title.clone()
    };
    Html(format!(
        "{}<header><h1>{}</h1><p><a href=\"/\">dashboard</a> · <a href=\"{}\">plain text</a></p></header>\n\
<main>{}<div class=\"log\"><pre id=\"log\">{}</pre></div></main>\n</body></html>\n",
        head(&title),
        esc(&title),
        esc(plain),
        summary_html(&s),
        esc(log),
    ))
}

/// A running build's page, streamed until the build ends; once it has ended, the
/// static page with the outcome on top.
pub fn live(id: &str, log: LiveLog) -> Response {
    if log.since(usize::MAX).1 {
        let plain = format!("/status/logs/{id}");
        return static_page(&format!("build {id}"), &plain, &log.text()).into_response();
    }
    let top = format!(
        "{}<header><h1>Build {} <small id=\"state\">(live)</small></h1><p><a href=\"/\">dashboard</a> · <a href=\"/status\">status</a></p></header>\n\
<main><div class=\"log\"><pre id=\"log\">",
        head(&format!("build {id} (live)")),
        esc(id)
    );
    let progress = log.subscribe();
    // State: (log, progress, bytes sent, phase) — 0: the top, 1: the log, 2: done.
    let stream = futures_util::stream::unfold(
        (log, progress, 0usize, 0u8, top),
        |(log, mut progress, from, phase, top)| async move {
            match phase {
                0 => {
                    let chunk = Bytes::from(top);
                    Some((
                        Ok::<_, std::io::Error>(chunk),
                        (log, progress, from, 1, String::new()),
                    ))
                }
                1 => loop {
                    let (text, done) = log.since(from);
                    if !text.is_empty() {
                        let next = from + text.len();
                        let chunk = Bytes::from(esc(&text));
                        return Some((Ok(chunk), (log, progress, next, 1, top)));
                    }
                    if done || progress.changed().await.is_err() {
                        let s = summarize(&log.text());
                        let end = format!(
                            "</pre></div>{}<p id=\"ended\">The build ended.</p></main>\n</body></html>\n",
                            summary_html(&s)
                        );
                        return Some((Ok(Bytes::from(end)), (log, progress, from, 2, top)));
                    }
                },
                _ => None,
            }
        },
    );
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAILED: &str = "demo-builder demo@8f3c4d6e9a\nbuilder demo-builder on local-1\n\
:: sources demo@8f3c4d6e -> go/\n\n:: step build: sh build.sh\nbuilding\n\n\
:: step test: sh -c ./test.sh -v\nFAIL: TestX\n\n\
:: Failed(\"step test: exit status 1 \\\"quoted\\\"\") after 1.2s\n";

    #[test]
    fn a_failure_names_its_step_and_command() {
        let s = summarize(FAILED);
        assert_eq!(s.title, "demo-builder demo@8f3c4d6e9a");
        assert_eq!(
            s.ending,
            Ending::Failed("step test: exit status 1 \"quoted\"".into())
        );
        assert_eq!(
            s.failed_step,
            Some(("test".into(), "sh -c ./test.sh -v".into()))
        );
    }

    #[test]
    fn passed_lost_and_foreign_logs() {
        assert_eq!(
            summarize(":: step a: x\n:: Passed after 1s\n").ending,
            Ending::Passed
        );
        let lost = summarize(
            ":: step a: x\n:: step b (listing tests): y\n:: Lost(\"no buildlet\") after 1s\n",
        );
        assert_eq!(lost.ending, Ending::Lost("no buildlet".into()));
        // Not naming a step: the last one begun.
        assert_eq!(lost.failed_step.unwrap().0, "b (listing tests)");
        let go = summarize("ok  \tfmt\t0.1s\nFAIL\tnet/http\t3s\n");
        assert_eq!(go.ending, Ending::Unknown);
        assert_eq!(go.failed_step, None);
    }

    #[test]
    fn the_page_escapes_the_log() {
        let Html(h) = page(
            "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3",
            "<script>x</script>\n:: step t: echo '<b>'\n:: Failed(\"step t: exit 1\") after 1s\n",
        );
        assert!(!h.contains("<script>x"), "{h}");
        assert!(h.contains("&lt;script&gt;x"), "{h}");
        assert!(
            h.contains("<code id=\"failed-command\">echo &#39;&lt;b&gt;&#39;</code>"),
            "{h}"
        );
    }
}
