//! Logging: one line format for every process, written by a thread of its
//! own so that no log call can hold up the program.
//! (Infrastructure and hardening: skip it on a first reading.)
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
//! The pieces come from crates: `env_logger` reads the `RUST_LOG` filter,
//! `anstyle` names the colours, `anstream` decides whether this stderr
//! wants them, `jiff` prints the time. What is ours is the writer thread.
//!
//! # Why a writer thread
//!
//! Writing to stderr can block: a pipe whose reader went to sleep (`| less`
//! waiting at a prompt), a full journald socket. If the thread that handles
//! Ctrl+C wrote its own "interrupting" line, a blocked stderr would block the
//! interrupt, and with it the whole shutdown; if the stop-deadline watchdog
//! wrote its ERROR first, the deadline would never fire. So a log call only
//! *queues* its line, and one `log-writer` thread does the writing. A blocked
//! stderr then blocks that thread alone.
//!
//! A log call takes no lock: it formats its line, counts its bytes with an
//! atomic and hands it to a channel. So no thread ever waits for another one
//! that is formatting, allocating or writing. Lines wait in the queue, in
//! order, until stderr drains (a stderr left non-blocking is waited for as a
//! blocking one is), so a reader that comes back before the stop's deadline
//! gets every line. Memory stays bounded even if stderr never drains: past
//! [`MAX_QUEUED_BYTES`] new records are dropped and counted instead, DEBUG
//! ones already at a quarter of it, so that the stop's own lines still fit
//! after a long blocked run. Nothing is lost in silence: the count is
//! logged as a line of its own as soon as there is room, and by [`finish`].
//!
//! # Order and time
//!
//! Within a process the log is in the order things were logged, and the
//! writer never lets time go backwards (two threads can take their
//! timestamps in one order and queue their lines in the other; a wall clock
//! stepped back by NTP does the same): a line older than the one before it
//! shows the earlier line's time. Each line is handed to stderr in a single
//! `write`, so lines of different processes never interleave mid-line
//! (writes of up to 4 KiB to a pipe are atomic).
//!
//! Across processes there is no shared order: the parent and a worker each
//! have their own queue and writer. Where one process's line is the cause
//! of another's (the manager's "stopping the workers" and the workers'
//! `stopped`), the cause is written out with `log::logger().flush()`
//! before the other process can hear of it.
//!
//! # Colour
//!
//! Levels are coloured (ERROR and WARN stand out, DEBUG is dimmed) and the
//! process column tells the parent from its workers, when stderr is a
//! terminal that wants colour. `anstream` decides, with the conventions
//! every tool shares: not in a file or a pipe, not with `NO_COLOR` or
//! `TERM=dumb` (unless `CI` is set: a CI's terminal is taken to render
//! colour), always with `CLICOLOR_FORCE`. `RUST_LOG_STYLE=always|never`
//! forces it either way, as for any `env_logger` program.

use std::io::{ErrorKind, Write};
#[cfg(unix)]
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime};

use anstream::ColorChoice;
use anstyle::{AnsiColor, Style};
use crossbeam::channel::{self, Receiver, Sender};
use log::{Level, Log, Metadata, Record};

use crate::exit::Exit;

/// What stands between two columns of a log line (read back by
/// [`crate::log_line`]).
pub const SEPARATOR: &str = " | ";

/// How much log text may wait for a blocked stderr before new records are
/// dropped (and counted); DEBUG and TRACE ones, past a quarter of it.
pub const MAX_QUEUED_BYTES: usize = 4 * 1024 * 1024;

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
    let default = default_filter(program);
    let asked = std::env::var("RUST_LOG").ok();
    let refused = asked.as_deref().and_then(refused_filter);
    let spec = asked.filter(|_| refused.is_none()).unwrap_or(default.clone());
    let filter = env_logger::Builder::new().parse_filters(&spec).build();
    let max_level = filter.filter();
    let (lines, queue) = channel::unbounded();
    let colour = colour_wanted();
    let writer = thread::Builder::new().name("log-writer".into());
    let write = move || write_lines(&queue, colour, std::io::stderr(), until_stderr_has_room);
    let writer = match writer.spawn(write) {
        Ok(writer) => Mutex::new(Some(writer)),
        // Without the writer there is nowhere to send lines: say so the only
        // way left, and start nothing that could not be heard.
        Err(cause) => Exit::StartFailed.end_process_saying(&format!(
            "{process}: cannot start the log writer ({cause}); nothing has started"
        )),
    };
    let process = process.to_owned();
    let logger = LOGGER.get_or_init(|| Logger { filter, process, colour, lines, writer });
    if log::set_logger(logger).is_ok() {
        log::set_max_level(max_level);
    }
    if let Some(refused) = refused {
        log::warn!("{refused}; using the default filter, {default}");
    }
}

