//! The grid as HTML: one semantic table, no scripts, usable at phone width.

use crate::grid::{self, Cell, Grid, View};
use std::fmt::Write;
use web::{esc, url_enc, Date};

pub fn grid(view: &View, g: &Grid) -> String {
    let mut h = String::new();
    let _ = writeln!(
        h,
        "<header><h1>Build dashboard: {} <small>{}</small></h1>",
        esc(&g.repo),
        esc(&g.branch)
    );
    repo_nav(&mut h, view);
    branch_form(&mut h, g);
    h.push_str("</header>\n<main>\n");
    if let Some(note) = &g.note {
        let _ = writeln!(h, "<p class=\"note\">{}</p>", esc(note));
    }
    table(&mut h, view, g);
    if view.hashes.is_empty() {
        paging(&mut h, view, g);
    }
    tip(&mut h, g);
    legend(&mut h);
    h.push_str("</main>\n");
    web::page(&format!("Build dashboard: {} {}", g.repo, g.branch), &h)
}

fn link(repo: &str, branch: &str, page: u32) -> String {
    let mut q = format!("?repo={}", url_enc(repo));
    if branch != "master" {
        let _ = write!(q, "&amp;branch={}", url_enc(branch));
    }
    if page > 0 {
        let _ = write!(q, "&amp;page={page}");
    }
    q
}

fn repo_nav(h: &mut String, view: &View) {
    h.push_str("<nav aria-label=\"repositories\">Repos: ");
    for r in &view.repos {
        if *r == view.repo {
            let _ = write!(h, "<strong aria-current=\"page\">{}</strong>", esc(r));
        } else {
            let _ = write!(h, "<a href=\"{}\">{}</a>", link(r, "master", 0), esc(r));
        }
    }
    h.push_str("</nav>\n");
}

/// A form that works without scripts: choose a branch, press the button.
fn branch_form(h: &mut String, g: &Grid) {
    let mut branches = g.branches.clone();
    if !branches.contains(&g.branch) {
        branches.insert(0, g.branch.clone());
    }
    let _ = write!(
        h,
        "<form method=\"get\" action=\"\"><input type=\"hidden\" name=\"repo\" value=\"{}\">\
<label for=\"branch\">Branch</label><select id=\"branch\" name=\"branch\">",
        esc(&g.repo)
    );
    for b in &branches {
        let sel = if *b == g.branch { " selected" } else { "" };
        let _ = write!(h, "<option{sel}>{}</option>", esc(b));
    }
    h.push_str("</select> <button type=\"submit\">Show</button></form>\n");
}

