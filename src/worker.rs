//! Inside a worker process: one `DummyManager`, driven over stdin/stdout.
//!
//! A worker is the program's own executable started in a hidden mode by the
//! [`crate::manager`]. Its life:
//!
//! 1. say `Bootstrapped` at once: "my code runs, and Ctrl+C can no longer
//!    kill me" (the parent started us with terminal signals ignored, and we
//!    have just installed our own handler, which logs and ignores them);
//! 2. initialise (build the `DummyManager`, which calibrates), say `Started`;
//! 3. serve commands by priority, **stop > update > call**, until `Stop`,
//!    or until stdin reaches end-of-file, which means the parent is gone.
//!
//! Why ignore Ctrl+C here? The terminal sends it to every process of the
//! foreground group, workers included. A worker that died on it would drop
//! the call in hand while its parent is still counting on it; the parent
//! owns the shutdown, and tells each worker when to stop. And why leave on
//! end-of-file? If the parent is killed outright (SIGKILL, a crash), no
//! `Stop` will ever come; without this rule, workers would live on as
//! orphans that ignore Ctrl+C.
//!
//! End-of-file is the portable rule, and the one this program teaches. It
//! has one gap: a worker that is stopped (`kill -STOP`), or busy in a long
//! call, does not read its stdin, so it cannot see the end of it. On Linux
//! the manager closes that gap with a backstop: it asks the kernel to send
//! each worker SIGCONT when the parent dies (`PR_SET_PDEATHSIG`, see
//! [`crate::manager`]). SIGCONT resumes a stopped worker, and our
//! `parent-watch` thread, woken by it, checks whether the parent is really
//! gone; if so, the worker gets [`PARENT_GONE_GRACE`] to leave through
//! end-of-file as usual, and is ended after that, whatever it was doing.
//!
//! Exit status of a worker (read by its parent, and shown in the parent's
//! log when a worker dies): 0 when stopped or when its parent is gone, 2
//! when started by hand, 3 when its initialisation failed, 7 when it
//! panicked.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use log::{debug, error, info, warn};

use crate::dummy::DummyManager;
use crate::exit_code;
use crate::failure;
use crate::fault::{Armed, Fault};
use crate::knobs::TimeScale;
use crate::logging;
use crate::protocol::{self, Command, Report, Request};
use crate::signals::{self, Policy};

/// The hidden flag that starts a program in worker mode (`--worker-id N`).
pub const ID_FLAG: &str = "worker-id";

/// The longest command line a worker accepts, in bytes. Real commands are
/// under 100 bytes; a longer line is refused, not buffered, so no input can
/// make a worker grow without bound.
pub const MAX_COMMAND_BYTES: usize = 64 * 1024;

/// How much of a refused line the log quotes.
const QUOTE_BYTES: usize = 200;

/// After the kernel says the parent is gone, how long a worker has to leave
/// by itself before it is ended.
pub const PARENT_GONE_GRACE: Duration = Duration::from_secs(1);

/// How long a worker's last log lines may take to reach a slow stderr.
const LOG_GRACE: Duration = Duration::from_secs(1);

/// How a worker is started.
#[derive(Clone, Copy, Debug)]
pub struct WorkerOptions {
    /// The program's crate name, for the log filter.
    pub program: &'static str,
    /// 1-based; names the process in the log (`worker-1`).
    pub id: usize,
    /// Scales the work's designed durations.
    pub time_scale: TimeScale,
    /// An injected fault; only worker-1 acts it out.
    pub fault: Option<Fault>,
}

