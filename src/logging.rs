//! Logging: one line format for every record of every process, written by a
//! thread of its own so that no log call can ever hold up the program.
//!
//! The main process and its workers all write to the same stderr (workers
//! inherit it), so each line says who wrote it:
//!
//! ```text
//! 2026-11-25T10:00:00.123Z | main | main | simple | INFO  | main: begin
//! 2026-11-25T10:00:00.345Z | worker-2 | main | graceful::worker | DEBUG | call 7: process_number(1003)
//! ```
//!
//! timestamp (UTC, milliseconds) | process | thread | target | level | message.
//!
//! # Why a writer thread
//!
//! Writing to stderr can block: a terminal paused with Ctrl+S, a pipe whose
//! reader went to sleep (`| less` waiting at a prompt), a full journald
//! socket. If the thread that handles Ctrl+C wrote its own "interrupting"
//! line, a blocked stderr would block the interrupt, and with it the whole
//! shutdown; if the stop-deadline watchdog wrote its ERROR first, the
//! deadline would never fire. So a log call only *queues* its line, and one
//! `log-writer` thread does the writing. A blocked stderr then blocks that
//! thread alone. Lines wait in the queue, in order, until stderr drains;
//! past [`MAX_QUEUED_BYTES`] new records are counted and dropped instead
//! (the count is logged once the queue has room), so memory stays bounded
//! even if stderr never drains.
//!
//! # Order and time
//!
//! Each record takes its timestamp and its place in the queue under one
//! lock, so within a process the log is in the order things were logged,
//! and its time never goes backwards (a wall clock stepped back by NTP is
//! held at the last time shown). Each line is handed to stderr in a single
//! `write`, so lines of different processes never interleave mid-line
//! (writes of up to 4 KiB to a pipe are atomic).
//!
//! Across processes there is no shared order: the parent and a worker each
//! have their own queue and writer. Where one process's line is the cause
//! of another's (the manager's "stopping the workers" and the workers'
//! `stopped`; a worker's `started` and the manager's "worker-1 started"),
//! the cause is written out with [`write_out_before_acting`] before the
//! other process can hear of it.
//!
//! # Colour
//!
//! Levels are coloured (ERROR and WARN stand out, DEBUG is dimmed) and the
//! process column tells the parent from its workers, when stderr is a
//! terminal. Never in a file or a pipe; off when `NO_COLOR` is set (see
//! no-color.org); `RUST_LOG_STYLE=always|never` forces it either way, as
//! for any `env_logger` program.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crossbeam::channel::{self, Receiver, Sender};
use log::{Level, Log, Metadata, Record};

use crate::lock;

/// How much log text may wait for a blocked stderr before new records are
/// dropped (and counted). Heavy DEBUG logging fills it in hours, not seconds.
pub const MAX_QUEUED_BYTES: usize = 8 * 1024 * 1024;

/// The filter when `RUST_LOG` is not set: the library and the program
/// `program` log at DEBUG, every other crate at WARN. `RUST_LOG` replaces
/// the whole filter (e.g. `RUST_LOG=info`).
pub fn default_filter(program: &str) -> String {
    format!("warn,graceful=debug,{program}=debug")
}

/// Sets up `log` for this process. `program` is the binary's crate name
/// (for the default filter); `process` names this process in every line
/// (`main`, `worker-1`...). Call once, before the first log record.
pub fn init(program: &str, process: &str) {
    let filter = env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or(default_filter(program)),
    )
    .build();
    let max_level = filter.filter();
    let (lines, queue) = channel::unbounded();
    let queued_bytes = Arc::new(AtomicUsize::new(0));
    let writer = {
        let queued_bytes = queued_bytes.clone();
        thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || write_lines(&queue, &queued_bytes))
    };
    let writer = match writer {
        Ok(writer) => writer,
        Err(cause) => {
            // Without the writer there is nowhere to send lines; say so the
            // only way left and run without a log rather than not at all.
            eprintln!("{process}: cannot start the log writer ({cause}); logging is off");
            return;
        }
    };
    let logger = LOGGER.get_or_init(|| Logger {
        filter,
        process: process.to_owned(),
        colour: colour_wanted(),
        queue: Mutex::new(Queue {
            lines: Some(lines),
            last_time: UNIX_EPOCH,
            dropped: 0,
        }),
        queued_bytes,
    });
    *lock(&WRITER) = Some(writer);
    if log::set_logger(logger).is_ok() {
        log::set_max_level(max_level);
    }
}

