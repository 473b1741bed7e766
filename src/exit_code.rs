//! Exit status: what a calling shell, `make`, systemd or Kubernetes learns
//! about how the program ended, decided in this one place.
//!
//! Each way of ending has its own status, listed once in [`STATUSES`]; both
//! programs' `--help` and the README's table are made from that list (a test
//! checks the README against it).
//!
//! # Why Ctrl+C does not end with 0
//!
//! A shell running a loop (`for f in *; do prog "$f"; done`), `make`, or an
//! `&&` chain decides whether *it* should stop by asking how its child
//! ended. Bash's rule ("wait and cooperative exit"): if the child *died of
//! SIGINT*, the user meant the whole script, so bash stops too; if the
//! child exited normally, the child must have used Ctrl+C for itself (as an
//! editor does), so the script goes on. A program that catches Ctrl+C,
//! stops gracefully and exits 0 therefore makes the user press Ctrl+C once
//! per file. The fix, used by bash itself and by Python for an uncaught
//! `KeyboardInterrupt`: finish the graceful stop, then restore SIGINT's
//! default action and raise it, so the process dies of SIGINT *after*
//! everything is stopped ([`Ending::exit`]).
//!
//! SIGTERM and SIGHUP still end with 0 after a graceful stop: systemd,
//! docker and Kubernetes send SIGTERM to ask for a stop, and read 0 as "it
//! stopped cleanly".
//!
//! When an interrupt and a failure meet (Ctrl+C, then a stop that fails),
//! the failure's code wins: it says more, and any non-zero status already
//! stops `make`, `&&` chains and `set -e` scripts.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::{abandon, children, logging};

/// A complete graceful shutdown after SIGTERM, SIGHUP or `--run-for`.
pub const CLEAN: u8 = 0;
/// A bad flag or value (clap's convention, also used by most Unix tools).
pub const USAGE: u8 = 2;
/// Start failed; whatever had started was stopped again.
pub const START_FAILED: u8 = 3;
/// A worker process died unexpectedly; the rest was stopped gracefully.
pub const WORKER_DIED: u8 = 4;
/// The graceful shutdown was abandoned: the stop overran `--stop-timeout`,
/// or a third Ctrl+C or SIGTERM forced the exit.
pub const SHUTDOWN_ABANDONED: u8 = 5;
/// A service's stop failed (an error or a panic); the other services were
/// still stopped.
pub const STOP_FAILED: u8 = 6;
/// A thread of ours panicked (a bug); everything that had started was
/// stopped gracefully.
pub const INTERNAL_FAILURE: u8 = 7;
/// What a shell shows for a process that died of SIGINT (128 + 2).
pub const DIED_OF_SIGINT: u8 = 130;

/// One documented exit status.
#[derive(Debug)]
pub struct Documented {
    /// As a shell shows it (`$?`).
    pub status: u8,
    /// What it means, in one sentence.
    pub meaning: &'static str,
    /// Only programs with worker processes can end this way.
    pub workers_only: bool,
}

/// Every exit status the programs use, in the order the docs list them.
pub const STATUSES: &[Documented] = &[
    Documented {
        status: CLEAN,
        meaning: "a complete graceful shutdown after SIGTERM, SIGHUP or --run-for",
        workers_only: false,
    },
    Documented {
        status: DIED_OF_SIGINT,
        meaning: "a complete graceful shutdown after Ctrl+C: the program then dies of SIGINT, \
                  so a calling shell loop, make or && chain stops too (also: a Ctrl+C before \
                  the program's first instruction)",
        workers_only: false,
    },
    Documented {
        status: USAGE,
        meaning:
            "bad usage: an unknown flag, a value out of range, or worker mode started by hand; \
                  nothing was started",
        workers_only: false,
    },
    Documented {
        status: START_FAILED,
        meaning: "start failed; what had started was stopped again",
        workers_only: false,
    },
    Documented {
        status: WORKER_DIED,
        meaning: "a worker process died; everything else was stopped gracefully",
        workers_only: true,
    },
    Documented {
        status: SHUTDOWN_ABANDONED,
        meaning:
            "the graceful shutdown was abandoned: the stop overran --stop-timeout, or a third \
                  Ctrl+C or SIGTERM forced the exit; worker processes were killed",
        workers_only: false,
    },
    Documented {
        status: STOP_FAILED,
        meaning: "a stop failed; the other services were still stopped",
        workers_only: false,
    },
    Documented {
        status: INTERNAL_FAILURE,
        meaning: "internal failure (a panic, a bug); everything was stopped gracefully",
        workers_only: false,
    },
];

