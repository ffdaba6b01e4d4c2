//! What a view shows: its parameters, the commits of its page with their results, and
//! the builder columns in Go's order (app/build/ui.go: builderOrder, builderSpans).

use crate::xbuild::platform::corpus::{self, Commit, CommitQuery};
use crate::xbuild::platform::results::{self, BuildResult, BuildRunning};
use crate::xbuild::platform::site;
use std::collections::{BTreeMap, BTreeSet};
use web::json_str;

/// Commits per page (Go's commitsPerPage).
pub const PER_PAGE: u32 = 30;
/// The last page served: 30,000 commits back.
pub const MAX_PAGE: u32 = 1000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    Html,
    Json,
    Failures,
}

/// The request, checked.
pub struct View {
    pub mode: Mode,
    pub page: u32,
    pub repo: String,
    /// Whether `repo` was asked for (an unknown one is then an error, not an empty page).
    pub repo_given: bool,
    pub branch: String,
    /// Repos with results, for the switcher.
    pub repos: Vec<String>,
    /// `?hash=`: exactly these commits, no paging.
    pub hashes: Vec<String>,
}

impl View {
    pub fn parse(q: &web::Query) -> Result<View, String> {
        let mode = match q.get("mode").unwrap_or("") {
            "" => Mode::Html,
            "json" => Mode::Json,
            "failures" => Mode::Failures,
            m => return Err(format!("unknown mode {}", web::quote(m))),
        };
        let page = q.page(MAX_PAGE)?;
        let hashes = hashes(q)?;
        let branch = q.name("branch")?.unwrap_or("master").to_string();
        let given = q.name("repo")?;
        let mut repos = results::repos();
        // Go's dashboard opens on the main repo; a host that builds only others opens
        // on the first of those.
        let repo = match given {
            Some(r) => r.to_string(),
            None if !repos.is_empty() && !repos.iter().any(|r| r == "go") => repos[0].clone(),
            None => "go".into(),
        };
        if !repos.contains(&repo) {
            repos.push(repo.clone());
            repos.sort();
        }
        Ok(View {
            mode,
            page,
            repo,
            repo_given: given.is_some(),
            branch,
            repos,
            hashes,
        })
    }

    pub fn is_go(&self) -> bool {
        self.repo == "go"
    }

    /// The sub-repositories' tip section shows on the main repo's newest master page
    /// (Go's ui.go shows it on page 0, no hashes).
    pub fn shows_tip(&self) -> bool {
        self.is_go() && self.page == 0 && self.branch == "master" && self.hashes.is_empty()
    }
}

/// The `hash` parameters: full hex hashes, at most a page of them.
fn hashes(q: &web::Query) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = vec![];
    for (_, h) in q.0.iter().filter(|(k, _)| k == "hash") {
        if h.len() != 40 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("invalid hash {} (40 hex digits)", web::quote(h)));
        }
        let h = h.to_ascii_lowercase();
        if !out.contains(&h) {
            out.push(h);
        }
    }
    if out.len() > PER_PAGE as usize {
        return Err(format!(
            "{} hashes asked for, at most {PER_PAGE}",
            out.len()
        ));
    }
    Ok(out)
}

/// What one cell shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    /// No result yet.
    None,
    /// The builder does not build this repo and branch (Go's BuildsRepoPostSubmit).
    NotApplicable,
    Ok {
        log: String,
    },
    Fail {
        log: String,
    },
    Running {
        url: String,
    },
}

/// One row: a commit, and for a sub-repository the Go commit it was built against.
pub struct Row {
    pub commit: Commit,
    pub go_commit: String,
    pub cells: Vec<Cell>,
    /// Per column: this failure is part of the builder's newest run of failures.
    pub streak: Vec<bool>,
}

