//! reclog: the record framing of the mutation log, byte-compatible with Go's
//! `maintner/reclog`.
//!
//! A log is a plain concatenation of records, each `REC@<hexoff>+<hexlen>=` followed by
//! `hexlen` payload bytes. `hexoff` is the lowercase, unpadded byte offset of the header's
//! `R` within its file (or segment). There is no checksum per record; integrity is checked
//! per segment with SHA-224 (see [`crate::disklog`]).

use std::io::{self, Write};

use crate::hexdigit::HEX_VALUE;

/// Longest header Go's reader accepts ("malformed overlong header").
pub const MAX_HEADER_LEN: usize = 40;

/// One framed record found in a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// Offset of the header's `R` within the file or segment.
    pub offset: u64,
    /// The header bytes, `REC@…=`.
    pub header: &'a [u8],
    /// The payload (a `maintpb.Mutation`).
    pub data: &'a [u8],
}

impl Record<'_> {
    /// Offset just past this record.
    pub fn end(&self) -> u64 {
        self.offset + (self.header.len() + self.data.len()) as u64
    }
}

/// What was wrong with a record, and at which offset its header starts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("record header at offset {offset} is cut off by the end of the data")]
    TruncatedHeader { offset: u64 },
    #[error("malformed overlong header at offset {offset} (no '=' within {MAX_HEADER_LEN} bytes)")]
    OverlongHeader { offset: u64 },
    #[error("malformed header at offset {offset}: {reason}")]
    BadHeader { offset: u64, reason: &'static str },
    #[error("bad hex in the {field} field of the header at offset {offset}: {text:?}")]
    BadHex {
        offset: u64,
        field: &'static str,
        text: String,
    },
    #[error("record at offset {offset} claims offset {claimed}")]
    OffsetMismatch { offset: u64, claimed: u64 },
    #[error("truncated record at offset {offset}: length {len} but only {available} bytes follow")]
    Truncated {
        offset: u64,
        len: u64,
        available: u64,
    },
}

impl RecordError {
    /// Offset of the header of the bad record.
    pub fn offset(&self) -> u64 {
        match *self {
            RecordError::TruncatedHeader { offset }
            | RecordError::OverlongHeader { offset }
            | RecordError::BadHeader { offset, .. }
            | RecordError::BadHex { offset, .. }
            | RecordError::OffsetMismatch { offset, .. }
            | RecordError::Truncated { offset, .. } => offset,
        }
    }

    /// True for the shapes a write cut short by power loss leaves: the record runs into the
    /// end of the data. Everything else is corruption.
    pub fn is_torn_tail(&self) -> bool {
        matches!(
            self,
            RecordError::TruncatedHeader { .. } | RecordError::Truncated { .. }
        )
    }
}

/// The header for a record of `len` bytes at `offset`: exactly Go's `REC@%x+%x=`.
pub fn header(offset: u64, len: usize) -> String {
    format!("REC@{offset:x}+{len:x}=")
}

/// Appends one framed record (header and payload) to `out`.
pub fn encode_record(offset: u64, data: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(header(offset, data.len()).as_bytes());
    out.extend_from_slice(data);
}

/// Writes one record with a single `write_all`, as Go does with one Write call.
/// Returns the number of bytes written.
pub fn write_record(w: &mut impl Write, offset: u64, data: &[u8]) -> io::Result<usize> {
    let mut buf = Vec::with_capacity(MAX_HEADER_LEN + data.len());
    encode_record(offset, data, &mut buf);
    w.write_all(&buf)?;
    Ok(buf.len())
}

/// Iterates the records of `buf`, whose first byte is at offset `start_offset` of its file.
/// Stops after the first error.
pub fn records(buf: &[u8], start_offset: u64) -> Records<'_> {
    Records {
        buf,
        pos: 0,
        start_offset,
        failed: false,
    }
}

/// Iterator returned by [`records`].
pub struct Records<'a> {
    buf: &'a [u8],
    pos: usize,
    start_offset: u64,
    failed: bool,
}

