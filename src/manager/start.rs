//! The start handshake: spawn every worker, then wait until each has said
//! "bootstrapped" and "started", against deadlines that count from the
//! moment start began.
//!
//! The workers are spawned all at once, one short-lived thread each: a
//! spawn returns only once the new process runs the program (`exec`), and
//! four of those waits in a row would be most of the start's time.

use std::collections::HashSet;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::thread::{self, Builder};
use std::time::{Duration, Instant};

use crossbeam::channel::RecvTimeoutError;

use log::{debug, warn};

use super::dispatch::{names, worker_name, Phase};
use super::spawn::spawn_worker;
use super::{collector, Event, ManagerError, MultiProcessManager};
use super::{BOOTSTRAP_TIMEOUT, START_TIMEOUT};
use crate::lock;

/// How long the collectors of killed workers may take to see their output
/// close, when a start is abandoned.
const KILLED_WORKERS_GRACE: Duration = Duration::from_secs(1);

impl MultiProcessManager {
    /// Spawns every worker at once, then registers each in id order, with
    /// its collector thread. After a failure, the workers not registered are
    /// killed and reaped here; the abandoned start ends the others.
    pub(super) fn spawn_all(&self) -> Result<(), ManagerError> {
        let (program, args) = (&self.settings.program, &self.settings.args);
        let spawned: Vec<std::io::Result<Child>> = thread::scope(|scope| {
            let spawning: Vec<_> = (1..=self.settings.workers)
                .map(|id| {
                    let spawning = Builder::new().name(format!("spawning-{id}"));
                    spawning.spawn_scoped(scope, move || spawn_worker(program, args, id))
                })
                .collect();
            let panicked = |_| Err(std::io::Error::other("its spawning thread panicked"));
            spawning.into_iter().map(|spawning| spawning?.join().unwrap_or_else(panicked)).collect()
        });
        let mut failed = None;
        for (worker, child) in (1..).zip(spawned) {
            let done = match child {
                // After a failure nothing more is registered: the rest end here.
                Ok(mut child) if failed.is_some() => {
                    let _ = child.kill();
                    child.wait().map(drop)
                }
                Ok(child) => self.register(worker, child),
                Err(cause) => Err(cause),
            };
            if let (Err(cause), None) = (done, &failed) {
                let name = worker_name(worker);
                failed = Some(ManagerError::StartFailed(format!("cannot start {name}: {cause}")));
            }
        }
        failed.map_or(Ok(()), Err)
    }

    /// Worker `worker` runs: its child is listed for killing and reaping,
    /// its stdin becomes its slot, and a collector reads its stdout.
    fn register(&self, worker: usize, mut child: Child) -> std::io::Result<()> {
        debug!("manager: spawned {} (pid {})", worker_name(worker), child.id());
        let pipes = (child.stdin.take(), child.stdout.take());
        // From here on, a failed start kills this worker with the others,
        // and the exit reaps whatever no collector did.
        let child = Arc::new(Mutex::new(child));
        lock(&self.children).push((worker, child.clone()));
        // `spawn_worker` asks for both pipes, so std always gives them.
        let (Some(stdin), Some(stdout)) = pipes else {
            return Err(std::io::Error::other("no stdin/stdout pipe"));
        };
        self.shared.lock().add_worker(stdin);
        let running = lock(&self.collectors_running).clone();
        let collector = collector::spawn(self.shared.clone(), worker, stdout, child, running)?;
        lock(&self.collectors).push(collector);
        Ok(())
    }

    /// Waits for every worker's "bootstrapped" (within 5 s of `began`) and
    /// "started" (within 30 s of `began`).
    pub(super) fn wait_until_started(&self, began: Instant) -> Result<(), ManagerError> {
        let count = self.settings.workers;
        let (mut bootstrapped, mut started) = (HashSet::new(), HashSet::new());
        while started.len() < count {
            let (limit, stage, done) = match bootstrapped.len() < count {
                true => (BOOTSTRAP_TIMEOUT, "bootstrap", &bootstrapped),
                false => (START_TIMEOUT, "start", &started),
            };
            match self.events.recv_deadline(began + limit) {
                Ok(Event::Bootstrapped { worker, pid }) => {
                    debug!("manager: {} bootstrapped (pid {pid})", worker_name(worker));
                    bootstrapped.insert(worker);
                }
                Ok(Event::Started { worker }) => {
                    debug!("manager: {} started", worker_name(worker));
                    bootstrapped.insert(worker);
                    started.insert(worker);
                }
                Ok(Event::Exited { worker, status }) => {
                    let before =
                        if bootstrapped.contains(&worker) { "started" } else { "bootstrapped" };
                    let name = worker_name(worker);
                    let why = format!("{name} exited ({status}) before it {before}");
                    return Err(ManagerError::StartFailed(why));
                }
                Ok(Event::Updated { .. }) => {}
                Err(_) => {
                    let late = names(&(1..=count).filter(|id| !done.contains(id)).collect());
                    let limit = limit.as_secs();
                    let why = format!("{late} did not {stage} within {limit} s of the start");
                    return Err(ManagerError::StartFailed(why));
                }
            }
        }
        Ok(())
    }

    /// Start failed: kill every worker (a hung one would never read a stop)
    /// and wait until each is reaped by its collector.
    pub(super) fn abandon_start(&self) {
        let mut state = self.shared.lock();
        (state.phase, state.stop_trigger) = (Phase::Stopping, None);
        drop(state);
        let workers = lock(&self.children).clone();
        // Killed outside the state lock: a collector holds its child's lock
        // while it reaps, and then needs the state lock.
        for (_, child) in &workers {
            let _ = lock(child).kill();
        }
        // Closed only after the kill, so that no healthy worker sees the
        // end-of-file first and mistakes it for its parent's death.
        self.shared.lock().close_all_stdin();
        // A killed worker's output closes at once, unless a process it left
        // behind still holds it: then its collector would wait for ever, and
        // the start with it. So it waits a moment, and is left behind.
        drop(lock(&self.collectors_running).take());
        let reaped = match self.collectors_ended.recv_timeout(KILLED_WORKERS_GRACE) {
            Err(RecvTimeoutError::Timeout) => {
                lock(&self.collectors).clear();
                false
            }
            _ => {
                self.join_collectors();
                true
            }
        };
        self.shared.lock().phase = Phase::Stopped;
        match (workers.len(), reaped) {
            (0, _) => warn!("manager: start abandoned before any worker was spawned"),
            (n, true) => warn!("manager: start abandoned; the {n} worker(s) spawned were killed and reaped"),
            (n, false) => warn!("manager: start abandoned; the {n} worker(s) spawned were killed, and a killed worker's output is held open by a process it left behind: not waiting for it (the exit reaps it)"),
        }
    }
}
