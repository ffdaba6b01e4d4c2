//! Open changes over time (Go's cmd/devapp/stats.go): each change is open from its
//! creation until it was merged or abandoned (the NoteDB commit that set that status);
//! each day counts the changes open on it, and those that reference an issue. Drawn as
//! SVG line charts for the last year, 30 days and 7 days, with the numbers in a table
//! beside them.
//!
//! The window ends now, or at the corpus's newest activity when that is older, so a
//! corpus that stopped updating still shows its last year.

use crate::data;
use crate::xbuild::platform::corpus::{self, Change, ChangeStatus};
use std::fmt::Write;
use web::{esc, Date};

const DAY: i64 = 86_400;

/// A change's life: created, and closed (None while open).
struct Interval {
    start: i64,
    end: Option<i64>,
    with_issue: bool,
}

/// When a closed change was merged or abandoned; for a corpus that cannot say, its
/// last message (the merge or abandon usually posts one).
fn closed_at(c: &Change) -> i64 {
    if let Ok(Some(t)) = corpus::change_closed(&c.id) {
        return t;
    }
    let mut last = c.created;
    let mut cursor: Option<String> = None;
    while let Ok(p) = corpus::change_messages(&c.id, 1000, cursor.as_deref()) {
        last = p.items.iter().map(|m| m.created).fold(last, i64::max);
        match p.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    last
}

fn intervals() -> Vec<Interval> {
    let mut out = vec![];
    for status in [
        ChangeStatus::New,
        ChangeStatus::Merged,
        ChangeStatus::Abandoned,
    ] {
        for c in data::changes(status) {
            let end = (status != ChangeStatus::New).then(|| closed_at(&c));
            out.push(Interval {
                start: c.created,
                end,
                with_issue: !c.issue_refs.is_empty(),
            });
        }
    }
    out
}

/// Per day (its end): (day, open changes, open changes referencing an issue).
fn counts(iv: &[Interval], last_day: i64, days: i64) -> Vec<(i64, u32, u32)> {
    (0..days)
        .map(|k| {
            let t = last_day - (days - 1 - k) * DAY;
            let open = iv
                .iter()
                .filter(|i| i.start <= t && i.end.is_none_or(|e| e > t));
            let (mut all, mut issues) = (0, 0);
            for i in open {
                all += 1;
                issues += u32::from(i.with_issue);
            }
            (t, all, issues)
        })
        .collect()
}

pub fn page() -> Result<String, String> {
    let iv = intervals();
    let newest = iv
        .iter()
        .map(|i| i.end.unwrap_or(i.start).max(i.start))
        .max()
        .unwrap_or(0);
    let now = crate::xbuild::platform::clock::now();
    let last_day = now.min(newest.max(0));
    let mut h = String::from("<header><h1>Open changes</h1>");
    h.push_str(&crate::nav("stats"));
    let _ = write!(
        h,
        "<p class=\"note\">{} changes in the corpus; days end {} UTC.</p></header>\n<main>\n",
        iv.len(),
        Date::from_unix(last_day).rfc3339()
    );
    for (title, days) in [("1 Year", 365), ("30 Days", 30), ("7 Days", 7)] {
        let series = counts(&iv, last_day, days);
        chart(&mut h, &format!("Open CLs ({title})"), &series);
    }
    h.push_str("</main>");
    Ok(web::page("Open changes", &h))
}

const W: f64 = 640.0;
const H: f64 = 200.0;
const PAD: f64 = 40.0;

/// An SVG line chart of both series, with a title for screen readers and the
/// numbers in a table below.
fn chart(h: &mut String, title: &str, series: &[(i64, u32, u32)]) {
    let id = title
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_lowercase();
    let max = series.iter().map(|s| s.1).max().unwrap_or(0).max(1) as f64;
    let n = series.len().max(2) as f64 - 1.0;
    let point = |i: usize, v: u32| {
        format!(
            "{:.1},{:.1}",
            PAD + (W - 2.0 * PAD) * i as f64 / n,
            H - PAD - (H - 2.0 * PAD) * f64::from(v) / max
        )
    };
    let line = |f: fn(&(i64, u32, u32)) -> u32| {
        series
            .iter()
            .enumerate()
            .map(|(i, s)| point(i, f(s)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let first = series
        .first()
        .map(|s| Date::from_unix(s.0).ymd())
        .unwrap_or_default();
    let last = series
        .last()
        .map(|s| Date::from_unix(s.0).ymd())
        .unwrap_or_default();
    let _ = writeln!(
        h,
        "<figure id=\"{id}\"><svg class=\"chart\" viewBox=\"0 0 {W} {H}\" width=\"100%\" style=\"max-width:{W}px\" role=\"img\" aria-labelledby=\"{id}-t\" xmlns=\"http://www.w3.org/2000/svg\">\
<title id=\"{id}-t\">{t}: all changes and changes with issues, per day</title>\
<line x1=\"{PAD}\" y1=\"{y0}\" x2=\"{x1}\" y2=\"{y0}\" stroke=\"#888\"/>\
<line x1=\"{PAD}\" y1=\"{PAD}\" x2=\"{PAD}\" y2=\"{y0}\" stroke=\"#888\"/>\
<text x=\"{tx}\" y=\"{ty}\" font-size=\"11\" text-anchor=\"end\">{max}</text>\
<text x=\"{tx}\" y=\"{y0}\" font-size=\"11\" text-anchor=\"end\">0</text>\
<text x=\"{PAD}\" y=\"{yl}\" font-size=\"11\">{first}</text>\
<text x=\"{x1}\" y=\"{yl}\" font-size=\"11\" text-anchor=\"end\">{last}</text>\
<polyline class=\"all\" fill=\"none\" stroke=\"#0645ad\" stroke-width=\"1.5\" points=\"{all}\"/>\
<polyline class=\"issues\" fill=\"none\" stroke=\"#c60\" stroke-width=\"1.5\" points=\"{iss}\"/>\
</svg><figcaption>{t}: <span style=\"color:#0645ad\">■ All CLs</span> <span style=\"color:#c60\">■ With issues</span></figcaption></figure>",
        t = esc(title),
        y0 = H - PAD,
        x1 = W - PAD,
        tx = PAD - 4.0,
        ty = PAD + 4.0,
        yl = H - PAD + 16.0,
        max = max as u32,
        all = line(|s| s.1),
        iss = line(|s| s.2),
    );
    let _ = write!(
        h,
        "<details><summary>{} as a table</summary><table><thead><tr><th scope=\"col\">Date</th><th scope=\"col\">All CLs</th><th scope=\"col\">With issues</th></tr></thead><tbody>",
        esc(title)
    );
    for (t, all, issues) in series.iter().rev() {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{all}</td><td>{issues}</td></tr>",
            Date::from_unix(*t).ymd()
        );
    }
    h.push_str("</tbody></table></details>\n");
}
