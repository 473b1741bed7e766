//! service-1 of `complex`: the worker processes behind a thread pool, kept
//! busy by background loops.
//!
//! It is the Python demo's `AsyncService1`: every call into the
//! [`MultiProcessManager`] goes through a fixed [`ThreadPool`] (the demo's
//! `run_in_executor`), an update loop updates every worker now and then,
//! and busy loops keep calling it (see [`loops`]).
//!
//! What it teaches is the *order* of a stop, and why:
//!
//! 1. cancel the update loop and wait for it, then the busy loops: they
//!    call the manager, so they must be gone before it stops;
//! 2. stop the manager, *on the pool*, like any other call into it: if
//!    every pool thread is busy (loops that leave their jobs behind),
//!    the stop waits in the queue, which is the lesson of the thread pool;
//! 3. shut the pool down last: the manager's stop ran on it.
//!
//! Start is the same list the other way round, and a start that fails
//! half-way is undone by the same code as the stop ([`ManagerService`]'s
//! `take_apart`), so only what was started gets stopped.

pub mod loops;

use std::sync::Arc;
use std::time::Duration;

use log::{error, info};

use crate::deadline;
use crate::failure::FailureReporter;
use crate::fault::Fault;
use crate::knobs::TimeScale;
use crate::lifecycle::{BoxError, Service};
use crate::manager::MultiProcessManager;
use crate::pool::ThreadPool;

use loops::{LoopGroup, PoolCaller};

/// How service-1 runs its pool and loops (from `complex`'s flags).
#[derive(Clone, Debug)]
pub struct Settings {
    /// Threads in the pool.
    pub pool_threads: usize,
    /// How many busy loops call the manager.
    pub busy_loops: usize,
    /// Time between two updates (already scaled).
    pub update_every: Duration,
    /// Cancelled loops leave their job in flight running in the pool
    /// instead of waiting for it (see [`loops`]).
    pub leave_jobs_running: bool,
    /// Scales the busy loops' random pauses.
    pub time_scale: TimeScale,
    /// A fault to act out in a loop or a pool job.
    pub fault: Option<Fault>,
    /// Where a panicking pool job is reported (see [`ThreadPool::new`]).
    pub failures: Option<FailureReporter>,
}

/// service-1: the manager, its pool and its loops.
pub struct ManagerService {
    manager: Arc<MultiProcessManager>,
    settings: Settings,
    /// What `start` set up; `stop` takes it apart in reverse.
    running: Option<Running>,
}

/// What a start has set up so far; each part is empty until it exists.
struct Running {
    pool: Arc<ThreadPool>,
    manager_started: bool,
    update_loop: LoopGroup,
    busy_loops: LoopGroup,
}

impl ManagerService {
    /// service-1 around `manager`; nothing runs until `start`.
    pub fn new(manager: MultiProcessManager, settings: Settings) -> ManagerService {
        ManagerService { manager: Arc::new(manager), settings, running: None }
    }

    /// The steps of start, in order. Each one records itself in `running`
    /// as soon as it succeeded, so that a failure can undo exactly those.
    fn start_parts(&self, running: &mut Running) -> Result<(), BoxError> {
        deadline::step("service-1: starting the manager (a job on the pool)");
        let manager = self.manager.clone();
        // It can fail twice over: in the pool (the job panicked) and in the
        // manager (a worker did not start).
        running.pool.submit(move || manager.start()).wait()??;
        running.manager_started = true;

        let Settings { leave_jobs_running, update_every, fault, time_scale, .. } = self.settings;
        let (pool, manager) = (running.pool.clone(), self.manager.clone());
        let caller = Arc::new(PoolCaller { pool, manager, leave_jobs_running });
        let updater = caller.clone();
        running.update_loop.spawn("updater".into(), move |cancelled| {
            loops::update_loop(&updater, &cancelled, update_every, fault)
        })?;
        for index in 1..=self.settings.busy_loops {
            let caller = caller.clone();
            running.busy_loops.spawn(format!("busy-{index}"), move |cancelled| {
                loops::busy_loop(&caller, &cancelled, index, time_scale, fault)
            })?;
        }
        Ok(())
    }

    /// The stop sequence, also used to undo a start that failed half-way.
    /// The order matters: the loops use the manager, so they go first; the
    /// manager's stop runs on the pool, so the pool goes last.
    fn take_apart(&self, running: Running) -> Result<(), BoxError> {
        let step = |what: &str| deadline::step(format!("service-1: {what}"));
        for (group, name) in
            [(running.update_loop, "update loop"), (running.busy_loops, "busy loops")]
        {
            if !group.is_empty() {
                info!("service-1: cancelling the {name}");
                step(&format!("waiting for the {name} to end"));
                group.cancel_and_join();
            }
        }
        let mut stopped = Ok(());
        if running.manager_started {
            info!("service-1: stopping the manager on the pool");
            step("stopping the manager (a job on the pool)");
            let manager = self.manager.clone();
            stopped = running.pool.submit(move || manager.stop()).wait();
        }
        step("shutting the thread pool down");
        running.pool.shutdown();
        Ok(stopped?)
    }
}

impl Service for ManagerService {
    fn name(&self) -> &str {
        "service-1"
    }

    fn start(&mut self) -> Result<(), BoxError> {
        info!("service-1: starting");
        let pool = ThreadPool::new(self.settings.pool_threads, self.settings.failures.clone())?;
        let (update_loop, busy_loops) = (LoopGroup::default(), LoopGroup::default());
        let mut running =
            Running { pool: Arc::new(pool), manager_started: false, update_loop, busy_loops };
        if let Err(cause) = self.start_parts(&mut running) {
            // The one undo path: take apart what did start, in stop order,
            // then fail with the first cause; a failure while undoing is
            // logged, not lost.
            if let Err(undo) = self.take_apart(running) {
                error!("service-1: undoing a failed start also failed: {undo}");
            }
            return Err(cause);
        }
        self.running = Some(running);
        info!("service-1: started");
        Ok(())
    }

    fn stop(&mut self) -> Result<(), BoxError> {
        info!("service-1: stopping");
        if let Some(running) = self.running.take() {
            self.take_apart(running)?;
        }
        info!("service-1: stopped");
        Ok(())
    }
}