/// Runs the worker; returns when it is told to stop or its parent is gone.
pub fn run(options: WorkerOptions) -> ExitCode {
    if let Some(why) = started_by_hand() {
        // A person typed `complex --worker-id 1`. Without a parent on the
        // other end of a pipe there is nobody to tell this worker to stop,
        // and it ignores Ctrl+C: refuse rather than trap the terminal.
        eprintln!(
            "{}: --{ID_FLAG} is the hidden worker mode, and {why}. Workers are started by `{}` \
             itself, with their stdin a pipe from it. Run `{}` without --{ID_FLAG}.",
            options.program, options.program, options.program
        );
        return ExitCode::from(exit_code::USAGE);
    }
    // Logs "ignored" instead of interrupting: only the parent stops us.
    if let Err(cause) = signals::install(Policy::Ignore) {
        eprintln!(
            "worker-{}: cannot install the signal handlers: {cause}",
            options.id
        );
        return ExitCode::from(exit_code::START_FAILED);
    }
    logging::init(options.program, &format!("worker-{}", options.id));
    // Panics are logged in our format; the parent hears of them from the
    // `Failed` report below, not from a failure channel.
    failure::install_panic_hook(None);
    let watch = parent_watch::start();
    let code = serve_parent(options);
    parent_watch::stop(watch);
    logging::finish(LOG_GRACE);
    code
}

/// Why this process cannot be a worker, if it was not started by a parent.
fn started_by_hand() -> Option<&'static str> {
    if io::stdin().is_terminal() {
        return Some("its stdin is a terminal");
    }
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        use std::os::unix::fs::FileTypeExt;
        let is_pipe = io::stdin()
            .as_fd()
            .try_clone_to_owned()
            .and_then(|fd| std::fs::File::from(fd).metadata())
            .is_ok_and(|metadata| metadata.file_type().is_fifo());
        if !is_pipe {
            return Some("its stdin is not a pipe");
        }
    }
    None
}

/// The worker's life: bootstrap, initialise, serve.
fn serve_parent(options: WorkerOptions) -> ExitCode {
    let mut armed = Armed::for_first(options.fault, options.id);
    let stdout = io::stdout();
    let mut out = stdout.lock();
    if armed.take(Fault::WorkerHang) {
        warn!("injected fault: hanging before bootstrap");
        // Blocks until the parent kills us (or closes our stdin).
        let _ = io::stdin().lock().read_line(&mut String::new());
        return ExitCode::from(exit_code::START_FAILED);
    }
    let pid = std::process::id();
    // Written out before the parent hears of it: the parent's "worker-1
    // bootstrapped" line is the effect and must come after ours in the log.
    info!("bootstrapped (pid {pid})");
    logging::write_out_before_acting();
    if protocol::send(&mut out, &Report::Bootstrapped { pid }).is_err() {
        return parent_gone_at_start();
    }

    if armed.take(Fault::WorkerStart) {
        let message = "initialisation failed: injected fault (worker-start)";
        error!("{message}");
        let _ = protocol::send(
            &mut out,
            &Report::Failed {
                message: message.into(),
            },
        );
        return ExitCode::from(exit_code::START_FAILED);
    }
    let mut manager = DummyManager::new(options.time_scale);
    info!("started");
    logging::write_out_before_acting();
    if protocol::send(&mut out, &Report::Started).is_err() {
        return parent_gone_at_start();
    }

    // Bigger than std's own stdin buffer (8 KiB), so every read goes straight
    // to the pipe and `buffer()` below sees all that has been read.
    let mut commands = BufReader::with_capacity(64 * 1024, io::stdin().lock());
    let served = failure::catch(|| serve(&mut commands, &mut out, &mut manager, armed));
    let ending = match served {
        Ok(ending) => ending,
        Err(panicked) => {
            // The hook has logged the panic here. The parent would only see
            // an exit status: tell it why, then go. Our state may be broken
            // half-way through a call, so carrying on is not an option.
            let _ = protocol::send(
                &mut out,
                &Report::Failed {
                    message: panicked.to_string(),
                },
            );
            return ExitCode::from(exit_code::INTERNAL_FAILURE);
        }
    };
    match ending {
        Ending::Stopped => info!("stopped"),
        Ending::ParentGone => {
            warn!("stdin closed without a stop: the parent is gone; exiting")
        }
        Ending::ParentUnreachable(cause) => {
            warn!("cannot write to the parent ({cause}): the parent is gone; exiting")
        }
    }
    ExitCode::SUCCESS
}

fn parent_gone_at_start() -> ExitCode {
    warn!("cannot report to the parent during start: the parent is gone; exiting");
    ExitCode::SUCCESS
}