impl<'a> Records<'a> {
    /// Offset (in the file) of the next record to be read: after a clean end or an error,
    /// the end of the last whole record.
    pub fn offset(&self) -> u64 {
        self.start_offset + self.pos as u64
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos == self.buf.len() {
            return None;
        }
        let r = parse_record(&self.buf[self.pos..], self.offset());
        match &r {
            Ok(rec) => self.pos += rec.header.len() + rec.data.len(),
            Err(_) => self.failed = true,
        }
        Some(r)
    }
}

/// Parses the record at the start of `buf`, which sits at `offset` in its file.
pub fn parse_record(buf: &[u8], offset: u64) -> Result<Record<'_>, RecordError> {
    let window = &buf[..buf.len().min(MAX_HEADER_LEN)];
    let Some(eq) = window.iter().position(|&b| b == b'=') else {
        return Err(if buf.len() < MAX_HEADER_LEN && is_header_prefix(buf) {
            RecordError::TruncatedHeader { offset }
        } else if buf.len() < MAX_HEADER_LEN {
            RecordError::BadHeader {
                offset,
                reason: "trailing bytes are not a record header",
            }
        } else {
            RecordError::OverlongHeader { offset }
        });
    };
    let header = &buf[..=eq];
    let Some(fields) = header[..eq].strip_prefix(b"REC@") else {
        return Err(RecordError::BadHeader {
            offset,
            reason: "missing REC@ prefix",
        });
    };
    let plus = fields.iter().position(|&b| b == b'+');
    let Some((off_hex, len_hex)) = plus
        .map(|i| (&fields[..i], &fields[i + 1..]))
        .filter(|(_, len_hex)| !len_hex.contains(&b'+'))
    else {
        return Err(RecordError::BadHeader {
            offset,
            reason: "want exactly one '+'",
        });
    };
    let claimed = parse_hex(off_hex, offset, "offset")?;
    if claimed != offset {
        return Err(RecordError::OffsetMismatch { offset, claimed });
    }
    let len = parse_hex(len_hex, offset, "length")?;
    let available = (buf.len() - header.len()) as u64;
    if len > available {
        return Err(RecordError::Truncated {
            offset,
            len,
            available,
        });
    }
    let data = &buf[header.len()..header.len() + len as usize];
    Ok(Record {
        offset,
        header,
        data,
    })
}

/// Could `buf` be the start of a header that a cut-short write left behind?
fn is_header_prefix(buf: &[u8]) -> bool {
    let n = buf.len().min(4);
    buf[..n] == b"REC@"[..n] && buf[n..].iter().all(|&b| b == b'+' || b.is_ascii_hexdigit())
}

