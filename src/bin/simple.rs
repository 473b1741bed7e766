//! `simple`: the smallest program that shuts down cleanly whatever moment
//! you press Ctrl+C.
//!
//! Two services start one after the other, the program waits, and on Ctrl+C
//! (or SIGTERM, SIGHUP, `--run-for`) they stop in reverse order. Try
//! pressing Ctrl+C during start, during the wait and during stop: the log
//! shows what the program decided each time.
//!
//! The journey of one Ctrl+C goes from here to [`graceful::lifecycle`]
//! (the three stages and the exit) and [`graceful::signals`] (what a signal
//! means at each stage); that is the whole lesson.

use clap::Parser;
use log::info;

use graceful::exit::{self, Exit};
use graceful::fault::Fault;
use graceful::knobs::{self, Knobs};
use graceful::lifecycle::{App, SlowService};
use graceful::{failure, logging, memory, signals};

/// Two services, started in order and stopped in reverse, that shut down
/// cleanly whenever you press Ctrl+C.
#[derive(Parser, Debug)]
#[command(name = "simple", version, after_help = exit::help(&[Exit::WorkerDied]))]
struct Args {
    #[command(flatten)]
    knobs: Knobs,

    /// Simulate a fault, to watch how it is handled (a learning tool).
    #[arg(long, value_name = "WHERE", value_parser = Fault::parser(Fault::OF_SERVICES))]
    inject_fault: Option<Fault>,
}

fn main() -> Exit {
    // First, before any thread: so that a memory limit cannot fail the stop.
    memory::hold_glibc_to_two_arenas();
    // A bad flag ends the program here with clap's message and exit code 2;
    // nothing has started, so there is nothing to stop, and a Ctrl+C now
    // simply ends the program the default way.
    let Args { knobs: Knobs { time_scale, stop_timeout, run_for }, inject_fault } =
        match knobs::read_command_line() {
            Ok(args) => args,
            Err(status) => return status,
        };
    // Take over Ctrl+C, SIGTERM and SIGHUP: from here on, every signal goes
    // to one place, the hub, which says what it means and forwards it.
    let hub = signals::install();
    logging::init(env!("CARGO_CRATE_NAME"), "main");
    info!("main: begin");

    let app = App::new(hub, stop_timeout, run_for);
    // From here on, a panic in any thread is logged once and stops the
    // program gracefully, like Ctrl+C, with exit code 7.
    failure::install_panic_hook(Some(app.failure_reporter()));

    // The order services are added is the order they start; they stop in
    // reverse. `run` blocks through all three stages.
    let ending = app
        .service(SlowService::new("service-1", time_scale))
        .service(SlowService::new("service-2", time_scale).with_fault(inject_fault))
        .run();

    info!("main: end");
    // Writes out the log, then ends with the status that tells the caller
    // how it went; after a Ctrl+C, by dying of SIGINT.
    ending.exit()
}
