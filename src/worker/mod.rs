//! Inside a worker process: one `DummyManager`, driven over stdin/stdout.
//!
//! A worker is the program's own executable started in a hidden mode by the
//! [`crate::manager`]. Its life:
//!
//! 1. say `Bootstrapped` at once: "my code runs, and Ctrl+C can no longer
//!    kill me" (the parent started us with terminal signals ignored, and we
//!    have just installed our own handlers, which log and ignore them);
//! 2. initialise (build the `DummyManager`, which calibrates), say `Started`;
//! 3. serve commands by priority, **stop > update > call**, until `Stop`,
//!    or until stdin reaches end-of-file, which means the parent is gone.
//!
//! Why ignore Ctrl+C here? The terminal sends it to every process of the
//! foreground group, workers included, and the parent owns the shutdown
//! (README, section 6, weighs the other design). And why leave on
//! end-of-file? If the parent is killed outright (SIGKILL, a crash), no
//! `Stop` will ever come; without this rule, workers would live on as
//! orphans that ignore Ctrl+C. (End-of-file has one gap, a worker that does
//! not read; [`parent_watch`] closes it on Linux.)
//!
//! Exit status of a worker (read by its parent, and shown in the parent's
//! log when a worker dies): 0 when stopped or when its parent is gone, 2
//! when started by hand, 3 when its initialisation failed, 7 when it
//! panicked.

mod input;
pub mod parent_watch;

pub use input::MAX_COMMAND_BYTES;

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use log::{debug, error, info, warn};

use crate::dummy::DummyManager;
use crate::exit::Exit;
use crate::failure;
use crate::fault::{Armed, Fault};
use crate::knobs::TimeScale;
use crate::logging;
use crate::protocol::{self, Command, Report, Request};
use crate::signals::{self, Signal};

/// The hidden flag that starts a program in worker mode (`--worker-id N`).
pub const ID_FLAG: &str = "worker-id";

/// How a worker is started.
#[derive(Clone, Copy, Debug)]
pub struct WorkerSettings {
    /// The program's crate name, for the log filter.
    pub program: &'static str,
    /// 1-based; names the process in the log (`worker-1`).
    pub id: usize,
    /// Scales the work's designed durations.
    pub time_scale: TimeScale,
    /// The parent's `--stop-timeout`: how long this worker's last log lines
    /// may wait for a slow stderr, so none is lost while the parent's stop
    /// still waits for it.
    pub stop_timeout: Duration,
    /// An injected fault; only worker-1 acts it out.
    pub fault: Option<Fault>,
}

/// Why the worker leaves its loop.
#[derive(Debug)]
enum Leave {
    Told,
    InputEnded,
    ParentUnreachable(io::Error),
}

/// Runs the worker; returns when it is told to stop or its parent is gone.
pub fn run(settings: WorkerSettings) -> Exit {
    if let Some(why) = input::started_by_hand() {
        // A person typed `complex --worker-id 1`. Without a parent on the
        // other end of a pipe there is nobody to tell this worker to stop,
        // and it ignores Ctrl+C: refuse rather than trap the terminal.
        let program = settings.program;
        eprintln!(
            "{program}: --{ID_FLAG} is the hidden worker mode, and {why}. Workers are started by \
             `{program}` itself, with their stdin a pipe from it. Run `{program}` without --{ID_FLAG}."
        );
        return Exit::Usage;
    }
    signals::install_in_worker(ignore);
    logging::init(settings.program, &format!("worker-{}", settings.id));
    // Panics are logged in our format; the parent hears of them from the
    // `Failed` report below, not from a failure channel.
    failure::install_panic_hook(None);
    let watch = parent_watch::start();
    let code = serve_parent(settings);
    parent_watch::stop(watch);
    logging::finish(settings.stop_timeout);
    code
}

/// What a worker does with Ctrl+C, SIGTERM and SIGHUP: logs them and
/// carries on (why: the module docs).
fn ignore(signal: Signal) {
    static RECEIVED: AtomicU32 = AtomicU32::new(0);
    let number = RECEIVED.fetch_add(1, Ordering::Relaxed) + 1;
    info!("signal #{number}: {signal}; ignored: a worker stops when its parent tells it to");
}

