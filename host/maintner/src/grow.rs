//! Growth for the many small vectors of the model (labels of an issue, patch sets and
//! messages of a CL, referrers of an issue). `Vec` starts at four slots and doubles;
//! most of these hold one to a few items, so that leaves half the memory unused.
//! Growing by half (1, 2, 3, 4, 6, 9, ...) keeps pushes amortized O(1) and waste small.

/// Makes room for one more item.
pub(crate) fn reserve_one<T>(v: &mut Vec<T>) {
    if v.len() == v.capacity() {
        v.reserve_exact((v.len() / 2).max(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_by_half() {
        let mut v: Vec<u64> = Vec::new();
        let mut caps = Vec::new();
        for i in 0..10 {
            reserve_one(&mut v);
            v.push(i);
            caps.push(v.capacity());
        }
        assert_eq!(caps, [1, 2, 3, 4, 6, 6, 9, 9, 9, 13]);
    }
}
