//! The application lifecycle, from `main: begin` to the exit status: start
//! (shielded), run, stop (shielded, in reverse), then how the process ends.
//!
//! This is the whole recipe for a graceful shutdown, in one function,
//! [`App::run`]:
//!
//! 1. **start** every service, in order, under a [`Shield`](crate::signals::Shield):
//!    a Ctrl+C now is recorded, not obeyed (README, section 2);
//! 2. **run**: wait, using no CPU, for the interrupt, a failure or
//!    `--run-for`; skipped if the program was interrupted during start
//!    (section 3);
//! 3. **stop** the services that started, in reverse order, under a shield
//!    and against a deadline (sections 4 and 10);
//!
//! and then [`Ending::status`] decides the exit status, in one `match`, and
//! [`Ending::exit`] ends the process with it (section 11). The simplest service there is, [`SlowService`], closes the
//! file: it is what `simple` runs, and `complex`'s service-2.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam::channel::{self, after, never, Receiver};
use crossbeam::select;
use log::{error, info, warn};

use crate::deadline::{self, step};
use crate::exit::Exit;
use crate::failure::{Failure, FailureReporter};
use crate::fault::Fault;
use crate::knobs::TimeScale;
use crate::logging;
use crate::signals::{Hub, Stage};

/// Errors crossing the service boundary: each service has its own error type,
/// and the lifecycle only needs to show them.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A part of the application with a start and a stop.
///
/// `stop` is called only if `start` returned `Ok`: it may assume that
/// everything `start` set up exists. A stop that waits for something says
/// what with [`deadline::step`], so a stop that hangs is reported precisely.
pub trait Service {
    /// Names the service in the log (e.g. `service-1`).
    fn name(&self) -> &str;
    /// Starts the service, shielded from interrupts; an error here stops
    /// what started before it, in reverse.
    fn start(&mut self) -> Result<(), BoxError>;
    /// Stops the service.
    fn stop(&mut self) -> Result<(), BoxError>;
}

/// The application: its services, the signal hub it listens to, and the two
/// times that govern its lifecycle.
pub struct App {
    hub: &'static Hub,
    stop_timeout: Duration,
    run_for: Option<Duration>,
    services: Vec<Box<dyn Service>>,
    reporter: FailureReporter,
    failures: Receiver<Failure>,
}

impl App {
    /// An application with no services yet, listening to `hub`; its stop
    /// must end within `stop_timeout`, and its run stage ends by itself
    /// after `run_for`, if given.
    pub fn new(hub: &'static Hub, stop_timeout: Duration, run_for: Option<Duration>) -> App {
        let (sender, failures) = channel::unbounded();
        let reporter = FailureReporter { failures: sender, hub };
        App { hub, stop_timeout, run_for, services: Vec::new(), reporter, failures }
    }

    /// A handle that services give to their threads, to report a failure that
    /// should stop the application (see [`crate::failure`]).
    pub fn failure_reporter(&self) -> FailureReporter {
        self.reporter.clone()
    }

    /// Adds a service; services start in the order they are added.
    pub fn service(mut self, service: impl Service + 'static) -> App {
        self.services.push(Box::new(service));
        self
    }

    /// Runs the three stages and says how it went.
    pub fn run(mut self) -> Ending {
        self.hub.say_what_was_inherited();
        // Armed before anything starts: a deadline that needed a new thread
        // when the stop begins could be refused by then (a pids limit).
        let deadline = deadline::arm(self.stop_timeout);
        let reason = self.start_and_run();

        // The stop runs to its end: under a shield, so that a second Ctrl+C
        // cannot cut it short, and against a deadline, so that it ends.
        step("beginning the stop");
        // "signal", not "Ctrl+C": Ctrl+C may have been left ignored (`cmd &`).
        info!("stop: begin ({reason}; the stop runs to its end, a third signal forces the exit)");
        let shield = self.hub.shield(Stage::Stopping);
        let (failed, stop_deadline) = deadline.stop_within(|| self.stop_all());
        // Says how many signals the stop held back, if any.
        let _ = shield.release();
        info!("stop: end");
        step("writing out the last log lines");

        // Faults the run stage never picked up (a worker dying during the
        // stop, a loop panicking as it was cancelled, anything after a failed
        // start) still say the run was not clean.
        let late_failures: Vec<Failure> = self.failures.try_iter().collect();
        late_failures.iter().for_each(|failure| error!("stop: also, {failure}"));
        Ending { reason, stop_failed: failed, late_failures, stop_deadline, hub: self.hub }
    }

