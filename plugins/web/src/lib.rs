//! What the page plugins (dashboard, devapp) share: HTML and JSON escaping, dates from
//! Unix seconds, query parameters checked with clear errors, and the page shell (one
//! inline stylesheet, no scripts, no external fonts, readable at phone width).

use std::fmt::Write;

/// Text made safe for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A JSON string literal, escaped as Go's encoding/json escapes it (`<`, `>`, `&`,
/// U+2028 and U+2029 too, so the JSON is safe inside HTML).
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Query-string encoding of one value (RFC 3986 unreserved characters kept).
pub fn url_enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A calendar date and time in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub min: u32,
    pub sec: u32,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

impl Date {
    /// The UTC date of Unix seconds (Howard Hinnant's days-to-civil algorithm).
    pub fn from_unix(t: i64) -> Date {
        let days = t.div_euclid(86_400);
        let secs = t.rem_euclid(86_400) as u32;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date {
            year,
            month,
            day,
            hour: secs / 3600,
            min: secs / 60 % 60,
            sec: secs % 60,
        }
    }

    /// RFC 3339, as Go's `time.Time` marshals a UTC time.
    pub fn rfc3339(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.min, self.sec
        )
    }

    /// "2006-01-02".
    pub fn ymd(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// Go's dashboard format "02 Jan 15:04", or "02 Jan 06" for another year than
    /// `now`'s.
    pub fn short(&self, now: &Date) -> String {
        let mon = MONTHS[(self.month - 1) as usize];
        if self.year == now.year {
            format!("{:02} {mon} {:02}:{:02}", self.day, self.hour, self.min)
        } else {
            format!("{:02} {mon} {:02}", self.day, self.year.rem_euclid(100))
        }
    }
}

/// A request's query parameters, read with checks. A parameter given twice takes its
/// first value (as Go's `r.FormValue`).
pub struct Query<'a>(pub &'a [(String, String)]);

impl<'a> Query<'a> {
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A page number: absent is 0; anything but a whole number from 0 to `max` is an
    /// error that says which.
    pub fn page(&self, max: u32) -> Result<u32, String> {
        let Some(v) = self.get("page").filter(|v| !v.is_empty()) else {
            return Ok(0);
        };
        match v.parse::<i64>() {
            Ok(n) if n < 0 => Err("negative page".into()),
            Ok(n) if n > i64::from(max) => Err(format!("page {n} is past the last page ({max})")),
            Ok(n) => Ok(n as u32),
            Err(_) => Err(format!("invalid page value {}", quote(v))),
        }
    }

    /// A name (repo, branch, project, user): absent or empty is `None`; one with
    /// characters no such name has is an error.
    pub fn name(&self, param: &str) -> Result<Option<&'a str>, String> {
        match self.get(param).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) if is_name(v) => Ok(Some(v)),
            Some(v) => Err(format!("invalid {param} {}", quote(v))),
        }
    }
}

/// Names of repos, branches and people: letters, digits and `-_./+@`, at most 200 bytes.
pub fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/' | b'+' | b'@')
        })
}

/// A value quoted for an error message, with control characters shown escaped.
pub fn quote(s: &str) -> String {
    let cut: String = s.chars().take(80).collect();
    format!("{cut:?}")
}

/// The first line of a commit message, at most `max` bytes (cut on a character
/// boundary), as Go's dashboard shows a description.
pub fn first_line(msg: &str, max: usize) -> &str {
    let line = msg.lines().next().unwrap_or("").trim_end();
    if line.len() <= max {
        return line;
    }
    let mut end = max;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    &line[..end]
}

/// The shared stylesheet: system fonts, tables that scroll sideways on a phone with
/// the commit's hash kept in view.
pub const STYLE: &str = "\
body{font:14px/1.4 system-ui,sans-serif;margin:0 1em;color:#222;background:#fff}\
h1{font-size:1.3em;margin:.5em 0}h2{font-size:1.1em;margin:1em 0 .3em}\
a{color:#0645ad}nav a,nav strong{margin-right:.8em}\
.scroll{overflow-x:auto;max-width:100%}\
table{border-collapse:collapse;font-size:13px}\
th,td{padding:1px 4px;border:1px solid #ddd;white-space:nowrap}\
th{background:#f4f4f4;font-weight:600}\
td.desc{max-width:28em;overflow:hidden;text-overflow:ellipsis}\
th.hash{position:sticky;left:0;background:#fff;z-index:1}\
td.ok{background:#e6f4e6}td.ok a{color:#060}\
td.fail{background:#fbe3e3}td.fail a{color:#a00;font-weight:600}\
td.streak{background:#f4b8b8}th.broken{background:#f4b8b8}\
td.running{background:#e3ecfb}td.none{color:#bbb;text-align:center}\
td.na{background:#eee;color:#888;text-align:center}\
dl.legend{display:flex;flex-wrap:wrap;gap:.2em .6em;font-size:12px}dl.legend dd{margin:0 .8em 0 0}\
dl.legend span{display:inline-block;min-width:1.5em;padding:0 3px;text-align:center}\
dl.legend .ok{background:#e6f4e6}dl.legend .fail{background:#fbe3e3}\
dl.legend .running{background:#e3ecfb}dl.legend .none{color:#bbb}dl.legend .na{background:#eee;color:#888}\
code{font:12px ui-monospace,monospace}\
form{margin:.5em 0}label{margin-right:.5em}\
.note{color:#666}\
@media (max-width:600px){body{margin:0 .4em}td.desc{max-width:12em}}";

/// A whole HTML page: the shell around `body`.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<link rel=\"icon\" href=\"data:,\"><title>{}</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n",
        esc(title)
    )
}

/// A page that says what is wrong with a request.
pub fn error_page(title: &str, message: &str) -> String {
    page(
        title,
        &format!(
            "<h1>{}</h1>\n<p role=\"alert\">{}</p>",
            esc(title),
            esc(message)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(
            json_str("a\"<b>&\n\u{1}"),
            "\"a\\\"\\u003cb\\u003e\\u0026\\n\\u0001\""
        );
        assert_eq!(url_enc("a b&c/d"), "a%20b%26c/d");
    }

    #[test]
    fn dates() {
        let d = Date::from_unix(1_500_000_000);
        assert_eq!(d.rfc3339(), "2017-07-14T02:40:00Z");
        assert_eq!(d.short(&d), "14 Jul 02:40");
        assert_eq!(d.short(&Date::from_unix(1_600_000_000)), "14 Jul 17");
        assert_eq!(Date::from_unix(0).rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(Date::from_unix(-1).rfc3339(), "1969-12-31T23:59:59Z");
        assert_eq!(Date::from_unix(951_782_400).ymd(), "2000-02-29");
    }

    #[test]
    fn query_checks() {
        let q = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
        assert_eq!(
            Query(&q("page", "-1")).page(10),
            Err("negative page".into())
        );
        assert!(Query(&q("page", "x"))
            .page(10)
            .unwrap_err()
            .contains("invalid page"));
        assert!(Query(&q("page", "11")).page(10).is_err());
        assert_eq!(Query(&q("page", "3")).page(10), Ok(3));
        assert_eq!(Query(&[]).page(10), Ok(0));
        assert!(Query(&q("branch", "<b>x")).name("branch").is_err());
        assert_eq!(
            Query(&q("branch", "release-branch.go1.9")).name("branch"),
            Ok(Some("release-branch.go1.9"))
        );
    }

    #[test]
    fn first_lines() {
        assert_eq!(first_line("subject\n\nbody", 100), "subject");
        assert_eq!(first_line("ééé", 3), "é");
    }
}