pub struct Grid {
    pub repo: String,
    pub branch: String,
    pub builders: Vec<String>,
    pub rows: Vec<Row>,
    /// More commits past this page.
    pub more: bool,
    pub branches: Vec<String>,
    /// Why the grid is empty, when the corpus has no such repo.
    pub note: Option<String>,
    /// Per column: how many of the builder's newest results are failures in a row.
    pub streaks: Vec<usize>,
    /// Each sub-repository's newest master commit against Go's tip (`View::shows_tip`).
    pub tip: Vec<TipRow>,
    /// The absolute base of links for other tools ("" when the host does not know it).
    pub base_url: String,
}

/// A sub-repository's newest commit and its results against Go's tip.
pub struct TipRow {
    pub repo: String,
    pub commit: Commit,
    pub cells: Vec<Cell>,
}

/// Which builders build a repo and branch, as the host's builders plugins say.
struct Applies {
    known: BTreeSet<String>,
    builds: BTreeSet<String>,
}

impl Applies {
    fn new(repo: &str, branch: &str) -> Applies {
        Applies {
            known: site::builders().into_iter().collect(),
            // Go's legacydash asks BuildsRepoPostSubmit(repo, branch, branch).
            builds: site::post_submit_builders(repo, branch, branch)
                .into_iter()
                .collect(),
        }
    }

    /// Known to the host and not building it; a builder the host does not know (one
    /// retired since its results) cannot be said not to apply.
    fn not(&self, builder: &str) -> bool {
        self.known.contains(builder) && !self.builds.contains(builder)
    }

    /// Empty cells of builders that do not build it become not applicable.
    fn mark(&self, builders: &[String], cells: &mut [Cell]) {
        for (cell, b) in cells.iter_mut().zip(builders) {
            if *cell == Cell::None && self.not(b) {
                *cell = Cell::NotApplicable;
            }
        }
    }
}

/// The page's commits, results and running builds.
pub fn load(view: &View) -> Result<Grid, String> {
    let page = if view.hashes.is_empty() {
        page_of_commits(&view.repo, &view.branch, view.page)
    } else {
        find_commits(&view.hashes).map(|c| (c, false))
    };
    let (commits, more) = match page {
        Ok(p) => p,
        Err(e) if !view.repo_given && view.branch == "master" && view.hashes.is_empty() => {
            // The default view of a host without that repo: an empty page that says so.
            let mut g = empty(view);
            g.note = Some(format!("no commits of {} in the corpus ({e})", view.repo));
            return Ok(g);
        }
        Err(e) => return Err(e),
    };
    let hashes: Vec<String> = commits.iter().map(|c| c.hash.clone()).collect();
    let results = results::results_for(&view.repo, &hashes);
    let running = results::running(&view.repo, &hashes);
    let tip = match commits.first() {
        Some(go) if view.shows_tip() => tip_results(&go.hash),
        _ => vec![],
    };
    let applies = Applies::new(&view.repo, &view.branch);
    // Go's legacydash: the builders with results on the page, and every builder that
    // builds this repo and branch, so a column shows before its first result.
    let builders = builder_order(
        results
            .iter()
            .map(|r| r.builder.as_str())
            .chain(running.iter().map(|r| r.builder.as_str()))
            .chain(applies.builds.iter().map(String::as_str))
            .chain(
                tip.iter()
                    .flat_map(|t| t.2.iter().map(|r| r.builder.as_str())),
            ),
    );
    let mut rows = rows(view.is_go(), commits, &builders, &results, &running);
    for row in &mut rows {
        applies.mark(&builders, &mut row.cells);
    }
    let mut g = empty(view);
    g.branches = corpus::branches(&view.repo).unwrap_or_default();
    g.more = more;
    g.streaks = streaks(&rows, builders.len());
    let col = columns(&builders);
    g.tip = tip
        .into_iter()
        .map(|(repo, commit, results)| {
            let mut cells = cells(&col, results.iter(), std::iter::empty());
            Applies::new(&repo, "master").mark(&builders, &mut cells);
            TipRow {
                repo,
                commit,
                cells,
            }
        })
        .collect();
    g.builders = builders;
    g.rows = rows;
    mark_streaks(&mut g);
    Ok(g)
}

