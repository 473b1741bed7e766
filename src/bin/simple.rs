//! `simple`: the smallest program that shuts down cleanly whatever moment
//! you press Ctrl+C.
//!
//! Two services start one after the other, the program waits, and on Ctrl+C
//! (or SIGTERM, or `--run-for`) they stop in reverse order. Try pressing
//! Ctrl+C during start, during the wait and during stop: the log shows what
//! the program decided each time.

use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use log::info;

use graceful::exit_code;
use graceful::knobs::Knobs;
use graceful::lifecycle::App;
use graceful::panics;
use graceful::signals;
use graceful::slow_service::{ServiceFault, SlowService};

/// Two services, started in order and stopped in reverse, that shut down
/// cleanly whenever you press Ctrl+C.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Exit codes: 0 clean shutdown, 2 bad usage, 3 start failed,\n5 stop deadline exceeded, 6 a stop failed, 7 internal failure (a panic)."
)]
struct Args {
    #[command(flatten)]
    knobs: Knobs,

    /// Simulate a fault, to watch how it is handled (a learning tool).
    #[arg(long, value_name = "WHERE", value_enum)]
    inject_fault: Option<InjectFault>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum InjectFault {
    /// service-2's start fails: service-1 is stopped again; exit code 3.
    ServiceStart,
    /// service-2's stop panics: service-1 still stops; exit code 6.
    ServiceStop,
}

fn main() -> ExitCode {
    // First thing: take over Ctrl+C, SIGTERM and SIGHUP. Until this line a
    // signal kills the process outright; from here on, every signal goes to
    // one place, which records it and decides what it means.
    let signals = match signals::install() {
        Ok(signals) => signals,
        Err(cause) => {
            eprintln!("simple: {cause}");
            return ExitCode::from(exit_code::START_FAILED);
        }
    };
    // A bad flag ends the program here with clap's message and exit code 2;
    // nothing has started, so there is nothing to stop.
    let args = Args::parse();
    graceful::logging::init("main");
    info!("main: begin");

    let app = App::new(signals, &args.knobs);
    // From here on, a panic in any thread is logged once and stops the
    // program gracefully, like Ctrl+C, with exit code 7.
    panics::install_hook(Some(app.fault_reporter()));

    let fault = args.inject_fault.map(|fault| match fault {
        InjectFault::ServiceStart => ServiceFault::StartFails,
        InjectFault::ServiceStop => ServiceFault::StopPanics,
    });
    // The order services are added is the order they start; they stop in
    // reverse. `run` blocks through all three stages.
    let outcome = app
        .service(SlowService::new("service-1", args.knobs.time_scale))
        .service(SlowService::new("service-2", args.knobs.time_scale).with_fault(fault))
        .run();

    info!("main: end");
    outcome.exit_code()
}
