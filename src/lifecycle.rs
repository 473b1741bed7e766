//! The application lifecycle: start (shielded), run, stop (shielded).
//!
//! This is the whole recipe for a graceful shutdown, in one function,
//! [`App::run`]:
//!
//! 1. **start** every service, in order, under a [`Shield`](crate::signals::Shield): a Ctrl+C now is
//!    recorded, not obeyed, because a half-started service is hard to stop;
//! 2. **run**: wait, using no CPU, for the interrupt, a failure or
//!    `--run-for`; skipped if the program was interrupted during start;
//! 3. **stop** the services that started, in reverse order, under a shield
//!    and against a deadline: a second Ctrl+C must not cut the stop short.
//!
//! Who decides the stop order? This function does, explicitly. Leaving it to
//! `drop` order would hide it in the declaration order of variables, and
//! `std::process::exit` would skip it entirely.

use crossbeam::channel::{self, after, never, Receiver};
use crossbeam::select;
use log::{error, info, warn};

use crate::deadline::{self, step};
use crate::ending::{Ending, StopReason};
use crate::failure::{self, Failure, FailureReporter};
use crate::knobs::Knobs;
use crate::signals::{os, Signals, Stage};

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

/// The application: its services and the knobs that govern its lifecycle.
pub struct App {
    signals: &'static Signals,
    knobs: Knobs,
    services: Vec<Box<dyn Service>>,
    reporter: FailureReporter,
    failures: Receiver<Failure>,
}

impl App {
    /// An application with no services yet, governed by `knobs`'
    /// `--stop-timeout` and `--run-for`, listening to `signals`.
    pub fn new(signals: &'static Signals, knobs: &Knobs) -> App {
        let (sender, failures) = channel::unbounded();
        let reporter = FailureReporter { failures: sender, signals };
        App { signals, knobs: knobs.clone(), services: Vec::new(), reporter, failures }
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
        os::say_what_was_inherited();
        let reason = self.start_and_run();

        // The stop runs to its end: under a shield, so that a second Ctrl+C
        // cannot cut it short, and against a deadline, so that it ends.
        step("beginning the stop");
        info!("stop: begin ({reason}; the stop runs to its end, a third Ctrl+C forces the exit)");
        let shield = self.signals.shield(Stage::Stopping);
        let (stop_failed, stop_deadline) =
            deadline::stop_within(self.knobs.stop_timeout, || self.stop_all());
        // Says how many signals the stop held back, if any.
        let _ = shield.release();
        info!("stop: end");
        step("writing out the last log lines");

        // Faults the run stage never picked up (a worker dying during the
        // stop, a loop panicking as it was cancelled, anything after a failed
        // start) still say the run was not clean.
        let late_failures: Vec<Failure> = self.failures.try_iter().collect();
        for failure in &late_failures {
            error!("stop: also, {failure}");
        }
        Ending { reason, stop_failed, late_failures, stop_deadline, signals: self.signals }
    }

