//! `MultiProcessManager`: N worker processes behind one call interface.
//!
//! The parent side of [`crate::worker`]. It starts copies of the program's
//! own executable in worker mode and talks to each over its stdin (commands)
//! and stdout (reports), one JSON line per message.
//!
//! How a call travels, with as few thread hops as a watched pipe allows:
//!
//! 1. the **caller's own thread** writes the call into the stdin of a free
//!    worker (or queues it if all are busy): no dispatcher thread in between;
//! 2. the worker's single thread reads it, works, writes the reply;
//! 3. that worker's **collector** thread reads the reply, hands it to the
//!    waiting caller through a one-shot channel, and gives the worker the
//!    next queued call, if any.
//!
//! The collector is what makes failures visible at once: when a worker's
//! stdout ends, the collector reaps the process, fails the call it had in
//! hand with the exit status, and reports the failure to the application.
//!
//! A worker gets its next piece of work (a call, an update) only when the
//! previous one is done. That is the shared-queue semantics (whichever
//! worker is free takes the next call), and it is also what lets a worker
//! honour "stop > update > call" with a single thread.
//!
//! This file is the API; `spawn` (how a worker process is started), `start`
//! (the handshake that brings them up), `dispatch` (who has which call) and
//! `collector` (one reader per worker) are the machinery behind it.

mod children;
mod collector;
mod dispatch;
mod spawn;
mod start;

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ChildStdin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam::channel::{self, Receiver, RecvTimeoutError, Sender};
use crossbeam::select;
use log::{debug, info, warn};

use crate::cancel::{self, Cancelled, Trigger};
use crate::deadline;
use crate::failure::FailureReporter;
use crate::lock;
use crate::protocol::{Output, Request};
use children::ChildList;
use dispatch::{names, worker_name, Phase, State};

/// Every worker must say "bootstrapped" within this time of the start...
pub const BOOTSTRAP_TIMEOUT: Duration = Duration::from_secs(5);
/// ... and "started" (initialisation done) within this time of the start.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// A caller gives up on a call after this long; so does an update.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// What to run, and how many.
#[derive(Clone, Debug)]
pub struct ManagerSettings {
    /// How many worker processes.
    pub workers: usize,
    /// The worker executable: normally `std::env::current_exe()`; tests and
    /// benchmarks point it at the built binary.
    pub program: PathBuf,
    /// Arguments before the `--worker-id N` that the manager appends.
    pub args: Vec<OsString>,
}

/// A manager call, start or update that did not succeed, said precisely:
/// each error names the worker (and call) it is about. (Each field is
/// named in its variant's doc.)
#[derive(Debug)]
#[allow(missing_docs)]
pub enum ManagerError {
    /// Start failed; the text names the workers and what happened to them.
    StartFailed(String),
    /// Calls and updates are accepted only between start and stop, and a
    /// manager starts only once.
    NotRunning,
    /// The worker doing this call or update (`worker-2`) exited, with
    /// `status` saying how (`exit status: 7`).
    WorkerDied { worker: String, status: String },
    /// The worker (`worker-2`) answered the call with an error `message`.
    CallFailed { worker: String, message: String },
    /// No answer in time; the text says to what.
    TimedOut(String),
    /// The manager stopped before call `id` got its result.
    StoppedWhileWaiting { id: u64 },
    /// The manager stopped before every worker had updated.
    StoppedWhileUpdating,
    /// Every worker has died: no call can be done any more.
    NoWorkerLeft,
}

impl std::fmt::Display for ManagerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ManagerError::StartFailed(what) | ManagerError::TimedOut(what) => f.write_str(what),
            ManagerError::NotRunning => f.write_str("the manager is not running"),
            ManagerError::WorkerDied { worker, status } => write!(f, "{worker} died ({status})"),
            ManagerError::CallFailed { worker, message } => write!(f, "{worker}: {message}"),
            ManagerError::StoppedWhileWaiting { id } => {
                write!(f, "call {id}: stopped while waiting for the result")
            }
            ManagerError::StoppedWhileUpdating => f.write_str("stopped while updating"),
            ManagerError::NoWorkerLeft => f.write_str("no worker is left alive to take the call"),
        }
    }
}

impl std::error::Error for ManagerError {}

