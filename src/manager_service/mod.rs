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
//!    every pool thread is busy (unshielded loops leave their jobs behind),
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

use crate::ending;
use crate::fault::Fault;
use crate::knobs::TimeScale;
use crate::lifecycle::{BoxError, Service};
use crate::manager::{ManagerError, MultiProcessManager};
use crate::pool::{PoolError, ThreadPool};

use loops::{LoopGroup, PoolCaller};

/// How service-1 runs its pool and loops (from `complex`'s flags).
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Threads in the pool.
    pub pool_threads: usize,
    /// How many busy loops call the manager.
    pub busy_loops: usize,
    /// Time between two updates (already scaled).
    pub update_every: Duration,
    /// Cancelled loops wait for their job in flight (`true`), or leave it
    /// running in the pool (`false`).
    pub shielded: bool,
    /// Scales the busy loops' random pauses.
    pub time_scale: TimeScale,
    /// A fault to act out in a loop or a pool job.
    pub fault: Option<Fault>,
}

/// service-1: the manager, its pool and its loops.
pub struct ManagerService {
    manager: Arc<MultiProcessManager>,
    settings: Settings,
    /// What `start` set up; `stop` takes it apart in reverse.
    running: Option<Running>,
}

/// What a start has set up so far; each part is `None` until it exists.
struct Running {
    pool: Arc<ThreadPool>,
    manager_started: bool,
    update_loop: Option<LoopGroup>,
    busy_loops: Option<LoopGroup>,
}

impl ManagerService {
    /// service-1 around `manager`; nothing runs until `start`.
    pub fn new(manager: MultiProcessManager, settings: Settings) -> ManagerService {
        ManagerService {
            manager: Arc::new(manager),
            settings,
            running: None,
        }
    }

    /// The steps of start, in order. Each one records itself in `running`
    /// as soon as it succeeded, so that a failure can undo exactly those.
    fn start_parts(&self, running: &mut Running) -> Result<(), BoxError> {
        ending::step("service-1: starting the manager (a job on the pool)");
        let manager = self.manager.clone();
        flatten(running.pool.submit(move || manager.start()).wait())?;
        running.manager_started = true;

        let caller = Arc::new(PoolCaller {
            pool: running.pool.clone(),
            manager: self.manager.clone(),
            shielded: self.settings.shielded,
        });
        let every = self.settings.update_every;
        let fault = self.settings.fault;
        let mut update_loop = LoopGroup::new();
        let updater = caller.clone();
        update_loop.spawn("updater".into(), move |cancelled| {
            loops::update_loop(&updater, &cancelled, every, fault)
        });
        running.update_loop = Some(update_loop);

        let mut busy_loops = LoopGroup::new();
        for index in 1..=self.settings.busy_loops {
            let caller = caller.clone();
            let time_scale = self.settings.time_scale;
            busy_loops.spawn(format!("busy-{index}"), move |cancelled| {
                loops::busy_loop(&caller, &cancelled, index, time_scale, fault)
            });
        }
        running.busy_loops = Some(busy_loops);
        // A loop that could not get a thread is a failed start, after the
        // group is recorded, so the loops that did start are cancelled too.
        if let Some(cause) = running
            .update_loop
            .as_ref()
            .and_then(LoopGroup::spawn_error)
        {
            return Err(cause.into());
        }
        if let Some(cause) = running.busy_loops.as_ref().and_then(LoopGroup::spawn_error) {
            return Err(cause.into());
        }
        Ok(())
    }

    /// The stop sequence, also used to undo a start that failed half-way.
    /// The order matters: the loops use the manager, so they go first; the
    /// manager's stop runs on the pool, so the pool goes last.
    fn take_apart(&self, running: Running) -> Result<(), BoxError> {
        let step = |what: &str| ending::step(format!("service-1: {what}"));
        if let Some(update_loop) = running.update_loop {
            info!("service-1: cancelling the update loop");
            step("waiting for the update loop to end");
            update_loop.cancel_and_join();
        }
        if let Some(busy_loops) = running.busy_loops {
            info!("service-1: cancelling the busy loops");
            step("waiting for the busy loops to end");
            busy_loops.cancel_and_join();
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
        let mut running = Running {
            pool: Arc::new(ThreadPool::new(self.settings.pool_threads)?),
            manager_started: false,
            update_loop: None,
            busy_loops: None,
        };
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

/// A manager call run on the pool can fail twice over: in the pool (the job
/// panicked) or in the manager. The service boundary needs just one error.
fn flatten<T>(result: Result<Result<T, ManagerError>, PoolError>) -> Result<T, BoxError> {
    Ok(result??)
}