/// Why `spec` (from `RUST_LOG`) cannot be the filter, if it cannot. Asked
/// here, not left to env_logger, which would write its warning to stderr
/// itself, from the thread that sets up logging: a full pipe would block
/// the start. The answer goes into the log instead.
fn refused_filter(spec: &str) -> Option<String> {
    let cause = env_filter::Builder::new().try_parse(spec).err()?;
    Some(format!("RUST_LOG={spec:?} is not a valid filter ({cause})"))
}

/// The last call: takes no more records (so the line just logged is this
/// process's last, whatever other threads do next), writes out what is
/// queued within `within`, and joins the writer thread. Returns whether
/// everything was written; if stderr stayed blocked, the writer is left
/// behind for `exit` to end, and the lines still queued are lost.
pub fn finish(within: Duration) -> bool {
    CLOSED.store(true, SeqCst);
    let Some(logger) = LOGGER.get() else { return true };
    // The exit's last word: records dropped since the last line that fitted.
    let me = thread::current();
    logger.say_how_many_were_dropped(SystemTime::now(), me.name().unwrap_or("unnamed"));
    let written = logger.written_out(within, true);
    // Not `crate::lock`: the log is below everything else, the deadline included.
    let writer = logger.writer.lock().unwrap_or_else(PoisonError::into_inner).take();
    if let Some(writer) = writer.filter(|_| written) {
        let _ = writer.join();
    }
    written
}

