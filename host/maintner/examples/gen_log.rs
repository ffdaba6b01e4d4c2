//! Writes the synthetic benchmark log (40k issues, 200k comments, 6k changes, 80k commits).
//!
//! `cargo run --release -p maintner --example gen_log -- DIR [scale]`
//! (`scale` multiplies every count; default 1.)

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("usage: gen_log DIR [scale]");
    let scale: f64 = args.next().map_or(1.0, |s| s.parse().expect("scale"));
    let d = maintner::bench::GenSpec::default();
    let spec = maintner::bench::GenSpec {
        issues: (d.issues as f64 * scale) as u32,
        comments: (d.comments as f64 * scale) as u32,
        changes: (d.changes as f64 * scale) as u32,
        commits: (d.commits as f64 * scale) as u32,
    };
    let start = std::time::Instant::now();
    let r = maintner::bench::generate(dir.as_ref(), &spec).expect("generate");
    println!(
        "wrote {} mutations, {:.1} MB in {} segments to {dir} in {:.1} s",
        r.mutations,
        r.bytes as f64 / (1024.0 * 1024.0),
        r.segments,
        start.elapsed().as_secs_f64()
    );
}
