//! Prints every mutation of a reclog file (Go day file or one segment) in Debug form.
//! With `--corpus`, prints the corpus it loads instead, in the format of Go's expected.txt.
//! `cargo run -p maintner --example dump_log -- FILE [--corpus]`
use prost::Message;

fn main() {
    if std::env::args().nth(2).as_deref() == Some("--corpus") {
        let path = std::env::args().nth(1).unwrap();
        let bytes = std::fs::read(&path).expect("read");
        let mut c = maintner::Corpus::default();
        c.apply_reclog(&bytes, path.as_ref()).expect("load");
        print!("{}", maintner::dump::render(&c));
        return;
    }
    let path = std::env::args().nth(1).expect("usage: dump_log FILE");
    let bytes = std::fs::read(&path).expect("read");
    for rec in maintner::reclog::records(&bytes, 0) {
        let rec = rec.expect("record");
        let m = maintner::Mutation::decode(rec.data).expect("decode");
        println!("@{} {:#?}", rec.offset, m);
    }
}
