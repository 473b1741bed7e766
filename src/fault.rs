//! Faults: reasons to stop that come from inside the program, not from a signal.
//!
//! A worker process that dies cannot be fixed by the code that notices it (a
//! collector thread deep inside the manager), and that code must not stop the
//! application itself: only the lifecycle knows the stop order. So it reports
//! the fault here, and the run stage, which waits for "interrupt *or* fault",
//! wakes up and runs the same graceful stop as for Ctrl+C. A panic in any
//! thread is reported here too, by the hook in [`crate::panics`].

use crossbeam::channel::Sender;

use crate::exit_code::Outcome;

/// What went wrong, in words a person can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A worker process exited while the application still needed it.
    WorkerDied { worker: String, detail: String },
    /// A thread of ours panicked: a bug. Its message is already logged.
    Panicked { thread: String },
}

impl Fault {
    /// The exit status the program ends with because of this fault.
    pub fn outcome(&self) -> Outcome {
        match self {
            Fault::WorkerDied { .. } => Outcome::WorkerDied,
            Fault::Panicked { .. } => Outcome::InternalFailure,
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::WorkerDied { worker, detail } => write!(f, "{worker} died: {detail}"),
            Fault::Panicked { thread } => write!(f, "thread '{thread}' panicked"),
        }
    }
}

/// A handle for reporting faults to the application; cheap to clone.
#[derive(Clone, Debug)]
pub struct FaultReporter(pub(crate) Sender<Fault>);

impl FaultReporter {
    /// Tells the application to stop because of `fault`. Never blocks.
    pub fn report(&self, fault: Fault) {
        // The application keeps the receiving end until it exits, so this
        // cannot fail while anyone is left to care.
        let _ = self.0.send(fault);
    }
}
