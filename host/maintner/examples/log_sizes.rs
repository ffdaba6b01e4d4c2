//! Bytes per mutation kind in a log directory.
//! `cargo run --release -p maintner --example log_sizes -- DIR`
use std::collections::BTreeMap;

fn main() {
    let dir = std::env::args().nth(1).expect("usage: log_sizes DIR");
    let log = maintner::DiskLog::open(&dir).expect("open");
    let mut sizes: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    log.for_each_record(|r| {
        let m = r.mutation()?;
        let kind = match (&m.github_issue, &m.gerrit) {
            (Some(i), _) if !i.comment.is_empty() => "issue comments".to_owned(),
            (Some(i), _) if !i.event.is_empty() => "issue events".to_owned(),
            (Some(_), _) => "issue".to_owned(),
            (_, Some(g))
                if g.commits
                    .iter()
                    .any(|c| c.raw.windows(11).any(|w| w == b"Patch-set: ")) =>
            {
                "gerrit meta".to_owned()
            }
            (_, Some(g))
                if g.refs.iter().any(|r| {
                    r.r#ref.starts_with("refs/changes/") && !r.r#ref.ends_with("meta")
                }) =>
            {
                "gerrit upload".to_owned()
            }
            (_, Some(_)) => "gerrit branch commit".to_owned(),
            _ => format!("{:?}", m.kind()),
        };
        let e = sizes.entry(kind).or_default();
        e.0 += 1;
        e.1 += r.end - r.pos.offset;
        Ok::<_, maintner::LogError>(())
    })
    .expect("read");
    for (k, (n, b)) in sizes {
        println!(
            "{k:24} {n:8} mutations {:8.1} MB {:6.0} B/mutation",
            b as f64 / 1048576.0,
            b as f64 / n as f64
        );
    }
}
