//! The stop deadline: a watchdog that knows which step the stop is in.
//!
//! Supervisors do not wait forever: `docker stop` sends SIGKILL after 10 s,
//! Kubernetes after `terminationGracePeriodSeconds` (30 s by default). A stop
//! that hangs would be killed without a word about why. With the watchdog we
//! give up first, on our own terms: one ERROR line that names the stuck step,
//! and a distinct exit code.
//!
//! The stop itself stays on the main thread; the watchdog is a separate
//! thread that waits on a channel of step names with a deadline. It uses no
//! CPU while the stop makes progress, and costs nothing when no deadline hits.

use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam::channel::{self, RecvTimeoutError, Sender};
use log::{error, warn};

use crate::exit_code;

/// Handed to each service's `stop`, so it can say what it is waiting for.
#[derive(Debug)]
pub struct StopDeadline {
    steps: Option<Sender<String>>,
    watchdog: Option<JoinHandle<()>>,
}

impl StopDeadline {
    /// Starts the clock: the whole stop must be over within `timeout`.
    pub(crate) fn arm(timeout: Duration) -> StopDeadline {
        let deadline = Instant::now() + timeout;
        let (steps, step_names) = channel::unbounded::<String>();
        let watchdog = thread::Builder::new()
            .name("stop-deadline".into())
            .spawn(move || {
                let mut step = String::from("beginning the stop");
                loop {
                    match step_names.recv_deadline(deadline) {
                        Ok(next) => step = next,
                        // The stop finished and dropped its sender.
                        Err(RecvTimeoutError::Disconnected) => return,
                        Err(RecvTimeoutError::Timeout) => {
                            error!(
                                "stop: deadline of {:.3} s exceeded while {step}; giving up on a graceful stop, exit code {}",
                                timeout.as_secs_f64(),
                                exit_code::STOP_TIMED_OUT
                            );
                            // Exiting ends every thread, the stuck one too.
                            // Worker processes see their stdin close and
                            // leave by themselves, so nothing is orphaned.
                            std::process::exit(i32::from(exit_code::STOP_TIMED_OUT));
                        }
                    }
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
            steps: Some(steps),
            watchdog,
        }
    }

    /// Records that the stop is now `what` (e.g. "stopping service-2"); the
    /// ERROR line names the last step recorded if the deadline passes.
    pub fn step(&self, what: impl Into<String>) {
        if let Some(steps) = &self.steps {
            let _ = steps.send(what.into());
        }
    }

    /// The stop is over: dismiss the watchdog and wait for its thread.
    pub(crate) fn disarm(mut self) {
        self.steps = None;
        if let Some(watchdog) = self.watchdog.take() {
            let _ = watchdog.join();
        }
    }
}
