//! Giving up on a graceful shutdown: the one way out that does not wait.
//!
//! A graceful shutdown can take long: a worker in the middle of a five
//! second update, a pool full of jobs, a stop that hangs on a bug. Two
//! things end it before it is done, and both end it the same way:
//!
//! * the stop deadline passes (`--stop-timeout`, see [`crate::stop_deadline`]);
//! * the user sends a third Ctrl+C or SIGTERM (the escape hatch, see
//!   [`crate::signals`]): tools people use every day (docker compose,
//!   kubectl) let a repeated Ctrl+C force the exit, and so do we.
//!
//! [`abandon`] logs one ERROR that names the step the program was in (so
//! the hang can be found), kills and reaps every worker process still
//! alive, and exits with [`SHUTDOWN_ABANDONED`]. It does not wait for the
//! stuck step, nor for a blocked stderr beyond a short grace.
//!
//! # One thread ends the process
//!
//! The main thread is still running the stop while `abandon` works, and
//! killing the workers can unblock it: it may reach the end of `main` a
//! moment later. Without care, the log would then go on after the ERROR
//! ("stop: end", "main: end": a graceful end that did not happen) and the
//! exit code would be whichever thread called `exit` first. So the exit is
//! *claimed* ([`claim_exit`]): the first claimant, `abandon` or the end of
//! `main`, ends the process; any later one waits for it. And `abandon`
//! closes the log right after its ERROR, so that line is the last one.
//!
//! The step comes from [`record_step`], which the lifecycle and the
//! services call as they go ("starting service-1", "service-1: waiting for
//! the busy loops to end"): the ERROR can then say where the time went.
//!
//! [`SHUTDOWN_ABANDONED`]: crate::exit_code::SHUTDOWN_ABANDONED

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use log::error;

use crate::{children, exit_code, lock, logging};

/// How long the last lines may take to reach a slow stderr before we exit
/// anyway: an ERROR that cannot be written must not hold the exit.
const LOG_GRACE: Duration = Duration::from_millis(250);

static STEP: Mutex<String> = Mutex::new(String::new());
static EXIT_CLAIMED: AtomicBool = AtomicBool::new(false);

/// Records what the program is doing now, for the ERROR of [`abandon`].
pub fn record_step(what: impl Into<String>) {
    *lock(&STEP) = what.into();
}

/// The step last recorded.
fn current_step() -> String {
    let step = lock(&STEP);
    if step.is_empty() {
        "beginning".to_owned()
    } else {
        step.clone()
    }
}

/// Claims the right to end the process; only the first call gets `true`.
/// A caller that gets `false` must not exit, but [`wait_for_exit`]: another
/// thread is already ending the process with its own exit code.
pub fn claim_exit() -> bool {
    !EXIT_CLAIMED.swap(true, Ordering::SeqCst)
}

/// Blocks the calling thread until the thread that claimed the exit ends
/// the process.
pub fn wait_for_exit() -> ! {
    loop {
        std::thread::park();
    }
}

/// Ends the program now: logs `why` and the current step at ERROR, kills
/// and reaps every worker process, and exits with code 5. Called from the
/// stop-deadline watchdog or the signal thread, while the main thread may
/// still be stuck in the step it names. If the exit is already claimed (the
/// other of those two, or `main` at its end), waits for that one instead.
pub fn abandon(why: &str) -> ! {
    if !claim_exit() {
        wait_for_exit();
    }
    let alive = children::alive();
    let workers = if alive > 0 {
        format!("killing the {alive} worker process(es) still alive, ")
    } else {
        String::new()
    };
    error!(
        "{why} while {}; giving up on a graceful shutdown: {workers}exit code {}",
        current_step(),
        exit_code::SHUTDOWN_ABANDONED
    );
    // Nothing after the ERROR: the stop still running in other threads is
    // abandoned, and what it would log now (a worker died: we killed it)
    // would only mislead.
    logging::finish(LOG_GRACE);
    children::kill_and_reap_all();
    std::process::exit(i32::from(exit_code::SHUTDOWN_ABANDONED))
}