/// The "Exit status" section of `--help`.
pub fn help(with_workers: bool) -> String {
    let mut text = String::from("Exit status:\n");
    for entry in STATUSES
        .iter()
        .filter(|entry| with_workers || !entry.workers_only)
    {
        let status = if entry.status == DIED_OF_SIGINT {
            "SIGINT".to_owned()
        } else {
            entry.status.to_string()
        };
        text.push_str(&format!("  {status:>6}  {}\n", entry.meaning));
    }
    text.push_str(
        "\nA failure's code outranks the interrupt. On Windows a graceful stop after Ctrl+C\n\
         ends with STATUS_CONTROL_C_EXIT (0xC000013A) instead of SIGINT.",
    );
    text
}

/// The README's table of exit statuses, as Markdown.
pub fn markdown_table() -> String {
    let mut table = String::from("| status | meaning |\n| --- | --- |\n");
    for entry in STATUSES {
        let status = if entry.status == DIED_OF_SIGINT {
            "130 (died of SIGINT)".to_owned()
        } else {
            entry.status.to_string()
        };
        let only = if entry.workers_only {
            " (`complex` only)"
        } else {
            ""
        };
        table.push_str(&format!("| {status} | {}{only} |\n", entry.meaning));
    }
    table
}

/// How a run of the application ended, as far as the exit status goes.
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
            Outcome::Clean => CLEAN,
            Outcome::StartFailed => START_FAILED,
            Outcome::WorkerDied => WORKER_DIED,
            Outcome::StopFailed => STOP_FAILED,
            Outcome::InternalFailure => INTERNAL_FAILURE,
        }
    }
}

/// Everything the last lines of `main` need to end the process correctly.
#[derive(Debug)]
pub struct Ending {
    /// How the run went.
    pub outcome: Outcome,
    /// The stop's deadline: the log must be written out by then.
    pub deadline: Option<Instant>,
}

impl Ending {
    /// An ending with nothing started and nothing to tell.
    pub fn clean() -> Ending {
        Ending {
            outcome: Outcome::Clean,
            deadline: None,
        }
    }

    /// Ends the process: call it after `main: end`, as `main`'s last
    /// expression. Writes out the log (by the stop's deadline: a stderr that
    /// nobody reads must not keep the program alive past it), makes sure no
    /// worker is left, and then either returns the exit code or, after a
    /// clean stop caused by Ctrl+C, dies of SIGINT.
    pub fn exit(self) -> ExitCode {
        let within = self.deadline.map_or(Duration::from_secs(30), |deadline| {
            deadline.saturating_duration_since(Instant::now())
        });
        let written = logging::finish(within);
        // Nothing should be left after a graceful stop; this is the net.
        children::kill_and_reap_all();
        // A third Ctrl+C or the stop deadline may have abandoned the
        // shutdown from another thread, even while the log above was being
        // written out to a slow stderr: then that thread ends the process
        // (exit code 5), not this one. Claimed only now, so that the escape
        // hatch works until the very end. See `abandon`.
        if !abandon::claim_exit() {
            abandon::wait_for_exit();
        }
        if !written {
            return ExitCode::from(SHUTDOWN_ABANDONED);
        }
        // Asked of the signal hub at the last moment, not remembered
        // earlier: a Ctrl+C that came after `main: end` still counts.
        if self.outcome == Outcome::Clean && crate::signals::ctrl_c_received() {
            die_of_ctrl_c();
        }
        ExitCode::from(self.outcome.code())
    }
}

/// Dies the way Ctrl+C would have killed us, now that we are done.
#[cfg(unix)]
fn die_of_ctrl_c() {
    // Restores SIGINT's default action (our handler is still installed) and
    // raises it: the process ends here, "killed by SIGINT". Only if that
    // fails do we fall back to the shell's number for it.
    let _ = signal_hook::low_level::emulate_default_handler(signal_hook::consts::SIGINT);
    std::process::exit(i32::from(DIED_OF_SIGINT));
}

/// Windows has no signals to die of; its convention for a console program
/// ended by Ctrl+C is the status STATUS_CONTROL_C_EXIT, which `cmd.exe` and
/// PowerShell recognise.
#[cfg(windows)]
fn die_of_ctrl_c() {
    const STATUS_CONTROL_C_EXIT: u32 = 0xC000_013A;
    std::process::exit(STATUS_CONTROL_C_EXIT as i32);
}

#[cfg(not(any(unix, windows)))]
fn die_of_ctrl_c() {
    std::process::exit(i32::from(DIED_OF_SIGINT));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_is_listed_once() {
        let mut codes: Vec<u8> = STATUSES.iter().map(|entry| entry.status).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes, [0, 2, 3, 4, 5, 6, 7, 130]);
    }

    #[test]
    fn help_leaves_out_what_cannot_happen_without_workers() {
        assert!(!help(false).contains("worker process died"));
        assert!(help(true).contains("worker process died"));
        assert!(help(false).contains("third"));
    }
}
