//! Logging setup: one line format for every record of every process.
//!
//! The main process and its workers all write to the same terminal (workers
//! inherit its stderr), so each line says who wrote it:
//!
//! ```text
//! 2026-11-25T10:00:00.123Z | main | main | simple | INFO  | main: begin
//! 2026-11-25T10:00:00.345Z | worker-2 | engine | graceful::worker | DEBUG | call 7: process_number(1003)
//! ```
//!
//! timestamp (UTC, milliseconds) | process | thread | target | level | message.
//!
//! Each record is formatted into a buffer first and handed to stderr with one
//! `write`, so lines of different threads and processes never interleave
//! mid-line (writes to a pipe of up to 4 KiB are atomic).

use std::io::Write;

/// The project's own targets log at DEBUG, everything else at WARN.
/// `RUST_LOG` replaces this whole filter (e.g. `RUST_LOG=info`).
pub const DEFAULT_FILTER: &str = "warn,graceful=debug,simple=debug,complex=debug";

/// Sets up `log` for this process; `process` names it in every line
/// (`main`, `worker-1`, ...). Call once, before the first log record.
pub fn init(process: &str) {
    let process = process.to_owned();
    let env = env_logger::Env::default().default_filter_or(DEFAULT_FILTER);
    let result = env_logger::Builder::from_env(env)
        .format(move |buf, record| {
            let thread = std::thread::current();
            writeln!(
                buf,
                "{} | {} | {} | {} | {:<5} | {}",
                buf.timestamp_millis(),
                process,
                thread.name().unwrap_or("unnamed"),
                record.target(),
                record.level(),
                record.args()
            )
        })
        .try_init();
    if let Err(error) = result {
        // Only possible if a logger was already installed: keep that one.
        eprintln!("logging already set up ({error}); keeping the existing logger");
    }
}
