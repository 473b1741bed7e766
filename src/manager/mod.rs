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
//! 2. the worker's single engine thread reads it, works, writes the reply;
//! 3. that worker's **collector** thread reads the reply, hands it to the
//!    waiting caller through a one-shot channel, and gives the worker the
//!    next queued call, if any.
//!
//! The collector is what makes failures visible at once: when a worker's
//! stdout ends, the collector reaps the process, fails the call it had in
//! hand with the exit status, and reports the fault to the application.
//!
//! A worker gets its next piece of work (a call, an update) only when the
//! previous one is done. That is the shared-queue semantics (whichever
//! worker is free takes the next call), and it is also what lets a worker
//! honour "stop > update > call" with a single thread.

mod collector;
mod error;
mod spawn;

use std::collections::{HashMap, HashSet, VecDeque};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Child, ChildStdin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam::channel::{self, Receiver, RecvTimeoutError, Sender};
use crossbeam::select;
use log::{debug, info, warn};

pub use error::ManagerError;

use crate::lock;

use crate::fault::FaultReporter;
use crate::protocol::{self, Command, Output, Request};
use crate::signals::Never;

/// All workers together must say "bootstrapped" within this time.
pub const BOOTSTRAP_TIMEOUT: Duration = Duration::from_secs(5);
/// ... and "started" (initialisation done) within this time of the start.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// A caller gives up on a call after this long.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Every worker must have updated within this time.
pub const UPDATE_TIMEOUT: Duration = Duration::from_secs(30);

/// What to run, and how many.
#[derive(Clone, Debug)]
pub struct ManagerConfig {
    pub workers: usize,
    /// The worker executable: normally `std::env::current_exe()`; tests and
    /// benchmarks point it at the built binary.
    pub program: PathBuf,
    /// Arguments before the `--worker-id N` that the manager appends.
    pub args: Vec<OsString>,
}

pub struct MultiProcessManager {
    config: ManagerConfig,
    shared: Arc<Shared>,
    /// Lifecycle events from the collectors; read by `start` and `update`.
    events: Receiver<Event>,
    /// Disconnects when `stop` begins, waking an `update` that waits.
    stopped: Receiver<Never>,
    collectors: Mutex<Vec<JoinHandle<()>>>,
    /// Updates go one at a time.
    update_lock: Mutex<()>,
    next_call: AtomicU64,
    next_round: AtomicU64,
}

/// What the collectors share with the manager.
struct Shared {
    state: Mutex<State>,
    events: Sender<Event>,
    faults: Option<FaultReporter>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    NotStarted,
    Starting,
    Running,
    Stopping,
    Stopped,
}

struct State {
    phase: Phase,
    workers: Vec<Slot>,
    /// Callers waiting for a reply, by call id.
    waiting: HashMap<u64, Sender<Result<Output, ManagerError>>>,
    /// Calls no worker was free for yet, oldest first.
    queue: VecDeque<(u64, Request)>,
    /// Dropped when `stop` begins (see `MultiProcessManager::stopped`).
    stop_trigger: Option<Sender<Never>>,
}

/// The parent's view of one worker.
struct Slot {
    /// `None` once the worker was told to stop, or died.
    stdin: Option<ChildStdin>,
    /// Shared with the collector, which reaps it; here only to kill it.
    child: Arc<Mutex<Child>>,
    /// The call this worker is working on.
    call: Option<u64>,
    /// An update has been sent and not yet answered.
    updating: bool,
    alive: bool,
}

/// What collectors tell `start` and `update` about.
#[derive(Debug)]
enum Event {
    Bootstrapped {
        worker: usize,
        pid: u32,
    },
    Started {
        worker: usize,
    },
    Updated {
        worker: usize,
        round: u64,
        version: u64,
    },
    Exited {
        worker: usize,
        status: String,
    },
}

