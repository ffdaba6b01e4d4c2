//! `dashboard`: the build grid of build.golang.org (Go's app/build/ui.go and
//! legacydash), rendered from the corpus's commits and the host's build results.
//!
//! - `/`: commits as rows (hash, author, time, subject), builders as columns grouped by
//!   OS, cells ok / fail (to the log) / running (to the live log) / blank; 30 commits a
//!   page; one repo and one branch per view (`?repo=`, `?branch=`); a sub-repository's
//!   rows show the Go commit they were built against. A builder whose newest results
//!   are failures is marked with the length of the streak.
//! - `?mode=json`: Go's `types.BuildStatus`; `?mode=failures`: one line per failed cell.
//!
//! Bad parameters are a 400 page that says which, never a fault.

wit_bindgen::generate!({
    path: "../../wit",
    world: "dashboard",
});

mod grid;
mod html;

use exports::xbuild::platform::plugin::Guest as Plugin;
use exports::xbuild::platform::render::Guest as Render;
use xbuild::platform::http_types::{Request, Response};
use xbuild::platform::types::{Description, PluginKind};

struct Dashboard;

impl Plugin for Dashboard {
    fn describe() -> Description {
        Description {
            name: "dashboard".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            kind: PluginKind::Dashboard,
            summary: "the build grid (commits × builders), Go's BuildStatus JSON and failure list"
                .into(),
        }
    }
}

impl Render for Dashboard {
    fn render(req: Request) -> Response {
        if req.method != "GET" && req.method != "HEAD" {
            return text(405, "only GET is served here\n".into());
        }
        let view = match grid::View::parse(&web::Query(&req.query)) {
            Ok(v) => v,
            Err(msg) => return bad_request(&msg),
        };
        let grid = match grid::load(&view) {
            Ok(g) => g,
            Err(msg) => return bad_request(&msg),
        };
        match view.mode {
            grid::Mode::Html => html(200, html::grid(&view, &grid)),
            grid::Mode::Json => Response {
                status: 200,
                content_type: "application/json".into(),
                body: grid.build_status().into_bytes(),
            },
            grid::Mode::Failures => text(200, grid.failures()),
        }
    }
}

fn bad_request(msg: &str) -> Response {
    html(400, web::error_page("Bad request", msg))
}

fn html(status: u16, body: String) -> Response {
    Response {
        status,
        content_type: "text/html; charset=utf-8".into(),
        body: body.into_bytes(),
    }
}

fn text(status: u16, body: String) -> Response {
    Response {
        status,
        content_type: "text/plain; charset=utf-8".into(),
        body: body.into_bytes(),
    }
}

export!(Dashboard);
