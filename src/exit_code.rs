//! Exit codes: what a calling shell, systemd or Kubernetes learns about how
//! the program ended. Each way of ending has its own code, documented in the
//! README, so a supervisor can tell a clean stop from a crash.

use std::process::ExitCode;

/// A complete graceful shutdown, after a signal or `--run-for`.
pub const CLEAN: u8 = 0;
/// A bad flag or value (clap's convention, also used by most Unix tools).
pub const USAGE: u8 = 2;
/// Start failed; whatever had started was stopped again.
pub const START_FAILED: u8 = 3;
/// A worker process died unexpectedly; the rest was stopped gracefully.
pub const WORKER_DIED: u8 = 4;
/// The stop overran `--stop-timeout`; the program gave up on it.
pub const STOP_TIMED_OUT: u8 = 5;
/// A service's stop failed (an error or a panic); the other services were
/// still stopped.
pub const STOP_FAILED: u8 = 6;
/// A thread of ours panicked (a bug); everything that had started was
/// stopped gracefully.
pub const INTERNAL_FAILURE: u8 = 7;

/// How a run of the application ended, as far as the exit status goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Clean,
    StartFailed,
    WorkerDied,
    StopFailed,
    InternalFailure,
}

impl Outcome {
    pub fn code(self) -> u8 {
        match self {
            Outcome::Clean => CLEAN,
            Outcome::StartFailed => START_FAILED,
            Outcome::WorkerDied => WORKER_DIED,
            Outcome::StopFailed => STOP_FAILED,
            Outcome::InternalFailure => INTERNAL_FAILURE,
        }
    }

    pub fn exit_code(self) -> ExitCode {
        ExitCode::from(self.code())
    }
}
