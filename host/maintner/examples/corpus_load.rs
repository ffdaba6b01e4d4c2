//! Load benchmark: loads a log directory into a corpus (throughput, peak RSS per MB of
//! log), then measures try-work latency after one new mutation.
//!
//! `cargo run --release -p maintner --example corpus_load -- DIR`

fn main() {
    let dir = std::env::args().nth(1).expect("usage: corpus_load DIR");
    let (report, mut corpus) = maintner::bench::load_corpus(dir.as_ref()).expect("load");
    println!("{report}");
    println!("{}", maintner::bench::trywork_latency(&mut corpus, 3000));
}
