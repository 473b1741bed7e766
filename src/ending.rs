//! How the process ends: the exit status after a graceful stop, the stop
//! deadline, and the one way out that does not wait.
//!
//! A run ends in one of two ways:
//!
//! * **gracefully**: [`App::run`](crate::lifecycle::App::run) returns an
//!   [`Ending`], `main` logs `main: end` and calls [`Ending::exit`], which
//!   writes out the log, makes sure no worker is left, and exits with the
//!   status that says how it went;
//! * **forced**: [`force_exit`], when the stop overruns its deadline
//!   ([`stop_within`]) or a third Ctrl+C or SIGTERM says so. It logs one
//!   ERROR naming the [`step`] the program was in (so a hang can be found),
//!   kills and reaps every worker still alive, and exits with code 5. It
//!   waits for nothing: not for the stuck step, nor for a blocked stderr
//!   beyond a short grace.
//!
//! Supervisors do not wait forever either (`docker stop` sends SIGKILL after
//! 10 s, Kubernetes after 30 s); a deadline of our own gives up first, on
//! our own terms, with a word about why.
//!
//! # Why Ctrl+C does not end with 0
//!
//! A shell running a loop (`for f in *; do prog "$f"; done`), `make`, or an
//! `&&` chain decides whether *it* should stop by asking how its child
//! ended. Bash's rule ("wait and cooperative exit"): if the child *died of
//! SIGINT*, the user meant the whole script, so bash stops too; if the child
//! exited normally, the child must have used Ctrl+C for itself (as an editor
//! does). A program that catches Ctrl+C, stops gracefully and exits 0 would
//! make the user press Ctrl+C once per file. So, as bash itself and Python
//! do, after a complete graceful stop caused by Ctrl+C the process restores
//! SIGINT's default action and raises it: it dies of SIGINT *after*
//! everything is stopped. SIGTERM and SIGHUP end with 0, which systemd,
//! docker and Kubernetes read as "it stopped cleanly".
//!
//! # One thread ends the process
//!
//! The main thread is still running the stop while [`force_exit`] works,
//! and killing the workers can unblock it: it may reach the end of `main` a
//! moment later. So the exit is *claimed*: the first of `force_exit` and
//! [`Ending::exit`] to claim it ends the process with its code, and the
//! other waits for that. `force_exit` closes the log right after its ERROR,
//! so that line is the process's last.