#[derive(Debug)]
enum Ending {
    Stopped,
    ParentGone,
    ParentUnreachable(io::Error),
}

/// Commands that have arrived and are not handled yet.
#[derive(Default)]
struct Inbox {
    stop: bool,
    updates: VecDeque<u64>,
    calls: VecDeque<(u64, Request)>,
    end_of_input: bool,
}

/// The worker's main loop: one thread that reads commands and does the work.
///
/// No second thread is needed to honour priorities, because the parent
/// sends a worker its next piece of work only when the previous one is
/// done. So whatever piles up while we are busy (an update, a stop) is in
/// the pipe when we look again, and one read takes it all in; then the most
/// urgent command goes first. Keeping it to one thread keeps a call to
/// three thread wake-ups in all, the fewest a pipe round trip with a
/// watching collector allows.
fn serve<R: Read>(
    commands: &mut BufReader<R>,
    out: &mut impl Write,
    manager: &mut DummyManager,
    mut fault: Armed,
) -> Ending {
    let mut inbox = Inbox::default();
    loop {
        if inbox.is_empty() {
            if inbox.end_of_input {
                return Ending::ParentGone;
            }
            // Nothing to do: block until the parent sends something.
            inbox.read_line(commands);
        }
        inbox.read_what_has_arrived(commands);

        let sent = if inbox.stop {
            // Stop before anything else; calls still queued are answered
            // with an error, so no caller waits for a reply that never comes.
            for (id, request) in inbox.calls.drain(..) {
                debug!("call {id}: {request} not processed: stopping");
                let result = Err("the worker stopped before processing this call".to_owned());
                let _ = protocol::send(out, &Report::Reply { id, result });
            }
            return Ending::Stopped;
        } else if let Some(round) = inbox.updates.pop_front() {
            debug!("update {round}: begin");
            let version = manager.update();
            debug!("update {round}: end, now version {version}");
            protocol::send(out, &Report::Updated { round, version })
        } else if let Some((id, request)) = inbox.calls.pop_front() {
            debug!("call {id}: {request}");
            fault.fire(
                Fault::WorkerCall,
                &format!("a bug while processing call {id}"),
            );
            let result = Ok(manager.process(&request));
            protocol::send(out, &Report::Reply { id, result })
        } else {
            Ok(())
        };
        if let Err(cause) = sent {
            return Ending::ParentUnreachable(cause);
        }
    }
}

impl Inbox {
    fn is_empty(&self) -> bool {
        !self.stop && self.updates.is_empty() && self.calls.is_empty()
    }

    /// Reads one line, blocking until it arrives.
    fn read_line(&mut self, commands: &mut impl BufRead) {
        match read_bounded_line(commands, MAX_COMMAND_BYTES) {
            Ok(Line::End) => self.end_of_input = true,
            Ok(Line::TooLong { start, length }) => error!(
                "ignoring a command of {length} bytes, over the limit of {MAX_COMMAND_BYTES}; \
                 it began with {:?}",
                String::from_utf8_lossy(&start)
            ),
            Ok(Line::Complete(line)) => match std::str::from_utf8(&line) {
                Ok(text) => match protocol::parse::<Command>(text) {
                    Ok(command) => self.put(command),
                    Err(cause) => {
                        error!("ignoring a malformed command ({cause}): {:?}", quote(&line))
                    }
                },
                Err(_) => error!(
                    "ignoring a malformed command (not UTF-8): {:?}",
                    quote(&line)
                ),
            },
            Err(cause) => {
                error!("cannot read commands ({cause}); treating it as end of input");
                self.end_of_input = true;
            }
        }
    }

    /// Takes in every complete line already read from the pipe, without
    /// blocking, so that priorities apply to all of them.
    fn read_what_has_arrived<R: Read>(&mut self, commands: &mut BufReader<R>) {
        while !self.end_of_input && commands.buffer().contains(&b'\n') {
            self.read_line(commands);
        }
    }

    fn put(&mut self, command: Command) {
        match command {
            Command::Stop => self.stop = true,
            Command::Update { round } => self.updates.push_back(round),
            Command::Call { id, request } => self.calls.push_back((id, request)),
        }
    }
}

