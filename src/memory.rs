//! Memory under a limit on address space.
//! (Hardening: skip it on a first reading.)
//! Each binary declares [`TwoArenas`] as its allocator.
//!
//! glibc gives each thread that allocates an arena of its own, and reserves
//! 64 MiB of address space for each: `complex`'s twenty threads reserve
//! almost a gigabyte they never touch. Under a limit on address space
//! (`ulimit -v`, some containers) allocations then fail long before memory
//! is used up, the stop's own among them, and a program that cannot
//! allocate cannot stop gracefully. [`TwoArenas`] keeps glibc to two
//! arenas, before it hands out its first byte (before `main`, so before any
//! second thread). Elsewhere it is the system allocator as is.
//!
//! It changes nothing else: an allocation that fails is reported as the
//! system allocator reports it, so `Vec::try_reserve` still returns `Err`,
//! and an allocation that must not fail ends the program the standard way.

use std::alloc::{GlobalAlloc, Layout, System};

/// The system allocator, kept to two glibc arenas (see the module docs).
#[derive(Debug)]
pub struct TwoArenas;

// SAFETY: every call goes to `System` as is, after a one-time limit on
// arenas that allocates nothing.
unsafe impl GlobalAlloc for TwoArenas {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        hold_back_arenas_once();
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        hold_back_arenas_once();
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Keeps glibc to two malloc arenas (elsewhere it does nothing), on the
/// first allocation: that one comes before `main`, so before any second
/// thread, when glibc has made no arena but its first. Every later call
/// only reads the flag, which costs threads nothing.
fn hold_back_arenas_once() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
        static HELD_BACK: AtomicBool = AtomicBool::new(false);
        if !HELD_BACK.load(Relaxed) && !HELD_BACK.swap(true, Relaxed) {
            // SAFETY: mallopt only changes a limit for arenas not created
            // yet; it does not call back into this allocator.
            unsafe {
                nix::libc::mallopt(nix::libc::M_ARENA_MAX, 2);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_allocation_is_still_an_error_to_whoever_can_handle_it() {
        // What a program that declares `TwoArenas` sees: the null of a
        // failed allocation passes through, for `try_reserve` to report.
        let impossible = Layout::from_size_align(1 << 62, 8).unwrap();
        let memory = unsafe { TwoArenas.alloc(impossible) };
        assert!(memory.is_null());
    }
}