use std::process::{Child, ExitCode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam::channel::{self, RecvTimeoutError};
use log::{error, warn};

use crate::cancel::Never;
use crate::exit_code::{CLEAN, SHUTDOWN_ABANDONED};
use crate::{lock, logging};

/// How long the last lines may take to reach a slow stderr when the exit is
/// forced: an ERROR that cannot be written must not hold the exit.
const LOG_GRACE: Duration = Duration::from_millis(250);

static STEP: Mutex<Option<Arc<str>>> = Mutex::new(None);
static EXIT_CLAIMED: AtomicBool = AtomicBool::new(false);
static CTRL_C: AtomicBool = AtomicBool::new(false);

/// Records what the program is doing now ("stopping service-2"), for the
/// ERROR of a forced exit.
pub fn step(what: impl Into<Arc<str>>) {
    let what = what.into();
    // The old step is freed after the lock is released: no lock a forced
    // exit needs is held across an allocation.
    let _old = lock(&STEP).replace(what);
}

/// A Ctrl+C has reached the process (the signal hub says so): after a
/// graceful stop, it dies of SIGINT.
pub fn remember_ctrl_c() {
    CTRL_C.store(true, Ordering::SeqCst);
}

/// What `main` needs to end the process after a graceful run.
#[derive(Debug)]
pub struct Ending {
    /// The exit code the run calls for (see [`crate::exit_code`]).
    pub code: u8,
    /// When the stop had to be over: the log must be written out by then.
    pub write_out_by: Instant,
}

impl Ending {
    /// Ends the process: `main`'s last expression, after `main: end`.
    /// Writes out the log (by the stop's deadline: a stderr that nobody reads
    /// must not keep the program alive past it), makes sure no worker is
    /// left, and then returns the exit code or, after a clean stop caused by
    /// Ctrl+C, dies of SIGINT.
    pub fn exit(self) -> ExitCode {
        let written = logging::finish(self.write_out_by.saturating_duration_since(Instant::now()));
        // Nothing should be left after a graceful stop; this is the net.
        each_child(kill_and_reap);
        // Claimed only now, so that a third Ctrl+C can still end a wait for
        // a stderr that nobody reads (a pipe into `less` left at a prompt).
        claim_exit();
        match (written, self.code) {
            (false, _) => ExitCode::from(SHUTDOWN_ABANDONED),
            // Asked at the last moment: a Ctrl+C after `main: end` counts too.
            (true, CLEAN) if CTRL_C.load(Ordering::SeqCst) => die_of_ctrl_c(),
            (true, code) => ExitCode::from(code),
        }
    }
}

/// Ends the program now: logs `why` and the current step at ERROR, kills
/// and reaps every worker process, and exits with code 5. Called from the
/// stop-deadline watchdog or a signal thread, while the main thread may
/// still be stuck in the step it names.
pub fn force_exit(why: &str) -> ! {
    claim_exit();
    let step = lock(&STEP).clone();
    let step = step.as_deref().unwrap_or("beginning");
    let workers = match each_child(|child| matches!(child.try_wait(), Ok(None))) {
        0 => String::new(),
        alive => format!("killing the {alive} worker process(es) still alive, "),
    };
    error!("{why} while {step}; giving up on a graceful shutdown: {workers}exit code {SHUTDOWN_ABANDONED}");
    // Nothing after the ERROR: what the abandoned stop would log now (a
    // worker died: we killed it) would only mislead.
    logging::finish(LOG_GRACE);
    each_child(kill_and_reap);
    std::process::exit(SHUTDOWN_ABANDONED.into())
}

/// Claims the exit, or, if another thread claimed it first, waits for that
/// thread to end the process.
fn claim_exit() {
    while EXIT_CLAIMED.swap(true, Ordering::SeqCst) {
        thread::park();
    }
}

/// Dies the way Ctrl+C would have killed us, now that we are done: restores
/// SIGINT's default action and raises it. Only if that fails does it fall
/// back to the shell's number for it.
#[cfg(unix)]
fn die_of_ctrl_c() -> ExitCode {
    let _ = signal_hook::low_level::emulate_default_handler(signal_hook::consts::SIGINT);
    ExitCode::from(crate::exit_code::DIED_OF_SIGINT)
}

/// Windows has no signals to die of; a console program that Ctrl+C ends
/// outright exits with STATUS_CONTROL_C_EXIT (its default handler does
/// that), so we end with the same status.
#[cfg(not(unix))]
fn die_of_ctrl_c() -> ExitCode {
    const STATUS_CONTROL_C_EXIT: u32 = 0xC000_013A;
    std::process::exit(STATUS_CONTROL_C_EXIT as i32)
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

/// A child process shared between its owner and the list of processes that
/// no exit may leave behind.
pub type SharedChild = Arc<Mutex<Child>>;

static CHILDREN: Mutex<Vec<SharedChild>> = Mutex::new(Vec::new());

/// Puts `child` on that list, and returns the handle its owner keeps.
pub fn adopt(child: Child) -> SharedChild {
    let shared = Arc::new(Mutex::new(child));
    lock(&CHILDREN).push(shared.clone());
    shared
}

/// Kills a child still alive (SIGKILL on Unix: a stopped process is ended
/// too) and waits for it, so it is left neither as a process nor a zombie.
fn kill_and_reap(child: &mut Child) -> bool {
    let alive = matches!(child.try_wait(), Ok(None));
    if alive {
        let _ = child.kill();
    }
    let _ = child.wait();
    alive
}

/// Runs `action` on each child on the list; counts the `true`s. Waits for
/// no lock: a child whose lock is held is being reaped by its owner right
/// now, and if the list itself is held (a start adding a worker), the
/// workers still leave when we are gone, because their stdin closes.
fn each_child(mut action: impl FnMut(&mut Child) -> bool) -> usize {
    let Ok(children) = CHILDREN.try_lock() else { return 0 };
    let unlocked = children.iter().filter_map(|child| child.try_lock().ok());
    unlocked.map(|mut child| action(&mut child)).filter(|done| *done).count()
}
