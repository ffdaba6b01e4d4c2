//! The release dashboard (Go's devapp/release.go, updateReleaseData): open issues of
//! each open Go milestone by package, with the changes that reference them; pending
//! changes by package; proposals; issues closed in the last week.

use crate::data::{self, change_url, issue_numbers, issue_url, title_dirs};
use crate::xbuild::platform::corpus::{Change, ChangeStatus, Issue, StateFilter};
use std::collections::BTreeMap;
use std::fmt::Write;
use web::esc;

/// "Closed last week" reaches back 7.5 days.
const LAST_WEEK: i64 = 7 * 86_400 + 43_200;

/// A section: its title and its items grouped by directory.
struct Section {
    title: String,
    groups: BTreeMap<String, Vec<Item>>,
}

enum Item {
    Issue(Issue, Vec<Change>),
    Change(Change),
}

impl Section {
    fn count(&self) -> usize {
        self.groups.values().map(Vec::len).sum()
    }
}

/// The sort key of a Go milestone title: `Go1.N`, `Go1.N.M`, `Go1.NMaybe` (Go's
/// `^Go1\.(\d+)(|\.(\d+))(|[A-Z].*)$`); others are not release milestones.
pub fn milestone_key(m: &str) -> Option<(u32, u32, String)> {
    let rest = m.strip_prefix("Go1.")?;
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let n = digits(rest);
    let major: u32 = rest[..n].parse().ok()?;
    let mut rest = &rest[n..];
    let mut minor = 0;
    if let Some(r) = rest.strip_prefix('.') {
        let k = digits(r);
        minor = r[..k].parse().ok()?;
        rest = &r[k..];
    }
    if !rest.is_empty() && !rest.starts_with(|c: char| c.is_ascii_uppercase()) {
        return None;
    }
    Some((major, minor, m.to_string()))
}

pub fn page() -> Result<String, String> {
    let open = data::issues(StateFilter::Open)?;
    let closed = data::issues(StateFilter::Closed)?;
    let cls: Vec<Change> = data::changes(ChangeStatus::New)
        .into_iter()
        .filter(|c| !c.subject.starts_with("[dev."))
        .collect();
    let mut by_issue: BTreeMap<u32, Vec<Change>> = BTreeMap::new();
    for c in &cls {
        for n in issue_numbers(c) {
            by_issue.entry(n).or_default().push(c.clone());
        }
    }
    let with_cls = |i: &Issue| {
        Item::Issue(
            i.clone(),
            by_issue.get(&i.id.number).cloned().unwrap_or_default(),
        )
    };

    let mut milestones: BTreeMap<(u32, u32, String), Section> = BTreeMap::new();
    for i in &open {
        let Some(key) = i.milestone.as_deref().and_then(milestone_key) else {
            continue;
        };
        let s = milestones.entry(key.clone()).or_insert_with(|| Section {
            title: key.2.clone(),
            groups: BTreeMap::new(),
        });
        for d in title_dirs(&i.title) {
            s.groups.entry(d).or_default().push(with_cls(i));
        }
    }
    let mut sections: Vec<Section> = milestones.into_values().collect();

    let mut pending = Section {
        title: "Pending CLs".into(),
        groups: BTreeMap::new(),
    };
    for c in &cls {
        for d in title_dirs(&c.subject) {
            pending
                .groups
                .entry(d)
                .or_default()
                .push(Item::Change(c.clone()));
        }
    }
    sections.push(pending);

    let mut proposals = Section {
        title: "Pending Proposals".into(),
        groups: BTreeMap::new(),
    };
    for i in open.iter().filter(|i| {
        i.labels.iter().any(|l| l == "Proposal") || i.title.to_lowercase().starts_with("proposal:")
    }) {
        proposals
            .groups
            .entry(String::new())
            .or_default()
            .push(with_cls(i));
    }
    sections.push(proposals);

    let now = crate::xbuild::platform::clock::now();
    let mut recent = Section {
        title: "Closed Last Week".into(),
        groups: BTreeMap::new(),
    };
    for i in closed.iter().filter(|i| i.updated > now - LAST_WEEK) {
        for d in title_dirs(&i.title) {
            recent
                .groups
                .entry(d)
                .or_default()
                .push(Item::Issue(i.clone(), vec![]));
        }
    }
    sections.push(recent);
    for s in &mut sections {
        for items in s.groups.values_mut() {
            items.sort_by(|a, b| title(a).cmp(title(b)));
        }
    }
    Ok(render(&sections, now))
}

fn title(i: &Item) -> &str {
    match i {
        Item::Issue(i, _) => &i.title,
        Item::Change(c) => &c.subject,
    }
}

fn anchor(title: &str) -> String {
    title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

fn render(sections: &[Section], now: i64) -> String {
    let mut h = String::from("<header><h1>Release dashboard</h1>");
    h.push_str(&crate::nav("release"));
    let _ = write!(
        h,
        "<p class=\"note\">Updated {} UTC</p></header>\n<main>\n<ul class=\"summary\">",
        web::Date::from_unix(now)
            .rfc3339()
            .replace('T', " ")
            .trim_end_matches('Z')
    );
    for s in sections {
        let _ = write!(
            h,
            "<li><a href=\"#{}\">{} {}</a></li>",
            anchor(&s.title),
            s.count(),
            esc(&s.title)
        );
    }
    h.push_str("</ul>\n");
    for s in sections {
        let _ = writeln!(
            h,
            "<section id=\"{}\" aria-labelledby=\"h-{0}\"><h2 id=\"h-{0}\">{} <small>({})</small></h2>",
            anchor(&s.title),
            esc(&s.title),
            s.count()
        );
        if s.groups.is_empty() {
            h.push_str("<p class=\"note\">None.</p>\n");
        }
        for (dir, items) in &s.groups {
            let name = if dir.is_empty() { "(no prefix)" } else { dir };
            let _ = write!(h, "<h3>{}</h3>\n<ul>\n", esc(name));
            for item in items {
                item_html(&mut h, item);
            }
            h.push_str("</ul>\n");
        }
        h.push_str("</section>\n");
    }
    h.push_str("</main>");
    web::page("Release dashboard", &h)
}

fn item_html(h: &mut String, item: &Item) {
    match item {
        Item::Issue(i, cls) => {
            let _ = write!(
                h,
                "<li class=\"issue\"><a href=\"{}\">#{}</a> {}",
                issue_url(i.id.number),
                i.id.number,
                esc(&i.title)
            );
            if !cls.is_empty() {
                h.push_str("<ul>");
                for c in cls {
                    change_li(h, c, "⤷ ");
                }
                h.push_str("</ul>");
            }
            h.push_str("</li>\n");
        }
        Item::Change(c) => change_li(h, c, ""),
    }
}

fn change_li(h: &mut String, c: &Change, mark: &str) {
    let _ = writeln!(
        h,
        "<li class=\"change\">{mark}<a href=\"{}\">CL {}</a> {}</li>",
        esc(&change_url(c)),
        c.id.number,
        esc(&c.subject)
    );
}
