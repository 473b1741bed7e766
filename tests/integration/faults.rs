//! Faults from inside the program (`--inject-fault WHERE`): a failed start,
//! a panicking stop, a panic in a loop, a pool job or a worker. Each must
//! end like a Ctrl+C does (everything that started is stopped in order,
//! `main: end` last, nothing left running), with the exit code that says
//! what went wrong, and the panic message logged exactly once.

use crate::util::{then_complex_stop, Finished, Program};

const SIMPLE: &str = env!("CARGO_BIN_EXE_simple");
const COMPLEX: &str = env!("CARGO_BIN_EXE_complex");

const START_FAILED: i32 = 3;
const WORKER_DIED: i32 = 4;
const STOP_FAILED: i32 = 6;
const INTERNAL_FAILURE: i32 = 7;

/// Runs `exe` at a twentieth of real time with `--inject-fault fault`.
/// `--run-for` ends the run stage for the faults that need a stop to show;
/// faults that end the run themselves get a long one, so only they can.
fn run_with_fault(exe: &str, fault: &str, extra: &[&str]) -> Finished {
    let ends_the_run = !matches!(fault, "service-start" | "service-stop");
    let run_for = if ends_the_run { "60" } else { "0.2" };
    let mut args = vec!["--time-scale", "0.05", "--run-for", run_for, "--inject-fault", fault];
    args.extend_from_slice(extra);
    Program::start(exe, &args).finish()
}

// --- a service's start fails: stop what started before it, exit 3 ---

#[test]
fn simple_service_start_stops_only_the_first_service() {
    let run = run_with_fault(SIMPLE, "service-start", &[]);
    run.assert_graceful_end_with(
        START_FAILED,
        &[
            "service-1: started",
            "service-2: starting",
            "start: service-2 failed to start: injected fault (service-start)",
            "stop: begin (start failed",
            "service-1: stopping",
            "service-1: stopped",
            "stop: end",
            "main: end",
        ],
    );
    run.assert_absent("service-2: stopping");
    run.assert_absent("run: waiting");
}

#[test]
fn complex_service_start_stops_only_service_1() {
    let run = run_with_fault(COMPLEX, "service-start", &[]);
    run.assert_graceful_end_with(
        START_FAILED,
        &[
            "service-1: started",
            "service-2: starting",
            "start: service-2 failed to start: injected fault (service-start)",
            "stop: begin (start failed",
            "service-1: stopping",
            "manager: all workers stopped",
            "service-1: stopped",
            "stop: end",
            "main: end",
        ],
    );
    run.assert_absent("service-2: stopping");
}

// --- a service's stop panics: the others still stop, exit 6 ---

#[test]
fn simple_service_stop_panics_and_service_1_still_stops() {
    let run = run_with_fault(SIMPLE, "service-stop", &[]);
    run.assert_graceful_end_with(
        STOP_FAILED,
        &[
            "service-2: stopping",
            "| main | main | graceful::failure | ERROR | thread 'main' panicked at",
            "service-1: stopping",
            "service-1: stopped",
            "stop: 1 of 2 service(s) failed to stop (the others were stopped): service-2: panicked",
            "stop: end",
            "main: end",
        ],
    );
    assert_eq!(run.count("injected fault (service-stop)"), 1, "logged once");
    run.assert_absent("service-2: stopped");
}

#[test]
fn complex_service_stop_panics_and_service_1_still_stops() {
    let run = run_with_fault(COMPLEX, "service-stop", &[]);
    run.assert_graceful_end_with(
        STOP_FAILED,
        &[
            "service-2: stopping",
            "thread 'main' panicked at",
            "service-1: stopping",
            "manager: all workers stopped",
            "service-1: stopped",
            "stop: 1 of 2 service(s) failed to stop",
            "main: end",
        ],
    );
    assert_eq!(run.count("injected fault (service-stop)"), 1, "logged once");
}

// --- a panic in one of our threads: a graceful stop, exit 7 ---

/// A panic in `thread` stops `complex` gracefully with exit code 7.
fn assert_panic_stops_complex(fault: &str, thread: &str, extra: &[&str]) -> Finished {
    let run = run_with_fault(COMPLEX, fault, extra);
    let panic_line = format!("| graceful::failure | ERROR | thread '{thread}");
    let reason = format!("end; thread '{thread}");
    run.assert_graceful_end_with(INTERNAL_FAILURE, &then_complex_stop(&[&panic_line, &reason]));
    assert_eq!(run.count(&format!("injected fault ({fault})")), 1, "logged once");
    run
}

