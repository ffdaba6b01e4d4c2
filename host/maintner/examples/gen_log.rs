//! Writes the synthetic benchmark log: by default the shape Go's maintner was measured
//! loading (40,002 issues, 200,000 comments, 6,000 changes, 110,002 commits, ~70 MB).
//!
//! `cargo run --release -p maintner --example gen_log -- DIR [scale]`
//! (`scale` multiplies every count; default 1.)

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("usage: gen_log DIR [scale]");
    let scale: f64 = args.next().map_or(1.0, |s| s.parse().expect("scale"));
    let spec = maintner::bench::GenSpec::default().scaled(scale);
    let start = std::time::Instant::now();
    let r = maintner::bench::generate(dir.as_ref(), &spec).expect("generate");
    println!(
        "wrote {} mutations, {:.1} MB in {} segments to {dir} in {:.1} s ({spec:?})",
        r.mutations,
        r.bytes as f64 / (1024.0 * 1024.0),
        r.segments,
        start.elapsed().as_secs_f64()
    );
}