/// N worker processes behind one call interface; see the module docs.
///
/// All methods take `&self`, so one manager can be shared (in an `Arc`) by
/// every thread that calls it.
pub struct MultiProcessManager {
    settings: ManagerSettings,
    shared: Arc<Shared>,
    /// Lifecycle events from the collectors; read by `start` and `update`.
    events: Receiver<Event>,
    /// Cancelled when `stop` begins, waking an `update` that waits.
    stopped: Cancelled,
    /// The worker processes, in id order, for killing when start fails
    /// and for every exit of the program.
    children: Arc<ChildList>,
    collectors: Mutex<Vec<JoinHandle<()>>>,
    /// Each collector holds a clone of this trigger while it runs, so
    /// `collectors_ended` is cancelled when the last one ends.
    collectors_running: Mutex<Option<Trigger>>,
    collectors_ended: Cancelled,
    /// Updates go one at a time.
    update_lock: Mutex<()>,
    /// Numbers the calls and the updates, each from 1.
    next_call: AtomicU64,
    next_round: AtomicU64,
}

/// What the collectors share with the manager.
struct Shared {
    state: Mutex<State<ChildStdin>>,
    events: Sender<Event>,
    failures: Option<FailureReporter>,
}

/// What collectors tell `start` and `update` about (workers by id).
#[derive(Debug)]
enum Event {
    Bootstrapped { worker: usize, pid: u32 },
    Started { worker: usize },
    Updated { worker: usize, round: u64, version: u64 },
    Exited { worker: usize, status: String },
}

impl MultiProcessManager {
    /// A manager that will run `settings`; nothing starts until
    /// [`start`](MultiProcessManager::start). `failures` receives a report
    /// when a worker dies while running.
    pub fn new(
        settings: ManagerSettings,
        failures: Option<FailureReporter>,
    ) -> MultiProcessManager {
        let (sender, events) = channel::unbounded();
        let (stop_trigger, stopped) = cancel::pair();
        let (collectors_running, collectors_ended) = cancel::pair();
        let state = Mutex::new(State::new(stop_trigger));
        MultiProcessManager {
            settings,
            shared: Arc::new(Shared { state, events: sender, failures }),
            events,
            stopped,
            children: children::registered_list(),
            collectors: Mutex::default(),
            collectors_running: Mutex::new(Some(collectors_running)),
            collectors_ended,
            update_lock: Mutex::default(),
            next_call: AtomicU64::new(1),
            next_round: AtomicU64::new(1),
        }
    }

    /// Starts every worker and waits until each has bootstrapped (within 5 s
    /// of this call) and started (within 30 s). On any failure every worker
    /// is killed and reaped, and the error names the late or dead workers.
    pub fn start(&self) -> Result<(), ManagerError> {
        let mut state = self.shared.lock();
        if state.phase != Phase::NotStarted {
            return Err(ManagerError::NotRunning);
        }
        state.phase = Phase::Starting;
        drop(state);
        let began = Instant::now();
        // Written out before the first spawn: the workers' own lines must
        // not come before it.
        info!("manager: starting {} workers", self.settings.workers);
        log::logger().flush();
        if let Err(error) = self.spawn_all().and_then(|()| self.wait_until_started(began)) {
            self.abandon_start();
            return Err(error);
        }
        self.shared.lock().phase = Phase::Running;
        let took = began.elapsed().as_millis();
        info!("manager: {} workers started in {took} ms", self.settings.workers);
        Ok(())
    }

    /// `process_string` on the first free worker; waits for the result.
    pub fn process_string(&self, text: &str) -> Result<Output, ManagerError> {
        self.call(Request::ProcessString(text.to_owned()))
    }

    /// `process_number` on the first free worker; waits for the result.
    pub fn process_number(&self, number: i64) -> Result<Output, ManagerError> {
        self.call(Request::ProcessNumber(number))
    }

    /// Sends `request` to the first free worker (or queues it) and waits,
    /// on this thread, for the reply: at most [`CALL_TIMEOUT`], and never
    /// past `stop`, which answers every waiting caller.
    pub fn call(&self, request: Request) -> Result<Output, ManagerError> {
        let id = self.next_call.fetch_add(1, Ordering::Relaxed);
        let (reply_to, reply) = channel::bounded(1);
        // Logged before the call is handed over (a cause before its
        // effects); the worker's own line says which worker took it.
        debug!("call {id}: {request}");
        let mut state = self.shared.lock();
        if state.phase != Phase::Running {
            return Err(ManagerError::NotRunning);
        }
        let queued = state.submit(id, request, reply_to);
        drop(state);
        if queued {
            debug!("call {id}: queued, every worker is busy");
        }
        match reply.recv_timeout(CALL_TIMEOUT) {
            Ok(result) => result,
            Err(RecvTimeoutError::Timeout) => {
                self.shared.lock().withdraw(id);
                Err(ManagerError::TimedOut(format!("call {id}: no result in time")))
            }
            // `stop` answers every waiting caller before dropping the
            // sender; this covers a reply channel dropped any other way.
            Err(RecvTimeoutError::Disconnected) => Err(ManagerError::StoppedWhileWaiting { id }),
        }
    }