    /// Start, shielded, then the run stage unless start failed or was
    /// interrupted; returns why the program must now stop.
    fn start_and_run(&mut self) -> StopReason {
        info!("start: begin (Ctrl+C is delayed until start is over)");
        let shield = self.signals.shield(Stage::Starting);
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
            // started before this one still need their stop.
            let failure = match failure::catch(|| service.start()) {
                Ok(Ok(())) => continue,
                Ok(Err(cause)) => {
                    error!("start: {name} failed to start: {cause}; stopping what has started");
                    StopReason::StartFailed
                }
                Err(_) => {
                    // The hook has logged the panic and its message.
                    error!("start: {name} panicked while starting; stopping what has started");
                    let thread = std::thread::current().name().unwrap_or("main").to_owned();
                    StopReason::Failed(Failure::Panicked { thread })
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
        info!("run: waiting for {}", os::names_of_stop_signals());
        let run_time_over = self.knobs.run_for.map_or_else(never, after);
        let reason = select! {
            recv(self.signals.interrupt()) -> _ => StopReason::Interrupted,
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
            match failure::catch(|| service.stop()) {
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;
    use crate::exit_code;
    use crate::knobs::TimeScale;

    /// What a test service does in `start` and `stop`.
    #[derive(Clone, Copy, PartialEq)]
    enum Behaviour {
        Works,
        FailsToStart,
        PanicsInStart,
        FailsToStop,
        PanicsInStop,
    }

    /// Writes "start NAME" / "stop NAME" into a shared journal.
    struct Recorder {
        name: String,
        behaviour: Behaviour,
        journal: Arc<Mutex<Vec<String>>>,
    }

    impl Service for Recorder {
        fn name(&self) -> &str {
            &self.name
        }

        fn start(&mut self) -> Result<(), BoxError> {
            crate::lock(&self.journal).push(format!("start {}", self.name));
            match self.behaviour {
                Behaviour::FailsToStart => Err("no database".into()),
                Behaviour::PanicsInStart => panic!("bug in start"),
                _ => Ok(()),
            }
        }

        fn stop(&mut self) -> Result<(), BoxError> {
            crate::lock(&self.journal).push(format!("stop {}", self.name));
            match self.behaviour {
                Behaviour::FailsToStop => Err("flush failed".into()),
                Behaviour::PanicsInStop => panic!("bug in stop"),
                _ => Ok(()),
            }
        }
    }

    /// Runs an app of three services (`a`, `b`, `c`) that ends its run stage
    /// at once; returns the outcome and the journal.
    fn run_app(behaviours: [Behaviour; 3], failure: Option<Failure>) -> (u8, Vec<String>) {
        // A hub of its own, without the process-wide signal handler.
        let signals = Signals::for_tests();
        let knobs = Knobs {
            time_scale: TimeScale(0.0),
            stop_timeout: Duration::from_secs(30),
            run_for: Some(Duration::ZERO),
        };
        let journal = Arc::new(Mutex::new(Vec::new()));
        let mut app = App::new(signals, &knobs);
        if let Some(failure) = failure {
            app.failure_reporter().report(failure);
        }
        for (name, behaviour) in ["a", "b", "c"].into_iter().zip(behaviours) {
            app = app.service(Recorder {
                name: name.to_owned(),
                behaviour,
                journal: journal.clone(),
            });
        }
        let outcome = app.run().code();
        let journal = crate::lock(&journal).clone();
        (outcome, journal)
    }

    use Behaviour::*;

    #[test]
    fn starts_in_order_and_stops_in_reverse() {
        let (outcome, journal) = run_app([Works; 3], None);
        assert_eq!(outcome, exit_code::CLEAN);
        assert_eq!(journal, ["start a", "start b", "start c", "stop c", "stop b", "stop a"]);
    }

    #[test]
    fn a_failed_start_stops_only_what_started_before_it() {
        let (outcome, journal) = run_app([Works, FailsToStart, Works], None);
        assert_eq!(outcome, exit_code::START_FAILED);
        assert_eq!(journal, ["start a", "start b", "stop a"]);
    }

    #[test]
    fn a_panic_in_start_is_an_internal_failure_and_still_stops_the_rest() {
        let (outcome, journal) = run_app([Works, PanicsInStart, Works], None);
        assert_eq!(outcome, exit_code::INTERNAL_FAILURE);
        assert_eq!(journal, ["start a", "start b", "stop a"]);
    }

    #[test]
    fn a_failed_or_panicking_stop_does_not_skip_the_other_stops() {
        for broken in [FailsToStop, PanicsInStop] {
            let (outcome, journal) = run_app([Works, broken, Works], None);
            assert_eq!(outcome, exit_code::STOP_FAILED);
            assert_eq!(journal, ["start a", "start b", "start c", "stop c", "stop b", "stop a"]);
        }
    }

    #[test]
    fn a_fault_stops_the_app_with_its_own_exit_code() {
        let failure = Failure::WorkerDied {
            worker: "worker-1".to_owned(),
            detail: "signal: 9 (SIGKILL)".to_owned(),
        };
        let (outcome, journal) = run_app([Works; 3], Some(failure));
        assert_eq!(outcome, exit_code::WORKER_DIED);
        assert_eq!(journal.len(), 6);
    }
}
