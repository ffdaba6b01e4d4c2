//! Build logs as Go's dashboard keeps them: named by the SHA-1 hex of the uncompressed
//! text (Go's internal/loghash), stored gzipped at the best compression (Go's `PutLog`),
//! so identical logs are stored once and `/log/<hash>` URLs are the same as Go's.

use crate::error::{Error, Result};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use sha1::{Digest, Sha1};
use std::io::{Read, Write};

/// The key of a log: lowercase SHA-1 hex of its text.
pub fn log_hash(text: &str) -> String {
    hex::encode(Sha1::digest(text.as_bytes()))
}

/// Whether `s` looks like a log key (40 lowercase hex digits).
pub fn is_log_hash(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

pub(crate) fn compress(text: &str) -> Result<Vec<u8>> {
    let mut gz = GzEncoder::new(Vec::with_capacity(text.len() / 4), Compression::default());
    gz.write_all(text.as_bytes()).map_err(Error::Compress)?;
    gz.finish().map_err(Error::Compress)
}

/// Un-gzips a stored log; says which log when the bytes or the text are bad.
pub(crate) fn decompress(hash: &str, gz: &[u8], size_hint: usize) -> Result<String> {
    let corrupt = |source| Error::CorruptLog {
        hash: hash.to_string(),
        source,
    };
    let mut text = String::with_capacity(size_hint.min(64 << 20));
    GzDecoder::new(gz)
        .read_to_string(&mut text)
        .map_err(corrupt)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_like_go_loghash() {
        // The log of Go's dashboard integration test (app/build/test.go): "test".
        assert_eq!(log_hash("test"), "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3");
        assert_eq!(log_hash(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert!(is_log_hash(&log_hash("x")));
        assert!(!is_log_hash("A94A8FE5CCB19BA61C4C0873D391E987982FBBD3"));
        assert!(!is_log_hash("a94a8fe5"));
    }

    #[test]
    fn round_trips_and_names_a_corrupt_log() {
        let text = "ok  \tarchive/tar\t0.5s\n".repeat(100);
        let gz = compress(&text).unwrap();
        assert!(gz.len() < text.len() / 10, "{} bytes", gz.len());
        assert_eq!(&gz[..2], &[0x1f, 0x8b], "gzip magic");
        assert_eq!(decompress("h", &gz, text.len()).unwrap(), text);

        let mut bad = gz.clone();
        bad.truncate(gz.len() / 2);
        let e = decompress("abc", &bad, 0).unwrap_err().to_string();
        assert!(e.starts_with("log abc is corrupt"), "{e}");
        let e = decompress("abc", b"not gzip", 0).unwrap_err().to_string();
        assert!(e.starts_with("log abc is corrupt"), "{e}");
    }
}