impl MultiProcessManager {
    /// `faults` receives a report when a worker dies while running.
    pub fn new(config: ManagerConfig, faults: Option<FaultReporter>) -> MultiProcessManager {
        let (event_sender, events) = channel::unbounded();
        let (stop_trigger, stopped) = channel::bounded(0);
        MultiProcessManager {
            config,
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    phase: Phase::NotStarted,
                    workers: Vec::new(),
                    waiting: HashMap::new(),
                    queue: VecDeque::new(),
                    stop_trigger: Some(stop_trigger),
                }),
                events: event_sender,
                faults,
            }),
            events,
            stopped,
            collectors: Mutex::new(Vec::new()),
            update_lock: Mutex::new(()),
            next_call: AtomicU64::new(1),
            next_round: AtomicU64::new(1),
        }
    }

    /// Starts every worker and waits until each has bootstrapped and
    /// started. On any failure every worker is killed and reaped, and the
    /// error names the worker.
    pub fn start(&self) -> Result<(), ManagerError> {
        {
            let mut state = self.shared.lock();
            if state.phase != Phase::NotStarted {
                return Err(ManagerError::NotRunning);
            }
            state.phase = Phase::Starting;
        }
        let began = Instant::now();
        info!("manager: starting {} workers", self.config.workers);
        let result = self
            .spawn_all()
            .and_then(|()| self.wait_until_started(began));
        match result {
            Ok(()) => {
                self.shared.lock().phase = Phase::Running;
                info!(
                    "manager: {} workers started in {} ms",
                    self.config.workers,
                    began.elapsed().as_millis()
                );
                Ok(())
            }
            Err(error) => {
                self.abandon_start();
                Err(error)
            }
        }
    }

    pub fn process_string(&self, text: &str) -> Result<Output, ManagerError> {
        self.call(Request::ProcessString(text.to_owned()))
    }

    pub fn process_number(&self, number: i64) -> Result<Output, ManagerError> {
        self.call(Request::ProcessNumber(number))
    }

    /// Sends `request` to the first free worker (or queues it) and waits,
    /// on this thread, for the reply.
    pub fn call(&self, request: Request) -> Result<Output, ManagerError> {
        let id = self.next_call.fetch_add(1, Ordering::Relaxed);
        let (reply_to, reply) = channel::bounded(1);
        // Logged before the lock, so other callers need not wait for our log
        // line; the worker's own log line says which worker took the call.
        debug!("call {id}: {request}");
        let queued = {
            let mut state = self.shared.lock();
            if state.phase != Phase::Running {
                return Err(ManagerError::NotRunning);
            }
            state.waiting.insert(id, reply_to);
            match state.free_worker() {
                Some(index) => {
                    state.send_call(index, id, &request);
                    false
                }
                None => {
                    state.queue.push_back((id, request));
                    true
                }
            }
        };
        if queued {
            debug!("call {id}: queued, every worker is busy");
        }
        match reply.recv_timeout(CALL_TIMEOUT) {
            Ok(result) => result,
            Err(RecvTimeoutError::Timeout) => {
                let mut state = self.shared.lock();
                state.waiting.remove(&id);
                state.queue.retain(|(queued, _)| *queued != id);
                Err(ManagerError::CallTimedOut { id })
            }
            // `stop` answers every waiting caller before dropping the
            // sender; this covers a reply channel dropped any other way.
            Err(RecvTimeoutError::Disconnected) => Err(ManagerError::StoppedWhileWaiting { id }),
        }
    }

    /// Tells every worker to update and waits until all have; returns the
    /// new version. One update at a time.
    pub fn update(&self) -> Result<u64, ManagerError> {
        let _one_at_a_time = lock(&self.update_lock);
        let round = self.next_round.fetch_add(1, Ordering::Relaxed);
        // Events nobody waited for (an earlier update that timed out, a
        // worker's exit already handled by its collector) are stale now.
        while self.events.try_recv().is_ok() {}

        let mut pending: HashSet<usize> = {
            let mut state = self.shared.lock();
            if state.phase != Phase::Running {
                return Err(ManagerError::NotRunning);
            }
            state.send_update(round)
        };
        info!("update {round}: sent to {} workers", pending.len());

        let mut version = 0;
        let timeout = channel::at(Instant::now() + UPDATE_TIMEOUT);
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
                    return Err(ManagerError::UpdateTimedOut { workers: names(&pending) });
                }
            }
        }
        info!("update {round}: every worker is at version {version}");
        Ok(version)
    }

    /// Stops every worker, waits for each to exit and reaps it, stops the
    /// collectors, and fails every call still waiting. Safe to call twice.
    pub fn stop(&self) {
        let queued = {
            let mut state = self.shared.lock();
            match state.phase {
                Phase::NotStarted | Phase::Stopped | Phase::Stopping => return,
                Phase::Starting | Phase::Running => state.phase = Phase::Stopping,
            }
            // Wakes an `update` that is waiting for answers.
            state.stop_trigger = None;
            let queued = state.fail_queued_calls();
            state.tell_workers_to_stop();
            queued
        };
        info!("manager: stopping the workers; {queued} queued call(s) will not be processed");

        // Each collector ends when its worker's stdout closes, after the
        // worker has answered what it had in hand, and reaps the worker.
        self.join_collectors();

        let unanswered = {
            let mut state = self.shared.lock();
            state.phase = Phase::Stopped;
            state.fail_waiting_calls()
        };
        info!(
            "manager: all workers stopped; {} call(s) left unprocessed",
            queued + unanswered
        );
    }

    fn spawn_all(&self) -> Result<(), ManagerError> {
        for index in 0..self.config.workers {
            let name = worker_name(index);
            let spawned = spawn::spawn_worker(&self.config.program, &self.config.args, index + 1);
            let mut child = spawned.map_err(|cause| ManagerError::Spawn {
                worker: name.clone(),
                cause,
            })?;
            let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
                // `spawn_worker` asks for both pipes, so std always gives them.
                let _ = child.kill();
                let _ = child.wait();
                let cause = std::io::Error::other("no stdin/stdout pipe");
                return Err(ManagerError::Spawn {
                    worker: name,
                    cause,
                });
            };
            debug!("manager: spawned {name} (pid {})", child.id());
            let child = Arc::new(Mutex::new(child));
            self.shared.lock().workers.push(Slot {
                stdin: Some(stdin),
                child: child.clone(),
                call: None,
                updating: false,
                alive: true,
            });
            let shared = self.shared.clone();
            let collector = thread::Builder::new()
                .name(format!("collector-{}", index + 1))
                .spawn(move || collector::run(&shared, index, stdout, &child));
            match collector {
                Ok(handle) => lock(&self.collectors).push(handle),
                Err(cause) => {
                    return Err(ManagerError::Spawn {
                        worker: name,
                        cause,
                    })
                }
            }
        }
        Ok(())
    }

    /// Waits for every worker's "bootstrapped" (all within 5 s) and
    /// "started" (all within 30 s of `began`).
    fn wait_until_started(&self, began: Instant) -> Result<(), ManagerError> {
        let count = self.config.workers;
        let mut bootstrapped = vec![false; count];
        let mut started = vec![false; count];
        while started.contains(&false) {
            let (deadline, stage, behind) = if bootstrapped.contains(&false) {
                (began + BOOTSTRAP_TIMEOUT, "bootstrap", &bootstrapped)
            } else {
                (began + START_TIMEOUT, "start", &started)
            };
            match self.events.recv_deadline(deadline) {
                Ok(Event::Bootstrapped { worker, pid }) => {
                    debug!("manager: worker-{} bootstrapped (pid {pid})", worker + 1);
                    bootstrapped[worker] = true;
                }
                Ok(Event::Started { worker }) => {
                    debug!("manager: worker-{} started", worker + 1);
                    bootstrapped[worker] = true;
                    started[worker] = true;
                }
                Ok(Event::Exited { worker, status }) => {
                    let stage = if bootstrapped[worker] {
                        "started"
                    } else {
                        "bootstrapped"
                    };
                    return Err(ManagerError::StartFailed {
                        workers: worker_name(worker),
                        reason: format!("exited ({status}) before it {stage}"),
                    });
                }
                Ok(Event::Updated { .. }) => {}
                Err(_) => {
                    let late: HashSet<usize> = (0..count).filter(|&i| !behind[i]).collect();
                    let limit = deadline - began;
                    return Err(ManagerError::StartFailed {
                        workers: names(&late),
                        reason: format!("did not {stage} within {} s", limit.as_secs()),
                    });
                }
            }
        }
        Ok(())
    }

    /// Start failed: kill every worker (a hung one would never read a stop)
    /// and wait until each is reaped.
    fn abandon_start(&self) {
        let children: Vec<Arc<Mutex<Child>>> = {
            let mut state = self.shared.lock();
            state.phase = Phase::Stopping;
            state.stop_trigger = None;
            state
                .workers
                .iter()
                .map(|slot| slot.child.clone())
                .collect()
        };
        // Killed outside the state lock: a collector holds its child's lock
        // while it reaps, and then needs the state lock.
        for child in &children {
            let _ = lock(child).kill();
        }
        // Closed only after the kill, so that no healthy worker sees the
        // end-of-file first and mistakes it for its parent's death.
        for slot in &mut self.shared.lock().workers {
            slot.stdin = None;
        }
        self.join_collectors();
        self.shared.lock().phase = Phase::Stopped;
        warn!(
            "manager: start abandoned; all {} worker(s) killed and reaped",
            children.len()
        );
    }

    fn join_collectors(&self) {
        let collectors = std::mem::take(&mut *lock(&self.collectors));
        for collector in collectors {
            let _ = collector.join();
        }
    }
}

