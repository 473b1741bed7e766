//! How a graceful run ends: why the program stopped, and the exit status
//! that tells its caller. Every status is decided here, in [`Ending::code`]
//! and [`Ending::exit`]; the table of them is [`crate::exit_code`].
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
//! do, after a complete graceful stop caused by Ctrl+C the process dies of
//! SIGINT *after* everything is stopped. SIGTERM and SIGHUP end with 0,
//! which systemd, docker and Kubernetes read as "it stopped cleanly".

use std::process::ExitCode;
use std::time::Instant;

use crate::exit_code::{self, CLEAN};
use crate::failure::Failure;
use crate::signals::{os, Signals};
use crate::{deadline, logging};

/// Why the program is stopping.
#[derive(Debug)]
pub enum StopReason {
    /// A service failed to start.
    StartFailed,
    /// A signal came during start; the run stage was skipped.
    InterruptedDuringStart,
    /// A signal came during the run stage.
    Interrupted,
    /// `--run-for` ended the run stage.
    RunTimeOver,
    /// A worker died or a thread panicked.
    Failed(Failure),
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::StartFailed => f.write_str("start failed"),
            StopReason::InterruptedDuringStart => f.write_str("interrupted during start"),
            StopReason::Interrupted => f.write_str("interrupted"),
            StopReason::RunTimeOver => f.write_str("--run-for time is over"),
            StopReason::Failed(failure) => write!(f, "{failure}"),
        }
    }
}

/// How the run went, for `main` to end the process with.
#[derive(Debug)]
pub struct Ending {
    /// Why the program stopped.
    pub reason: StopReason,
    /// Whether a service's stop failed.
    pub stop_failed: bool,
    /// Failures that came too late to be the reason (during the stop).
    pub late_failures: Vec<Failure>,
    /// When the stop had to be over: the log must be written out by then
    /// too, so that a stderr nobody reads cannot keep the program alive.
    pub stop_deadline: Instant,
    /// Asked at the last moment whether a Ctrl+C came.
    pub signals: &'static Signals,
}

impl Ending {
    /// The exit code the run calls for. The cause of the stop comes first; a
    /// failed stop next; then whatever went wrong during the stop. When a
    /// failure and an interrupt meet, the failure wins: it says more, and
    /// any non-zero status already stops `make`, `&&` and `set -e`.
    pub fn code(&self) -> u8 {
        match &self.reason {
            StopReason::StartFailed => exit_code::START_FAILED,
            StopReason::Failed(failure) => failure.exit_code(),
            _ if self.stop_failed => exit_code::STOP_FAILED,
            _ => self.late_failures.first().map_or(CLEAN, Failure::exit_code),
        }
    }

    /// Ends the process: `main`'s last expression, after `main: end`.
    /// Writes out the log (by the stop's deadline: a stderr that nobody reads
    /// must not keep the program alive past it), then returns the exit code
    /// or, after a clean stop that Ctrl+C began, dies of SIGINT.
    pub fn exit(self) -> ExitCode {
        let written = logging::finish(self.stop_deadline.saturating_duration_since(Instant::now()));
        deadline::claim_exit();
        match (written, self.code()) {
            (false, _) => ExitCode::from(exit_code::SHUTDOWN_ABANDONED),
            // Asked now: a Ctrl+C after `main: end` counts too.
            (true, CLEAN) if self.signals.ctrl_c_received() => os::die_of_sigint(),
            (true, code) => ExitCode::from(code),
        }
    }
}
