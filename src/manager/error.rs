//! What can go wrong between the manager and its workers, said precisely:
//! each error names the worker (and call) it is about.

use std::io;

/// A manager call, start or update that did not succeed.
#[derive(Debug)]
pub enum ManagerError {
    /// The worker program could not be started at all.
    Spawn {
        /// The worker that could not be started.
        worker: String,
        /// What the operating system said.
        cause: io::Error,
    },
    /// A worker exited, or missed its deadline, during start.
    StartFailed {
        /// The workers concerned, e.g. `worker-1, worker-3`.
        workers: String,
        /// What happened to them, e.g. `exited (exit status: 7) before it started`.
        reason: String,
    },
    /// `start` was called on a manager that had been started already.
    AlreadyStarted,
    /// Calls and updates are accepted only between start and stop.
    NotRunning,
    /// The worker processing this call (or update) exited.
    WorkerDied {
        /// The worker that exited.
        worker: String,
        /// How it ended, e.g. `exit status: 7`.
        status: String,
    },
    /// The worker answered the call with an error.
    CallFailed {
        /// The worker that answered.
        worker: String,
        /// The worker's error message.
        message: String,
    },
    /// No reply within the call timeout; the caller gave up.
    CallTimedOut {
        /// The call's number (1-based, in the order calls were made).
        id: u64,
    },
    /// The manager stopped before this call got its result.
    StoppedWhileWaiting {
        /// The call's number.
        id: u64,
    },
    /// The manager stopped before every worker had updated.
    StoppedWhileUpdating,
    /// Some workers did not finish the update in time.
    UpdateTimedOut {
        /// The workers that had not answered.
        workers: String,
    },
}

impl std::fmt::Display for ManagerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ManagerError::Spawn { worker, cause } => write!(f, "cannot start {worker}: {cause}"),
            ManagerError::StartFailed { workers, reason } => write!(f, "{workers} {reason}"),
            ManagerError::AlreadyStarted => {
                f.write_str("the manager was started already; a manager starts once")
            }
            ManagerError::NotRunning => f.write_str("the manager is not running"),
            ManagerError::WorkerDied { worker, status } => {
                write!(f, "{worker} died ({status})")
            }
            ManagerError::CallFailed { worker, message } => write!(f, "{worker}: {message}"),
            ManagerError::CallTimedOut { id } => write!(f, "call {id}: no result in time"),
            ManagerError::StoppedWhileWaiting { id } => {
                write!(f, "call {id}: stopped while waiting for the result")
            }
            ManagerError::StoppedWhileUpdating => f.write_str("stopped while updating"),
            ManagerError::UpdateTimedOut { workers } => {
                write!(f, "update: no answer in time from {workers}")
            }
        }
    }
}

impl std::error::Error for ManagerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ManagerError::Spawn { cause, .. } => Some(cause),
            _ => None,
        }
    }
}
