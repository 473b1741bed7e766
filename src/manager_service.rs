//! service-1 of `complex`: the worker processes behind a thread pool, kept
//! busy by background loops.
//!
//! It is the Python demo's `AsyncService1`: every call into the
//! [`MultiProcessManager`] goes through a fixed [`ThreadPool`] (the demo's
//! `run_in_executor`), an update loop updates every worker now and then,
//! and busy loops keep calling it.
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
//!
//! # The loops
//!
//! Each loop is a thread that waits, calls the manager through the pool,
//! and waits again, until it is cancelled. Cancelling is one trigger per
//! group of loops ([`LoopGroup`]): dropping it wakes every loop of the
//! group at once, even in the middle of a pause. What a cancelled loop does
//! with the job it has in the pool is the lesson of `--leave-jobs-running`
//! (the Python demo's "unshielded" loops; README, section 5): by default it
//! waits for its job to finish, then leaves; with the flag it leaves at
//! once, and its job keeps running in the pool without it, since a thread
//! pool cannot take a job back.

use std::fmt::Display;
use std::ops::ControlFlow::{self, Break, Continue};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam::select;
use log::{debug, error, info, warn};

use crate::cancel::{self, Cancelled, Trigger};
use crate::deadline;
use crate::fault::Fault;
use crate::lifecycle::{BoxError, Service};
use crate::manager::{ManagerError, MultiProcessManager};
use crate::pool::ThreadPool;

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
    /// instead of waiting for it (see the module docs).
    pub leave_jobs_running: bool,
    /// The longest random pause of a busy loop between two rounds (already
    /// scaled).
    pub longest_pause: Duration,
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

        let Settings { leave_jobs_running, update_every, fault, longest_pause, .. } = self.settings;
        let (pool, manager) = (running.pool.clone(), self.manager.clone());
        let caller = Arc::new(PoolCaller { pool, manager, leave_jobs_running });
        let updater = caller.clone();
        running.update_loop.spawn("updater".into(), move |cancelled| {
            update_loop(&updater, &cancelled, update_every, fault)
        })?;
        for index in 1..=self.settings.busy_loops {
            let caller = caller.clone();
            running.busy_loops.spawn(format!("busy-{index}"), move |cancelled| {
                busy_loop(&caller, &cancelled, index, longest_pause, fault)
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
            // Said apart, because the deadline's ERROR names the step: a stop
            // stuck in the pool's queue and a stop waiting for busy workers
            // look alike from outside.
            let job = match running.pool.all_busy() {
                true => "queued on the pool, behind every thread busy with a job",
                false => "a job on the pool",
            };
            info!("service-1: stopping the manager ({job})");
            step(&format!("stopping the manager ({job})"));
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
        let pool = ThreadPool::new(self.settings.pool_threads)?;
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

/// Loop threads that are cancelled together.
#[must_use = "loops must be cancelled and joined with `cancel_and_join`"]
#[derive(Debug)]
pub struct LoopGroup {
    trigger: Trigger,
    cancelled: Cancelled,
    threads: Vec<JoinHandle<()>>,
}

impl Default for LoopGroup {
    fn default() -> LoopGroup {
        let (trigger, cancelled) = cancel::pair();
        LoopGroup { trigger, cancelled, threads: Vec::new() }
    }
}

impl LoopGroup {
    /// Starts `body` on a thread named `name`; it gets the group's
    /// cancellation.
    pub fn spawn(
        &mut self,
        name: String,
        body: impl FnOnce(Cancelled) + Send + 'static,
    ) -> std::io::Result<()> {
        let cancelled = self.cancelled.clone();
        self.threads.push(thread::Builder::new().name(name).spawn(move || body(cancelled))?);
        Ok(())
    }

    /// Whether no loop of the group was started.
    pub fn is_empty(&self) -> bool {
        self.threads.is_empty()
    }

    /// Cancels every loop of the group and waits until each has ended.
    pub fn cancel_and_join(self) {
        drop(self.trigger);
        for thread in self.threads {
            // A loop that panicked has already ended; nothing to undo.
            let _ = thread.join();
        }
    }
}

/// How a loop calls the manager: through the pool.
pub struct PoolCaller {
    /// The pool every call goes through.
    pub pool: Arc<ThreadPool>,
    /// The manager the calls are for.
    pub manager: Arc<MultiProcessManager>,
    /// When cancelled, leave the job in flight running (see the module docs).
    pub leave_jobs_running: bool,
}

impl PoolCaller {
    /// Runs `job` on the pool and waits for it, as loop `name`; `what`
    /// names the call in the log. `Break` means: leave the loop.
    pub fn call<T, F>(
        &self,
        name: &str,
        what: &str,
        cancelled: &Cancelled,
        job: F,
    ) -> ControlFlow<()>
    where
        T: Display + Send + 'static,
        F: FnOnce(&MultiProcessManager) -> Result<T, ManagerError> + Send + 'static,
    {
        let manager = self.manager.clone();
        let handle = self.pool.submit(move || job(&manager));
        let result = if self.leave_jobs_running {
            select! {
                recv(handle.result()) -> result => result.map_err(|_| handle.no_result()),
                recv(cancelled) -> _ => {
                    info!("{name}: cancelled; {what} keeps running in the pool");
                    return Break(());
                }
            }
        } else {
            handle.wait()
        };
        match result {
            Ok(Ok(output)) => debug!("{name}: {output}"),
            Ok(Err(ManagerError::NotRunning)) => {
                info!("{name}: the manager is not running; leaving the loop");
                return Break(());
            }
            Ok(Err(cause)) => warn!("{name}: {what} failed: {cause}"),
            Err(cause) => warn!("{name}: {what} failed: {cause}"),
        }
        Continue(())
    }
}

/// Waits `pause`, or less if cancelled. No polling: the thread sleeps
/// inside `select!` until either happens.
pub fn pause(cancelled: &Cancelled, pause: Duration) -> ControlFlow<()> {
    select! {
        recv(cancelled) -> _ => Break(()),
        default(pause) => Continue(()),
    }
}

/// The update loop: updates every worker every `every`, until cancelled.
pub fn update_loop(
    caller: &PoolCaller,
    cancelled: &Cancelled,
    every: Duration,
    fault: Option<Fault>,
) {
    let mut fault = fault;
    while pause(cancelled, every).is_continue() {
        if fault.take_if(|fault| *fault == Fault::Update).is_some() {
            panic!("injected fault (update): a bug in the update loop");
        }
        let update = |manager: &MultiProcessManager| {
            manager.update().map(|version| format!("update done, version {version}"))
        };
        if caller.call("updater", "update", cancelled, update).is_break() {
            break;
        }
    }
    info!("updater: loop ended");
}

/// Busy loop `index`: from `index * 1000` up, a random pause of up to one
/// (scaled) second, then `process_number(p)` and `process_string("string-p")`.
pub fn busy_loop(
    caller: &PoolCaller,
    cancelled: &Cancelled,
    index: usize,
    longest_pause: Duration,
    fault: Option<Fault>,
) {
    let name = format!("busy-{index}");
    // Only busy-1 acts a fault out, once: the others carry on around it.
    let mut fault = fault.filter(|_| index == 1);
    for p in (index as i64 * 1000).. {
        if pause(cancelled, longest_pause.mul_f64(rand::random_range(0.0..1.0))).is_break() {
            break;
        }
        let bug_in_job = fault.take_if(|fault| *fault == Fault::PoolJob).is_some();
        let job = move |manager: &MultiProcessManager| {
            if bug_in_job {
                panic!("injected fault (pool-job): a bug in the pool job of process_number({p})");
            }
            manager.process_number(p)
        };
        if caller.call(&name, &format!("process_number({p})"), cancelled, job).is_break() {
            break;
        }
        let text = format!("string-{p}");
        let what = format!("process_string({text:?})");
        if caller
            .call(&name, &what, cancelled, move |manager| manager.process_string(&text))
            .is_break()
        {
            break;
        }
        if fault.take_if(|fault| *fault == Fault::BusyLoop).is_some() {
            panic!("injected fault (busy-loop): a bug in {name} after p = {p}");
        }
    }
    info!("{name}: loop ended");
}
