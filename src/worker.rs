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

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Write};
use std::process::ExitCode;

use log::{debug, error, info, warn};

use crate::dummy::DummyManager;
use crate::exit_code;
use crate::knobs::TimeScale;
use crate::panics;
use crate::protocol::{self, Command, Report, Request};
use crate::signals::{OnSignal, Signals};

/// Faults a worker can be told to simulate, to see how the parent copes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerFault {
    /// Initialisation fails after `Bootstrapped`: the worker says why and
    /// exits with 3.
    StartFails,
    /// The worker never says `Bootstrapped` (the parent's 5 s limit hits).
    Hangs,
    /// The first call panics: the worker says why and exits with 7.
    CallPanics,
}

#[derive(Clone, Copy, Debug)]
pub struct WorkerOptions {
    /// 1-based; names the process in the log (`worker-1`).
    pub id: usize,
    pub time_scale: TimeScale,
    pub fault: Option<WorkerFault>,
}

/// Runs the worker; returns when it is told to stop or its parent is gone.
pub fn run(signals: &Signals, options: WorkerOptions) -> ExitCode {
    // Logs "ignoring" instead of interrupting: only the parent stops us.
    signals.set_policy(OnSignal::Ignore);
    if io::stdin().is_terminal() {
        // A person typed `complex --worker-id 1`. Without a parent on the
        // other end of stdin there is nobody to tell this worker to stop,
        // and it ignores Ctrl+C: refuse rather than trap the terminal.
        eprintln!(
            "complex: --worker-id is the hidden worker mode; workers are started by `complex` itself, \
             with their stdin connected to it. Run `complex` without --worker-id."
        );
        return ExitCode::from(exit_code::USAGE);
    }
    crate::logging::init(&format!("worker-{}", options.id));
    // Panics are logged in our format; the parent hears of them from the
    // `Failed` report below, not from a fault channel.
    panics::install_hook(None);

    let stdout = io::stdout();
    let mut out = stdout.lock();
    if options.fault == Some(WorkerFault::Hangs) {
        warn!("injected fault: hanging before bootstrap");
        // Blocks until the parent kills us (or closes our stdin).
        let _ = io::stdin().lock().read_line(&mut String::new());
        return ExitCode::from(exit_code::START_FAILED);
    }
    let pid = std::process::id();
    if protocol::send(&mut out, &Report::Bootstrapped { pid }).is_err() {
        return parent_gone_at_start();
    }
    info!("bootstrapped (pid {pid})");

    if options.fault == Some(WorkerFault::StartFails) {
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
    if protocol::send(&mut out, &Report::Started).is_err() {
        return parent_gone_at_start();
    }
    info!("started");

    // Bigger than std's own stdin buffer (8 KiB), so every read goes straight
    // to the pipe and `buffer()` below sees all that has been read.
    let mut commands = BufReader::with_capacity(64 * 1024, io::stdin().lock());
    let served = panics::catch(|| serve(&mut commands, &mut out, &mut manager, options.fault));
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
    fault: Option<WorkerFault>,
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
            if fault == Some(WorkerFault::CallPanics) {
                panic!("injected fault (worker-call): a bug while processing call {id}");
            }
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
        let mut line = String::new();
        match commands.read_line(&mut line) {
            Ok(0) => self.end_of_input = true,
            Ok(_) => match protocol::parse::<Command>(&line) {
                Ok(command) => self.put(command),
                Err(cause) => error!("ignoring a malformed command ({cause}): {line:?}"),
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

    fn call(id: u64) -> Command {
        Command::Call {
            id,
            request: Request::ProcessNumber(id as i64),
        }
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
        let mut out = Vec::new();
        let mut manager = DummyManager::new(TimeScale::new(0.0).unwrap());
        let ending = serve(
            &mut BufReader::new(&input[..]),
            &mut out,
            &mut manager,
            None,
        );
        assert!(matches!(ending, Ending::Stopped));
        let reports = reports(&out);
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
        let mut out = Vec::new();
        let mut manager = DummyManager::new(TimeScale::new(0.0).unwrap());
        let ending = serve(
            &mut BufReader::new(&input[..]),
            &mut out,
            &mut manager,
            None,
        );
        assert!(
            matches!(ending, Ending::ParentGone),
            "input ended without a stop"
        );
        let reports = reports(&out);
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
