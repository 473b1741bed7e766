//! # graceful: shut down cleanly, whatever moment Ctrl+C comes
//!
//! The library behind the two teaching programs, `simple` and `complex`.
//! Start reading at `src/bin/simple.rs`: one short `main` whose lines name
//! every piece below. Then read the modules in this order, each before the
//! ones that use it. Parts marked *(hardening)* keep the promise in hostile
//! surroundings; a first reading may skip them.
//!
//! What `simple` uses:
//!
//! 1. [`cancel`]: the one way the program says "stop waiting": a trigger
//!    that wakes every waiter at once;
//! 2. [`exit_code`]: every way the program can end, in one table;
//! 3. [`logging`]: one line format for every process *(hardening: the
//!    writer thread that keeps a blocked stderr from holding the stop)*;
//! 4. [`knobs`] and [`fault`]: the flags every binary has, and the faults
//!    you can inject to watch them handled;
//! 5. [`ending`]: how the process ends: the exit status, the stop deadline,
//!    and the forced exit;
//! 6. [`signals`]: the one place that hears Ctrl+C, SIGTERM and SIGHUP, and
//!    the delayed-interrupt guard, [`signals::Shield`];
//! 7. [`failure`]: a dead worker or a panic in any thread becomes the same
//!    graceful stop as Ctrl+C;
//! 8. [`lifecycle`]: start (shielded), run, stop (shielded, in reverse
//!    order, against a deadline), in one function;
//! 9. [`slow_service`]: the simplest service.
//!
//! What `complex` adds (then read `src/bin/complex.rs`):
//!
//! 10. [`protocol`] and [`dummy`]: the messages between the parent and its
//!     workers, and the CPU-heavy work a worker does;
//! 11. [`pool`]: the thread pool every call into the manager goes through;
//! 12. [`worker`]: the same program seen from inside a worker *(hardening:
//!     the bounded reading of commands, and [`worker::parent_watch`], the
//!     backstop for a parent that dies while its worker is not reading)*;
//! 13. [`manager`]: worker processes behind one call interface;
//! 14. [`manager_service`]: `complex`'s service-1, the loops that call the
//!     manager and the order they stop in.
//!
//! Hardening for both, which no `main` has to call: [`memory`], so that a
//! memory limit cannot make a stop hang.
//!
//! Not part of the lesson, and safe to skip: [`timeline`], which draws any
//! log of either program as a picture (the `timeline` binary).
//!
//! The `examples/` folder has three short programs, one idea each, that use
//! none of this: the same ideas in a form to copy.

#![warn(missing_docs)]

pub mod cancel;
pub mod dummy;
pub mod ending;
pub mod exit_code;
pub mod failure;
pub mod fault;
pub mod knobs;
pub mod lifecycle;
pub mod logging;
pub mod manager;
pub mod manager_service;
pub mod memory;
pub mod pool;
pub mod protocol;
pub mod signals;
pub mod slow_service;
pub mod timeline;
pub mod worker;

/// Every program of this crate allocates through it: glibc keeps to two
/// arenas, and an allocation that fails ends the process at once instead of
/// hanging (see [`memory`]).
#[global_allocator]
static ALLOCATOR: memory::Allocator = memory::Allocator;

/// Locks `mutex` even if a thread panicked while holding it.
///
/// Every lock in this crate guards bookkeeping that is consistent after each
/// statement (counters, queues, maps), never half-done work. Refusing a
/// poisoned lock would turn one panic into a hang or a second panic in every
/// thread that touches it, the stop sequence included; taking it keeps the
/// shutdown going.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