/// The commits asked for by hash, in the order asked.
fn find_commits(hashes: &[String]) -> Result<Vec<Commit>, String> {
    hashes.iter().map(|h| corpus::find_commit(h)).collect()
}

/// For each sub-repository with results, its newest master commit and that commit's
/// results against Go commit `go_tip` (Go's "Sub-repositories at tip").
fn tip_results(go_tip: &str) -> Vec<(String, Commit, Vec<BuildResult>)> {
    let mut out = vec![];
    for repo in results::repos().into_iter().filter(|r| r != "go") {
        let newest = corpus::commits(&CommitQuery {
            repo: repo.clone(),
            branch: Some("master".into()),
            limit: 1,
            cursor: None,
        });
        let Some(commit) = newest.ok().and_then(|p| p.items.into_iter().next()) else {
            continue;
        };
        let mut results = results::results_for(&repo, std::slice::from_ref(&commit.hash));
        results.retain(|r| r.go_commit.as_deref() == Some(go_tip));
        out.push((repo, commit, results));
    }
    out
}

fn empty(view: &View) -> Grid {
    Grid {
        repo: view.repo.clone(),
        branch: view.branch.clone(),
        builders: vec![],
        rows: vec![],
        more: false,
        branches: vec![],
        note: None,
        streaks: vec![],
        tip: vec![],
        base_url: site::base_url(),
    }
}

/// Commits `page*30 ..` of the branch's first-parent history, and whether more follow.
fn page_of_commits(repo: &str, branch: &str, page: u32) -> Result<(Vec<Commit>, bool), String> {
    let mut skip = (page * PER_PAGE) as usize;
    let mut cursor = None;
    loop {
        let want = if skip > 0 {
            skip.min(1000)
        } else {
            PER_PAGE as usize
        };
        let p = corpus::commits(&CommitQuery {
            repo: repo.into(),
            branch: Some(branch.into()),
            limit: want as u32,
            cursor: cursor.take(),
        })
        .map_err(|e| format!("{repo} {branch}: {e}"))?;
        if skip == 0 {
            return Ok((p.items, p.next_cursor.is_some()));
        }
        skip -= p.items.len().min(skip);
        match p.next_cursor {
            Some(c) => cursor = Some(c),
            // Past the end: an empty page.
            None => return Ok((vec![], false)),
        }
    }
}

fn rows(
    is_go: bool,
    commits: Vec<Commit>,
    builders: &[String],
    results: &[BuildResult],
    running: &[BuildRunning],
) -> Vec<Row> {
    let col = columns(builders);
    let mut out = vec![];
    for c in commits {
        // A sub-repository commit has one row per Go commit it was built against, the
        // newest first; the main repo has one row.
        let mut gos: Vec<(i64, String)> = vec![];
        for r in results.iter().filter(|r| r.commit == c.hash) {
            let g = r.go_commit.clone().unwrap_or_default();
            if !gos.iter().any(|(_, x)| *x == g) {
                gos.push((r.started, g));
            }
        }
        for r in running.iter().filter(|r| r.commit == c.hash) {
            let g = r.go_commit.clone().unwrap_or_default();
            if !gos.iter().any(|(_, x)| *x == g) {
                gos.push((i64::MAX, g));
            }
        }
        gos.sort_by_key(|g| std::cmp::Reverse(g.0));
        if is_go || gos.is_empty() {
            gos = vec![(0, String::new())];
        }
        for (_, go) in gos {
            let same = |g: &Option<String>| is_go || g.as_deref().unwrap_or("") == go;
            let cells = cells(
                &col,
                results
                    .iter()
                    .filter(|r| r.commit == c.hash && same(&r.go_commit)),
                running
                    .iter()
                    .filter(|r| r.commit == c.hash && same(&r.go_commit)),
            );
            out.push(Row {
                commit: c.clone(),
                go_commit: go,
                streak: vec![false; builders.len()],
                cells,
            });
        }
    }
    out
}