fn parse_hex(text: &[u8], offset: u64, field: &'static str) -> Result<u64, RecordError> {
    let bad = || RecordError::BadHex {
        offset,
        field,
        text: String::from_utf8_lossy(text).into_owned(),
    };
    if text.is_empty() || text.len() > 16 {
        return Err(bad());
    }
    let (mut value, mut seen) = (0u64, 0u8);
    for &b in text {
        let d = HEX_VALUE[usize::from(b)];
        seen |= d;
        value = value << 4 | u64::from(d & 0xf);
    }
    if seen & 0xf0 != 0 {
        return Err(bad());
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_matches_go_format() {
        // The example in Go's reclog doc comment.
        assert_eq!(header(0xc765c9a, 0x1d3), "REC@c765c9a+1d3=");
        assert_eq!(header(0, 0), "REC@0+0=");
    }

    #[test]
    fn write_then_read_round_trips() {
        let mut buf = Vec::new();
        let mut off = 0;
        for data in [&b"hello"[..], b"", b"world!"] {
            off += write_record(&mut buf, off, data).unwrap() as u64;
        }
        assert_eq!(buf, b"REC@0+5=helloREC@d+0=REC@15+6=world!");
        let got: Vec<_> = records(&buf, 0).map(|r| r.unwrap()).collect();
        assert_eq!(got.len(), 3);
        assert_eq!((got[2].offset, got[2].data), (0x15, &b"world!"[..]));
        assert_eq!(got[2].end(), buf.len() as u64);
    }

    #[test]
    fn start_offset_is_honoured() {
        let buf = b"REC@a+2=hi";
        let rec = records(buf, 10).next().unwrap().unwrap();
        assert_eq!(rec.data, b"hi");
        assert_eq!(
            records(buf, 0).next().unwrap(),
            Err(RecordError::OffsetMismatch {
                offset: 0,
                claimed: 10
            })
        );
    }

    #[test]
    fn truncated_record_is_torn_tail() {
        let err = records(b"REC@0+5=hel", 0).next().unwrap().unwrap_err();
        assert_eq!(
            err,
            RecordError::Truncated {
                offset: 0,
                len: 5,
                available: 3
            }
        );
        assert!(err.is_torn_tail());
        let err = records(b"REC@0+5=helloREC@d+", 0)
            .nth(1)
            .unwrap()
            .unwrap_err();
        assert_eq!(err, RecordError::TruncatedHeader { offset: 13 });
        assert!(err.is_torn_tail());
    }

    #[test]
    fn bad_hex_is_reported_with_field() {
        let err = records(b"REC@0+zz=hello", 0).next().unwrap().unwrap_err();
        assert_eq!(
            err,
            RecordError::BadHex {
                offset: 0,
                field: "length",
                text: "zz".into()
            }
        );
        assert!(!err.is_torn_tail());
        let err = records(b"REC@q+1=x", 0).next().unwrap().unwrap_err();
        assert!(matches!(
            err,
            RecordError::BadHex {
                field: "offset",
                ..
            }
        ));
    }

    #[test]
    fn header_numbers_are_hex_of_either_case_with_exactly_one_plus() {
        let rec = records(b"REC@0+A=0123456789", 0).next().unwrap().unwrap();
        assert_eq!(rec.data, b"0123456789");
        for (bad, field) in [(&b"REC@0+1g=x"[..], "length"), (b"REC@-0+1=x", "offset")] {
            let err = records(bad, 0).next().unwrap().unwrap_err();
            assert!(
                matches!(err, RecordError::BadHex { field: f, .. } if f == field),
                "{err}"
            );
        }
        let err = records(b"REC@0+1+1=x", 0).next().unwrap().unwrap_err();
        assert!(
            matches!(err, RecordError::BadHeader { reason, .. } if reason.contains("one '+'")),
            "{err}"
        );
    }

    #[test]
    fn offset_mismatch_is_reported() {
        let err = records(b"REC@0+1=xREC@5+1=y", 0)
            .nth(1)
            .unwrap()
            .unwrap_err();
        assert_eq!(
            err,
            RecordError::OffsetMismatch {
                offset: 9,
                claimed: 5
            }
        );
    }

    #[test]
    fn length_past_eof_is_reported() {
        let err = records(b"REC@0+ffffff=abc", 0).next().unwrap().unwrap_err();
        assert_eq!(
            err,
            RecordError::Truncated {
                offset: 0,
                len: 0xffffff,
                available: 3
            }
        );
    }

    #[test]
    fn malformed_headers_are_rejected() {
        let long = [b'R'; 64];
        assert_eq!(
            parse_record(&long, 0),
            Err(RecordError::OverlongHeader { offset: 0 })
        );
        assert!(matches!(
            parse_record(b"XEC@0+1=x", 0),
            Err(RecordError::BadHeader { .. })
        ));
        assert!(matches!(
            parse_record(b"REC@0+1+1=x", 0),
            Err(RecordError::BadHeader { .. })
        ));
        assert!(matches!(
            parse_record(b"REC@01=x", 0),
            Err(RecordError::BadHeader { .. })
        ));
    }

    #[test]
    fn iteration_stops_after_error_and_reports_last_good_end() {
        let mut it = records(b"REC@0+1=xgarbage", 0);
        assert!(it.next().unwrap().is_ok());
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none());
        assert_eq!(it.offset(), 9);
    }

    #[test]
    fn trailing_non_header_bytes_are_corruption_not_a_torn_tail() {
        let err = records(b"REC@0+1=xgarbage", 0).nth(1).unwrap().unwrap_err();
        assert!(matches!(err, RecordError::BadHeader { offset: 9, .. }));
        assert!(!err.is_torn_tail());
        let err = records(b"REC@0+1=xREC@9+", 0).nth(1).unwrap().unwrap_err();
        assert!(err.is_torn_tail());
    }
}