/// One line of input, read with a bound on its length.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// The input ended before any byte of a new line.
    End,
    /// A whole line (a last line without a newline counts too).
    Complete(Vec<u8>),
    /// A line over the limit: its first bytes, and how long it was. The
    /// rest was read and thrown away, so the next line starts clean.
    TooLong { start: Vec<u8>, length: usize },
}

/// Reads up to and including the next newline, keeping at most `max` bytes.
fn read_bounded_line(reader: &mut impl BufRead, max: usize) -> io::Result<Line> {
    let mut kept = Vec::new();
    let mut length = 0;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(cause) if cause.kind() == io::ErrorKind::Interrupted => continue,
            Err(cause) => return Err(cause),
        };
        if available.is_empty() {
            return Ok(match length {
                0 => Line::End,
                _ if length > max => Line::TooLong {
                    start: kept,
                    length,
                },
                _ => Line::Complete(kept),
            });
        }
        let newline = available.iter().position(|&byte| byte == b'\n');
        let chunk = &available[..newline.map_or(available.len(), |at| at + 1)];
        length += chunk.len();
        if length <= max {
            kept.extend_from_slice(chunk);
        } else {
            // Over the limit: keep only the start, for the log.
            let room = QUOTE_BYTES.saturating_sub(kept.len());
            kept.extend_from_slice(&chunk[..room.min(chunk.len())]);
            kept.truncate(QUOTE_BYTES);
        }
        let used = chunk.len();
        reader.consume(used);
        if newline.is_some() {
            return Ok(if length > max {
                Line::TooLong {
                    start: kept,
                    length,
                }
            } else {
                Line::Complete(kept)
            });
        }
    }
}

/// At most the first [`QUOTE_BYTES`] of `line`, for the log.
fn quote(line: &[u8]) -> String {
    String::from_utf8_lossy(&line[..line.len().min(QUOTE_BYTES)]).into_owned()
}

/// The backstop for a parent that died without our noticing (Linux).
#[cfg(target_os = "linux")]
mod parent_watch {
    use std::thread::{self, JoinHandle};

    use crossbeam::select;
    use log::warn;
    use signal_hook::consts::SIGCONT;
    use signal_hook::iterator::{Handle, Signals};

    use super::PARENT_GONE_GRACE;
    use crate::cancel::{self, Trigger};

    /// The watching thread, and what ends it.
    pub(super) struct Watch {
        signals: Handle,
        worker_done: Trigger,
        thread: JoinHandle<()>,
    }

    /// Starts the `parent-watch` thread; `None` if it cannot be started (the
    /// worker still leaves on end-of-file).
    pub(super) fn start() -> Option<Watch> {
        let parent = std::os::unix::process::parent_id();
        let mut signals = Signals::new([SIGCONT]).ok()?;
        let handle = signals.handle();
        let (worker_done, done) = cancel::pair();
        let thread = thread::Builder::new()
            .name("parent-watch".into())
            .spawn(move || {
                for _ in signals.forever() {
                    // SIGCONT also comes from `kill -CONT` or a shell's `fg`:
                    // only a changed parent means ours is gone.
                    if std::os::unix::process::parent_id() == parent {
                        continue;
                    }
                    warn!(
                        "SIGCONT from the kernel: the parent is gone; leaving within {} s",
                        PARENT_GONE_GRACE.as_secs_f64()
                    );
                    // One grace period for the end-of-file path to finish
                    // the graceful way first; it ends this wait if it does.
                    select! {
                        recv(done) -> _ => return,
                        default(PARENT_GONE_GRACE) => {}
                    }
                    warn!(
                        "still here {} s after the parent died; exiting without finishing the work in hand",
                        PARENT_GONE_GRACE.as_secs_f64()
                    );
                    crate::logging::finish(PARENT_GONE_GRACE);
                    std::process::exit(0);
                }
            })
            .ok()?;
        Some(Watch {
            signals: handle,
            worker_done,
            thread,
        })
    }

    /// Ends the thread (the worker is leaving anyway).
    pub(super) fn stop(watch: Option<Watch>) {
        if let Some(watch) = watch {
            drop(watch.worker_done);
            watch.signals.close();
            let _ = watch.thread.join();
        }
    }
}

