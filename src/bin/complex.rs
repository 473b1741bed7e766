//! `complex`: worker processes, a thread pool and background loops, all
//! shut down cleanly whatever moment you press Ctrl+C.
//!
//! The same three stages as `simple`, with a heavier service in front:
//!
//! * **service-1** runs a `MultiProcessManager` (4 worker processes, each a
//!   CPU-heavy `DummyManager`). Every call into it goes through a thread
//!   pool, like Python's `run_in_executor`. Once started, an update loop
//!   updates every worker every 10 s, and busy loops keep calling it.
//! * **service-2** is the plain one-second service of `simple`.
//!
//! Stop runs in reverse: service-2, then service-1, which cancels its loops
//! first (they use the manager), then stops the manager (on the pool, like
//! any other call into it), then shuts the pool down.
//!
//! The same binary is also the worker: the manager starts it again with the
//! hidden `--worker-id N` flag.

use std::ffi::OsString;
use std::fmt::Display;
use std::process::ExitCode;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use clap::{Parser, ValueEnum};
use crossbeam::channel::{self, Receiver, Sender};
use crossbeam::select;
use log::{debug, error, info, warn};

use graceful::exit_code;
use graceful::knobs::{parse_positive_seconds, Knobs, TimeScale};
use graceful::lifecycle::{App, BoxError, Service};
use graceful::manager::{ManagerConfig, ManagerError, MultiProcessManager};
use graceful::panics;
use graceful::pool::{JobHandle, ThreadPool};
use graceful::signals::{self, Never};
use graceful::slow_service::{ServiceFault, SlowService};
use graceful::stop_deadline::StopDeadline;
use graceful::worker::{self, WorkerFault, WorkerOptions};

/// Worker processes, a thread pool and background loops that shut down
/// cleanly whenever you press Ctrl+C.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Exit codes: 0 clean shutdown, 2 bad usage, 3 start failed, 4 a worker died,\n5 stop deadline exceeded, 6 a stop failed, 7 internal failure (a panic)."
)]
struct Args {
    #[command(flatten)]
    knobs: Knobs,

    /// Worker processes to start.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    workers: u16,

    /// Threads in the pool that runs every call into the manager.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pool_threads: u16,

    /// Busy loops calling the manager [default: pool threads minus 2, which
    /// leaves one thread for an update and one for the stop].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(0..=64))]
    busy_loops: Option<u16>,

    /// Seconds between two updates of every worker.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_positive_seconds)]
    update_every: Duration,

    /// Cancelled loops return at once, leaving their job running in the
    /// pool (shows how a busy pool delays the stop).
    #[arg(long)]
    unshielded: bool,

    /// Simulate a fault, to watch how it is handled (a learning tool).
    #[arg(long, value_name = "WHERE", value_enum)]
    inject_fault: Option<InjectFault>,

