//! service-1's background loops: the update loop and the busy loops.
//!
//! Each loop is a thread that waits, calls the manager through the pool,
//! and waits again, until it is cancelled. Cancelling is one
//! [`Trigger`] per group of loops: dropping it wakes
//! every loop of the group at once, even in the middle of a pause.
//!
//! What a cancelled loop does with the job it has in the pool is the lesson
//! of `--unshielded`:
//!
//! * a *shielded* loop waits for its job to finish, then leaves: the stop
//!   takes a little longer, and nothing is left behind;
//! * an *unshielded* loop leaves at once, and its job keeps running in the
//!   pool without it: a thread pool cannot take a job back. Enough of those
//!   and the pool is full when the manager's stop is queued behind them.

use std::fmt::Display;
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
    /// The first thread that could not be started, if any.
    spawn_error: Option<std::io::Error>,
}

impl Default for LoopGroup {
    fn default() -> LoopGroup {
        LoopGroup::new()
    }
}

impl LoopGroup {
    /// An empty group.
    pub fn new() -> LoopGroup {
        let (trigger, cancelled) = cancel::pair();
        LoopGroup {
            trigger,
            cancelled,
            threads: Vec::new(),
            spawn_error: None,
        }
    }

    /// Starts `body` on a thread named `name`; it gets the group's
    /// cancellation. A thread that cannot be started is recorded (see
    /// [`LoopGroup::spawn_error`]) and no more are started.
    pub fn spawn(&mut self, name: String, body: impl FnOnce(Cancelled) + Send + 'static) {
        if self.spawn_error.is_some() {
            return;
        }
        let cancelled = self.cancelled.clone();
        match thread::Builder::new()
            .name(name)
            .spawn(move || body(cancelled))
        {
            Ok(thread) => self.threads.push(thread),
            Err(cause) => self.spawn_error = Some(cause),
        }
    }

    /// Why a loop of this group could not be started.
    pub fn spawn_error(&self) -> Option<std::io::Error> {
        self.spawn_error
            .as_ref()
            .map(|cause| std::io::Error::new(cause.kind(), cause.to_string()))
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

/// How a loop calls the manager: through the pool, shielded or not.
pub struct PoolCaller {
    /// The pool every call goes through.
    pub pool: Arc<ThreadPool>,
    /// The manager the calls are for.
    pub manager: Arc<MultiProcessManager>,
    /// Wait for a job in flight when cancelled (see the module docs).
    pub shielded: bool,
}

/// What a loop does after one step.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Go round again.
    Continue,
    /// Leave the loop.
    Leave,
}

impl PoolCaller {
    /// Runs `job` on the pool and waits for it, as loop `name`; `what`
    /// names the call in the log.
    pub fn call<T, F>(&self, name: &str, what: &str, cancelled: &Cancelled, job: F) -> Next
    where
        T: Display + Send + 'static,
        F: FnOnce(&MultiProcessManager) -> Result<T, ManagerError> + Send + 'static,
    {
        let manager = self.manager.clone();
        let handle = self.pool.submit(move || job(&manager));
        let result = if self.shielded {
            handle.wait()
        } else {
            select! {
                recv(handle.result()) -> result => result.map_err(|_| handle.no_result()),
                recv(cancelled) -> _ => {
                    info!("{name}: cancelled; {what} keeps running in the pool");
                    return Next::Leave;
                }
            }
        };
        match result {
            Ok(Ok(output)) => debug!("{name}: {output}"),
            Ok(Err(ManagerError::NotRunning)) => {
                info!("{name}: the manager is not running; leaving the loop");
                return Next::Leave;
            }
            Ok(Err(cause)) => warn!("{name}: {what} failed: {cause}"),
            Err(cause) => warn!("{name}: {what} failed: {cause}"),
        }
        Next::Continue
    }
}

/// Waits `pause`, or less if cancelled. No polling: the thread sleeps
/// inside `select!` until either happens.
pub fn pause(cancelled: &Cancelled, pause: Duration) -> Next {
    select! {
        recv(cancelled) -> _ => Next::Leave,
        default(pause) => Next::Continue,
    }
}

/// The update loop: updates every worker every `every`, until cancelled.
pub fn update_loop(
    caller: &PoolCaller,
    cancelled: &Cancelled,
    every: Duration,
    fault: Option<Fault>,
) {
    let mut armed = Armed::new(fault);
    while pause(cancelled, every) == Next::Continue {
        armed.fire(Fault::Update, "a bug in the update loop");
        let update = |manager: &MultiProcessManager| {
            manager
                .update()
                .map(|version| format!("update done, version {version}"))
        };
        if caller.call("updater", "update", cancelled, update) == Next::Leave {
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
    time_scale: TimeScale,
    fault: Option<Fault>,
) {
    let name = format!("busy-{index}");
    let mut armed = Armed::for_first(fault, index);
    let mut p = index as i64 * 1000;
    loop {
        if pause(cancelled, time_scale.of(rand::random_range(0.0..1.0))) == Next::Leave {
            break;
        }
        let mut in_job = armed.split(Fault::PoolJob);
        let what = format!("process_number({p})");
        let job = move |manager: &MultiProcessManager| {
            in_job.fire(
                Fault::PoolJob,
                &format!("a bug in the pool job of process_number({p})"),
            );
            manager.process_number(p)
        };
        if caller.call(&name, &what, cancelled, job) == Next::Leave {
            break;
        }
        let text = format!("string-{p}");
        let what = format!("process_string({text:?})");
        if caller.call(&name, &what, cancelled, move |manager| {
            manager.process_string(&text)
        }) == Next::Leave
        {
            break;
        }
        armed.fire(Fault::BusyLoop, &format!("a bug in {name} after p = {p}"));
        p += 1;
    }
    info!("{name}: loop ended");
}
