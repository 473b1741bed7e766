//! # graceful: shut down cleanly, whatever moment Ctrl+C comes
//!
//! The library behind the two teaching programs, `simple` and `complex`.
//! Start reading at `src/bin/simple.rs`: one short `main` whose lines name
//! every piece below.
//!
//! **The lesson**, in the order `simple` meets it:
//!
//! 1. [`signals`]: how Ctrl+C, SIGTERM and SIGHUP are heard, what each
//!    means at each stage, and the delayed-interrupt guard,
//!    [`signals::Shield`];
//! 2. [`cancel`]: the trigger that wakes every waiter at once;
//! 3. [`lifecycle`]: start (shielded), run, stop (shielded, in reverse
//!    order), in one function;
//! 4. [`slow_service`]: the simplest service;
//! 5. [`ending`]: the exit status, and why Ctrl+C ends by dying of SIGINT.
//!
//! What `complex` adds to the lesson (then read `src/bin/complex.rs`):
//!
//! 6. [`pool`]: the thread pool every call into the manager goes through;
//! 7. [`worker`]: the same program seen from inside a worker;
//! 8. [`manager`]: worker processes behind one call interface;
//! 9. [`manager_service`]: `complex`'s service-1, the loops that call the
//!    manager and the order they stop in.
//!
//! **The hardening**, for a second reading: each keeps the promise
//! somewhere hostile, and the lesson reaches it through one call whose name
//! says what it does. [`signals::os`] (containers, supervisors, `nohup`,
//! `ulimit -f`); [`deadline`] (the stop deadline and the forced exit);
//! [`failure`] (a dead worker or a panic becomes a graceful stop);
//! [`memory`] (a limit on address space); the worker's bounded input and
//! parent watch, and the manager's list of children.
//!
//! **The infrastructure**: [`logging`] (one line format for every process,
//! written by a thread of its own), [`knobs`] (the flags every binary has),
//! [`exit_code`] (the table of statuses), [`fault`] (faults to inject),
//! [`protocol`] and [`dummy`] (the wire format and the CPU work a worker
//! does). Not part of the lesson at all: [`timeline`], which draws any log
//! of either program as a picture (the `timeline` binary).
//!
//! The `examples/` folder has short programs, one idea each, that use none
//! of this: the same ideas in a form to copy.

#![warn(missing_docs)]

pub mod cancel;
pub mod deadline;
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
