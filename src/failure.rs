//! Failures: reasons to stop that come from inside the program, not from a
//! signal.
//!
//! A worker process that dies cannot be fixed by the code that notices it (a
//! collector thread deep inside the manager), and that code must not stop the
//! application itself: only the lifecycle knows the stop order. So it reports
//! the failure here, and the run stage, which waits for "interrupt *or*
//! failure", wakes up and runs the same graceful stop as for Ctrl+C. A panic in any
//! thread is reported here too, by the hook in [`crate::panics`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crossbeam::channel::Sender;
use log::warn;

use crate::exit_code::Outcome;

/// What went wrong, in words a person can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// A worker process exited while the application still needed it.
    WorkerDied {
        /// The worker's name, e.g. `worker-2`.
        worker: String,
        /// How it ended, e.g. `exit status: 7`, with its last words if any.
        detail: String,
    },
    /// A thread of ours panicked: a bug. Its message is already logged.
    Panicked {
        /// The name of the thread that panicked.
        thread: String,
    },
}

impl Failure {
    /// The exit status the program ends with because of this failure.
    pub fn outcome(&self) -> Outcome {
        match self {
            Failure::WorkerDied { .. } => Outcome::WorkerDied,
            Failure::Panicked { .. } => Outcome::InternalFailure,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::WorkerDied { worker, detail } => write!(f, "{worker} died: {detail}"),
            Failure::Panicked { thread } => write!(f, "thread '{thread}' panicked"),
        }
    }
}

/// A handle for reporting failures to the application; cheap to clone.
#[derive(Clone, Debug)]
pub struct FailureReporter {
    pub(crate) failures: Sender<Failure>,
    /// Set while the application starts.
    pub(crate) starting: Arc<AtomicBool>,
}

impl FailureReporter {
    /// Tells the application to stop because of `failure`. Never blocks.
    pub fn report(&self, failure: Failure) {
        if self.starting.load(Ordering::SeqCst) {
            // Start is shielded: it runs to its end, failure or not, because a
            // half-done start is harder to undo than a finished one. Say so
            // now, not only when start is over.
            warn!("{failure} during start; start runs to its end, then the program stops");
        }
        // The application keeps the receiving end until it exits, so this
        // cannot fail while anyone is left to care.
        let _ = self.failures.send(failure);
    }
}