    /// Start, shielded, then the run stage unless start failed or was
    /// interrupted; returns why the program must now stop.
    fn start_and_run(&mut self) -> StopReason {
        info!("start: begin (Ctrl+C is delayed until start is over)");
        let shield = self.hub.shield(Stage::Starting);
        let (started, start_failure) = self.start_all();
        let interrupted = shield.release();
        // What never started is never stopped: stop() may rely on start().
        self.services.truncate(started);

        if let Some(failure) = start_failure {
            failure
        } else if interrupted.is_err() {
            warn!("start: end; got the interrupt during start, so skipping the run stage");
            StopReason::InterruptedDuringStart
        } else if let Ok(failure) = self.failures.try_recv() {
            // A failure during start was announced when it came (see
            // `FailureReporter::report`); it is acted on now.
            error!("start: end; {failure} during start, so skipping the run stage");
            StopReason::Failed(failure)
        } else {
            info!("start: end");
            self.run_stage()
        }
    }

    /// Starts the services in order until one fails; returns how many
    /// started and, if one failed, why the program must stop now.
    fn start_all(&mut self) -> (usize, Option<StopReason>) {
        for (index, service) in self.services.iter_mut().enumerate() {
            let name = service.name().to_owned();
            step(format!("starting {name}"));
            // A panic in `start` must not unwind past us: the services
            // started before this one still need their stop. (The panic hook
            // has logged it; on this thread it reports nothing: see
            // `failure::install_panic_hook`.)
            let failure = match catch_unwind(AssertUnwindSafe(|| service.start())) {
                Ok(Ok(())) => continue,
                Ok(Err(cause)) => {
                    error!("start: {name} failed to start: {cause}; stopping what has started");
                    StopReason::StartFailed
                }
                Err(_) => {
                    error!("start: {name} panicked while starting; stopping what has started");
                    StopReason::Failed(Failure::Panicked { thread: "main".to_owned() })
                }
            };
            return (index, Some(failure));
        }
        (self.services.len(), None)
    }

    /// Blocks until there is a reason to stop. No polling: `select!` sleeps
    /// until one of the channels becomes ready.
    fn run_stage(&self) -> StopReason {
        step("waiting in the run stage");
        info!("run: waiting for {}", self.hub.names_of_stop_signals());
        let run_time_over = self.run_for.map_or_else(never, after);
        let reason = select! {
            recv(self.hub.interrupt()) -> _ => StopReason::Interrupted,
            recv(self.failures) -> failure => match failure {
                Ok(failure) => StopReason::Failed(failure),
                // Unreachable while `self` holds a sender; stop to be safe.
                Err(_) => StopReason::Interrupted,
            },
            recv(run_time_over) -> _ => StopReason::RunTimeOver,
        };
        match &reason {
            StopReason::Failed(_) => error!("run: end; {reason}"),
            _ => info!("run: end; {reason}"),
        }
        reason
    }

    /// Stops the started services in reverse order. Every service gets its
    /// stop even if an earlier one failed or panicked: one broken stop must
    /// not leave the others running. The failures are reported together at
    /// the end. Returns whether any stop failed.
    fn stop_all(&mut self) -> bool {
        let mut failures = Vec::new();
        for service in self.services.iter_mut().rev() {
            let name = service.name().to_owned();
            step(format!("stopping {name}"));
            match catch_unwind(AssertUnwindSafe(|| service.stop())) {
                Ok(Ok(())) => {}
                Ok(Err(cause)) => failures.push(format!("{name}: {cause}")),
                // The hook has logged the panic and its message.
                Err(_) => failures.push(format!("{name}: panicked")),
            }
        }
        if !failures.is_empty() {
            let (failed, all) = (failures.len(), self.services.len());
            let failures = failures.join("; ");
            error!("stop: {failed} of {all} service(s) failed to stop (the others were stopped): {failures}");
        }
        !failures.is_empty()
    }
}

