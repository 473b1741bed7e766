//! The start handshake: spawn every worker, then wait until each has said
//! "bootstrapped" and "started", against deadlines that count from the
//! moment start began.
//!
//! Spawning is part of the time: on a loaded machine starting 64 processes
//! can itself take longer than the bootstrap limit, and a start that kept
//! spawning past its deadline would only report it much later. So the
//! deadline is checked between spawns too.

use std::collections::HashSet;
use std::process::Child;
use std::thread;
use std::time::Instant;

use log::{debug, warn};

use super::dispatch::{names, worker_name, Phase};
use super::{collector, spawn, Event, ManagerError, MultiProcessManager};
use super::{BOOTSTRAP_TIMEOUT, START_TIMEOUT};
use crate::{ending, lock};

impl MultiProcessManager {
    /// Spawns every worker and waits until all have started.
    pub(super) fn bring_up(&self, began: Instant) -> Result<(), ManagerError> {
        self.spawn_all(began)?;
        self.wait_until_started(began)
    }

    fn spawn_all(&self, began: Instant) -> Result<(), ManagerError> {
        let count = self.config.workers;
        for worker in 1..=count {
            if began.elapsed() > BOOTSTRAP_TIMEOUT {
                let never_spawned: HashSet<usize> = (worker..=count).collect();
                return Err(ManagerError::StartFailed {
                    workers: names(&never_spawned),
                    reason: format!(
                        "not even spawned {} s after the start began, so they cannot bootstrap in time",
                        BOOTSTRAP_TIMEOUT.as_secs()
                    ),
                });
            }
            self.spawn_one(worker)?;
        }
        Ok(())
    }

    fn spawn_one(&self, worker: usize) -> Result<(), ManagerError> {
        let name = worker_name(worker);
        let spawn_error = |cause| ManagerError::Spawn {
            worker: name.clone(),
            cause,
        };
        let mut child = spawn::spawn_worker(&self.config.program, &self.config.args, worker)
            .map_err(spawn_error)?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            // `spawn_worker` asks for both pipes, so std always gives them.
            reap_now(&mut child);
            return Err(spawn_error(std::io::Error::other("no stdin/stdout pipe")));
        };
        debug!("manager: spawned {name} (pid {})", child.id());
        let child = ending::adopt(child);
        lock(&self.children).push(child.clone());
        let id = self.shared.lock().add_worker(stdin);
        debug_assert_eq!(id, worker);
        let shared = self.shared.clone();
        let reaper = child.clone();
        let collector = thread::Builder::new()
            .name(format!("collector-{worker}"))
            .spawn(move || collector::run(&shared, worker, stdout, &reaper));
        match collector {
            Ok(handle) => {
                lock(&self.collectors).push(handle);
                Ok(())
            }
            Err(cause) => {
                // Without its collector nobody would reap this worker: do it
                // here, now, before reporting the failure.
                reap_now(&mut lock(&child));
                self.shared.lock().exited(worker);
                Err(spawn_error(cause))
            }
        }
    }

    /// Waits for every worker's "bootstrapped" (within 5 s of `began`) and
    /// "started" (within 30 s of `began`).
    fn wait_until_started(&self, began: Instant) -> Result<(), ManagerError> {
        let count = self.config.workers;
        let mut bootstrapped: HashSet<usize> = HashSet::new();
        let mut started: HashSet<usize> = HashSet::new();
        while started.len() < count {
            let (limit, stage, done) = if bootstrapped.len() < count {
                (BOOTSTRAP_TIMEOUT, "bootstrap", &bootstrapped)
            } else {
                (START_TIMEOUT, "start", &started)
            };
            let deadline = began.checked_add(limit).unwrap_or(began);
            match self.events.recv_deadline(deadline) {
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
                    let stage = if bootstrapped.contains(&worker) {
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
                    let late: HashSet<usize> =
                        (1..=count).filter(|id| !done.contains(id)).collect();
                    return Err(ManagerError::StartFailed {
                        workers: names(&late),
                        reason: format!(
                            "did not {stage} within {} s of the start",
                            limit.as_secs()
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// Start failed: kill every worker (a hung one would never read a stop)
    /// and wait until each is reaped.
    pub(super) fn abandon_start(&self) {
        {
            let mut state = self.shared.lock();
            state.phase = Phase::Stopping;
            state.stop_trigger = None;
        }
        let workers = lock(&self.children).clone();
        // Killed outside the state lock: a collector holds its child's lock
        // while it reaps, and then needs the state lock.
        for child in &workers {
            let _ = lock(child).kill();
        }
        // Closed only after the kill, so that no healthy worker sees the
        // end-of-file first and mistakes it for its parent's death.
        self.shared.lock().close_all_stdin();
        self.join_collectors();
        self.shared.lock().phase = Phase::Stopped;
        let reaped = workers
            .iter()
            .filter(|child| matches!(lock(child).try_wait(), Ok(Some(_))))
            .count();
        if reaped == workers.len() {
            warn!(
                "manager: start abandoned; all {reaped} worker(s) spawned were killed and reaped"
            );
        } else {
            warn!(
                "manager: start abandoned; {reaped} of {} worker(s) spawned were killed and reaped",
                workers.len()
            );
        }
    }
}

/// Kills and reaps a worker that has no collector to do it.
fn reap_now(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}
