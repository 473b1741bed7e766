//! Memory under a limit (hardening: skip it on a first reading).
//!
//! A program that runs out of memory cannot stop gracefully, but it must
//! not hang. Two things in the standard setup make it hang:
//!
//! * glibc gives each thread that allocates an arena of its own, and
//!   reserves 64 MiB of address space for each: `complex`'s twenty threads
//!   reserve almost a gigabyte they never touch. Under a limit on address
//!   space (`ulimit -v`, some containers) allocations then fail long before
//!   memory is used up, the stop's own among them. [`Allocator`] keeps
//!   glibc to two arenas, before it hands out its first byte (before
//!   `main`, so before any thread).
//! * when an allocation fails, Rust prints "memory allocation of N bytes
//!   failed" to stderr, then aborts. If stderr is a pipe nobody reads, that
//!   write blocks for ever, and with it the thread, and whatever waits for
//!   it. [`Allocator`] says it only if stderr can take it at once, and
//!   aborts either way.
//!
//! Both binaries get this through `src/lib.rs`, which makes [`Allocator`]
//! the program's allocator: nothing in `main` has to remember it.

use std::alloc::{GlobalAlloc, Layout, System};

/// The system allocator, kept to two glibc arenas, with an allocation
/// failure that never waits for stderr (see the module docs).
#[derive(Debug)]
pub struct Allocator;

// SAFETY: every call goes to `System` as is (after a one-time limit on
// arenas); only a null result is acted on.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        hold_back_arenas_once();
        checked(unsafe { System.alloc(layout) })
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        hold_back_arenas_once();
        checked(unsafe { System.alloc_zeroed(layout) })
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        checked(unsafe { System.realloc(ptr, layout, new_size) })
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
                libc::mallopt(libc::M_ARENA_MAX, 2);
            }
        }
    }
}

fn checked(memory: *mut u8) -> *mut u8 {
    if memory.is_null() {
        out_of_memory();
    }
    memory
}

/// Says so if stderr can take a line now, then aborts. Allocates nothing.
fn out_of_memory() -> ! {
    #[cfg(unix)]
    {
        use nix::poll::{poll, PollFd, PollFlags};
        use std::os::fd::AsFd;
        let stderr = std::io::stderr();
        let mut ready = [PollFd::new(stderr.as_fd(), PollFlags::POLLOUT)];
        if poll(&mut ready, 0u16) == Ok(1) {
            let line = b"memory allocation failed: out of memory; aborting\n";
            let _ = nix::unistd::write(stderr.as_fd(), line);
        }
    }
    std::process::abort()
}