    /// Tells every worker to update and waits until all have; returns the
    /// new version. One update at a time; a stop meanwhile ends the wait
    /// with [`ManagerError::StoppedWhileUpdating`].
    pub fn update(&self) -> Result<u64, ManagerError> {
        let _one_at_a_time = lock(&self.update_lock);
        let round = self.next_round.fetch_add(1, Ordering::Relaxed);
        // Events nobody waited for (an earlier update that timed out, a
        // worker's exit already handled by its collector) are stale now.
        while self.events.try_recv().is_ok() {}

        info!("update {round}: sending to every worker");
        let mut state = self.shared.lock();
        if state.phase != Phase::Running {
            return Err(ManagerError::NotRunning);
        }
        let mut pending: HashSet<usize> = state.send_update(round);
        drop(state);
        debug!("update {round}: sent to {} workers", pending.len());

        let (mut version, timeout) = (0, channel::after(CALL_TIMEOUT));
        while !pending.is_empty() {
            select! {
                recv(self.events) -> event => match event {
                    Ok(Event::Updated { worker, round: answered, version: new }) if answered == round => {
                        pending.remove(&worker);
                        version = new;
                    }
                    Ok(Event::Exited { worker, status }) if pending.contains(&worker) => {
                        return Err(ManagerError::WorkerDied { worker: worker_name(worker), status });
                    }
                    _ => {}
                },
                recv(self.stopped) -> _ => return Err(ManagerError::StoppedWhileUpdating),
                recv(timeout) -> _ => {
                    let late = names(&pending);
                    return Err(ManagerError::TimedOut(format!("update: no answer in time from {late}")));
                }
            }
        }
        info!("update {round}: every worker is at version {version}");
        Ok(version)
    }

    /// Stops every worker, waits for each to exit and reaps it, stops the
    /// collectors, and fails every call still waiting. Safe to call twice,
    /// and before `start` (it then does nothing).
    pub fn stop(&self) {
        let mut state = self.shared.lock();
        if !matches!(state.phase, Phase::Starting | Phase::Running) {
            return;
        }
        state.phase = Phase::Stopping;
        drop(state);
        // Written out before it is done: the workers' "stopped" lines are
        // written by other processes, and must come after it in the log.
        info!("manager: stopping the workers");
        log::logger().flush();
        let mut state = self.shared.lock();
        state.stop_trigger = None;
        let queued = state.fail_queued_calls(|id| ManagerError::StoppedWhileWaiting { id });
        state.tell_workers_to_stop();
        drop(state);
        if queued > 0 {
            info!("manager: {queued} queued call(s) will not be processed");
        }
        // Each collector ends when its worker's stdout closes, after the
        // worker has answered what it had in hand, and reaps the worker.
        deadline::step(
            "manager: waiting for the workers to finish what they have in hand and exit",
        );
        self.join_collectors();
        let mut state = self.shared.lock();
        state.phase = Phase::Stopped;
        let unanswered = state.fail_unanswered_calls();
        drop(state);
        let left = queued + unanswered;
        info!("manager: all workers stopped; {left} call(s) left unprocessed");
    }

    fn join_collectors(&self) {
        for collector in std::mem::take(&mut *lock(&self.collectors)) {
            let _ = collector.join();
        }
    }
}

impl Drop for MultiProcessManager {
    /// A safety net, not the plan: the application stops the manager in
    /// order. If something skipped that (a panic unwinding), workers are
    /// still stopped and reaped rather than left behind.
    fn drop(&mut self) {
        if matches!(self.shared.lock().phase, Phase::Starting | Phase::Running) {
            warn!("manager: dropped while running; stopping the workers now");
            self.stop();
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State<ChildStdin>> {
        lock(&self.state)
    }
}