/// One row's cells, a column per builder: its result, or its running build.
fn cells<'a>(
    col: &BTreeMap<&str, usize>,
    results: impl Iterator<Item = &'a BuildResult>,
    running: impl Iterator<Item = &'a BuildRunning>,
) -> Vec<Cell> {
    let mut cells = vec![Cell::None; col.len()];
    for r in results {
        let log = r.log_hash.clone();
        if let Some(&i) = col.get(r.builder.as_str()) {
            cells[i] = if r.ok {
                Cell::Ok { log }
            } else {
                Cell::Fail { log }
            };
        }
    }
    for r in running {
        if let Some(&i) = col.get(r.builder.as_str()) {
            cells[i] = Cell::Running {
                url: r.log_url.clone(),
            };
        }
    }
    cells
}

/// Each builder's column.
fn columns(builders: &[String]) -> BTreeMap<&str, usize> {
    builders
        .iter()
        .enumerate()
        .map(|(i, b)| (b.as_str(), i))
        .collect()
}

/// Per column, the failures in a row from the newest result down (cells without a
/// result are skipped over, as a person reading the column would).
fn streaks(rows: &[Row], n: usize) -> Vec<usize> {
    (0..n)
        .map(|i| {
            rows.iter()
                .map(|r| &r.cells[i])
                .filter(|c| matches!(c, Cell::Ok { .. } | Cell::Fail { .. }))
                .take_while(|c| matches!(c, Cell::Fail { .. }))
                .count()
        })
        .collect()
}

fn mark_streaks(g: &mut Grid) {
    for (i, &n) in g.streaks.iter().enumerate() {
        if n < 2 {
            continue;
        }
        let mut left = n;
        for row in &mut g.rows {
            if left == 0 {
                break;
            }
            if matches!(row.cells[i], Cell::Fail { .. }) {
                row.streak[i] = true;
                left -= 1;
            }
        }
    }
}

/// OS priority of Go's legacydash builderOrder: first-class ports first.
fn os_priority(os: &str) -> u32 {
    match os {
        "all" => 0,
        "darwin" | "linux" | "windows" => 1,
        "freebsd" | "openbsd" | "netbsd" => 3,
        "android" | "ios" => 4,
        _ => 10,
    }
}

pub fn is_race(b: &str) -> bool {
    b.contains("-race-") || b.ends_with("-race")
}

/// The OS group a builder's column sits in: its OS, or "race".
pub fn group(b: &str) -> &str {
    if is_race(b) {
        "race"
    } else {
        b.split('-').next().unwrap_or(b)
    }
}

/// The column's subheading: the arch ("x64" for amd64), or the OS for race builders.
pub fn subheading(b: &str) -> String {
    let mut parts = b.split('-');
    let os = parts.next().unwrap_or(b);
    if is_race(b) {
        return os.to_string();
    }
    match parts.next() {
        Some("amd64") => "x64".into(),
        Some(arch) => arch.to_string(),
        None => os.to_string(),
    }
}

/// The third part of a builder's name ("longtest"), Go's second subheading.
pub fn suffix(b: &str) -> &str {
    b.splitn(3, '-').nth(2).unwrap_or("")
}

/// Whether a builder is a first-class port (columns of others are marked unsupported).
pub fn first_class(b: &str) -> bool {
    !b.ends_with("-temp") && (is_race(b) || os_priority(group(b)) <= 1)
}

fn priority(b: &str) -> u32 {
    let p = if is_race(b) { 2 } else { os_priority(group(b)) };
    p + if b.ends_with("-temp") { 20 } else { 0 }
}

/// Distinct builder names, sorted by priority then name (Go's builderOrder).
pub fn builder_order<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let set: BTreeSet<&str> = names.collect();
    let mut v: Vec<&str> = set.into_iter().collect();
    v.sort_by(|a, b| priority(a).cmp(&priority(b)).then(a.cmp(b)));
    v.into_iter().map(str::to_string).collect()
}