fn table(h: &mut String, view: &View, g: &Grid) {
    let sub = !view.is_go();
    let commit_cols = if sub { 5 } else { 4 };
    let now = Date::from_unix(crate::xbuild::platform::clock::now());
    let _ = write!(
        h,
        "<div class=\"scroll\"><table class=\"build\">\n<caption>{}</caption>\n<thead>\n<tr><th scope=\"colgroup\" colspan=\"{commit_cols}\" rowspan=\"2\">Commit</th>",
        caption(view, g)
    );
    builder_heads(h, g);
    h.push_str("</tr>\n</thead>\n<tbody>\n");
    if g.rows.is_empty() {
        let _ = writeln!(
            h,
            "<tr><td colspan=\"{}\" class=\"note\">No commits on this page.</td></tr>",
            commit_cols + g.builders.len()
        );
    }
    for row in &g.rows {
        let c = &row.commit;
        let short = &c.hash[..c.hash.len().min(7)];
        let _ = write!(
            h,
            "<tr><th scope=\"row\" class=\"hash\"><code title=\"{}\">{}</code></th>",
            esc(&c.hash),
            esc(short)
        );
        if sub {
            let go = &row.go_commit[..row.go_commit.len().min(7)];
            let _ = write!(
                h,
                "<td class=\"go\"><code title=\"built against Go {}\">{}</code></td>",
                esc(&row.go_commit),
                esc(go)
            );
        }
        let _ = write!(
            h,
            "<td class=\"user\" title=\"{}\">{}</td><td class=\"time\">{}</td><td class=\"desc\" title=\"{}\">{}</td>",
            esc(&c.author_email),
            esc(short_user(&c.author)),
            Date::from_unix(c.commit_time).short(&now),
            esc(&c.message),
            esc(web::first_line(&c.message, 100))
        );
        for ((cell, b), &streak) in row.cells.iter().zip(&g.builders).zip(&row.streak) {
            cell_html(h, cell, b, streak);
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table></div>\n");
}

fn caption(view: &View, g: &Grid) -> String {
    if view.hashes.is_empty() {
        format!(
            "{} commits on {}, page {}",
            esc(&g.repo),
            esc(&g.branch),
            view.page
        )
    } else {
        format!("{} commits asked for by hash", esc(&g.repo))
    }
}

/// The two header rows' builder cells: OS groups, then each builder's short name
/// (the first row's commit heading comes before).
fn builder_heads(h: &mut String, g: &Grid) {
    for (group, span) in grid::spans(&g.builders) {
        let _ = write!(
            h,
            "<th scope=\"colgroup\" colspan=\"{span}\">{}</th>",
            esc(group)
        );
    }
    h.push_str("</tr>\n<tr>");
    let none = vec![0; g.builders.len()];
    let streaks = if g.streaks.len() == g.builders.len() {
        &g.streaks
    } else {
        &none
    };
    for (b, &streak) in g.builders.iter().zip(streaks) {
        let mut class = vec![];
        if !grid::first_class(b) {
            class.push("unsupported");
        }
        if streak >= 2 {
            class.push("broken");
        }
        let title = if streak >= 2 {
            format!("{b}: its last {streak} results failed")
        } else {
            b.clone()
        };
        let _ = write!(
            h,
            "<th scope=\"col\" class=\"{}\" title=\"{}\">{}",
            class.join(" "),
            esc(&title),
            esc(&grid::subheading(b))
        );
        let suffix = grid::suffix(b);
        if !suffix.is_empty() {
            let _ = write!(h, "<br><small>{}</small>", esc(suffix));
        }
        if streak >= 2 {
            let _ = write!(h, "<br><small class=\"streak\">✗{streak}</small>");
        }
        h.push_str("</th>");
    }
}

/// Go's "Sub-repositories at tip": each sub-repository's newest commit, built against
/// the newest Go commit, in the grid's columns.
fn tip(h: &mut String, g: &Grid) {
    if g.tip.is_empty() {
        return;
    }
    let go = g.rows.first().map_or("", |r| r.commit.hash.as_str());
    let _ = write!(
        h,
        "<h2 id=\"tip\">Sub-repositories at tip</h2>\n<div class=\"scroll\"><table class=\"build tip\">\n\
<caption>Each sub-repository's newest master commit, built against Go <code title=\"{}\">{}</code></caption>\n\
<thead>\n<tr><th scope=\"colgroup\" colspan=\"4\" rowspan=\"2\">Sub-repository</th>",
        esc(go),
        esc(&go[..go.len().min(7)])
    );
    builder_heads(h, g);
    h.push_str("</tr>\n</thead>\n<tbody>\n");
    let now = Date::from_unix(crate::xbuild::platform::clock::now());
    for t in &g.tip {
        let c = &t.commit;
        let _ = write!(
            h,
            "<tr><th scope=\"row\" class=\"repo\"><a href=\"{}\">{}</a></th><td class=\"hash\"><code title=\"{}\">{}</code></td>\
<td class=\"time\">{}</td><td class=\"desc\" title=\"{}\">{}</td>",
            link(&t.repo, "master", 0),
            esc(&t.repo),
            esc(&c.hash),
            esc(&c.hash[..c.hash.len().min(7)]),
            Date::from_unix(c.commit_time).short(&now),
            esc(&c.message),
            esc(web::first_line(&c.message, 100))
        );
        for (cell, b) in t.cells.iter().zip(&g.builders) {
            cell_html(h, cell, b, false);
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table></div>\n");
}

/// What the cells mean, in words and in their own look.
fn legend(h: &mut String) {
    h.push_str(
        "<dl class=\"legend\" aria-label=\"legend\">\
<dt><span class=\"ok\">ok</span></dt><dd>built and passed</dd>\
<dt><span class=\"fail\">fail</span></dt><dd>failed; links to the log</dd>\
<dt><span class=\"running\">running</span></dt><dd>building now</dd>\
<dt><span class=\"none\">…</span></dt><dd>not built yet</dd>\
<dt><span class=\"na\">–</span></dt><dd>not applicable: the builder does not build this repository or branch</dd>\
</dl>\n",
    );
}

fn cell_html(h: &mut String, cell: &Cell, builder: &str, streak: bool) {
    let b = esc(builder);
    let _ = match cell {
        Cell::None => write!(h, "<td class=\"none\" title=\"{b}: not built yet\">…</td>"),
        Cell::NotApplicable => write!(
            h,
            "<td class=\"na\" title=\"{b}: not applicable, it does not build this\">–</td>"
        ),
        Cell::Ok { log } if log.is_empty() => write!(h, "<td class=\"ok\">ok</td>"),
        Cell::Ok { log } => write!(
            h,
            "<td class=\"ok\"><a href=\"{}\" title=\"{b}: ok\">ok</a></td>",
            grid::viewer_url(log)
        ),
        Cell::Fail { log } => {
            let class = if streak { "fail streak" } else { "fail" };
            if log.is_empty() {
                write!(h, "<td class=\"{class}\">fail</td>")
            } else {
                write!(
                    h,
                    "<td class=\"{class}\"><a href=\"{}\" title=\"{b}: failed, see the log\">fail</a></td>",
                    grid::viewer_url(log)
                )
            }
        }
        Cell::Running { url } => write!(
            h,
            "<td class=\"running\"><a href=\"{}\" title=\"{b}: building now, live log\">running</a></td>",
            esc(url)
        ),
    };
}

fn paging(h: &mut String, view: &View, g: &Grid) {
    h.push_str("<nav class=\"paging\" aria-label=\"pages\">");
    if view.page > 0 {
        let _ = write!(
            h,
            "<a href=\"{}\" rel=\"prev\">newer</a>",
            link(&g.repo, &g.branch, view.page - 1)
        );
    }
    if g.more && view.page < grid::MAX_PAGE {
        let _ = write!(
            h,
            "<a href=\"{}\" rel=\"next\">older</a>",
            link(&g.repo, &g.branch, view.page + 1)
        );
    }
    if view.page > 0 {
        let _ = write!(h, "<a href=\"{}\">latest</a>", link(&g.repo, &g.branch, 0));
    }
    h.push_str("</nav>\n");
}

/// The author's name without an address (Go's dashboard shows a short user).
fn short_user(author: &str) -> &str {
    match author.split_once(" <") {
        Some((name, _)) if !name.trim().is_empty() => name.trim(),
        _ => author,
    }
}
