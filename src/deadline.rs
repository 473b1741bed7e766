//! The stop deadline and the one way out that does not wait.
//! (Hardening: skip it on a first reading. The lesson calls it as
//! [`stop_within`]`(timeout, || stop_all())` and [`step`]`("...")`.)
//!
//! A graceful stop still has to end. Supervisors do not wait forever
//! (`docker stop` sends SIGKILL after 10 s, Kubernetes after 30 s); a
//! deadline of our own gives up first, on our own terms, with a word about
//! why. [`force_exit`] is that word: when the stop overruns its deadline or
//! a third Ctrl+C or SIGTERM says so, it logs one ERROR naming the [`step`]
//! the program was in (so a hang can be found), ends every child process
//! the program registered ([`leave_no_child_behind`]), and exits with code
//! 5. It waits for nothing: not for the stuck step, nor for a blocked stderr
//! beyond a short grace.
//!
//! # One thread ends the process
//!
//! The main thread is still running the stop while [`force_exit`] works,
//! and killing the workers can unblock it: it may reach the end of `main` a
//! moment later. So the exit is *claimed*: the first of `force_exit` and
//! the graceful exit ([`claim_exit`]) ends the process with its code, and
//! the other waits for that. `force_exit` closes the log right after its
//! ERROR, so that line is the process's last.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam::channel::{self, RecvTimeoutError};
use log::{error, warn};

use crate::cancel::Never;
use crate::exit::Exit;
use crate::logging;

/// How long the last lines may take to reach a slow stderr when the exit is
/// forced: an ERROR that cannot be written must not hold the exit.
const LOG_GRACE: Duration = Duration::from_millis(250);

static STEP: Mutex<Option<Arc<str>>> = Mutex::new(None);
static EXIT_CLAIMED: AtomicBool = AtomicBool::new(false);

/// What no exit may leave behind: child processes, as a program that has
/// some registers them.
pub trait Children: Send + Sync {
    /// How many are still alive, without waiting for any lock.
    fn alive(&self) -> usize;
    /// Kills those still alive and reaps them all (no process, no zombie).
    fn kill_and_reap(&self);
}

static CHILDREN: Mutex<Vec<Arc<dyn Children>>> = Mutex::new(Vec::new());

/// Registers child processes: every exit, forced or not, ends and reaps
/// those still alive. (`complex`'s manager registers its workers.)
pub fn leave_no_child_behind(children: Arc<dyn Children>) {
    lock(&CHILDREN).push(children);
}

/// Runs `action` on every registered list. Waits for no lock: if the
/// registry is held (a manager being made), the workers still leave when we
/// are gone, because their stdin closes.
fn each_list(action: impl FnMut(&Arc<dyn Children>)) {
    if let Ok(lists) = CHILDREN.try_lock() {
        lists.iter().for_each(action);
    }
}

/// Records what the program is doing now ("stopping service-2"), for the
/// ERROR of a forced exit.
pub fn step(what: impl Into<Arc<str>>) {
    let what = what.into();
    // The old step is freed after the lock is released: no lock a forced
    // exit needs is held across an allocation.
    let _old = lock(&STEP).replace(what);
}

/// Runs `stop` against a deadline, and returns its result and the
/// deadline. A watchdog thread waits for the stop to be over, and forces the
/// exit if `timeout` passes first. It uses no CPU while the stop makes
/// progress, and writes nothing to stderr before it acts.
pub fn stop_within<T>(timeout: Duration, stop: impl FnOnce() -> T) -> (T, Instant) {
    // The knobs bound `--stop-timeout`, so this cannot overflow.
    let deadline = Instant::now() + timeout;
    let (dismiss, dismissed) = channel::bounded::<Never>(0);
    let watchdog = thread::Builder::new().name("stop-deadline".into()).spawn(move || {
        if let Err(RecvTimeoutError::Timeout) = dismissed.recv_deadline(deadline) {
            force_exit(&format!("stop: deadline of {:.3} s exceeded", timeout.as_secs_f64()));
        }
    });
    if let Err(cause) = &watchdog {
        // Better a stop without a deadline than no stop at all.
        warn!("stop: no deadline watchdog ({cause}); stopping without one");
    }
    let result = stop();
    drop(dismiss);
    if let Ok(watchdog) = watchdog {
        let _ = watchdog.join();
    }
    (result, deadline)
}

/// Ends the program now: logs `why` and the current step at ERROR, kills
/// and reaps every child process, and exits with code 5. Called from the
/// stop-deadline watchdog or a signal thread, while the main thread may
/// still be stuck in the step it names.
pub fn force_exit(why: &str) -> ! {
    claim();
    let step = lock(&STEP).clone();
    let step = step.as_deref().unwrap_or("beginning");
    let mut alive = 0;
    each_list(|children| alive += children.alive());
    let workers = match alive {
        0 => String::new(),
        alive => format!("killing the {alive} worker process(es) still alive, "),
    };
    let code = Exit::Abandoned as u8;
    error!("{why} while {step}; giving up on a graceful shutdown: {workers}exit code {code}");
    // Nothing after the ERROR: what the abandoned stop would log now (a
    // worker died: we killed it) would only mislead.
    logging::finish(LOG_GRACE);
    each_list(|children| children.kill_and_reap());
    Exit::Abandoned.end_process_now()
}

/// For the graceful exit, after the log is written out: ends and reaps any
/// child left (nothing should be, after a graceful stop: this is the net),
/// then claims the exit, or waits for a forced exit that claimed it first.
/// Claimed only now, so that a third Ctrl+C can still end a wait for a
/// stderr that nobody reads (a pipe into `less` left at a prompt).
pub fn claim_exit() {
    each_list(|children| children.kill_and_reap());
    claim();
}

/// The first caller goes on; any later one parks for ever, while the first
/// ends the process.
fn claim() {
    while EXIT_CLAIMED.swap(true, Ordering::SeqCst) {
        thread::park();
    }
}

/// Locks `mutex` even if a thread panicked while holding it.
///
/// A panic must not stop the stop, nor the forced exit. Every lock in this crate guards
/// bookkeeping that is consistent after each statement (counters, queues,
/// maps), never half-done work; refusing a poisoned lock would turn one
/// panic into a hang or a second panic in every thread that touches it, the
/// stop sequence included. Taking it keeps the shutdown going.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_the_exit_is_claimed_a_second_claimant_waits_for_ever() {
        claim_exit();
        let second = thread::spawn(claim_exit);
        // Parked for good: the first claimant ends the process. Looked at
        // after a while, in which a second claimant that went on (to end
        // the process with a code of its own) would long have returned.
        thread::sleep(Duration::from_millis(200));
        assert!(!second.is_finished(), "two threads went on to end the process");
    }
}