#[test]
fn complex_busy_loop_panic_stops_everything() {
    let run = assert_panic_stops_complex("busy-loop", "busy-1", &[]);
    // The other loops carried on until the stop cancelled them.
    run.assert_in_order(&["service-1: cancelling the busy loops", "busy-2: loop ended"]);
    run.assert_absent("busy-1: loop ended");
}

#[test]
fn complex_update_loop_panic_stops_everything() {
    assert_panic_stops_complex("update", "updater", &["--update-every", "1"]);
}

#[test]
fn complex_pool_job_panic_fails_its_caller_and_stops_everything() {
    let run = assert_panic_stops_complex("pool-job", "pool-", &[]);
    // The caller is not left waiting: it gets an error at once.
    run.assert_in_order(&[
        "injected fault (pool-job)",
        "busy-1: process_number(1000) failed: the pool job panicked",
        "busy-1: loop ended",
    ]);
}

// --- inside a worker process ---

#[test]
fn complex_worker_call_panic_is_reported_with_its_message() {
    let run = run_with_fault(COMPLEX, "worker-call", &[]);
    let expected = then_complex_stop(&[
        "| worker-1 | main | graceful::failure | ERROR | thread 'main' panicked at",
        "worker-1: exited (panicked: injected fault (worker-call): a bug while processing call",
        "end; worker-1 died: panicked: injected fault (worker-call)",
    ]);
    run.assert_graceful_end_with(WORKER_DIED, &expected);
    // The collector tells the caller and the lifecycle at once; which of
    // those two threads logs first is up to the scheduler.
    run.assert_in_order(&[
        "worker-1: exited (panicked: injected fault (worker-call): a bug while processing call",
        "failed: worker-1 died (panicked: injected fault (worker-call)",
    ]);
}

/// Each busy loop makes its first call after a random pause of up to one
/// (scaled) second from service-1's start, and service-2's start takes one
/// second: the first call, and worker-1's death in it, come during start.
/// Four loops make it all but certain that one of them calls early, with
/// time to spare for a loaded machine. The log says so at once, and that
/// start runs to its end first; the run stage is then skipped.
#[test]
fn a_worker_dying_during_start_is_said_at_once_and_acted_on_after_start() {
    let run =
        Program::start(COMPLEX, &["--busy-loops", "4", "--inject-fault", "worker-call"]).finish();
    run.assert_graceful_end_with(
        WORKER_DIED,
        &[
            "service-2: starting",
            "worker-1 died: panicked: injected fault (worker-call): a bug while processing call 1; \
             exit status: 7 during start; start runs to its end, then the program stops",
            "service-2: started",
            "start: end; worker-1 died: panicked: injected fault (worker-call): a bug while \
             processing call 1; exit status: 7 during start, so skipping the run stage",
            "stop: begin (worker-1 died",
            "main: end",
        ],
    );
    run.assert_absent("run: waiting");
}

#[test]
fn complex_worker_start_failure_fails_the_start_with_its_message() {
    let run = run_with_fault(COMPLEX, "worker-start", &[]);
    run.assert_graceful_end_with(
        START_FAILED,
        &[
            "| worker-1 | main | graceful::worker | ERROR | initialisation failed: injected fault (worker-start)",
            "start abandoned; the 4 worker(s) spawned were killed and reaped",
            "start: service-1 failed to start: worker-1 exited (initialisation failed: injected fault (worker-start); exit status: 3) before it started",
            "stop: begin (start failed",
            "stop: end",
            "main: end",
        ],
    );
    run.assert_absent("service-2: starting");
    run.assert_absent("service-1: stopping");
}

#[test]
fn complex_worker_that_hangs_at_start_is_killed_after_the_bootstrap_timeout() {
    let run = run_with_fault(COMPLEX, "worker-hang", &[]);
    run.assert_graceful_end_with(
        START_FAILED,
        &[
            "injected fault: hanging before bootstrap",
            "start abandoned; the 4 worker(s) spawned were killed and reaped",
            "service-1 failed to start: worker-1 did not bootstrap within 5 s",
            "main: end",
        ],
    );
}
