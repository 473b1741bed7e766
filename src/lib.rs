//! # graceful: shut down cleanly, whatever moment Ctrl+C comes
//!
//! The library behind the two teaching programs, `simple` and `complex`.
//! Read it in the order one Ctrl+C travels through it, which is also the
//! README's walkthrough:
//!
//! 1. `src/bin/simple.rs`: one short `main` whose lines name every piece;
//! 2. [`lifecycle`]: start (shielded), run, stop (shielded, in reverse
//!    order) and the exit status, in one function, with the simplest
//!    service there is;
//! 3. [`signals`]: how Ctrl+C, SIGTERM and SIGHUP are heard, what each
//!    means at each stage, and the delayed-interrupt guard,
//!    [`signals::Shield`]; its forwarding uses [`cancel`], the trigger that
//!    wakes every waiter at once.
//!
//! That is `simple`. What `complex` adds (then read `src/bin/complex.rs`):
//!
//! 4. [`manager_service`]: `complex`'s service-1, the loops that call the
//!    manager and the order they stop in;
//! 5. [`pool`]: the thread pool every call into the manager goes through;
//! 6. [`manager`]: worker processes behind one call interface, and the
//!    collector that notices a dead one at once;
//! 7. [`worker`]: the same program seen from inside a worker.
//!
//! **Hardening and infrastructure**, for a second reading: each file says
//! "skip it on a first reading" in its first lines, and the lesson reaches
//! it through one call whose name says what it does. [`deadline`] (the stop
//! deadline and the forced exit), [`failure`] (a dead worker or a panic
//! becomes a graceful stop), [`exit`] (every exit status and its meaning),
//! [`logging`] (one line format for every process, written by a thread of
//! its own; [`log_line`] reads a line back), [`knobs`] (the flags every binary has), [`fault`] (faults to
//! inject), [`memory`] (a limit on address space), [`protocol`] and
//! [`dummy`] (the wire format and the CPU work a worker does).
//!
//! The `examples/` folder is a numbered ladder of short programs, one idea
//! each, that use none of this: the same ideas in a form to copy. The
//! `timeline` tool, which draws a log as a picture, is a crate of its own.

#![warn(missing_docs)]

pub mod cancel;
pub mod deadline;
pub mod dummy;
pub mod exit;
pub mod failure;
pub mod fault;
pub mod knobs;
pub mod lifecycle;
pub mod log_line;
pub mod logging;
pub mod manager;
pub mod manager_service;
pub mod memory;
pub mod pool;
pub mod protocol;
pub mod signals;
pub mod worker;

// One helper the whole crate uses; it lives with the hardening of the stop,
// whose promise it keeps (a panic must not stop the stop).
pub(crate) use deadline::lock;
