//! The review queue (Go's cmd/devapp/reviews.go): open changes waiting for a reviewer,
//! by project, the longest waiting first.

use crate::data::{self, change_url, short_project};
use crate::xbuild::platform::corpus::{Change, ChangeStatus};
use std::collections::BTreeMap;
use std::fmt::Write;
use web::esc;

/// Projects whose changes are reviewed elsewhere (Go's excludedProjects).
const EXCLUDED: &[&str] = &["gocloud", "google-api-go-client"];
/// Hashtags that say a change waits on something other than review.
const WAITING: &[&str] = &["wait-author", "wait-release", "wait-issue"];

fn account(q: &web::Query, name: &str) -> Result<Option<i64>, String> {
    match q.get(name).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| format!("{name} must be a Gerrit account id, not {}", web::quote(v))),
    }
}

/// Whether a change waits for review (Go's reviews.go filters).
fn needs_review(c: &Change) -> bool {
    !c.work_in_progress
        && !c.private
        && c.owner.is_some()
        && !c.hashtags.iter().any(|t| WAITING.contains(&t.as_str()))
        && !EXCLUDED.contains(&short_project(&c.id.project))
}

pub fn page(q: &web::Query) -> Result<String, String> {
    let project = q.name("project")?;
    let owner = account(q, "owner")?;
    let reviewer = account(q, "reviewer")?;
    let mut by_project: BTreeMap<String, Vec<Change>> = BTreeMap::new();
    for c in data::changes(ChangeStatus::New) {
        let p = short_project(&c.id.project).to_string();
        let keep = needs_review(&c)
            && project.is_none_or(|want| want == p || want == c.id.project)
            && owner.is_none_or(|o| c.owner == Some(o))
            && reviewer.is_none_or(|r| c.reviewers.contains(&r));
        if keep {
            by_project.entry(p).or_default().push(c);
        }
    }
    for v in by_project.values_mut() {
        v.sort_by_key(|c| (c.created, c.id.number));
    }
    let total: usize = by_project.values().map(Vec::len).sum();
    let mut h = String::from("<header><h1>Open changes waiting for review</h1>");
    h.push_str(&crate::nav("reviews"));
    let _ = write!(
        h,
        "<form method=\"get\" action=\"\"><label>Project <input name=\"project\" value=\"{}\" size=\"12\"></label>\
<label>Owner <input name=\"owner\" value=\"{}\" size=\"8\" inputmode=\"numeric\"></label>\
<label>Reviewer <input name=\"reviewer\" value=\"{}\" size=\"8\" inputmode=\"numeric\"></label>\
<button type=\"submit\">Filter</button></form></header>\n<main>\n<p>{total} changes.</p>\n",
        esc(project.unwrap_or("")),
        owner.map(|o| o.to_string()).unwrap_or_default(),
        reviewer.map(|o| o.to_string()).unwrap_or_default(),
    );
    for (p, changes) in &by_project {
        let _ = write!(
            h,
            "<section><h2>{}</h2>\n<div class=\"scroll\"><table>\n<thead><tr><th scope=\"col\">Created</th><th scope=\"col\">Owner</th><th scope=\"col\">Votes</th><th scope=\"col\">Change</th><th scope=\"col\">Subject</th></tr></thead>\n<tbody>\n",
            esc(p)
        );
        for c in changes {
            let votes: Vec<String> = c
                .votes
                .iter()
                .filter(|v| v.value != 0)
                .map(|v| format!("{}{:+}", short_label(&v.label), v.value))
                .collect();
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td><a href=\"?owner={o}\">{o}</a></td><td>{}</td><td><a href=\"{}\">{}</a></td><td class=\"desc\">{}</td></tr>",
                web::Date::from_unix(c.created).ymd(),
                esc(&votes.join(" ")),
                esc(&change_url(c)),
                c.id.number,
                esc(&c.subject),
                o = c.owner.unwrap_or_default(),
            );
        }
        h.push_str("</tbody></table></div></section>\n");
    }
    if by_project.is_empty() {
        h.push_str("<p class=\"note\">No open change matches.</p>\n");
    }
    h.push_str("</main>");
    Ok(web::page("Review queue", &h))
}

fn short_label(l: &str) -> &str {
    match l {
        "Code-Review" => "CR",
        "TryBot-Result" => "TR",
        "Run-TryBot" => "RT",
        other => other,
    }
}
