//! Exit status: what a calling shell, `make`, systemd or Kubernetes learns
//! about how the program ended, listed once.
//!
//! Each way of ending has its own status in [`STATUSES`]; both programs'
//! `--help` and the README's table are made from that list (a test checks
//! the README against it). Which one a run ends with is decided in
//! [`crate::ending`]: when a failure and an interrupt meet, the failure's
//! code wins, because it says more, and any non-zero status already stops
//! `make`, `&&` chains and `set -e` scripts.

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

/// Every exit status the programs use, in the order the docs list them:
/// the status, what it means, and whether only a program with worker
/// processes can end that way.
pub const STATUSES: &[(u8, &str, bool)] = &[
    (
        CLEAN,
        "a complete graceful shutdown after SIGTERM, SIGHUP or --run-for",
        false,
    ),
    (
        DIED_OF_SIGINT,
        "a complete graceful shutdown after Ctrl+C: the program then dies of SIGINT, so a \
         calling shell loop, make or && chain stops too (also: a Ctrl+C before the program's \
         first instruction)",
        false,
    ),
    (
        USAGE,
        "bad usage: an unknown flag, a value out of range, or worker mode started by hand; \
         nothing was started (also: --help or --version could not be written)",
        false,
    ),
    (
        START_FAILED,
        "start failed; what had started was stopped again",
        false,
    ),
    (
        WORKER_DIED,
        "a worker process died; everything else was stopped gracefully",
        true,
    ),
    (
        SHUTDOWN_ABANDONED,
        "the graceful shutdown was abandoned: the stop overran --stop-timeout, or a third \
         Ctrl+C or SIGTERM forced the exit; worker processes were killed",
        false,
    ),
    (
        STOP_FAILED,
        "a stop failed; the other services were still stopped",
        false,
    ),
    (
        INTERNAL_FAILURE,
        "internal failure (a panic, a bug); everything was stopped gracefully",
        false,
    ),
];

/// The "Exit status" section of `--help`.
pub fn help(with_workers: bool) -> String {
    let mut text = String::from("Exit status:\n");
    for &(status, meaning, workers_only) in STATUSES {
        if workers_only && !with_workers {
            continue;
        }
        let status = match status {
            DIED_OF_SIGINT => "SIGINT".to_owned(),
            status => status.to_string(),
        };
        text.push_str(&format!("  {status:>6}  {meaning}\n"));
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
    for &(status, meaning, workers_only) in STATUSES {
        let status = match status {
            DIED_OF_SIGINT => "130 (died of SIGINT)".to_owned(),
            status => status.to_string(),
        };
        let only = if workers_only {
            " (`complex` only)"
        } else {
            ""
        };
        table.push_str(&format!("| {status} | {meaning}{only} |\n"));
    }
    table
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
