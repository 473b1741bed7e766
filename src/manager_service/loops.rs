//! service-1's background loops: the update loop and the busy loops.
//!
//! Each loop is a thread that waits, calls the manager through the pool,
//! and waits again, until it is cancelled. Cancelling is one [`Trigger`]
//! per group of loops: dropping it wakes every loop of the group at once,
//! even in the middle of a pause.
//!
//! What a cancelled loop does with the job it has in the pool is the lesson
//! of `--leave-jobs-running` (the Python demo's "unshielded" loops):
//!
//! * by default a loop waits for its job to finish, then leaves: the stop
//!   takes a little longer, and nothing is left behind;
//! * with the flag it leaves at once, and its job keeps running in the pool
//!   without it: a thread pool cannot take a job back. Enough of those and
//!   the pool is full when the manager's stop is queued behind them.

use std::fmt::Display;
use std::ops::ControlFlow::{self, Break, Continue};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam::select;
use log::{debug, info, warn};

use crate::cancel::{self, Cancelled, Trigger};
use crate::fault::{Armed, Fault};
use crate::knobs::TimeScale;
use crate::manager::{ManagerError, MultiProcessManager};
use crate::pool::ThreadPool;

/// Loop threads that are cancelled together.
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
    let mut armed = Armed(fault);
    while pause(cancelled, every).is_continue() {
        armed.fire(Fault::Update, "a bug in the update loop");
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
    scale: TimeScale,
    fault: Option<Fault>,
) {
    let name = format!("busy-{index}");
    // Only busy-1 acts a fault out: the others carry on around it.
    let mut armed = Armed(fault.filter(|_| index == 1));
    for p in (index as i64 * 1000).. {
        if pause(cancelled, scale.of(rand::random_range(0.0..1.0))).is_break() {
            break;
        }
        let mut in_job = Armed(armed.take(Fault::PoolJob).then_some(Fault::PoolJob));
        let job = move |manager: &MultiProcessManager| {
            in_job.fire(Fault::PoolJob, &format!("a bug in the pool job of process_number({p})"));
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
        armed.fire(Fault::BusyLoop, &format!("a bug in {name} after p = {p}"));
    }
    info!("{name}: loop ended");
}