    /// Worker mode: run as worker N of a parent `complex` (internal).
    #[arg(long, value_name = "N", hide = true)]
    worker_id: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum InjectFault {
    /// service-2's start fails: service-1 is stopped again; exit code 3.
    ServiceStart,
    /// service-2's stop panics: service-1 still stops; exit code 6.
    ServiceStop,
    /// busy-1 panics after its first round: everything stops; exit code 7.
    BusyLoop,
    /// The update loop panics when its first update is due: exit code 7.
    Update,
    /// busy-1's first call panics inside the pool: busy-1 gets an error,
    /// everything stops; exit code 7.
    PoolJob,
    /// worker-1 fails during its initialisation: start fails, exit code 3.
    WorkerStart,
    /// worker-1 panics in its first call: the call fails with the panic
    /// message, everything stops; exit code 4.
    WorkerCall,
    /// worker-1 never bootstraps: start fails after 5 s, exit code 3.
    #[value(hide = true)]
    WorkerHang,
}

fn main() -> ExitCode {
    // First thing, as in `simple`: every signal goes to one place.
    let signals = match signals::install() {
        Ok(signals) => signals,
        Err(cause) => {
            eprintln!("complex: {cause}");
            return ExitCode::from(exit_code::START_FAILED);
        }
    };
    let args = Args::parse();
    if let Some(id) = args.worker_id {
        return worker::run(signals, worker_options(&args, id));
    }
    graceful::logging::init("main");
    info!("main: begin");

    let program = match std::env::current_exe() {
        Ok(program) => program,
        Err(cause) => {
            error!("cannot find our own executable to start workers: {cause}");
            info!("main: end");
            return ExitCode::from(exit_code::START_FAILED);
        }
    };
    let app = App::new(signals, &args.knobs);
    // From here on, a panic in any thread (a busy loop, a pool job, a
    // collector) is logged once and stops the program gracefully, exit 7.
    panics::install_hook(Some(app.fault_reporter()));
    let manager = MultiProcessManager::new(
        ManagerConfig {
            workers: usize::from(args.workers),
            program,
            args: worker_args(&args),
        },
        Some(app.fault_reporter()),
    );
    let service1 = Service1 {
        manager: Arc::new(manager),
        settings: LoopSettings::from(&args),
        running: None,
    };
    let outcome = app
        .service(service1)
        .service(
            SlowService::new("service-2", args.knobs.time_scale).with_fault(service_fault(&args)),
        )
        .run();

    info!("main: end");
    outcome.exit_code()
}

/// The flags a worker needs from its parent's command line.
fn worker_args(args: &Args) -> Vec<OsString> {
    let mut worker_args: Vec<OsString> = vec![
        "--time-scale".into(),
        args.knobs.time_scale.factor().to_string().into(),
    ];
    if let Some(fault) = args.inject_fault {
        if let Some(value) = fault.to_possible_value() {
            worker_args.push("--inject-fault".into());
            worker_args.push(value.get_name().into());
        }
    }
    worker_args
}

fn worker_options(args: &Args, id: usize) -> WorkerOptions {
    // Injected worker faults hit worker-1 only, so the others show what
    // happens to healthy workers around a broken one.
    let fault = match args.inject_fault {
        Some(InjectFault::WorkerStart) if id == 1 => Some(WorkerFault::StartFails),
        Some(InjectFault::WorkerHang) if id == 1 => Some(WorkerFault::Hangs),
        Some(InjectFault::WorkerCall) if id == 1 => Some(WorkerFault::CallPanics),
        _ => None,
    };
    WorkerOptions {
        id,
        time_scale: args.knobs.time_scale,
        fault,
    }
}

fn service_fault(args: &Args) -> Option<ServiceFault> {
    match args.inject_fault {
        Some(InjectFault::ServiceStart) => Some(ServiceFault::StartFails),
        Some(InjectFault::ServiceStop) => Some(ServiceFault::StopPanics),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// service-1: the manager behind a thread pool, with its loops.
// ---------------------------------------------------------------------------

struct Service1 {
    manager: Arc<MultiProcessManager>,
    settings: LoopSettings,
    /// What `start` set up; `stop` takes it apart in reverse.
    running: Option<Running>,
}

#[derive(Clone, Copy, Debug)]
struct LoopSettings {
    pool_threads: usize,
    busy_loops: usize,
    update_every: Duration,
    shielded: bool,
    time_scale: TimeScale,
    fault: Option<InjectFault>,
}

impl From<&Args> for LoopSettings {
    fn from(args: &Args) -> LoopSettings {
        let pool_threads = usize::from(args.pool_threads);
        LoopSettings {
            pool_threads,
            busy_loops: args
                .busy_loops
                .map_or(pool_threads.saturating_sub(2), usize::from),
            update_every: args.knobs.time_scale.of(args.update_every.as_secs_f64()),
            shielded: !args.unshielded,
            time_scale: args.knobs.time_scale,
            fault: args.inject_fault,
        }
    }
}

struct Running {
    pool: Arc<ThreadPool>,
    update_loop: Option<Loops>,
    busy_loops: Option<Loops>,
}

/// Background loops that share one cancellation: dropping `cancel`
/// disconnects the channel and wakes every loop at once, even mid-pause.
struct Loops {
    cancel: Sender<Never>,
    threads: Vec<JoinHandle<()>>,
}

impl Service for Service1 {
    fn name(&self) -> &str {
        "service-1"
    }

    fn start(&mut self) -> Result<(), BoxError> {
        info!("service-1: starting");
        let pool = Arc::new(ThreadPool::new(self.settings.pool_threads)?);
        // Like every call into the manager, its start runs on the pool.
        let manager = self.manager.clone();
        let started = pool.submit(move || manager.start()).wait();
        if let Err(cause) = flatten(started) {
            // Only what was started gets stopped: the manager cleaned up
            // after itself; the pool is ours to undo.
            pool.shutdown();
            return Err(cause);
        }
        let mut running = Running {
            pool,
            update_loop: None,
            busy_loops: None,
        };
        let update_every = self.settings.update_every;
        let spawned = self
            .spawn_loops(
                &running.pool,
                1,
                |_| "updater".to_owned(),
                move |context, index| update_loop(context, index, update_every),
            )
            .and_then(|updates| {
                running.update_loop = Some(updates);
                self.spawn_loops(
                    &running.pool,
                    self.settings.busy_loops,
                    |index| format!("busy-{index}"),
                    busy_loop,
                )
            });
        match spawned {
            Ok(busy) => running.busy_loops = Some(busy),
            Err(cause) => {
                // Undo the part of start that succeeded, then fail with the
                // first cause; a failure while undoing is logged, not lost.
                if let Err(undo) = self.take_apart(running, None) {
                    error!("service-1: undoing a failed start also failed: {undo}");
                }
                return Err(cause.into());
            }
        }
        self.running = Some(running);
        info!("service-1: started");
        Ok(())
    }

    fn stop(&mut self, deadline: &StopDeadline) -> Result<(), BoxError> {
        info!("service-1: stopping");
        if let Some(running) = self.running.take() {
            self.take_apart(running, Some(deadline))?;
        }
        info!("service-1: stopped");
        Ok(())
    }
}

impl Service1 {
    /// Starts `count` loop threads that share one cancellation channel.
    fn spawn_loops(
        &self,
        pool: &Arc<ThreadPool>,
        count: usize,
        name: impl Fn(usize) -> String,
        body: impl Fn(LoopContext, usize) + Clone + Send + 'static,
    ) -> std::io::Result<Loops> {
        let (cancel, cancelled) = channel::bounded::<Never>(0);
        let mut loops = Loops {
            cancel,
            threads: Vec::new(),
        };
        for index in 1..=count {
            let context = LoopContext {
                name: name(index),
                pool: pool.clone(),
                manager: self.manager.clone(),
                cancelled: cancelled.clone(),
                shielded: self.settings.shielded,
                time_scale: self.settings.time_scale,
                fault: self.settings.fault,
            };
            let body = body.clone();
            let spawned = thread::Builder::new()
                .name(context.name.clone())
                .spawn(move || body(context, index));
            match spawned {
                Ok(thread) => loops.threads.push(thread),
                Err(cause) => {
                    loops.cancel_and_join();
                    return Err(cause);
                }
            }
        }
        Ok(loops)
    }

    /// The stop sequence, also used to undo a start that failed half-way.
    /// The order matters: the loops use the manager, so they go first; the
    /// manager's stop runs on the pool, so the pool goes last.
    fn take_apart(
        &self,
        running: Running,
        deadline: Option<&StopDeadline>,
    ) -> Result<(), BoxError> {
        let step = |what: &str| {
            if let Some(deadline) = deadline {
                deadline.step(format!("service-1: {what}"));
            }
        };
        if let Some(updates) = running.update_loop {
            step("waiting for the update loop to end");
            info!("service-1: cancelling the update loop");
            updates.cancel_and_join();
        }
        if let Some(busy) = running.busy_loops {
            step("waiting for the busy loops to end");
            info!("service-1: cancelling the busy loops");
            busy.cancel_and_join();
        }
        // On the pool, like every other call into the manager. If every pool
        // thread is still busy (unshielded loops leave their jobs behind),
        // this job waits in the queue: the lesson of the thread pool.
        step("stopping the manager (a job on the pool)");
        info!("service-1: stopping the manager on the pool");
        let manager = self.manager.clone();
        let stopped = running.pool.submit(move || manager.stop()).wait();
        step("shutting the thread pool down");
        running.pool.shutdown();
        stopped?;
        Ok(())
    }
}

impl Loops {
    fn cancel_and_join(self) {
        drop(self.cancel);
        for thread in self.threads {
            // A loop that panicked has already ended; nothing to undo.
            let _ = thread.join();
        }
    }
}

/// Everything one loop thread needs.
struct LoopContext {
    name: String,
    pool: Arc<ThreadPool>,
    manager: Arc<MultiProcessManager>,
    cancelled: Receiver<Never>,
    shielded: bool,
    time_scale: TimeScale,
    fault: Option<InjectFault>,
}

/// What a loop does after one step.
enum Next {
    Continue,
    Leave,
}

impl LoopContext {
    /// Should loop number `index` simulate `fault`? Only the first loop
    /// of a kind does, so the others show the rest of the program carrying
    /// on around it until the stop.
    fn injects(&self, fault: InjectFault, index: usize) -> bool {
        self.fault == Some(fault) && index == 1
    }

    /// Waits `pause`, or less if cancelled. No polling: the thread sleeps
    /// inside `select!` until either happens.
    fn pause(&self, pause: Duration) -> Next {
        select! {
            recv(self.cancelled) -> _ => Next::Leave,
            default(pause) => Next::Continue,
        }
    }

    /// Runs `job` on the pool and waits for it. A *shielded* loop always
    /// waits for the result; an *unshielded* one returns as soon as it is
    /// cancelled, and the job keeps running in the pool without it.
    fn on_pool<T, F>(&self, what: &str, job: F) -> Next
    where
        T: Display + Send + 'static,
        F: FnOnce(&MultiProcessManager) -> Result<T, ManagerError> + Send + 'static,
    {
        let manager = self.manager.clone();
        let handle: JobHandle<Result<T, ManagerError>> = self.pool.submit(move || job(&manager));
        let result = if self.shielded {
            handle.wait()
        } else {
            select! {
                recv(handle.result()) -> result => result.map_err(|_| handle.no_result()),
                recv(self.cancelled) -> _ => {
                    info!("{}: cancelled; {what} keeps running in the pool", self.name);
                    return Next::Leave;
                }
            }
        };
        match result {
            Ok(Ok(output)) => {
                debug!("{}: {output}", self.name);
                Next::Continue
            }
            Ok(Err(ManagerError::NotRunning)) => {
                info!(
                    "{}: the manager is not running; leaving the loop",
                    self.name
                );
                Next::Leave
            }
            Ok(Err(cause)) => {
                warn!("{}: {what} failed: {cause}", self.name);
                Next::Continue
            }
            Err(cause) => {
                warn!("{}: {what} failed: {cause}", self.name);
                Next::Continue
            }
        }
    }
}

/// Updates every worker every `every`, until cancelled.
fn update_loop(context: LoopContext, index: usize, every: Duration) {
    while let Next::Continue = context.pause(every) {
        if context.injects(InjectFault::Update, index) {
            panic!("injected fault (update): a bug in the update loop");
        }
        if let Next::Leave = context.on_pool("update", |manager| manager.update().map(Version)) {
            break;
        }
    }
    info!("{}: loop ended", context.name);
}

/// Busy loop `index`: from `index * 1000` up, a random pause of up to one
/// (scaled) second, then `process_number(p)` and `process_string("string-p")`.
fn busy_loop(context: LoopContext, index: usize) {
    let mut p = index as i64 * 1000;
    let mut first_round = true;
    loop {
        let pause = context.time_scale.of(rand::random_range(0.0..1.0));
        if let Next::Leave = context.pause(pause) {
            break;
        }
        let call = format!("process_number({p})");
        let job_panics = first_round && context.injects(InjectFault::PoolJob, index);
        let job = move |manager: &MultiProcessManager| {
            if job_panics {
                panic!("injected fault (pool-job): a bug in the pool job of process_number({p})");
            }
            manager.process_number(p)
        };
        if let Next::Leave = context.on_pool(&call, job) {
            break;
        }
        let text = format!("string-{p}");
        let call = format!("process_string({text:?})");
        if let Next::Leave = context.on_pool(&call, move |manager| manager.process_string(&text)) {
            break;
        }
        if first_round && context.injects(InjectFault::BusyLoop, index) {
            panic!("injected fault (busy-loop): a bug in busy-1 after p = {p}");
        }
        first_round = false;
        p += 1;
    }
    info!("{}: loop ended", context.name);
}

/// Shows an update's result as "version N".
struct Version(u64);

impl Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "update done, version {}", self.0)
    }
}

/// A manager call run on the pool can fail twice over: in the pool (the job
/// panicked) or in the manager. The service boundary needs just one error.
fn flatten<T>(
    result: Result<Result<T, ManagerError>, graceful::pool::PoolError>,
) -> Result<T, BoxError> {
    Ok(result??)
}
