//! `simple`: the smallest program that shuts down cleanly whatever moment
//! you press Ctrl+C.
//!
//! Two services start one after the other, the program waits, and on Ctrl+C
//! (or SIGTERM, or `--run-for`) they stop in reverse order. Try pressing
//! Ctrl+C during start, during the wait and during stop: the log shows what
//! the program decided each time.

use std::process::ExitCode;

use clap::Parser;
use log::info;

use graceful::exit_code;
use graceful::knobs::Knobs;
use graceful::lifecycle::App;
use graceful::signals;
use graceful::slow_service::SlowService;

/// Two services, started in order and stopped in reverse, that shut down
/// cleanly whenever you press Ctrl+C.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Exit codes: 0 clean shutdown, 2 bad usage, 3 start failed,\n5 stop deadline exceeded, 6 a stop failed."
)]
struct Args {
    #[command(flatten)]
    knobs: Knobs,
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

    // The order services are added is the order they start; they stop in
    // reverse. `run` blocks through all three stages.
    let outcome = App::new(signals, &args.knobs)
        .service(SlowService::new("service-1", args.knobs.time_scale))
        .service(SlowService::new("service-2", args.knobs.time_scale))
        .run();

    info!("main: end");
    outcome.exit_code()
}
