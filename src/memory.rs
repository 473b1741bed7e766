//! Memory under a limit (hardening: skip it on a first reading).
//!
//! A program that runs out of memory cannot stop gracefully, but it must
//! not hang. Two things in the standard setup make it hang:
//!
//! * glibc gives each thread that allocates an arena of its own, and
//!   reserves 64 MiB of address space for each: `complex`'s twenty threads
//!   reserve almost a gigabyte they never touch. Under a limit on address
//!   space (`ulimit -v`, some containers) allocations then fail long before
//!   memory is used up, the stop's own among them. [`hold_back_arenas`]
//!   keeps glibc to two arenas.
//! * when an allocation fails, Rust prints "memory allocation of N bytes
//!   failed" to stderr, then aborts. If stderr is a pipe nobody reads, that
//!   write blocks for ever, and with it the thread, and whatever waits for
//!   it. [`Allocator`] says it only if stderr can take it at once, and
//!   aborts either way.

use std::alloc::{GlobalAlloc, Layout, System};

/// Keeps glibc to two malloc arenas; call it first thing in `main`, before
/// any thread is started (elsewhere than glibc it does nothing).
pub fn hold_back_arenas() {
    // SAFETY: mallopt only changes a limit for arenas not created yet.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// The system allocator, with an allocation failure that never waits for
/// stderr (see the module docs).
#[derive(Debug)]
pub struct Allocator;

// SAFETY: every call goes to `System` as is; only a null result is acted on.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        checked(unsafe { System.alloc(layout) })
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        checked(unsafe { System.alloc_zeroed(layout) })
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        checked(unsafe { System.realloc(ptr, layout, new_size) })
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
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