/// Why the program is stopping.
#[derive(Debug)]
pub enum StopReason {
    /// A service failed to start.
    StartFailed,
    /// A signal came during start; the run stage was skipped.
    InterruptedDuringStart,
    /// A signal came during the run stage.
    Interrupted,
    /// `--run-for` ended the run stage.
    RunTimeOver,
    /// A worker died or a thread panicked.
    Failed(Failure),
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::StartFailed => f.write_str("start failed"),
            StopReason::InterruptedDuringStart => f.write_str("interrupted during start"),
            StopReason::Interrupted => f.write_str("interrupted"),
            StopReason::RunTimeOver => f.write_str("--run-for time is over"),
            StopReason::Failed(failure) => write!(f, "{failure}"),
        }
    }
}

/// How the run went: `main` ends the process with [`Ending::exit`].
#[must_use = "the exit status is lost unless `main` ends with `ending.exit()`"]
#[derive(Debug)]
pub struct Ending {
    /// Why the program stopped.
    pub reason: StopReason,
    /// Whether a service's stop failed.
    pub stop_failed: bool,
    /// Failures that came too late to be the reason (during the stop).
    pub late_failures: Vec<Failure>,
    /// When the stop had to be over: the log must be written out by then
    /// too, so that a stderr nobody reads cannot keep the program alive.
    pub stop_deadline: Instant,
    /// Asked at the very end whether a Ctrl+C came.
    hub: &'static Hub,
}

impl Ending {
    /// The exit status the run calls for. The cause of the stop comes
    /// first; a failed stop next; then whatever went wrong during the stop.
    /// When a failure and an interrupt meet, the failure wins: it says
    /// more, and any non-zero status already stops `make`, `&&` and `set -e`.
    pub fn status(&self) -> Exit {
        match &self.reason {
            StopReason::StartFailed => Exit::StartFailed,
            StopReason::Failed(failure) => failure.status(),
            _ if self.stop_failed => Exit::StopFailed,
            _ => self.late_failures.first().map_or(Exit::Clean, Failure::status),
        }
    }

    /// Ends the process: `main`'s last expression, after `main: end`.
    /// Writes out the log (by the stop's deadline: a stderr that nobody reads
    /// must not keep the program alive past it), then returns the status or,
    /// after a clean stop that a Ctrl+C reached, however late, dies of
    /// SIGINT: a calling shell loop then stops too (README, section 11).
    pub fn exit(self) -> Exit {
        let written = logging::finish(self.stop_deadline.saturating_duration_since(Instant::now()));
        deadline::claim_exit();
        match (written, self.status()) {
            (false, _) => Exit::Abandoned,
            (true, Exit::Clean) => self.hub.clean_exit_unless_ctrl_c(),
            (true, status) => status,
        }
    }
}

/// The simplest service there is: its start and its stop take one (scaled)
/// second each, and it does nothing else.
///
/// It stands for the ordinary parts of a real program: opening a database
/// connection, loading a model, flushing a file. One second is long enough
/// to press Ctrl+C in the middle of it and watch the shield delay the
/// interrupt.
pub struct SlowService {
    name: String,
    /// How long start and stop each take: one designed second.
    step: Duration,
    /// `service-start` makes `start` fail (exit 3); `service-stop` makes
    /// `stop` panic (the other services still stop; exit 6).
    fault: Option<Fault>,
}

impl SlowService {
    /// A service named `name` (`service-1`) in the log.
    pub fn new(name: impl Into<String>, time_scale: TimeScale) -> SlowService {
        SlowService { name: name.into(), step: time_scale.of(1.0), fault: None }
    }

    /// Arms an injected fault (see [`crate::fault`]); only the service
    /// faults apply here.
    pub fn with_fault(mut self, fault: Option<Fault>) -> SlowService {
        self.fault = fault;
        self
    }
}

impl Service for SlowService {
    fn name(&self) -> &str {
        &self.name
    }

    fn start(&mut self) -> Result<(), BoxError> {
        info!("{}: starting", self.name);
        // A blocking step, not a poll: the thread simply has work to wait for.
        thread::sleep(self.step);
        if self.fault == Some(Fault::ServiceStart) {
            return Err("injected fault (service-start): cannot start".into());
        }
        info!("{}: started", self.name);
        Ok(())
    }

    fn stop(&mut self) -> Result<(), BoxError> {
        info!("{}: stopping", self.name);
        thread::sleep(self.step);
        if self.fault == Some(Fault::ServiceStop) {
            panic!("injected fault (service-stop): a bug in {}'s stop", self.name);
        }
        info!("{}: stopped", self.name);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
