//! The application lifecycle: start (shielded), run, stop (shielded).
//!
//! This is the whole recipe for a graceful shutdown, in one function,
//! [`App::run`]:
//!
//! 1. **start** every service, in order, under a [`Shield`](crate::signals::Shield): a Ctrl+C now is
//!    recorded, not obeyed, because a half-started service is hard to stop;
//! 2. **run**: wait, using no CPU, for the interrupt, a fault or `--run-for`;
//!    skipped if the program was interrupted during start;
//! 3. **stop** the services that started, in reverse order, under a shield
//!    and against a deadline: a second Ctrl+C must not cut the stop short.
//!
//! Who decides the stop order? This function does, explicitly. Leaving it to
//! `drop` order would hide it in the declaration order of variables, and
//! `std::process::exit` would skip it entirely.

use std::time::Duration;

use crossbeam::channel::{self, after, never, Receiver, Sender};
use crossbeam::select;
use log::{error, info, warn};

use crate::exit_code::Outcome;
use crate::fault::{Fault, FaultReporter};
use crate::knobs::Knobs;
use crate::signals::{Interrupted, Signals};
use crate::stop_deadline::StopDeadline;

/// Errors crossing the service boundary: each service has its own error type,
/// and the lifecycle only needs to show them.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A part of the application with a start and a stop.
///
/// `stop` is called only if `start` returned `Ok`: it may assume that
/// everything `start` set up exists.
pub trait Service {
    /// Names the service in the log (e.g. `service-1`).
    fn name(&self) -> &str;
    fn start(&mut self) -> Result<(), BoxError>;
    /// Stops the service; `deadline.step(...)` names what it is waiting for,
    /// so a stop that hangs can be reported precisely.
    fn stop(&mut self, deadline: &StopDeadline) -> Result<(), BoxError>;
}

/// Why the program is stopping.
#[derive(Debug)]
enum StopReason {
    StartFailed,
    InterruptedDuringStart,
    Interrupted,
    RunTimeOver,
    Fault(Fault),
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::StartFailed => f.write_str("start failed"),
            StopReason::InterruptedDuringStart => f.write_str("interrupted during start"),
            StopReason::Interrupted => f.write_str("interrupted"),
            StopReason::RunTimeOver => f.write_str("--run-for time is over"),
            StopReason::Fault(fault) => write!(f, "{fault}"),
        }
    }
}

/// The application: its services and the knobs that govern its lifecycle.
pub struct App {
    signals: &'static Signals,
    stop_timeout: Duration,
    run_for: Option<Duration>,
    services: Vec<Box<dyn Service>>,
    fault_sender: Sender<Fault>,
    faults: Receiver<Fault>,
}

impl App {
    pub fn new(signals: &'static Signals, knobs: &Knobs) -> App {
        let (fault_sender, faults) = channel::unbounded();
        App {
            signals,
            stop_timeout: knobs.stop_timeout,
            run_for: knobs.run_for,
            services: Vec::new(),
            fault_sender,
            faults,
        }
    }

    /// A handle that services give to their threads, to report a fault that
    /// should stop the application (see [`crate::fault`]).
    pub fn fault_reporter(&self) -> FaultReporter {
        FaultReporter(self.fault_sender.clone())
    }

    /// Adds a service; services start in the order they are added.
    pub fn service(mut self, service: impl Service + 'static) -> App {
        self.services.push(Box::new(service));
        self
    }

    /// Runs the three stages and says how it went.
    pub fn run(mut self) -> Outcome {
        if self.signals.is_interrupted() {
            // Ctrl+C came before we even began: nothing is started, so
            // there is nothing to stop.
            info!("interrupted before start; nothing to start, nothing to stop");
            self.signals.finish();
            return Outcome::Clean;
        }

        // --- start, shielded ---
        info!("start: begin (Ctrl+C is delayed until start is over)");
        let shield = self.signals.shield();
        let started = self.start_all();
        let start_failed = started < self.services.len();
        let interrupted = shield.release();
        // What never started is never stopped: stop() may rely on start().
        self.services.truncate(started);

        // --- run, unless start failed or was interrupted ---
        let reason = if start_failed {
            StopReason::StartFailed
        } else if interrupted.is_err() {
            warn!("start: end; got the interrupt during start, so skipping the run stage");
            StopReason::InterruptedDuringStart
        } else {
            info!("start: end");
            self.run_stage()
        };

        // --- stop, shielded ---
        info!("stop: begin ({reason}; further Ctrl+C is delayed until stop is over)");
        let shield = self.signals.shield();
        let stop_failed = self.stop_all();
        if let Err(Interrupted { delayed_signals }) = shield.release() {
            if delayed_signals > 0 {
                warn!("stop: {delayed_signals} signal(s) arrived during stop; the stop still ran to the end");
            }
        }
        info!("stop: end");

        // Faults that came in while stopping still say the run was not clean.
        let late_fault = self.faults.try_iter().next();
        if let Some(fault) = &late_fault {
            error!("{fault} (during stop)");
        }
        self.signals.finish();

        match reason {
            StopReason::StartFailed => Outcome::StartFailed,
            StopReason::Fault(fault) => fault.outcome(),
            _ if stop_failed => Outcome::StopFailed,
            _ => late_fault.map_or(Outcome::Clean, |fault| fault.outcome()),
        }
    }

    /// Starts the services in order until one fails; returns how many started.
    fn start_all(&mut self) -> usize {
        for (index, service) in self.services.iter_mut().enumerate() {
            if let Err(cause) = service.start() {
                error!(
                    "start: {} failed to start: {cause}; stopping what has started",
                    service.name()
                );
                return index;
            }
        }
        self.services.len()
    }

    /// Blocks until there is a reason to stop. No polling: `select!` sleeps
    /// until one of the channels becomes ready.
    fn run_stage(&self) -> StopReason {
        info!("run: waiting for Ctrl+C (SIGINT), SIGTERM or SIGHUP");
        let run_time_over = self.run_for.map_or_else(never, after);
        let reason = select! {
            recv(self.signals.interrupt()) -> _ => StopReason::Interrupted,
            recv(self.faults) -> fault => match fault {
                Ok(fault) => StopReason::Fault(fault),
                // Unreachable while `self` holds a sender; stop to be safe.
                Err(_) => StopReason::Interrupted,
            },
            recv(run_time_over) -> _ => StopReason::RunTimeOver,
        };
        match &reason {
            StopReason::Fault(_) => error!("run: end; {reason}"),
            _ => info!("run: end; {reason}"),
        }
        reason
    }

    /// Stops the started services in reverse order. Every service gets its
    /// stop even if an earlier one failed. Returns whether any stop failed.
    fn stop_all(&mut self) -> bool {
        let deadline = StopDeadline::arm(self.stop_timeout);
        let mut failed = false;
        for service in self.services.iter_mut().rev() {
            deadline.step(format!("stopping {}", service.name()));
            if let Err(cause) = service.stop(&deadline) {
                error!("stop: {} failed to stop: {cause}", service.name());
                failed = true;
            }
        }
        deadline.disarm();
        failed
    }
}
