//! # graceful: shut down cleanly, whatever moment Ctrl+C comes
//!
//! The library behind the two teaching programs, `simple` and `complex`.
//! Read it in this order:
//!
//! * [`cancel`]: the one way the program says "stop waiting": a trigger
//!   that wakes every waiter at once;
//! * [`signals`]: the one place that hears Ctrl+C, SIGTERM and SIGHUP, and
//!   the delayed-interrupt guard ([`signals::Shield`]) that shields start
//!   and stop from them;
//! * [`lifecycle`]: start (shielded), run, stop (shielded, in reverse order,
//!   against a deadline), in one function;
//! * [`slow_service`]: the simplest service, used by `simple`;
//! * [`manager_service`]: `complex`'s service-1, the loops that call the
//!   manager and the order they stop in;
//! * [`manager`]: worker processes behind one call interface, and
//!   [`worker`], the same program seen from inside a worker;
//! * [`pool`]: the thread pool every call into the manager goes through;
//! * [`failure`], [`panics`] and [`fault`]: how a dead worker or a panic in
//!   any thread becomes the same graceful stop as Ctrl+C, and the faults
//!   you can inject to watch it;
//! * [`stop_deadline`] and [`abandon`]: what happens when a stop takes too
//!   long, or a third Ctrl+C says so;
//! * [`exit_code`]: what the caller is told, in one list;
//! * [`children`], [`dummy`], [`protocol`], [`knobs`], [`logging`]: the
//!   supporting pieces.
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
pub mod pool;
pub mod protocol;
pub mod signals;
pub mod slow_service;
pub mod worker;

/// Locks `mutex` even if a thread panicked while holding it.
///
/// Every lock in this crate guards bookkeeping that is consistent after each
/// statement (counters, queues, maps), never half-done work. Refusing a
/// poisoned lock would turn one panic into a hang or a second panic in every
/// thread that touches it, the stop sequence included; taking it keeps the
/// shutdown going.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
