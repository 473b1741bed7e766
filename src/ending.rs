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
//!   ([`StopDeadline`]) or a third Ctrl+C or SIGTERM says so. It logs one
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
use std::sync::{Arc, Mutex, TryLockError, Weak};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam::channel::{self, RecvTimeoutError, Sender};
use log::{error, warn};

use crate::cancel::Never;
use crate::exit_code::{self, SHUTDOWN_ABANDONED};
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
    // exit depends on is held across an allocation.
    let _old = lock(&STEP).replace(what);
}

/// A Ctrl+C has reached the process (the signal hub says so): after a
/// graceful stop, it dies of SIGINT.
pub fn remember_ctrl_c() {
    CTRL_C.store(true, Ordering::SeqCst);
}

/// How a graceful run went, as far as the exit status goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Everything that started was stopped.
    Clean,
    /// A service could not start.
    StartFailed,
    /// A worker process died.
    WorkerDied,
    /// A service's stop failed.
    StopFailed,
    /// A panic.
    InternalFailure,
}

impl Outcome {
    /// The exit code for this outcome.
    pub fn code(self) -> u8 {
        match self {
            Outcome::Clean => exit_code::CLEAN,
            Outcome::StartFailed => exit_code::START_FAILED,
            Outcome::WorkerDied => exit_code::WORKER_DIED,
            Outcome::StopFailed => exit_code::STOP_FAILED,
            Outcome::InternalFailure => exit_code::INTERNAL_FAILURE,
        }
    }
}

/// Everything the last line of `main` needs to end the process.
#[derive(Debug)]
pub struct Ending {
    /// How the run went.
    pub outcome: Outcome,
    /// When the stop had to be over: the log must be written out by then.
    pub write_out_by: Option<Instant>,
}

impl Ending {
    /// Ends the process: `main`'s last expression, after `main: end`.
    /// Writes out the log (by the stop's deadline: a stderr that nobody reads
    /// must not keep the program alive past it), makes sure no worker is
    /// left, and then returns the exit code or, after a clean stop caused by
    /// Ctrl+C, dies of SIGINT.
    pub fn exit(self) -> ExitCode {
        let within = self.write_out_by.map_or(Duration::from_secs(30), |by| {
            by.saturating_duration_since(Instant::now())
        });
        let written = logging::finish(within);
        // Nothing should be left after a graceful stop; this is the net.
        kill_and_reap_all();
        // Claimed only now, so that a third Ctrl+C can still end a wait for
        // a stderr that nobody reads (a pipe into `less` left at a prompt).
        claim_exit();
        if !written {
            return ExitCode::from(SHUTDOWN_ABANDONED);
        }
        // Asked at the last moment: a Ctrl+C after `main: end` counts too.
        if self.outcome == Outcome::Clean && CTRL_C.load(Ordering::SeqCst) {
            die_of_ctrl_c();
        }
        ExitCode::from(self.outcome.code())
    }
}

/// Ends the program now: logs `why` and the current step at ERROR, kills
/// and reaps every worker process, and exits with code 5. Called from the
/// stop-deadline watchdog or the signal thread, while the main thread may
/// still be stuck in the step it names.
pub fn force_exit(why: &str) -> ! {
    claim_exit();
    let step = lock(&STEP).clone();
    let step = step.as_deref().unwrap_or("beginning");
    let workers = match each_child(alive) {
        0 => String::new(),
        alive => format!("killing the {alive} worker process(es) still alive, "),
    };
    error!(
        "{why} while {step}; giving up on a graceful shutdown: {workers}exit code {SHUTDOWN_ABANDONED}"
    );
    // Nothing after the ERROR: what the abandoned stop would log now (a
    // worker died: we killed it) would only mislead.
    logging::finish(LOG_GRACE);
    kill_and_reap_all();
    std::process::exit(i32::from(SHUTDOWN_ABANDONED))
}

/// Claims the exit, or, if another thread claimed it first, waits for that
/// thread to end the process.
fn claim_exit() {
    if EXIT_CLAIMED.swap(true, Ordering::SeqCst) {
        loop {
            thread::park();
        }
    }
}

/// Dies the way Ctrl+C would have killed us, now that we are done.
#[cfg(unix)]
fn die_of_ctrl_c() {
    // Restores SIGINT's default action and raises it: the process ends
    // here, "killed by SIGINT". Only if that fails do we fall back to the
    // shell's number for it.
    let _ = signal_hook::low_level::emulate_default_handler(signal_hook::consts::SIGINT);
    std::process::exit(i32::from(exit_code::DIED_OF_SIGINT));
}

