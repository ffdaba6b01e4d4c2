//! `devapp`: dev.golang.org's pages over the corpus (Go's devapp/ and cmd/devapp).
//!
//! - `/`: the index;
//! - `/release`: the release dashboard — open issues by milestone and by package (the
//!   title's prefix), with the changes that reference them; pending changes by package;
//!   proposals; issues closed in the last week (Go's devapp/release.go);
//! - `/reviews`: open changes waiting for review, by project, oldest first, filtered by
//!   `?project=`, `?owner=` and `?reviewer=` (Gerrit account ids);
//! - `/stats`: open changes per day over a year, 30 and 7 days, as SVG line charts.
//!
//! Links between the pages are relative, so the host may mount them anywhere.

wit_bindgen::generate!({
    path: "../../wit",
    world: "devapp",
});

mod data;
mod release;
mod reviews;
mod stats;

use exports::xbuild::platform::plugin::Guest as Plugin;
use exports::xbuild::platform::render::Guest as Render;
use xbuild::platform::http_types::{Request, Response};
use xbuild::platform::types::{Description, PluginKind};

struct Devapp;

impl Plugin for Devapp {
    fn describe() -> Description {
        Description {
            name: "devapp".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            kind: PluginKind::Devapp,
            summary: "dev.golang.org: release dashboard, review queue, open-change statistics"
                .into(),
        }
    }
}

impl Render for Devapp {
    fn render(req: Request) -> Response {
        if req.method != "GET" && req.method != "HEAD" {
            return html(
                405,
                web::error_page("Method not allowed", "only GET is served here"),
            );
        }
        let q = web::Query(&req.query);
        let page = match req.path.trim_end_matches('/') {
            "" => Ok(index()),
            "/release" => release::page(),
            "/reviews" => reviews::page(&q),
            "/stats" => stats::page(),
            other => {
                return html(
                    404,
                    web::error_page("Not found", &format!("no page {}", web::quote(other))),
                )
            }
        };
        match page {
            Ok(body) => html(200, body),
            Err(msg) => html(400, web::error_page("Bad request", &msg)),
        }
    }
}

fn index() -> String {
    web::page(
        "Go development dashboards",
        "<header><h1>Go development dashboards</h1></header>\n<main><ul>\
<li><a href=\"release\">Release dashboard</a>: open issues by milestone and package, pending changes, proposals, recently closed issues</li>\
<li><a href=\"reviews\">Review queue</a>: open changes waiting for review</li>\
<li><a href=\"stats\">Statistics</a>: open changes over time</li>\
</ul></main>",
    )
}

/// The navigation every page starts with.
pub(crate) fn nav(current: &str) -> String {
    let mut h = String::from("<nav aria-label=\"pages\"><a href=\".\">index</a>");
    for (href, name) in [
        ("release", "release"),
        ("reviews", "reviews"),
        ("stats", "stats"),
    ] {
        if href == current {
            h.push_str(&format!("<strong aria-current=\"page\">{name}</strong>"));
        } else {
            h.push_str(&format!("<a href=\"{href}\">{name}</a>"));
        }
    }
    h.push_str("</nav>\n");
    h
}

fn html(status: u16, body: String) -> Response {
    Response {
        status,
        content_type: "text/html; charset=utf-8".into(),
        body: body.into_bytes(),
    }
}

export!(Devapp);
