//! The stop deadline: a watchdog that gives up on a stop that takes too long.
//!
//! Supervisors do not wait forever: `docker stop` sends SIGKILL after 10 s,
//! Kubernetes after `terminationGracePeriodSeconds` (30 s by default). A stop
//! that hangs would be killed without a word about why. With the watchdog we
//! give up first, on our own terms: one ERROR line that names the stuck step,
//! every worker killed and reaped, and a distinct exit code (see
//! [`crate::abandon`]).
//!
//! The stop itself stays on the main thread; the watchdog is a separate
//! thread that waits on a channel with a deadline. It uses no CPU while the
//! stop makes progress, and costs nothing when the deadline does not hit.
//! It never writes to stderr itself before acting: the log has a thread of
//! its own (see [`crate::logging`]), so a stderr nobody reads cannot keep
//! the deadline from firing.

use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam::channel::{self, RecvTimeoutError, Sender};
use log::warn;

use crate::abandon;
use crate::cancel::Never;

/// Handed to each service's `stop`, so it can say what it is waiting for.
#[derive(Debug)]
pub struct StopDeadline {
    /// Dropped to dismiss the watchdog.
    dismiss: Option<Sender<Never>>,
    watchdog: Option<JoinHandle<()>>,
    deadline: Option<Instant>,
}

impl StopDeadline {
    /// Starts the clock: the whole stop must be over within `timeout`.
    pub fn arm(timeout: Duration) -> StopDeadline {
        // A deadline too far to represent is no deadline (the knobs bound
        // `--stop-timeout`, so this is only a guard).
        let deadline = Instant::now().checked_add(timeout);
        let (dismiss, dismissed) = channel::bounded::<Never>(0);
        let watchdog = thread::Builder::new()
            .name("stop-deadline".into())
            .spawn(move || {
                let Some(deadline) = deadline else {
                    let _ = dismissed.recv();
                    return;
                };
                if let Err(RecvTimeoutError::Timeout) = dismissed.recv_deadline(deadline) {
                    abandon::abandon(&format!(
                        "stop: deadline of {:.3} s exceeded",
                        timeout.as_secs_f64()
                    ));
                }
            });
        let watchdog = match watchdog {
            Ok(handle) => Some(handle),
            Err(cause) => {
                // Better a stop without a deadline than no stop at all.
                warn!("stop: cannot start the deadline watchdog ({cause}); stopping without a deadline");
                None
            }
        };
        StopDeadline {
            dismiss: Some(dismiss),
            watchdog,
            deadline,
        }
    }

    /// Records that the stop is now `what` (e.g. "stopping service-2"); the
    /// ERROR line names the last step recorded if the deadline passes.
    pub fn step(&self, what: impl Into<String>) {
        abandon::record_step(what);
    }

    /// When the stop must be over (`None`: too far away to say).
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The stop is over: dismiss the watchdog and wait for its thread.
    pub fn disarm(mut self) {
        self.dismiss = None;
        if let Some(watchdog) = self.watchdog.take() {
            let _ = watchdog.join();
        }
    }
}