/// The worker's life: bootstrap, initialise, serve.
fn serve_parent(settings: WorkerSettings) -> Exit {
    // Only worker-1 acts a fault out: the others carry on around it.
    let mut armed = Armed(settings.fault.filter(|_| settings.id == 1));
    let mut out = io::stdout().lock();
    if armed.take(Fault::WorkerHang) {
        warn!("injected fault: hanging before bootstrap");
        // Blocks until the parent kills us (or closes our stdin).
        let _ = io::stdin().lock().read_line(&mut String::new());
        return Exit::StartFailed;
    }
    let pid = std::process::id();
    // Written out before the parent hears of it: the parent's "worker-1
    // bootstrapped" line is the effect and must come after ours in the log.
    info!("bootstrapped (pid {pid})");
    log::logger().flush();
    if protocol::send(&mut out, &Report::Bootstrapped { pid }).is_err() {
        return parent_gone_at_start();
    }
    if armed.take(Fault::WorkerStart) {
        let message = "initialisation failed: injected fault (worker-start)";
        error!("{message}");
        let _ = protocol::send(&mut out, &Report::Failed { message: message.into() });
        return Exit::StartFailed;
    }
    let mut manager = DummyManager::new(settings.time_scale);
    info!("started");
    log::logger().flush();
    if protocol::send(&mut out, &Report::Started).is_err() {
        return parent_gone_at_start();
    }

    // Bigger than std's own stdin buffer (8 KiB), so every read goes straight
    // to the pipe and `buffer()` below sees all that has been read.
    let mut commands = BufReader::with_capacity(64 * 1024, io::stdin().lock());
    match failure::catch(|| serve(&mut commands, &mut out, &mut manager, armed)) {
        Ok(Leave::Told) => info!("stopped"),
        Ok(Leave::InputEnded) => warn!("stdin closed without a stop: the parent is gone; exiting"),
        Ok(Leave::ParentUnreachable(cause)) => {
            warn!("cannot write to the parent ({cause}): the parent is gone; exiting")
        }
        Err(panicked) => {
            // The hook has logged the panic here. The parent would only see
            // an exit status: tell it why, then go. Our state may be broken
            // half-way through a call, so carrying on is not an option.
            let message = format!("panicked: {panicked}");
            let _ = protocol::send(&mut out, &Report::Failed { message });
            return Exit::Internal;
        }
    }
    Exit::Clean
}

fn parent_gone_at_start() -> Exit {
    warn!("cannot report to the parent during start: the parent is gone; exiting");
    Exit::Clean
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
) -> Leave {
    let mut inbox = Inbox::default();
    loop {
        let idle = !inbox.stop && inbox.updates.is_empty() && inbox.calls.is_empty();
        if idle && inbox.end_of_input {
            return Leave::InputEnded;
        }
        // Nothing to do: block until the parent sends something. Then take
        // in every line already read, so that priorities apply to them all.
        if idle {
            inbox.read_line(commands);
        }
        while !inbox.end_of_input && commands.buffer().contains(&b'\n') {
            inbox.read_line(commands);
        }

        let sent = if inbox.stop {
            // Stop before anything else; calls still queued are answered
            // with an error, so no caller waits for a reply that never comes.
            for (id, request) in inbox.calls.drain(..) {
                debug!("call {id}: {request} not processed: stopping");
                let result = Err("the worker stopped before processing this call".to_owned());
                let _ = protocol::send(out, &Report::Reply { id, result });
            }
            return Leave::Told;
        } else if let Some(round) = inbox.updates.pop_front() {
            debug!("update {round}: begin");
            let version = manager.update();
            debug!("update {round}: end, now version {version}");
            protocol::send(out, &Report::Updated { round, version })
        } else if let Some((id, request)) = inbox.calls.pop_front() {
            debug!("call {id}: {request}");
            fault.fire(Fault::WorkerCall, &format!("a bug while processing call {id}"));
            let result = Ok(manager.process(&request));
            protocol::send(out, &Report::Reply { id, result })
        } else {
            Ok(())
        };
        if let Err(cause) = sent {
            return Leave::ParentUnreachable(cause);
        }
    }
}

