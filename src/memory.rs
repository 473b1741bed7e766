//! Memory under a limit on address space.
//! (Hardening: skip it on a first reading.)
//!
//! glibc gives each thread that allocates an arena of its own, and reserves
//! 64 MiB of address space for each: `complex`'s twenty threads reserve
//! almost a gigabyte they never touch. Under a limit on address space
//! (`ulimit -v`, some containers) allocations then fail long before memory
//! is used up, the stop's own among them, and a program that cannot
//! allocate cannot stop gracefully. So each `main` calls
//! [`hold_glibc_to_two_arenas`] first, before any second thread exists.
//!
//! It changes nothing else: the allocator is the standard one, so an
//! allocation that fails is reported as usual (`Vec::try_reserve` returns
//! `Err`; an allocation that must not fail ends the program the standard
//! way).

/// Keeps glibc to two malloc arenas; elsewhere it does nothing. Call it
/// before the program starts a thread: arenas already made stay.
pub fn hold_glibc_to_two_arenas() {
    // SAFETY: mallopt only changes a limit for arenas not created yet.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        nix::libc::mallopt(nix::libc::M_ARENA_MAX, 2);
    }
}
