//! Writes the synthetic benchmark log: by default the shape Go's maintner was measured
//! loading (40,002 issues, 200,000 comments, 6,000 changes, 110,002 commits, ~70 MB).
//!
//! `cargo run --release -p maintner --example gen_log -- DIR [scale] [--go-day-file]`
//! (`scale` multiplies every count; default 1. `--go-day-file` writes the log as Go's
//! maintner does, one `maintner-YYYY-MM-DD.mutlog`, instead of our segments.)

use std::io::{BufWriter, Write};
use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let day_file = args.iter().any(|a| a == "--go-day-file");
    let mut args = args.iter().filter(|a| *a != "--go-day-file");
    let dir = args
        .next()
        .expect("usage: gen_log DIR [scale] [--go-day-file]");
    let scale: f64 = args.next().map_or(1.0, |s| s.parse().expect("scale"));
    let spec = maintner::bench::GenSpec::default().scaled(scale);
    let start = std::time::Instant::now();
    let segments = if day_file {
        Path::new(dir).join("segments")
    } else {
        dir.into()
    };
    let r = maintner::bench::generate(&segments, &spec).expect("generate");
    if day_file {
        write_day_file(
            &segments,
            &Path::new(dir).join("maintner-2017-07-01.mutlog"),
        );
        std::fs::remove_dir_all(&segments).expect("remove the segments");
    }
    println!(
        "wrote {} mutations, {:.1} MB in {} to {dir} in {:.1} s ({spec:?})",
        r.mutations,
        r.bytes as f64 / (1024.0 * 1024.0),
        if day_file {
            "one Go day file".to_owned()
        } else {
            format!("{} segments", r.segments)
        },
        start.elapsed().as_secs_f64()
    );
}

/// Copies every record of the log in `from` into one file framed as Go's disk logger
/// frames its day files (offsets relative to that file).
fn write_day_file(from: &Path, to: &Path) {
    let log = maintner::DiskLog::open_read_only(from).expect("open the segments");
    let mut out = BufWriter::new(std::fs::File::create(to).expect("create the day file"));
    let mut offset = 0;
    log.for_each_record(|r| {
        offset += maintner::reclog::write_record(&mut out, offset, r.data).expect("write") as u64;
        Ok::<_, maintner::disklog::LogError>(())
    })
    .expect("read the segments");
    out.flush().expect("flush the day file");
}
