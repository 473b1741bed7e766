//! How the process ends: every exit status, what it means, and the few ways
//! out that do not return through `main`.
//! (Infrastructure: skip it on a first reading. Which status a run ends with
//! is decided in one `match`, `lifecycle::Ending::status`.)
//!
//! [`Exit`] is the one value every way out of the process goes through:
//! `main` returns it, and both programs' `--help`, the README's table and
//! the try-it scripts' reports are made from [`MEANINGS`] (a test checks
//! the README against it; the scripts read `--help`). A failure says which
//! status it ends the run with: `failure::Failure::status`. This file
//! depends on nothing of the crate, so every part can name a status.

use std::process::{ExitCode, Termination};

/// How the process ended, as its caller (a shell, `make`, systemd,
/// Kubernetes) learns it. The number is the exit code: `status as u8`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// A complete graceful shutdown after SIGTERM, SIGHUP or `--run-for`.
    Clean = 0,
    /// Bad usage; nothing was started.
    Usage = 2,
    /// Start failed; what had started was stopped again.
    StartFailed = 3,
    /// A worker process died; everything else was stopped gracefully.
    WorkerDied = 4,
    /// The graceful shutdown was abandoned (the deadline, a third signal).
    Abandoned = 5,
    /// A service's stop failed; the others were still stopped.
    StopFailed = 6,
    /// A panic (a bug); everything was stopped gracefully.
    Internal = 7,
    /// A complete graceful shutdown after Ctrl+C. The process normally dies
    /// of SIGINT instead of exiting with this (README, section 11), and 130
    /// is what a shell shows for that; PID 1, which cannot, exits with it.
    /// (On Windows the process ends with STATUS_CONTROL_C_EXIT.)
    DiedOfSigint = 130,
}

/// Every status with its meaning, in the order the docs list them: the
/// words of `--help` and of the README's table.
pub const MEANINGS: [(Exit, &str); 8] = [
    (Exit::Clean, "a complete graceful shutdown after SIGTERM, SIGHUP or --run-for"),
    (Exit::DiedOfSigint, "a complete graceful shutdown after Ctrl+C (at any stage, even during a stop that another signal began): the program then dies of SIGINT, so a calling shell loop, make or && chain stops too; as a container's PID 1, which cannot die of its own SIGINT, it exits with 130 (also: a Ctrl+C before the program's first instruction)"),
    (Exit::Usage, "bad usage: an unknown flag, a value out of range, or worker mode started by hand; nothing was started (also: --help or --version could not be written)"),
    (Exit::StartFailed, "start failed; what had started was stopped again (also: the signal handlers, the log writer or the stop's deadline could not be set up, before anything started)"),
    (Exit::WorkerDied, "a worker process died; everything else was stopped gracefully"),
    (Exit::Abandoned, "the graceful shutdown was abandoned: the stop overran --stop-timeout, or a third Ctrl+C or SIGTERM forced the exit"),
    (Exit::StopFailed, "a stop failed; the other services were still stopped"),
    (Exit::Internal, "internal failure (a panic, a bug); everything was stopped gracefully"),
];

impl Exit {
    /// Ends the process at once with this status, skipping the rest of
    /// `main`. Only for the ways out that cannot return through `main`:
    ///
    /// * the **forced exit** (`deadline::force_exit`, [`Exit::Abandoned`]),
    ///   from the stop-deadline thread or a signal thread, while the main
    ///   thread is stuck in the step it names;
    /// * a worker's **parent watch** ([`Exit::Clean`]), from its own thread,
    ///   when the parent is gone and the worker's main thread is busy;
    /// * the signal handlers, the log writer or the stop's deadline that
    ///   cannot be set up ([`Exit::StartFailed`]), from deep inside the
    ///   setup, before anything has started.
    pub fn end_process_now(self) -> ! {
        std::process::exit(i32::from(self as u8))
    }

    /// [`Exit::end_process_now`], after saying `why` on stderr, for the ways
    /// out before the log exists. In one `write`: a worker and its parent
    /// share stderr, and `eprintln!` may cut a line in pieces.
    pub fn end_process_saying(self, why: &str) -> ! {
        let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("{why}\n").as_bytes());
        self.end_process_now()
    }
}

impl Termination for Exit {
    fn report(self) -> ExitCode {
        ExitCode::from(self as u8)
    }
}

/// What a program with worker processes adds to the meaning of code 5.
const WORKERS_KILLED: &str = "; worker processes still running were killed first";

/// What the table says in Unix words, as Windows says it: no SIGTERM or
/// SIGHUP there, and Ctrl+C ends with a status, not a signal.
#[cfg(windows)]
const IN_WINDOWS_WORDS: [(&str, &str); 3] = [
    ("after SIGTERM, SIGHUP or --run-for", "after --run-for"),
    ("the program then dies of SIGINT", "the program then ends with STATUS_CONTROL_C_EXIT"),
    ("a third Ctrl+C or SIGTERM", "a third Ctrl+C or Ctrl+Break"),
];

/// The "Exit status" section of `--help`, leaving out the statuses a
/// program cannot end with (`simple` has no worker to die).
pub fn help(cannot_happen: &[Exit]) -> String {
    let with_workers = !cannot_happen.contains(&Exit::WorkerDied);
    let mut text = String::from("Exit status:\n");
    for (status, meaning) in MEANINGS.into_iter().filter(|(s, _)| !cannot_happen.contains(s)) {
        let code = match status {
            Exit::DiedOfSigint if cfg!(windows) => "0xC000013A".to_owned(),
            Exit::DiedOfSigint => "SIGINT".to_owned(),
            status => (status as u8).to_string(),
        };
        let more = if with_workers && status == Exit::Abandoned { WORKERS_KILLED } else { "" };
        text += &format!("  {code:>6}  {meaning}{more}\n");
    }
    text += "\nA failure's code outranks the interrupt. On Windows a graceful stop after Ctrl+C\n\
             ends with STATUS_CONTROL_C_EXIT (0xC000013A) instead of SIGINT.";
    #[cfg(windows)]
    for (unix, windows) in IN_WINDOWS_WORDS {
        text = text.replace(unix, windows);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_is_listed_once() {
        let mut codes: Vec<u8> = MEANINGS.iter().map(|(status, _)| *status as u8).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes, [0, 2, 3, 4, 5, 6, 7, 130]);
    }

    #[test]
    fn help_leaves_out_what_cannot_happen_without_workers() {
        assert!(!help(&[Exit::WorkerDied]).contains("worker process died"));
        assert!(help(&[]).contains("worker process died"));
        assert!(help(&[Exit::WorkerDied]).contains("third"));
    }
}
