//! `simple`: the smallest program that shuts down cleanly whatever moment
//! you press Ctrl+C.
//!
//! Two services start one after the other, the program waits, and on Ctrl+C
//! (or SIGTERM, SIGHUP, `--run-for`) they stop in reverse order. Try
//! pressing Ctrl+C during start, during the wait and during stop: the log
//! shows what the program decided each time.

use std::process::ExitCode;

use clap::Parser;
use log::info;

use graceful::exit_code;
use graceful::fault::Fault;
use graceful::knobs::{self, Knobs};
use graceful::lifecycle::App;
use graceful::signals;
use graceful::slow_service::SlowService;
use graceful::{failure, logging, memory};

/// Two services, started in order and stopped in reverse, that shut down
/// cleanly whenever you press Ctrl+C.
#[derive(Parser, Debug)]
#[command(name = "simple", version, after_help = exit_code::help(false))]
struct Args {
    #[command(flatten)]
    knobs: Knobs,

    /// Simulate a fault, to watch how it is handled (a learning tool).
    #[arg(long, value_name = "WHERE", value_parser = Fault::parser(Fault::OF_SERVICES))]
    inject_fault: Option<Fault>,
}

fn main() -> ExitCode {
    // First, before any thread: so that a memory limit cannot fail the stop.
    memory::hold_glibc_to_two_arenas();
    // A bad flag ends the program here with clap's message and exit code 2;
    // nothing has started, so there is nothing to stop, and a Ctrl+C now
    // simply ends the program the default way.
    let args = match knobs::read_command_line::<Args>() {
        Ok(args) => args,
        Err(code) => return code,
    };
    // Take over Ctrl+C, SIGTERM and SIGHUP: from here on, every signal goes
    // to one place, which says what it means and forwards it.
    let signals = signals::install();
    logging::init(env!("CARGO_CRATE_NAME"), "main");
    info!("main: begin");

    let app = App::new(signals, &args.knobs);
    // From here on, a panic in any thread is logged once and stops the
    // program gracefully, like Ctrl+C, with exit code 7.
    failure::install_panic_hook(Some(app.failure_reporter()));

    // The order services are added is the order they start; they stop in
    // reverse. `run` blocks through all three stages.
    let scale = args.knobs.time_scale;
    let ending = app
        .service(SlowService::new("service-1", scale))
        .service(SlowService::new("service-2", scale).with_fault(args.inject_fault))
        .run();

    info!("main: end");
    // Writes out the log, then exits with the status that tells the caller
    // how it went; after a Ctrl+C, by dying of SIGINT (see `ending`).
    ending.exit()
}