/// How long [`write_out_before_acting`] waits for a slow stderr.
const BEFORE_ACTING: Duration = Duration::from_millis(100);

/// Writes out every line logged so far, before an action that another
/// process will answer (see "Order and time" above), so the answer cannot
/// reach the log first. Waits at most 100 ms: a stderr that nobody reads
/// must not hold up the action, which then goes on with its line queued.
pub fn write_out_before_acting() {
    let _ = flush(BEFORE_ACTING);
}

/// Waits until every line logged so far has been written, for at most
/// `within`; returns whether it got there. Logging goes on afterwards.
fn flush(within: Duration) -> bool {
    let Some(logger) = LOGGER.get() else {
        return true;
    };
    let (done, written) = channel::bounded(1);
    if let Some(lines) = &lock(&logger.queue).lines {
        let _ = lines.send(Message::Flush(done));
    } else {
        return true;
    }
    written.recv_timeout(within).is_ok()
}

/// The last call: takes no more records (nothing is printed after it, not
/// even by another thread), writes out what is queued within `within`, and
/// joins the writer thread. Returns whether everything was written; if
/// stderr stayed blocked, the writer is left behind for `exit` to end.
pub fn finish(within: Duration) -> bool {
    close().write_out(within)
}

/// The first half of [`finish`]: from now on every record is dropped, so
/// the line just logged is this process's last, whatever other threads do
/// next. Writing out what is queued is left to [`Closed::write_out`], so the
/// caller can do urgent work (kill the workers) in between.
pub fn close() -> Closed {
    let written = LOGGER.get().and_then(|logger| {
        // Taking the sender closes the queue: the writer ends once it is empty.
        let lines = lock(&logger.queue).lines.take()?;
        let (done, written) = channel::bounded(1);
        let _ = lines.send(Message::Flush(done));
        Some(written)
    });
    Closed { written }
}

/// A closed log whose last lines may still be on their way to stderr.
#[derive(Debug)]
#[must_use = "the queued lines are written out only by `write_out`"]
pub struct Closed {
    /// Answered by the writer once the last queued line is written; `None`
    /// if logging was never set up or was already closed.
    written: Option<Receiver<()>>,
}

impl Closed {
    /// Waits until the queued lines are written, for at most `within`, then
    /// joins the writer thread. Returns whether everything was written.
    pub fn write_out(self, within: Duration) -> bool {
        let Some(written) = self.written else {
            return true;
        };
        if written.recv_timeout(within).is_err() {
            return false;
        }
        if let Some(writer) = lock(&WRITER).take() {
            let _ = writer.join();
        }
        true
    }
}

static LOGGER: OnceLock<Logger> = OnceLock::new();
static WRITER: Mutex<Option<JoinHandle<()>>> = Mutex::new(None);

struct Logger {
    filter: env_logger::Logger,
    process: String,
    colour: bool,
    queue: Mutex<Queue>,
    /// Bytes queued and not yet written; shared with the writer thread.
    queued_bytes: Arc<AtomicUsize>,
}

struct Queue {
    /// `None` once [`finish`] has run.
    lines: Option<Sender<Message>>,
    /// The timestamp of the last line queued.
    last_time: SystemTime,
    /// Records dropped since the queue was last below its limit.
    dropped: u64,
}

enum Message {
    Line(Vec<u8>),
    /// Answered once every line queued before it has been written.
    Flush(Sender<()>),
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.filter.enabled(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        if !self.filter.matches(record) {
            return;
        }
        // Formatting happens outside the lock; only the timestamp and the
        // place in the queue are taken under it.
        let thread = thread::current();
        let thread = thread.name().unwrap_or("unnamed");
        let rest = self.columns(thread, record.target(), record.level(), &record.args());
        let mut queue = lock(&self.queue);
        let now = SystemTime::now().max(queue.last_time);
        queue.last_time = now;
        let Some(lines) = &queue.lines else {
            return;
        };
        let stamp = self.timestamp(now);
        let size = stamp.len() + rest.len();
        if self.queued_bytes.load(Ordering::Relaxed) + size > MAX_QUEUED_BYTES {
            queue.dropped += 1;
            return;
        }
        let mut line = Vec::with_capacity(size + 128);
        if queue.dropped > 0 {
            let notice = format!(
                "{} log record(s) dropped: stderr was not being read",
                queue.dropped
            );
            line.extend_from_slice(stamp.as_bytes());
            line.extend_from_slice(
                self.columns(thread, module_path!(), Level::Warn, &notice)
                    .as_bytes(),
            );
        }
        line.extend_from_slice(stamp.as_bytes());
        line.extend_from_slice(rest.as_bytes());
        self.queued_bytes.fetch_add(line.len(), Ordering::Relaxed);
        if lines.send(Message::Line(line)).is_ok() {
            queue.dropped = 0;
        }
    }