impl Inbox {
    /// Reads one command line, blocking until it arrives. A bad line is
    /// logged and skipped: one garbled command must not end the worker.
    fn read_line(&mut self, commands: &mut impl BufRead) {
        match input::read_bounded_line(commands) {
            Ok(None) => self.end_of_input = true,
            Ok(Some(Ok(command))) => match command {
                Command::Stop => self.stop = true,
                Command::Update { round } => self.updates.push_back(round),
                Command::Call { id, request } => self.calls.push_back((id, request)),
            },
            Ok(Some(Err(refused))) => error!("ignoring {refused}"),
            Err(cause) => {
                error!("cannot read commands ({cause}); treating it as end of input");
                self.end_of_input = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::input::tests::lines;
    use super::*;

    fn reports(bytes: &[u8]) -> Vec<Report> {
        String::from_utf8_lossy(bytes).lines().map(|line| protocol::parse(line).unwrap()).collect()
    }

    /// Serves `input` with a free-running `DummyManager`; returns how it
    /// ended, its reports and the manager.
    fn serve_input(input: &[u8]) -> (Leave, Vec<Report>, DummyManager) {
        let mut out = Vec::new();
        let mut manager = DummyManager::new(TimeScale(0.0));
        let ending = serve(&mut BufReader::new(input), &mut out, &mut manager, Armed::default());
        (ending, reports(&out), manager)
    }

    fn call(id: u64) -> Command {
        Command::Call { id, request: Request::ProcessNumber(id as i64) }
    }

    #[test]
    fn a_bad_line_is_ignored_and_the_worker_carries_on() {
        let mut input = b"\xff\xfe\n".to_vec();
        input.extend(lines(&[call(1)]));
        let (ending, reports, _) = serve_input(&input);
        assert!(matches!(ending, Leave::InputEnded));
        assert!(matches!(reports[..], [Report::Reply { id: 1, result: Ok(_) }]));
    }

    #[test]
    fn a_stop_behind_queued_calls_is_handled_first() {
        let input =
            lines(&[call(1), call(2), Command::Update { round: 1 }, Command::Stop, call(3)]);
        let (ending, reports, manager) = serve_input(&input);
        assert!(matches!(ending, Leave::Told));
        // No call ran and no update happened: every call got an error reply.
        assert_eq!(reports.len(), 3, "{reports:?}");
        for report in reports {
            assert!(matches!(report, Report::Reply { result: Err(_), .. }), "{report:?}");
        }
        assert_eq!(manager.version(), 0);
    }

    #[test]
    fn an_update_goes_before_queued_calls() {
        let input = lines(&[call(1), Command::Update { round: 7 }, call(2)]);
        let (ending, reports, _) = serve_input(&input);
        assert!(matches!(ending, Leave::InputEnded), "input ended without a stop");
        assert_eq!(reports[0], Report::Updated { round: 7, version: 1 });
        for (report, id) in reports[1..].iter().zip([1, 2]) {
            match report {
                Report::Reply { id: got, result: Ok(output) } => {
                    assert_eq!(*got, id);
                    assert_eq!(output.version, 1, "ran after the update");
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    fn command() -> impl proptest::strategy::Strategy<Value = Option<Command>> {
        use proptest::prelude::*;
        prop_oneof![
            6 => Just(None), // a call, numbered below
            2 => Just(Some(Command::Update { round: 0 })),
            1 => Just(Some(Command::Stop)),
        ]
    }

    proptest::proptest! {
        /// Any mix of calls, updates and stops, read through a buffer of any
        /// size: stop > update > call, first come first served within each,
        /// and nothing lost. Every call before the stop gets exactly one
        /// reply; a call runs after every update that came before it; no
        /// call runs once a stop has been read.
        #[test]
        fn the_inbox_keeps_its_priorities_and_loses_nothing(
            shape in proptest::collection::vec(command(), 0..40),
            buffer in 1..300usize,
        ) {
            let (mut next_call, mut next_round, mut sent) = (1, 1, Vec::new());
            for command in shape {
                sent.push(match command {
                    None => { next_call += 1; call(next_call - 1) }
                    Some(Command::Update { .. }) => { next_round += 1; Command::Update { round: next_round - 1 } }
                    Some(other) => other,
                });
            }
            let input = lines(&sent);
            let mut out = Vec::new();
            let mut manager = DummyManager::new(TimeScale(0.0));
            let mut reader = BufReader::with_capacity(buffer, &input[..]);
            let ending = serve(&mut reader, &mut out, &mut manager, Armed::default());
            let reports = reports(&out);

            let stop_at = sent.iter().position(|command| *command == Command::Stop);
            proptest::prop_assert_eq!(matches!(ending, Leave::Told), stop_at.is_some());
            let before_stop = &sent[..stop_at.unwrap_or(sent.len())];
            let mut replied = Vec::new();
            let (mut rounds, mut last_ok_call) = (Vec::new(), 0);
            for report in &reports {
                match report {
                    Report::Reply { id, result } => {
                        proptest::prop_assert!(!replied.contains(id), "call {} replied twice", id);
                        replied.push(*id);
                        if let Ok(output) = result {
                            proptest::prop_assert!(*id > last_ok_call, "calls ran out of order");
                            last_ok_call = *id;
                            let position = sent.iter().position(|c| *c == call(*id)).unwrap();
                            let updates_before = sent[..position]
                                .iter()
                                .filter(|c| matches!(c, Command::Update { .. }))
                                .count() as u64;
                            proptest::prop_assert!(output.version >= updates_before,
                                "call {} ran before an update that came first", id);
                        }
                    }
                    Report::Updated { round, .. } => {
                        proptest::prop_assert!(replied.iter().all(|id| {
                            let at = sent.iter().position(|c| *c == call(*id)).unwrap();
                            let update_at = sent.iter().position(|c| *c == Command::Update { round: *round }).unwrap();
                            // A call that came after this update cannot have run before it.
                            at < update_at || reports.iter().any(|r| matches!(r, Report::Reply { id: i, result: Err(_) } if i == id))
                        }), "an update ran after a call that came later");
                        rounds.push(*round);
                    }
                    other => proptest::prop_assert!(false, "unexpected report {:?}", other),
                }
            }
            let mut sorted = rounds.clone();
            sorted.sort_unstable();
            proptest::prop_assert_eq!(rounds, sorted, "updates out of order");
            for command in before_stop {
                if let Command::Call { id, .. } = command {
                    proptest::prop_assert!(replied.contains(id), "call {} before the stop got no reply", id);
                }
            }
            if stop_at.is_some() {
                let ran_after_stop = reports.iter().any(|r| match r {
                    Report::Reply { id, result: Ok(_) } => {
                        sent.iter().position(|c| *c == call(*id)) > stop_at
                    }
                    _ => false,
                });
                proptest::prop_assert!(!ran_after_stop, "a call ran after the stop was read");
            }
        }
    }
}