static LOGGER: OnceLock<Logger> = OnceLock::new();
/// Set by [`finish`]: every record from then on is dropped (but those of a
/// thread that [`close_to_other_threads`]).
static CLOSED: AtomicBool = AtomicBool::new(false);
thread_local! {
    static HAS_THE_LAST_WORD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Takes no more records, but this thread's: the forced exit's ERROR is
/// then the last line, whatever the other threads do meanwhile.
pub fn close_to_other_threads() {
    HAS_THE_LAST_WORD.set(true);
    CLOSED.store(true, SeqCst);
}
/// Bytes queued and not yet written (the writer takes them off), and the
/// records dropped since the queue was last below its limit.
static QUEUED_BYTES: AtomicUsize = AtomicUsize::new(0);
static DROPPED: AtomicU64 = AtomicU64::new(0);

struct Logger {
    filter: env_logger::Logger,
    process: String,
    colour: bool,
    lines: Sender<Message>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

enum Message {
    Line {
        time: SystemTime,
        text: String,
    },
    /// Answered once every line queued before it has been written; after
    /// the `last` one, the writer ends (whatever comes later is not written).
    Flush {
        done: Sender<()>,
        last: bool,
    },
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.filter.enabled(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        if !self.filter.matches(record) || (CLOSED.load(SeqCst) && !HAS_THE_LAST_WORD.get()) {
            return;
        }
        let time = SystemTime::now();
        let thread = thread::current();
        let thread = thread.name().unwrap_or("unnamed");
        let text = self.columns(thread, record.target(), record.level(), record.args());
        let limit = MAX_QUEUED_BYTES / if record.level() > Level::Info { 4 } else { 1 };
        if QUEUED_BYTES.fetch_add(text.len(), SeqCst) + text.len() > limit {
            QUEUED_BYTES.fetch_sub(text.len(), SeqCst);
            DROPPED.fetch_add(1, SeqCst);
            return;
        }
        // The first line that fits after a gap says how big the gap was.
        self.say_how_many_were_dropped(time, thread);
        let _ = self.lines.send(Message::Line { time, text });
    }

    /// Writes out every line logged so far, before an action that another
    /// process will answer (see "Order and time" above), so the answer
    /// cannot reach the log first. Waits at most 100 ms: a stderr that
    /// nobody reads must not hold up the action.
    fn flush(&self) {
        self.written_out(Duration::from_millis(100), false);
    }
}

impl Logger {
    /// Queues a line saying how many records were dropped, if any were.
    fn say_how_many_were_dropped(&self, time: SystemTime, thread: &str) {
        let dropped = DROPPED.swap(0, SeqCst);
        if dropped > 0 {
            let notice = format!(
                "{dropped} log record(s) dropped: stderr was not being read, or refused them"
            );
            let notice = self.columns(thread, module_path!(), Level::Warn, &notice);
            QUEUED_BYTES.fetch_add(notice.len(), SeqCst);
            let _ = self.lines.send(Message::Line { time, text: notice });
        }
    }

    /// Waits until the lines queued so far are written, for at most `within`.
    fn written_out(&self, within: Duration, last: bool) -> bool {
        let (done, written) = channel::bounded(1);
        self.lines.send(Message::Flush { done, last }).is_ok()
            && written.recv_timeout(within).is_ok()
    }

    /// Everything after the timestamp, newline included.
    fn columns(
        &self,
        thread: &str,
        target: &str,
        level: Level,
        message: &dyn std::fmt::Display,
    ) -> String {
        let paint = |style: Style| if self.colour { style } else { Style::new() };
        let process = paint(match self.process.as_str() {
            "main" => AnsiColor::Cyan.on_default().bold(),
            _ => AnsiColor::Magenta.on_default(),
        });
        let level_style = paint(match level {
            Level::Error => AnsiColor::Red.on_default().bold(),
            Level::Warn => AnsiColor::Yellow.on_default().bold(),
            Level::Info => AnsiColor::Green.on_default(),
            Level::Debug | Level::Trace => Style::new().dimmed(),
        });
        let (name, s) = (&self.process, SEPARATOR);
        format!("{s}{process}{name}{process:#}{s}{thread}{s}{target}{s}{level_style}{level:<5}{level_style:#}{s}{message}\n")
    }
}

/// The writer thread: the only code that touches stderr once logging is set
/// up. A failed write (the reader closed the pipe, the terminal is gone, a
/// file reached `ulimit -f`) loses that line and nothing else: the program
/// does not depend on being heard. The line is counted with the dropped
/// ones, so the next line that gets through says how many were lost. A
/// stderr that is full and non-blocking (a parent may leave it so) is no
/// failure: `until_room` waits, as a blocking write would have.
fn write_lines(queue: &Receiver<Message>, colour: bool, mut out: impl Write, until_room: fn()) {
    let dim = if colour { Style::new().dimmed() } else { Style::new() };
    let (mut shown, mut line) = (SystemTime::UNIX_EPOCH, Vec::new());
    for message in queue {
        match message {
            Message::Line { time, text } => {
                shown = shown.max(time);
                let stamp = jiff::Timestamp::try_from(shown).unwrap_or_default();
                line.clear();
                let _ = write!(line, "{dim}{stamp:.3}{dim:#}{text}");
                if write_whole(&mut out, &line, until_room).is_err() {
                    DROPPED.fetch_add(1, SeqCst);
                }
                QUEUED_BYTES.fetch_sub(text.len(), SeqCst);
            }
            Message::Flush { done, last } => {
                let _ = done.send(());
                if last {
                    return;
                }
            }
        }
    }
}

/// `write_all`, but a full non-blocking `out` is waited for with `until_room`.
fn write_whole(out: &mut impl Write, mut line: &[u8], until_room: fn()) -> std::io::Result<()> {
    while !line.is_empty() {
        match out.write(line) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(written) => line = &line[written..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => until_room(),
            Err(e) if e.kind() != ErrorKind::Interrupted => return Err(e),
            Err(_) => {}
        }
    }
    Ok(())
}

/// Waits until a stderr left non-blocking has room again.
fn until_stderr_has_room() {
    #[cfg(unix)]
    {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        let stderr = std::io::stderr();
        let _ = poll(&mut [PollFd::new(stderr.as_fd(), PollFlags::POLLOUT)], PollTimeout::NONE);
    }
    // Windows has no non-blocking console or pipe that std writes to.
    #[cfg(not(unix))]
    thread::yield_now();
}

/// Colour only where it is wanted: `RUST_LOG_STYLE` first (the `env_logger`
/// convention), then `anstream`'s reading of stderr and the environment.
fn colour_wanted() -> bool {
    let wanted = match std::env::var("RUST_LOG_STYLE").as_deref() {
        Ok("always") => true,
        Ok("never") => false,
        _ => anstream::AutoStream::choice(&std::io::stderr()) != ColorChoice::Never,
    };
    #[cfg(windows)]
    if wanted {
        // Turns on the console's escape codes (Windows 10 and later), which
        // are off by default for a console program.
        let _ = anstream::AutoStream::always_ansi(std::io::stderr());
    }
    wanted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_as_written_reads_back_column_by_column() {
        let logger = Logger {
            filter: env_logger::Builder::new().build(),
            process: "worker-2".to_owned(),
            colour: false,
            lines: channel::unbounded().0,
            writer: Mutex::new(None),
        };
        let text = logger.columns("pool-1", "graceful::manager", Level::Warn, &"a | b");
        let (sender, queue) = channel::unbounded();
        QUEUED_BYTES.fetch_add(text.len(), SeqCst);
        sender.send(Message::Line { time: SystemTime::UNIX_EPOCH, text }).unwrap();
        drop(sender);
        let mut out = Vec::new();
        write_lines(&queue, false, &mut out, || {});
        let out = String::from_utf8(out).unwrap();
        let line = crate::log_line::LogLine::parse(out.trim_end()).expect("a log line");
        let expected = crate::log_line::LogLine {
            time: "1970-01-01T00:00:00.000Z",
            process: "worker-2",
            thread: "pool-1",
            target: "graceful::manager",
            level: "WARN",
            message: "a | b",
        };
        assert_eq!(line, expected);
    }

    /// What the writer writes for `lines` (time, text), to `out`.
    fn written(lines: &[(u64, &str)], out: impl Write) {
        let (sender, queue) = channel::unbounded();
        for &(millis, text) in lines {
            let time = SystemTime::UNIX_EPOCH + Duration::from_millis(millis);
            QUEUED_BYTES.fetch_add(text.len(), SeqCst);
            sender.send(Message::Line { time, text: text.into() }).unwrap();
        }
        drop(sender);
        write_lines(&queue, false, out, || {});
    }

    #[test]
    fn time_never_goes_backwards_in_the_written_log() {
        let mut out = Vec::new();
        let lines = [(1_700_000_000_123, " | a\n"), (1_700_000_000_100, " | b\n")];
        written(&lines, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "2023-11-14T22:13:20.123Z | a\n2023-11-14T22:13:20.123Z | b\n");
    }

    #[test]
    fn each_line_goes_out_whole_in_a_write_of_its_own() {
        /// Keeps each `write` apart.
        struct Writes(Vec<Vec<u8>>);
        impl Write for &mut Writes {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.push(bytes.to_vec());
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let texts: Vec<String> = (0..50).map(|n| format!(" | line {n}\n")).collect();
        let lines: Vec<(u64, &str)> = texts.iter().map(|text| (0, text.as_str())).collect();
        let mut writes = Writes(Vec::new());
        written(&lines, &mut writes);
        let said: Vec<String> =
            writes.0.iter().map(|w| String::from_utf8_lossy(&w[24..]).into()).collect();
        assert_eq!(said, texts, "one whole line a write, every line, in order");
    }

    /// The counters are the process's: tests that read them take turns.
    static COUNTERS: Mutex<()> = Mutex::new(());

    #[test]
    fn past_a_quarter_of_the_limit_debug_is_dropped_and_the_rest_still_fits() {
        let _turn = COUNTERS.lock().unwrap_or_else(PoisonError::into_inner);
        let (lines, queue) = channel::unbounded();
        let logger = Logger {
            filter: env_logger::Builder::new().parse_filters("debug").build(),
            process: "main".to_owned(),
            colour: false,
            lines,
            writer: Mutex::new(None),
        };
        let log = |level, text: &str| {
            let args = format_args!("{text}");
            logger.log(&Record::builder().level(level).target("t").args(args).build());
        };
        let (queued, dropped) = (QUEUED_BYTES.load(SeqCst), DROPPED.load(SeqCst));
        QUEUED_BYTES.fetch_add(MAX_QUEUED_BYTES / 4, SeqCst);
        log(Level::Debug, "a call");
        log(Level::Info, "stop: end");
        logger.say_how_many_were_dropped(SystemTime::now(), "main");
        QUEUED_BYTES.store(queued, SeqCst);
        DROPPED.store(dropped, SeqCst);
        let said: Vec<String> = queue
            .try_iter()
            .filter_map(|message| match message {
                Message::Line { text, .. } => Some(text),
                Message::Flush { .. } => None,
            })
            .collect();
        assert_eq!(said.len(), 2, "{said:?}");
        assert!(
            said[0].ends_with(
                "| WARN  | 1 log record(s) dropped: stderr was not being read, or refused them\n"
            ),
            "{said:?}"
        );
        assert!(said[1].ends_with("| INFO  | stop: end\n"), "{said:?}");
    }

    #[test]
    fn a_full_non_blocking_stderr_is_waited_for_not_counted_as_a_loss() {
        /// Full on every other write.
        struct Full(bool, Vec<u8>);
        impl Write for Full {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0 = !self.0;
                if self.0 {
                    return Err(ErrorKind::WouldBlock.into());
                }
                self.1.extend_from_slice(&bytes[..bytes.len().min(3)]);
                Ok(bytes.len().min(3))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut out = Full(false, Vec::new());
        write_whole(&mut out, b"a whole line\n", || {}).unwrap();
        assert_eq!(out.1, b"a whole line\n");
    }

    #[test]
    fn a_write_that_fails_is_counted_with_the_dropped_records() {
        let _turn = COUNTERS.lock().unwrap_or_else(PoisonError::into_inner);
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("file too large"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let before = DROPPED.load(SeqCst);
        written(&[(0, " | a\n"), (1, " | b\n")], Full);
        assert_eq!(DROPPED.swap(before, SeqCst) - before, 2);
    }

    #[test]
    fn an_invalid_rust_log_is_refused_with_its_reason() {
        assert_eq!(refused_filter("info,graceful::manager=trace"), None);
        let why = refused_filter("==x").unwrap_or_default();
        assert!(why.starts_with("RUST_LOG=\"==x\" is not a valid filter ("), "{why}");
    }
}
