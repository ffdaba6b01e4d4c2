//! The allocator of the `xb` binary: mimalloc rather than glibc's malloc.
//!
//! Loading a corpus makes about ten small allocations per mutation, on two threads, and
//! with mimalloc the load takes a quarter to two fifths less time, depending on how busy
//! the machine is (host/maintner/README.md has the figures).
//!
//! mimalloc asks the kernel for transparent huge pages for its arenas (`madvise`; the
//! kernel's `madvise` or `always` mode grants them). A load touches some 100 MiB of new
//! memory: in 4 KiB pages that was 25,000 to 40,000 page faults and as many TLB entries;
//! in 2 MiB pages it is a few thousand faults, and the load takes a sixth less time. The
//! price is memory touched in 2 MiB steps: a few MiB more resident at the end of a load.
//! Only the commands that load a corpus (`serve`, `corpus`, `bench`) take huge pages
//! ([`huge_pages`]): elsewhere each thread's first 2 MiB page is mostly waste (an idle
//! buildlet went from 12 to 23 MB resident).
//!
//! mimalloc's other settings are its own: handing freed memory back after 1 ms instead
//! of 10 kept a few MiB less resident, but split huge pages and cost more time than that
//! was worth.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys::{
    mi_free, mi_malloc, mi_malloc_aligned, mi_realloc, mi_realloc_aligned, mi_zalloc,
    mi_zalloc_aligned,
};

/// mimalloc, asked for alignment only when a type needs more than every block has.
/// (`mimalloc::MiMalloc` calls the aligned entry points for every allocation, which costs
/// a few checks each time; loading a corpus allocates some ten million times.)
pub struct Allocator;

/// Every mimalloc block is aligned to a word: its sizes are multiples of one.
const WORD: usize = std::mem::size_of::<usize>();

// SAFETY: each method forwards to mimalloc's matching function, whose blocks meet the
// layout's alignment: the plain ones when it is at most a word, the aligned ones otherwise.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= WORD {
            unsafe { mi_malloc(layout.size()) as *mut u8 }
        } else {
            unsafe { mi_malloc_aligned(layout.size(), layout.align()) as *mut u8 }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= WORD {
            unsafe { mi_zalloc(layout.size()) as *mut u8 }
        } else {
            unsafe { mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8 }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        unsafe { mi_free(ptr as *mut c_void) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= WORD {
            unsafe { mi_realloc(ptr as *mut c_void, new_size) as *mut u8 }
        } else {
            unsafe { mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8 }
        }
    }
}

/// Whether the kernel may back this process's memory with transparent huge pages from
/// now on (`PR_SET_THP_DISABLE`; pages already touched stay as they are).
pub fn huge_pages(on: bool) {
    // SAFETY: this prctl takes integer arguments only.
    let r = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, libc::c_ulong::from(!on), 0, 0, 0) };
    if r != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), on, "transparent huge pages unchanged");
    }
}

#[cfg(test)]
mod tests {
    use std::alloc::{GlobalAlloc, Layout};

    use super::Allocator;

    #[test]
    fn huge_pages_turn_off_and_on_for_the_process() {
        // SAFETY: this prctl takes integer arguments only.
        let disabled = || unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) };
        super::huge_pages(false);
        assert_eq!(disabled(), 1);
        super::huge_pages(true);
        assert_eq!(disabled(), 0);
    }

    #[test]
    fn blocks_are_aligned_and_keep_their_bytes_when_grown() {
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [1, 7, 8, 24, 40, 100, 1000, 5000, 100_000] {
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: a non-zero size; each block is freed once, with its layout.
                unsafe {
                    let p = Allocator.alloc(layout);
                    assert!(
                        !p.is_null() && (p as usize).is_multiple_of(align),
                        "{layout:?}"
                    );
                    (0..size).for_each(|i| *p.add(i) = i as u8);
                    let q = Allocator.realloc(p, layout, size * 3);
                    assert!((q as usize).is_multiple_of(align), "{layout:?} grown");
                    assert!((0..size).all(|i| *q.add(i) == i as u8), "{layout:?} grown");
                    Allocator.dealloc(q, Layout::from_size_align(size * 3, align).unwrap());
                    let z = Allocator.alloc_zeroed(layout);
                    assert!(
                        (z as usize).is_multiple_of(align) && (0..size).all(|i| *z.add(i) == 0)
                    );
                    Allocator.dealloc(z, layout);
                }
            }
        }
    }
}