    fn flush(&self) {}
}

// ANSI styles, written out: five of them do not need a crate.
const RESET: &str = "\x1b[0m";
const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const BOLD_RED: &str = "\x1b[1;31m";
const BOLD_YELLOW: &str = "\x1b[1;33m";
const GREEN: &str = "\x1b[32m";
const BOLD_CYAN: &str = "\x1b[1;36m";
const MAGENTA: &str = "\x1b[35m";

impl Logger {
    fn timestamp(&self, time: SystemTime) -> String {
        let text = format_utc(time);
        if self.colour {
            format!("{DIM}{text}{RESET}")
        } else {
            text
        }
    }

    /// Everything after the timestamp, newline included.
    fn columns(
        &self,
        thread: &str,
        target: &str,
        level: Level,
        message: &dyn std::fmt::Display,
    ) -> String {
        let process = &self.process;
        if !self.colour {
            return format!(" | {process} | {thread} | {target} | {level:<5} | {message}\n");
        }
        let process_style = if process == "main" {
            BOLD_CYAN
        } else {
            MAGENTA
        };
        let (level_style, message_style) = match level {
            Level::Error => (BOLD_RED, BOLD),
            Level::Warn => (BOLD_YELLOW, ""),
            Level::Info => (GREEN, ""),
            Level::Debug | Level::Trace => (DIM, DIM),
        };
        format!(
            " | {process_style}{process}{RESET} | {thread} | {target} | \
             {level_style}{level:<5}{RESET} | {message_style}{message}{RESET}\n"
        )
    }
}

/// The writer thread: the only code that touches stderr once logging is set
/// up. A failed write (the reader closed the pipe) loses that line and
/// nothing else: the program does not depend on being heard.
fn write_lines(queue: &Receiver<Message>, queued_bytes: &AtomicUsize) {
    let mut stderr = std::io::stderr();
    for message in queue {
        match message {
            Message::Line(line) => {
                let _ = stderr.write_all(&line);
                queued_bytes.fetch_sub(line.len(), Ordering::Relaxed);
            }
            Message::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
}

fn colour_wanted() -> bool {
    match std::env::var("RUST_LOG_STYLE").as_deref() {
        Ok("always") => return true,
        Ok("never") => return false,
        _ => {}
    }
    if std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty()) {
        return false;
    }
    std::io::stderr().is_terminal()
}

/// `2026-11-25T10:00:00.123Z`: UTC, to the millisecond.
fn format_utc(time: SystemTime) -> String {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs();
    let (year, month, day) = civil_from_days(seconds / 86_400);
    let in_day = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3600,
        in_day / 60 % 60,
        in_day % 60,
        since_epoch.subsec_millis()
    )
}

/// Days since 1970-01-01 to a (year, month, day) of the Gregorian calendar
/// (Howard Hinnant's `civil_from_days`, for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let shifted = days + 719_468; // days since 0000-03-01
    let era = shifted / 146_097;
    let day_of_era = shifted % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_with_milliseconds() {
        assert_eq!(format_utc(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let time = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(format_utc(time), "2023-11-14T22:13:20.123Z");
        let leap_day = UNIX_EPOCH + Duration::from_secs(1_709_164_800);
        assert_eq!(format_utc(leap_day), "2024-02-29T00:00:00.000Z");
        let new_year = UNIX_EPOCH + Duration::from_secs(1_798_761_599);
        assert_eq!(format_utc(new_year), "2026-12-31T23:59:59.000Z");
    }

    #[test]
    fn default_filter_names_the_program() {
        assert_eq!(default_filter("simple"), "warn,graceful=debug,simple=debug");
    }
}
