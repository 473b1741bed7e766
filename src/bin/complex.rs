//! `complex`: worker processes, a thread pool and background loops, all
//! shut down cleanly whatever moment you press Ctrl+C.
//!
//! The same three stages as `simple`, with a heavier service in front:
//!
//! * **service-1** ([`ManagerService`]) runs a `MultiProcessManager` (4
//!   worker processes, each a CPU-heavy `DummyManager`). Every call into it
//!   goes through a thread pool, like Python's `run_in_executor`. Once
//!   started, an update loop updates every worker every 10 s, and busy
//!   loops keep calling it.
//! * **service-2** is the plain one-second service of `simple`.
//!
//! Stop runs in reverse: service-2, then service-1, which cancels its loops
//! first (they use the manager), then stops the manager (on the pool, like
//! any other call into it), then shuts the pool down.
//!
//! The same binary is also the worker: the manager starts it again with the
//! hidden `--worker-id N` flag.
//!
//! The journey of one Ctrl+C is `simple`'s (read that first), plus
//! [`graceful::manager_service`] (the order service-1 stops in),
//! [`graceful::pool`] and [`graceful::manager`] (the workers told to stop,
//! each one's collector, the calls left unanswered).

use std::time::Duration;

use clap::Parser;
use log::info;

use graceful::exit::{self, Exit};
use graceful::fault::Fault;
use graceful::knobs::{self, parse_positive_seconds, Knobs};
use graceful::lifecycle::{App, SlowService};
use graceful::manager::{ManagerSettings, MultiProcessManager};
use graceful::manager_service::{ManagerService, Settings};
use graceful::worker::{self, WorkerSettings};
use graceful::{failure, logging, memory, signals};

/// Worker processes, a thread pool and background loops that shut down
/// cleanly whenever you press Ctrl+C.
#[derive(Parser, Debug)]
#[command(name = "complex", version, after_help = exit::help(&[]))]
struct Args {
    #[command(flatten)]
    knobs: Knobs,

    /// Worker processes to start (1 to 64).
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    workers: u16,

    /// Threads in the pool that runs every call into the manager (1 to 64).
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pool_threads: u16,

    /// Busy loops calling the manager, 0 to 64 [default: pool threads minus
    /// 2, which leaves one thread for an update and one for the stop].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(0..=64))]
    busy_loops: Option<u16>,

    /// Seconds between two updates of every worker (at most 1000000).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_positive_seconds)]
    update_every: Duration,

    /// Cancelled loops return at once, leaving their job running in the
    /// pool (shows how a busy pool delays the stop; the Python demo calls
    /// such loops "unshielded").
    #[arg(long, alias = "unshielded")]
    leave_jobs_running: bool,

    /// Simulate a fault, to watch how it is handled (a learning tool).
    #[arg(long, value_name = "WHERE", value_enum)]
    inject_fault: Option<Fault>,

    /// Worker mode: run as worker N of a parent `complex` (internal).
    #[arg(long = worker::ID_FLAG, value_name = "N", hide = true, value_parser = clap::value_parser!(u16).range(1..=64))]
    worker_id: Option<u16>,
}

fn main() -> Exit {
    // First, before any thread: so that a memory limit cannot fail the stop.
    memory::hold_glibc_to_two_arenas();
    // As in `simple`: the command line first, then every signal to one place.
    let args = match knobs::read_command_line::<Args>() {
        Ok(args) => args,
        Err(status) => return status,
    };
    if let Some(id) = args.worker_id {
        // The same executable, started by our own manager as a worker.
        return worker::run(WorkerSettings {
            program: env!("CARGO_CRATE_NAME"),
            id: usize::from(id),
            time_scale: args.knobs.time_scale,
            stop_timeout: args.knobs.stop_timeout,
            fault: args.inject_fault,
        });
    }
    // Workers are this very executable, started again in worker mode.
    let program = match std::env::current_exe() {
        Ok(program) => program,
        Err(cause) => {
            eprintln!("complex: cannot find our own executable to start workers: {cause}");
            return Exit::StartFailed;
        }
    };
    let hub = signals::install();
    logging::init(env!("CARGO_CRATE_NAME"), "main");
    info!("main: begin");

    let Knobs { time_scale, stop_timeout, run_for } = args.knobs;
    let app = App::new(hub, stop_timeout, run_for);
    // From here on, a panic in any thread (a busy loop, a pool job, a
    // collector) is logged once and stops the program gracefully, exit 7.
    failure::install_panic_hook(Some(app.failure_reporter()));

    let manager = MultiProcessManager::new(
        ManagerSettings {
            workers: usize::from(args.workers),
            program,
            // A worker gets its parent's own flags and acts on those it
            // needs (the time scale, the stop timeout, a worker fault); the
            // manager adds `--worker-id N`.
            args: std::env::args_os().skip(1).collect(),
        },
        Some(app.failure_reporter()),
    );
    let pool_threads = usize::from(args.pool_threads);
    let service_1 = ManagerService::new(
        manager,
        Settings {
            pool_threads,
            busy_loops: args.busy_loops.map_or(pool_threads.saturating_sub(2), usize::from),
            update_every: time_scale.of(args.update_every.as_secs_f64()),
            leave_jobs_running: args.leave_jobs_running,
            longest_pause: time_scale.of(1.0),
            fault: args.inject_fault,
        },
    );
    let service_2 = SlowService::new("service-2", time_scale).with_fault(args.inject_fault);

    // Started in this order, stopped in reverse.
    let ending = app.service(service_1).service(service_2).run();

    info!("main: end");
    ending.exit()
}
