//! The allocator of the `xb` binary: mimalloc rather than glibc's malloc.
//!
//! Loading a corpus makes about ten small allocations per mutation on three threads, and
//! with mimalloc the load takes a quarter to two fifths less time, depending on how busy
//! the machine is (host/maintner/README.md has the figures). Two settings keep its resident memory where glibc's was: no transparent huge
//! pages (the `no_thp` feature), and freed memory handed back after 1 ms instead of 10.

use libmimalloc_sys::{mi_option_get, mi_option_set, mi_option_t};

/// `mi_option_purge_delay` in mimalloc v2's `mi_option_t` (the bindings name no constant).
const PURGE_DELAY: mi_option_t = 15;

/// Applies the settings above; call before the work starts.
pub fn tune() {
    // SAFETY: setting an option is a plain store mimalloc reads on its next purge.
    unsafe { mi_option_set(PURGE_DELAY, 1) }
}

/// The purge delay now in force, in milliseconds.
pub fn purge_delay_ms() -> std::ffi::c_long {
    // SAFETY: reading an option has no preconditions.
    unsafe { mi_option_get(PURGE_DELAY) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_option_index_is_the_purge_delay() {
        // mimalloc documents a default purge delay of 10 ms: an index that drifted to
        // another option with a new mimalloc would read something else here.
        assert_eq!(super::purge_delay_ms(), 10);
        super::tune();
        assert_eq!(super::purge_delay_ms(), 1);
    }
}
