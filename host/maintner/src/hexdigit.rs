//! Hex digits decoded by table: commits carry three or more hashes in hex and every log
//! record two hex numbers, so decoding them is a lookup per digit.

/// Each byte's value as a hex digit (either case), or 0xff.
pub(crate) const HEX_VALUE: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};
