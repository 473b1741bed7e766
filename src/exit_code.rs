//! Every exit status, listed once: what a calling shell, `make`, systemd or
//! Kubernetes learns about how the program ended.
//! (Infrastructure: skip it on a first reading.)
//!
//! Both programs' `--help` and the README's table are made from [`STATUSES`]
//! (a test builds the table and checks the README against it). Which one a
//! run ends with is decided in one place, [`crate::ending::Ending::code`].

#![allow(missing_docs)] // each constant is documented by its line in STATUSES

pub const CLEAN: u8 = 0;
pub const USAGE: u8 = 2;
pub const START_FAILED: u8 = 3;
pub const WORKER_DIED: u8 = 4;
pub const SHUTDOWN_ABANDONED: u8 = 5;
pub const STOP_FAILED: u8 = 6;
pub const INTERNAL_FAILURE: u8 = 7;
/// What a shell shows for a process that died of SIGINT (128 + 2).
pub const DIED_OF_SIGINT: u8 = 130;

/// Every exit status, in the order the docs list them, with its meaning.
pub const STATUSES: [(u8, &str); 8] = [
    (CLEAN, "a complete graceful shutdown after SIGTERM, SIGHUP or --run-for"),
    (DIED_OF_SIGINT, "a complete graceful shutdown after Ctrl+C: the program then dies of SIGINT, so a calling shell loop, make or && chain stops too; as a container's PID 1, which cannot die of its own SIGINT, it exits with 130 (also: a Ctrl+C before the program's first instruction)"),
    (USAGE, "bad usage: an unknown flag, a value out of range, or worker mode started by hand; nothing was started (also: --help or --version could not be written)"),
    (START_FAILED, "start failed; what had started was stopped again"),
    (WORKER_DIED, "a worker process died; everything else was stopped gracefully"),
    (SHUTDOWN_ABANDONED, "the graceful shutdown was abandoned: the stop overran --stop-timeout, or a third Ctrl+C or SIGTERM forced the exit"),
    (STOP_FAILED, "a stop failed; the other services were still stopped"),
    (INTERNAL_FAILURE, "internal failure (a panic, a bug); everything was stopped gracefully"),
];

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

/// The "Exit status" section of `--help` (a program without worker
/// processes leaves out the status only they can cause).
pub fn help(with_workers: bool) -> String {
    let mut text = String::from("Exit status:\n");
    for (code, meaning) in STATUSES {
        if code == WORKER_DIED && !with_workers {
            continue;
        }
        let status = match code {
            DIED_OF_SIGINT if cfg!(windows) => "0xC000013A".to_owned(),
            DIED_OF_SIGINT => "SIGINT".to_owned(),
            code => code.to_string(),
        };
        let more = if with_workers && code == SHUTDOWN_ABANDONED { WORKERS_KILLED } else { "" };
        text += &format!("  {status:>6}  {meaning}{more}\n");
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
        let mut codes: Vec<u8> = STATUSES.iter().map(|entry| entry.0).collect();
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
