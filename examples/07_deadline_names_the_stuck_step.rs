//! The idea: a graceful stop still has to end, so a watchdog thread gives it
//! a deadline and, when the deadline passes, names the step the stop is
//! stuck in and exits with a code of its own.
//!
//! Run it with `cargo run --example 07_deadline_names_the_stuck_step`. The
//! stop closes a database, then flushes a cache that never answers; after
//! one second the watchdog says "while flushing the cache" and exits 5.
//! Without a deadline the program would hang until a supervisor killed it
//! (docker after 10 s, Kubernetes after 30), with no word about why.
//! (The library's `deadline::arm(...).stop_within(...)` is this, with its
//! watchdog thread made before the start, when it can still be made.)

use std::sync::Mutex;
use std::thread;
use std::time::Duration;

use crossbeam::channel::{self, RecvTimeoutError};

/// What the stop is doing now, for the watchdog to name.
static STEP: Mutex<&str> = Mutex::new("beginning the stop");

fn step(what: &'static str) {
    eprintln!("stop: {what}");
    *STEP.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = what;
}

fn main() {
    let deadline = Duration::from_secs(1);
    // Dropped when the stop is over: the watchdog then has nothing to do.
    let (stop_over, over) = channel::bounded::<()>(0);
    let watchdog = thread::spawn(move || {
        if let Err(RecvTimeoutError::Timeout) = over.recv_timeout(deadline) {
            let stuck = *STEP.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            eprintln!("stop: deadline of {deadline:?} exceeded while {stuck}; exit code 5");
            // From this thread, while the main one is stuck: only an exit
            // that does not wait for it can end the process.
            std::process::exit(5);
        }
    });

    step("closing the database");
    thread::sleep(Duration::from_millis(100));
    step("flushing the cache");
    // A step that never ends: waiting for an answer nobody will send.
    let (_nobody, answer) = channel::bounded::<()>(0);
    let _ = answer.recv();

    drop(stop_over);
    let _ = watchdog.join();
    eprintln!("stop: end");
}
