//! Bad input never panics: random and mutated bytes through the framing, the protobuf
//! decoder, the disk log, NoteDB parsing and commit parsing (a small deterministic fuzz).

use maintner::{notedb, reclog, DiskLog, Mutation};
use prost::Message;

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn go_log() -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/maintner-go/maintner-2017-07-01.mutlog"),
    )
    .unwrap()
}

/// Flips, inserts or deletes a few bytes.
fn mutate(rng: &mut Lcg, data: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(4) {
        if data.is_empty() {
            data.push(rng.next() as u8);
            continue;
        }
        let i = rng.below(data.len());
        match rng.below(3) {
            0 => data[i] = rng.next() as u8,
            1 => data.insert(i, b"REC@+=\n:-#\xc3"[rng.below(11)]),
            _ => {
                data.remove(i);
            }
        }
    }
}

#[test]
fn mutated_logs_never_panic_the_framing_or_the_decoder() {
    let log = go_log();
    let mut rng = Lcg(1);
    let mut corpus = maintner::Corpus::default();
    for _ in 0..3000 {
        let mut data = log.clone();
        mutate(&mut rng, &mut data);
        for rec in reclog::records(&data, 0).flatten() {
            if let Ok(m) = Mutation::decode(rec.data) {
                // Whatever decodes also applies without panicking.
                corpus.apply(&m);
            }
        }
    }
}

#[test]
fn mutated_segments_never_panic_the_disk_log() {
    let log = go_log();
    let mut rng = Lcg(2);
    for _ in 0..40 {
        let dir = tempfile::tempdir().unwrap();
        let mut data = log.clone();
        mutate(&mut rng, &mut data);
        std::fs::write(dir.path().join("0000.growing.mutlog"), &data).unwrap();
        let _ = maintner::verify(dir.path());
        if let Ok(l) = DiskLog::open(dir.path()) {
            let _ = maintner::Corpus::load(&l);
        }
    }
}

#[test]
fn random_meta_messages_never_panic_notedb_parsing() {
    let mut rng = Lcg(3);
    let pieces = [
        "Patch Set ",
        "Uploaded patch set ",
        "Patch-set: ",
        "Label: ",
        "-",
        "=",
        "+1",
        "é",
        "日本",
        "\n",
        "\n\n",
        ":",
        " ",
        "Run-TryBot",
        "<",
        ">",
        "@",
        "12",
        ".",
        ",",
        "Status: ",
        "Hashtags: ",
    ];
    for _ in 0..20_000 {
        let mut s = String::new();
        for _ in 0..rng.below(30) {
            s.push_str(pieces[rng.below(pieces.len())]);
        }
        let m = notedb::parse_meta(&s);
        let _ = m.patch_set();
        let _ = notedb::change_message(&s);
        let _ = notedb::parse_label(&s);
        let _ = notedb::account_id(&s);
        let _ = maintner::git::parse_person(&s);
        let _ = maintner::issuerefs::parse_github_refs("go", &s);
    }
}
