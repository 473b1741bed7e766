//! The stop deadline and the one way out that does not wait.
//! (Hardening: skip it on a first reading. The lesson calls it as
//! [`arm`]`(timeout)`, `.stop_within(|| stop_all())` and [`step`]`("...")`.)
//!
//! A graceful stop still has to end. Supervisors do not wait forever
//! (`docker stop` sends SIGKILL after 10 s, Kubernetes after 30 s); a
//! deadline of our own gives up first, on our own terms, with a word about
//! why. Its watchdog thread is made before the start ([`arm`]), so the
//! deadline holds even when the run has used up every thread it may make.
//! [`force_exit`] is that word: when the stop overruns its deadline or
//! a third Ctrl+C or SIGTERM says so, it kills every child process the
//! program registered ([`leave_no_child_behind`]), logs one ERROR naming
//! the [`step`] the program was in (so a hang can be found), and exits with
//! code 5. It waits for nothing but short graces: not for the stuck step,
//! nor for a child that cannot die yet, nor for a blocked stderr.
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
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam::channel::{self, Receiver, RecvTimeoutError, Sender};
use log::error;

use crate::cancel::Never;
use crate::exit::Exit;
use crate::logging;

/// How long the last lines may take to reach a slow stderr when the exit is
/// forced: an ERROR that cannot be written must not hold the exit.
const LOG_GRACE: Duration = Duration::from_millis(250);
/// How long a killed child may take to die before it is left to the kernel:
/// so a forced exit ends within half a second of its decision.
const KILL_GRACE: Duration = Duration::from_millis(250);

static STEP: Mutex<Option<Arc<str>>> = Mutex::new(None);
static EXIT_CLAIMED: AtomicBool = AtomicBool::new(false);

/// What no exit may leave behind: child processes, as a program that has
/// some registers them.
pub trait Children: Send + Sync {
    /// How many are still alive, without waiting for any lock.
    fn alive(&self) -> usize;
    /// Kills those still alive and reaps them all (no process, no zombie),
    /// waiting for none past `by`; returns those left dying, by name.
    fn kill_and_reap(&self, by: Instant) -> Vec<String>;
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

/// The stop's deadline, armed before the start: see [`arm`].
#[must_use = "the deadline holds only for a stop run through `stop_within`"]
pub struct Armed {
    timeout: Duration,
    stop_begins: Sender<(Instant, Receiver<Never>)>,
    watchdog: JoinHandle<()>,
}

/// Arms the stop's deadline before anything starts: its watchdog thread is
/// made now, so that a limit on threads or memory that the run reaches
/// cannot take the deadline away when the stop begins. If it cannot be
/// made, the program says so and exits with code 3: nothing has started.
pub fn arm(timeout: Duration) -> Armed {
    let (stop_begins, stop_began) = channel::bounded::<(Instant, Receiver<Never>)>(1);
    let watch = move || watch_the_stop(&stop_began, timeout);
    let watchdog = thread::Builder::new().name("stop-deadline".into()).spawn(watch);
    let Ok(watchdog) = watchdog.inspect_err(|cause| {
        error!("start: cannot arm the stop's deadline ({cause}); nothing has started");
        logging::finish(LOG_GRACE);
    }) else {
        Exit::StartFailed.end_process_now()
    };
    Armed { timeout, stop_begins, watchdog }
}

/// The watchdog: waits, using no CPU, for the stop to begin, then for it to
/// end, and forces the exit if the deadline comes first.
fn watch_the_stop(stop_began: &Receiver<(Instant, Receiver<Never>)>, timeout: Duration) {
    let Ok((deadline, dismissed)) = stop_began.recv() else { return };
    if let Err(RecvTimeoutError::Timeout) = dismissed.recv_deadline(deadline) {
        force_exit(&format!("stop: deadline of {:.3} s exceeded", timeout.as_secs_f64()));
    }
}

impl Armed {
    /// Runs `stop` against the deadline, and returns its result and the
    /// deadline. The watchdog forces the exit if the timeout passes first; it
    /// uses no CPU while the stop makes progress.
    pub fn stop_within<T>(self, stop: impl FnOnce() -> T) -> (T, Instant) {
        // The knobs bound `--stop-timeout`, so this cannot overflow.
        let deadline = Instant::now() + self.timeout;
        let (dismiss, dismissed) = channel::bounded::<Never>(0);
        let _ = self.stop_begins.send((deadline, dismissed));
        let result = stop();
        drop(dismiss);
        let _ = self.watchdog.join();
        (result, deadline)
    }
}

/// Ends the program now: kills every child process, logs `why` and the
/// current step at ERROR, and exits with code 5, within half a second of
/// the call (`KILL_GRACE` for the children, `LOG_GRACE` for the log). Called from the stop-deadline watchdog or a
/// signal thread, while the main thread may still be stuck in the step it
/// names.
pub fn force_exit(why: &str) -> ! {
    claim();
    // Only this thread logs from here on: what the abandoned stop would log
    // after the kill (a worker died: we killed it) would only mislead.
    logging::close_to_other_threads();
    let step = lock(&STEP).clone();
    let step = step.as_deref().unwrap_or("beginning");
    let (mut alive, mut dying) = (0, Vec::new());
    each_list(|children| alive += children.alive());
    let by = Instant::now() + KILL_GRACE;
    each_list(|children| dying.extend(children.kill_and_reap(by)));
    let workers = match (alive, dying.join(", ")) {
        (0, _) => String::new(),
        (alive, dying) if dying.is_empty() => format!("killing the {alive} worker process(es) still alive, "),
        (alive, dying) => format!("killing the {alive} worker process(es) still alive ({dying} cannot die yet: stopped, traced or frozen; left to the kernel), "),
    };
    let code = Exit::Abandoned as u8;
    error!("{why} while {step}; giving up on a graceful shutdown: {workers}exit code {code}");
    logging::finish(LOG_GRACE);
    Exit::Abandoned.end_process_now()
}

/// For the graceful exit, after the log is written out: ends and reaps any
/// child left (nothing should be, after a graceful stop: this is the net),
/// then claims the exit, or waits for a forced exit that claimed it first.
/// Claimed only now, so that a third Ctrl+C can still end a wait for a
/// stderr that nobody reads (a pipe into `less` left at a prompt).
pub fn claim_exit() {
    let by = Instant::now() + KILL_GRACE;
    // Asked first: after a clean stop there is nothing to kill or wait for.
    each_list(|children| {
        if children.alive() > 0 {
            drop(children.kill_and_reap(by));
        }
    });
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