/// Elsewhere there is no kernel backstop: end-of-file is the only rule.
#[cfg(not(target_os = "linux"))]
mod parent_watch {
    pub(super) fn start() -> Option<()> {
        None
    }
    pub(super) fn stop(_watch: Option<()>) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(commands: &[Command]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for command in commands {
            protocol::send(&mut bytes, command).unwrap();
        }
        bytes
    }

    fn reports(bytes: &[u8]) -> Vec<Report> {
        String::from_utf8_lossy(bytes)
            .lines()
            .map(|line| protocol::parse(line).unwrap())
            .collect()
    }

    /// Serves `input` with a free-running `DummyManager`; returns how it
    /// ended, its reports and the manager.
    fn serve_input(input: &[u8]) -> (Ending, Vec<Report>, DummyManager) {
        let mut out = Vec::new();
        let mut manager = DummyManager::new(TimeScale::new(0.0).unwrap());
        let ending = serve(
            &mut BufReader::new(input),
            &mut out,
            &mut manager,
            Armed::default(),
        );
        (ending, reports(&out), manager)
    }

    fn call(id: u64) -> Command {
        Command::Call {
            id,
            request: Request::ProcessNumber(id as i64),
        }
    }

    #[test]
    fn lines_are_bounded_and_the_next_line_starts_clean() {
        let mut input = vec![b'x'; 1000];
        input.extend_from_slice(b"\nshort\n\xff\xfe\nlast");
        let mut reader = BufReader::with_capacity(16, &input[..]);
        match read_bounded_line(&mut reader, 100).unwrap() {
            Line::TooLong { start, length } => {
                assert_eq!(length, 1001);
                assert_eq!(start.len(), QUOTE_BYTES);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            read_bounded_line(&mut reader, 100).unwrap(),
            Line::Complete(b"short\n".to_vec())
        );
        assert_eq!(
            read_bounded_line(&mut reader, 100).unwrap(),
            Line::Complete(b"\xff\xfe\n".to_vec())
        );
        assert_eq!(
            read_bounded_line(&mut reader, 100).unwrap(),
            Line::Complete(b"last".to_vec())
        );
        assert_eq!(read_bounded_line(&mut reader, 100).unwrap(), Line::End);
    }

    #[test]
    fn a_bad_line_is_ignored_and_the_worker_carries_on() {
        let mut input = b"\xff\xfe\n".to_vec();
        input.extend(lines(&[call(1)]));
        let (ending, reports, _) = serve_input(&input);
        assert!(matches!(ending, Ending::ParentGone));
        assert!(matches!(
            reports[..],
            [Report::Reply {
                id: 1,
                result: Ok(_)
            }]
        ));
    }

    #[test]
    fn a_stop_behind_queued_calls_is_handled_first() {
        let input = lines(&[
            call(1),
            call(2),
            Command::Update { round: 1 },
            Command::Stop,
            call(3),
        ]);
        let (ending, reports, manager) = serve_input(&input);
        assert!(matches!(ending, Ending::Stopped));
        // No call ran and no update happened: every call got an error reply.
        assert_eq!(reports.len(), 3, "{reports:?}");
        for report in reports {
            assert!(
                matches!(report, Report::Reply { result: Err(_), .. }),
                "{report:?}"
            );
        }
        assert_eq!(manager.version(), 0);
    }

    #[test]
    fn an_update_goes_before_queued_calls() {
        let input = lines(&[call(1), Command::Update { round: 7 }, call(2)]);
        let (ending, reports, _) = serve_input(&input);
        assert!(
            matches!(ending, Ending::ParentGone),
            "input ended without a stop"
        );
        assert_eq!(
            reports[0],
            Report::Updated {
                round: 7,
                version: 1
            }
        );
        for (report, id) in reports[1..].iter().zip([1, 2]) {
            match report {
                Report::Reply {
                    id: got,
                    result: Ok(output),
                } => {
                    assert_eq!(*got, id);
                    assert_eq!(output.version, 1, "ran after the update");
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}