impl Drop for MultiProcessManager {
    /// A safety net, not the plan: the application stops the manager in
    /// order. If something skipped that (a panic unwinding), workers are
    /// still stopped and reaped rather than left behind.
    fn drop(&mut self) {
        let phase = self.shared.lock().phase;
        if matches!(phase, Phase::Starting | Phase::Running) {
            warn!("manager: dropped while running; stopping the workers now");
            self.stop();
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

impl State {
    /// A worker that is alive and has nothing in hand.
    fn free_worker(&self) -> Option<usize> {
        self.workers
            .iter()
            .position(|slot| slot.alive && slot.call.is_none() && !slot.updating)
    }

    fn send_call(&mut self, index: usize, id: u64, request: &Request) {
        let slot = &mut self.workers[index];
        slot.call = Some(id);
        let command = Command::Call {
            id,
            request: request.clone(),
        };
        // Written under the state lock, which is fine: the worker is free, so
        // it is reading. A failed write means the worker is dying: its
        // collector is about to see the end of its output and fail this
        // call with the exit status.
        if let Some(stdin) = slot.stdin.as_mut() {
            let _ = protocol::send(stdin, &command);
        }
    }

    /// If worker `index` is free, gives it the oldest queued call.
    fn feed(&mut self, index: usize) {
        let slot = &self.workers[index];
        if !slot.alive || slot.call.is_some() || slot.updating {
            return;
        }
        if let Some((id, request)) = self.queue.pop_front() {
            self.send_call(index, id, &request);
        }
    }

    /// Sends `Update` to every live worker; returns which ones.
    fn send_update(&mut self, round: u64) -> HashSet<usize> {
        let mut sent = HashSet::new();
        for (index, slot) in self.workers.iter_mut().enumerate() {
            if let (true, Some(stdin)) = (slot.alive, slot.stdin.as_mut()) {
                if protocol::send(stdin, &Command::Update { round }).is_ok() {
                    slot.updating = true;
                    sent.insert(index);
                }
            }
        }
        sent
    }

    fn tell_workers_to_stop(&mut self) {
        for slot in &mut self.workers {
            if let Some(mut stdin) = slot.stdin.take() {
                let _ = protocol::send(&mut stdin, &Command::Stop);
                // Dropping stdin closes the pipe: even a worker that missed
                // the `Stop` line sees end-of-file and leaves.
            }
        }
    }

    /// Fails the calls that never reached a worker; returns how many.
    fn fail_queued_calls(&mut self) -> usize {
        let queued: Vec<u64> = self.queue.drain(..).map(|(id, _)| id).collect();
        for id in &queued {
            if let Some(caller) = self.waiting.remove(id) {
                let _ = caller.send(Err(ManagerError::StoppedWhileWaiting { id: *id }));
            }
        }
        queued.len()
    }

    /// Fails the calls whose worker exited without answering.
    fn fail_waiting_calls(&mut self) -> usize {
        let waiting: Vec<_> = self.waiting.drain().collect();
        for (id, caller) in &waiting {
            let _ = caller.send(Err(ManagerError::StoppedWhileWaiting { id: *id }));
        }
        waiting.len()
    }
}

fn worker_name(index: usize) -> String {
    format!("worker-{}", index + 1)
}

fn names(indexes: &HashSet<usize>) -> String {
    let mut sorted: Vec<usize> = indexes.iter().copied().collect();
    sorted.sort_unstable();
    let names: Vec<String> = sorted.into_iter().map(worker_name).collect();
    names.join(", ")
}