/// Windows has no signals to die of; its convention for a console program
/// ended by Ctrl+C is the status STATUS_CONTROL_C_EXIT, which `cmd.exe` and
/// PowerShell recognise.
#[cfg(not(unix))]
fn die_of_ctrl_c() {
    const STATUS_CONTROL_C_EXIT: u32 = 0xC000_013A;
    std::process::exit(STATUS_CONTROL_C_EXIT as i32);
}

/// The stop's watchdog: a thread that waits for the stop to be over, and
/// forces the exit if the deadline comes first. It uses no CPU while the
/// stop makes progress, and never writes to stderr itself before acting.
#[derive(Debug)]
pub struct StopDeadline {
    /// Dropped to dismiss the watchdog.
    dismiss: Sender<Never>,
    watchdog: Option<JoinHandle<()>>,
    at: Option<Instant>,
}

impl StopDeadline {
    /// Starts the clock: the whole stop must be over within `timeout`.
    pub fn arm(timeout: Duration) -> StopDeadline {
        // A deadline too far to represent is no deadline (the knobs bound
        // `--stop-timeout`, so this is only a guard).
        let at = Instant::now().checked_add(timeout);
        let (dismiss, dismissed) = channel::bounded::<Never>(0);
        let watchdog = thread::Builder::new()
            .name("stop-deadline".into())
            .spawn(move || {
                let timed_out = match at {
                    Some(at) => {
                        matches!(dismissed.recv_deadline(at), Err(RecvTimeoutError::Timeout))
                    }
                    None => dismissed.recv().is_ok(), // never: it only disconnects
                };
                if timed_out {
                    let seconds = timeout.as_secs_f64();
                    force_exit(&format!("stop: deadline of {seconds:.3} s exceeded"));
                }
            });
        let watchdog = watchdog
            .inspect_err(|cause| {
                // Better a stop without a deadline than no stop at all.
                warn!("stop: cannot start the deadline watchdog ({cause}); stopping without a deadline");
            })
            .ok();
        StopDeadline {
            dismiss,
            watchdog,
            at,
        }
    }

    /// The stop is over: dismisses the watchdog, joins its thread, and
    /// returns when the stop had to be over (the log's write-out is bound
    /// by it).
    pub fn disarm(self) -> Option<Instant> {
        drop(self.dismiss);
        if let Some(watchdog) = self.watchdog {
            let _ = watchdog.join();
        }
        self.at
    }
}

/// A child process shared between its owner and the list every exit kills
/// what is left from.
pub type SharedChild = Arc<Mutex<Child>>;

static CHILDREN: Mutex<Vec<Weak<Mutex<Child>>>> = Mutex::new(Vec::new());

/// Puts `child` on the list of processes that no exit may leave behind, and
/// returns the handle its owner keeps.
pub fn adopt(child: Child) -> SharedChild {
    let shared = Arc::new(Mutex::new(child));
    let mut children = lock(&CHILDREN);
    children.retain(|child| child.strong_count() > 0);
    children.push(Arc::downgrade(&shared));
    shared
}

/// Kills every child still alive (SIGKILL on Unix: a stopped process is
/// ended too) and waits for each, so none is left as a process or a zombie.
fn kill_and_reap_all() {
    each_child(|child| {
        if alive(child) {
            let _ = child.kill();
        }
        let _ = child.wait();
        false
    });
}

fn alive(child: &mut Child) -> bool {
    matches!(child.try_wait(), Ok(None))
}

/// Runs `action` on each child on the list; counts the `true`s. Takes no
/// lock it would have to wait for: a child whose lock is held is being
/// reaped by its owner right now, and if the list itself is held (a start
/// adding a worker), the workers still leave when we are gone, because
/// their stdin closes with us.
fn each_child(mut action: impl FnMut(&mut Child) -> bool) -> usize {
    let children: Vec<SharedChild> = match CHILDREN.try_lock() {
        Ok(children) => children.iter().filter_map(Weak::upgrade).collect(),
        Err(TryLockError::Poisoned(children)) => children
            .get_ref()
            .iter()
            .filter_map(Weak::upgrade)
            .collect(),
        Err(TryLockError::WouldBlock) => Vec::new(),
    };
    let mut count = 0;
    for child in children {
        let mut guard = match child.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => continue,
        };
        count += usize::from(action(&mut guard));
    }
    count
}