/// Column groups: (group name, span), in column order (Go's builderSpans).
pub fn spans(builders: &[String]) -> Vec<(&str, usize)> {
    let mut out: Vec<(&str, usize)> = vec![];
    for b in builders {
        let g = group(b);
        match out.last_mut() {
            Some((last, n)) if *last == g => *n += 1,
            _ => out.push((g, 1)),
        }
    }
    out
}

/// A stored log as text (Go's `/log/<hash>`).
pub fn log_url(hash: &str) -> String {
    format!("/log/{hash}")
}

/// A stored log as a page, its failing step on top.
pub fn viewer_url(hash: &str) -> String {
    format!("/logs/{hash}")
}

impl Grid {
    /// Go's `types.BuildStatus` (legacydash's toBuildStatus): a cell is "" (no
    /// result, or not applicable), "ok", or the absolute URL of the failure's log. The
    /// main repo's revisions come first, then each sub-repository's at Go's tip.
    pub fn build_status(&self) -> String {
        let mut s = String::from("{\"builders\":[");
        push_list(&mut s, self.builders.iter().map(|b| json_str(b)));
        s.push_str("],\"revisions\":[");
        let main = self.rows.iter().map(|r| {
            // The Go branch a sub-repository row was built against is not recorded.
            self.revision(
                &self.repo,
                &r.commit,
                &r.go_commit,
                "",
                &self.branch,
                &r.cells,
            )
        });
        let tip_go = self.rows.first().map_or("", |r| r.commit.hash.as_str());
        let tip = self
            .tip
            .iter()
            .map(|t| self.revision(&t.repo, &t.commit, tip_go, "master", "master", &t.cells));
        push_list(&mut s, main.chain(tip));
        s.push_str("]}\n");
        s
    }

    fn revision(
        &self,
        repo: &str,
        c: &Commit,
        go_commit: &str,
        go_branch: &str,
        branch: &str,
        cells: &[Cell],
    ) -> String {
        let results = cells.iter().map(|cell| match cell {
            Cell::Ok { .. } => json_str("ok"),
            Cell::Fail { log } if !log.is_empty() => json_str(&self.log_link(log)),
            Cell::Fail { .. } => json_str("fail"),
            _ => json_str(""),
        });
        let mut parents = String::new();
        push_list(&mut parents, c.parents.iter().map(|p| json_str(p)));
        let mut res = String::new();
        push_list(&mut res, results);
        format!(
            "{{\"repo\":{},\"revision\":{},\"parentRevisions\":[{parents}],\
\"goRevision\":{},\"goBranch\":{},\"date\":{},\"branch\":{},\"author\":{},\"desc\":{},\
\"results\":[{res}]}}",
            json_str(repo),
            json_str(&c.hash),
            json_str(go_commit),
            json_str(go_branch),
            json_str(&web::Date::from_unix(c.commit_time).rfc3339()),
            json_str(branch),
            json_str(&format!("{} <{}>", c.author, c.author_email)),
            json_str(&c.message),
        )
    }

    /// A stored log's absolute URL, for tools that read it from elsewhere.
    pub fn log_link(&self, hash: &str) -> String {
        format!("{}{}", self.base_url, log_url(hash))
    }

    /// Go's `?mode=failures`: `<hash> <builder> <log URL>` per failed cell with a log.
    pub fn failures(&self) -> String {
        let mut out = String::new();
        for r in &self.rows {
            for (b, cell) in self.builders.iter().zip(&r.cells) {
                if let Cell::Fail { log } = cell {
                    if !log.is_empty() {
                        out.push_str(&format!("{} {b} {}\n", r.commit.hash, self.log_link(log)));
                    }
                }
            }
        }
        out
    }
}

fn push_list(s: &mut String, items: impl Iterator<Item = String>) {
    for (i, item) in items.enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&item);
    }
}
