//! `complex` under real signals: to the whole process group (a terminal's
//! Ctrl+C), to the main process only (`kill`), and SIGKILL to the parent or
//! to one worker. Every run must end with nothing of it left running.

use std::time::Duration;

use nix::sys::signal::kill;
use nix::unistd::Pid;

use crate::util::{
    pid_in, run_to_end, then_complex_stop, Finished, Program, SIGCONT, SIGHUP, SIGINT, SIGKILL,
    SIGSTOP, SIGTERM,
};

const COMPLEX: &str = env!("CARGO_BIN_EXE_complex");

/// Calls take 15 and 25 ms, an update 250 ms every 500 ms, start and stop of
/// service-2 50 ms.
const FAST: &[&str] = &["--time-scale", "0.05"];

fn start(extra: &[&str]) -> Program {
    let args: Vec<&str> = FAST.iter().chain(extra).copied().collect();
    Program::start(COMPLEX, &args)
}

/// Checks the stop sequence ran in order and completely, after Ctrl+C.
fn assert_clean_stop(run: &Finished) {
    run.assert_graceful_end_after_ctrl_c(&then_complex_stop(&["main: begin"]));
    assert_workers_logged(run);
}

/// The same after SIGTERM: exit 0.
fn assert_clean_stop_after_sigterm(run: &Finished) {
    run.assert_graceful_end(&then_complex_stop(&["main: begin"]));
    assert_workers_logged(run);
}

fn assert_workers_logged(run: &Finished) {
    assert!(run.count("| worker-4 |") > 0, "worker-4 never logged:\n{}", run.log.join("\n"));
}

/// Presses Ctrl+C (to the whole group) while worker `held` is stopped with
/// SIGSTOP, and lets it go on once the parent has logged `taken`. The
/// worker cannot move on meanwhile, so the Ctrl+C lands in the stage the
/// test chose, however fast or loaded the machine.
fn ctrl_c_while_holding(program: &mut Program, held: Pid, taken: &str) {
    kill(held, SIGSTOP).expect("hold the worker");
    program.signal_group(SIGINT);
    program.wait_for(taken);
    kill(held, SIGCONT).expect("let the worker go on");
}

/// The pid a worker reported in its "bootstrapped" line.
pub fn worker_pid(program: &mut Program, worker: &str) -> Pid {
    pid_in(
        &program.wait_for(&format!(
            "| {worker} | main | graceful::worker | INFO  | bootstrapped (pid "
        )),
    )
}

#[test]
fn ctrl_c_during_the_manager_start() {
    // Sixteen workers make the manager's start long, and worker-1, held
    // from its spawn, keeps it from ending before the parent has the signal.
    let mut program = start(&["--workers", "16"]);
    let worker_1 = pid_in(&program.wait_for("manager: spawned worker-1 (pid "));
    ctrl_c_while_holding(
        &mut program,
        worker_1,
        "| main | ctrl-c | graceful::signals | WARN  | signal #1",
    );
    let run = program.finish();
    assert_clean_stop(&run);
    run.assert_in_order(&[
        "during start; delayed until start is over",
        "manager: 16 workers started",
        "got the interrupt during start",
    ]);
    run.assert_absent("run: waiting");
}

#[test]
fn ctrl_c_during_the_run_stage_reaches_workers_too() {
    let mut program = start(&[]);
    program.wait_for("run: waiting");
    program.wait_for_new("| worker-1 | main | graceful::worker | DEBUG | call ");
    program.signal_group(SIGINT);
    let run = program.finish();
    assert_clean_stop(&run);
    // The terminal's Ctrl+C reached the workers, which ignored it and
    // waited for their parent's stop.
    assert!(run.count("ignored: a worker stops when its parent tells it to") >= 1);
    assert_eq!(run.count("graceful::worker | INFO  | stopped"), 4, "{}", run.log.join("\n"));
}

#[test]
fn a_worker_ignores_every_signal_sent_to_it_alone_even_the_third() {
    // Sent to worker-2 only: the parent knows nothing of them, so nothing
    // may change; a fourth signal shows the third forced nothing either.
    let mut program = start(&["--run-for", "2"]);
    let worker_2 = worker_pid(&mut program, "worker-2");
    program.wait_for("run: waiting");
    for (number, signal) in (1..).zip([SIGHUP, SIGTERM, SIGINT, SIGTERM]) {
        kill(worker_2, signal).expect("signal worker-2");
        // `ctrlc`'s thread hears SIGINT, signal-hook's the others.
        let thread = if signal == SIGINT { "ctrl-c" } else { "signals" };
        program.wait_for(&format!(
            "| worker-2 | {thread} | graceful::worker | INFO  | signal #{number}"
        ));
    }
    // A second SIGHUP is the same closed terminal: not a new signal.
    kill(worker_2, SIGHUP).expect("signal worker-2");
    let run = program.finish();
    run.assert_graceful_end(&then_complex_stop(&["main: begin"]));
    assert_eq!(run.count("ignored: a worker stops when its parent tells it to"), 4);
    run.assert_absent("| main | ctrl-c |");
    assert_eq!(run.count("graceful::worker | INFO  | stopped"), 4, "{}", run.log.join("\n"));
}

#[test]
fn ctrl_c_typed_on_a_real_terminal() {
    // The terminal driver, not the test, decides who gets SIGINT: the
    // foreground process group, which includes every worker.
    let args: Vec<&str> = FAST.to_vec();
    let mut program = Program::start_on_terminal(COMPLEX, &args);
    program.wait_for("run: waiting");
    program.press_ctrl_c();
    let run = program.finish();
    assert_clean_stop(&run);
    assert_eq!(run.count("ignored: a worker stops when its parent tells it to"), 4);
}

#[test]
fn ctrl_c_during_an_update() {
    let mut program = start(&[]);
    let worker_2 = worker_pid(&mut program, "worker-2");
    program.wait_for("| worker-2 | main | graceful::worker | DEBUG | update 1: begin");
    // Held in the middle of its update, however short a busy machine makes
    // it (workers size their work by timing themselves).
    ctrl_c_while_holding(&mut program, worker_2, "run: end; interrupted");
    let run = program.finish();
    assert_clean_stop(&run);
    run.assert_in_order(&[
        "| worker-2 | main | graceful::worker | DEBUG | update 1: begin",
        "run: end; interrupted",
        "| worker-2 | main | graceful::worker | DEBUG | update 1: end",
    ]);
    // Within each process time never goes back, and the announcement of the
    // stop comes before any worker's "stopped", though another process
    // writes those.
    run.assert_time_in_order();
    let lines = run.lines();
    let announced = lines
        .iter()
        .position(|line| line.message == "manager: stopping the workers")
        .expect("the announcement");
    let first_stopped = lines
        .iter()
        .position(|line| line.process.starts_with("worker-") && line.message == "stopped")
        .expect("a worker's stopped line");
    assert!(announced < first_stopped, "{}", run.log.join("\n"));
}

#[test]
fn a_workers_start_lines_come_before_the_parents_account_of_them() {
    let (code, log) = run_to_end(COMPLEX, &["--time-scale", "0.05", "--run-for", "0.1"]);
    assert_eq!(code, Some(0), "{log}");
    let position = |needle: &str| {
        log.lines()
            .position(|line| line.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in:\n{log}"))
    };
    let announced = position("| INFO  | manager: starting 4 workers");
    assert!(announced < position("| worker-"), "a worker spoke first:\n{log}");
    for worker in ["worker-1", "worker-2", "worker-3", "worker-4"] {
        for (said, heard) in [
            ("graceful::worker | INFO  | bootstrapped", "bootstrapped"),
            ("graceful::worker | INFO  | started", "started"),
        ] {
            let cause = position(&format!("| {worker} | main | {said}"));
            let effect = position(&format!("| DEBUG | manager: {worker} {heard}"));
            assert!(cause < effect, "{worker} {heard}, out of order:\n{log}");
        }
    }
}

#[test]
fn ctrl_c_during_stop_is_delayed() {
    let mut program = start(&["--run-for", "0.3"]);
    program.wait_for("service-2: stopping");
    program.signal_group(SIGINT);
    let run = program.finish();
    assert_clean_stop(&run);
    run.assert_in_order(&[
        "service-2: stopping",
        "during the stop, which runs to its end",
        "service-1: stopped",
    ]);
}

#[test]
fn sigterm_to_the_main_process_only() {
    let mut program = start(&[]);
    program.wait_for("run: waiting");
    program.signal_leader(SIGTERM);
    let run = program.finish();
    assert_clean_stop_after_sigterm(&run);
    run.assert_absent("ignored");
    run.assert_in_order(&["signal #1: SIGTERM; interrupting"]);
}

#[test]
fn sigkill_to_the_parent_leaves_no_orphan() {
    let mut program = start(&[]);
    program.wait_for("run: waiting");
    program.signal_leader(SIGKILL);
    // `finish` returns once every process holding the log pipe has exited,
    // that is once all four workers have left by themselves.
    let run = program.finish();
    assert_eq!(run.code(), None, "killed by a signal");
    assert_eq!(run.count("the parent is gone; exiting"), 4, "{}", run.log.join("\n"));
    run.assert_no_process_left(Duration::from_secs(2));
}

#[test]
fn sigkill_to_a_worker_fails_its_call_at_once_and_stops_gracefully() {
    // Real-time calls (0.3-0.5 s, even if a busy machine skews the
    // worker's calibration) so the kill lands while a call is in hand.
    let mut program = Program::start(
        COMPLEX,
        &["--time-scale", "1", "--update-every", "100", "--busy-loops", "4", "--pool-threads", "6"],
    );
    let pid = worker_pid(&mut program, "worker-2");
    program.wait_for("run: waiting");
    program.wait_for_new("| worker-2 | main | graceful::worker | DEBUG | call ");
    kill(pid, SIGKILL).expect("kill worker-2");
    let run = program.finish();
    run.assert_exit_code(4);
    run.assert_in_order(&[
        "worker-2: exited (signal: 9 (SIGKILL)) while processing call",
        "run: end; worker-2 died: signal: 9 (SIGKILL)",
        "service-2: stopped",
        "manager: all workers stopped",
        "service-1: stopped",
        "main: end",
    ]);
    assert!(
        run.count("failed: worker-2 died (signal: 9 (SIGKILL))") >= 1,
        "the caller saw it: {}",
        run.log.join("\n")
    );
    run.assert_last_line("main: end");
}

#[test]
fn loops_that_wait_for_their_job_or_leave_it_running_both_stop_cleanly() {
    for extra in [&["--busy-loops", "4"][..], &["--busy-loops", "4", "--leave-jobs-running"]] {
        let mut program = start(extra);
        program.wait_for("run: waiting");
        program.wait_for("busy-4: process_string");
        program.signal_group(SIGINT);
        let run = program.finish();
        assert_clean_stop(&run);
    }
}

#[test]
fn worker_mode_refuses_to_run_from_a_terminal() {
    let (code, output) = crate::util::run_with_terminal_stdin(COMPLEX, &["--worker-id", "1"]);
    assert_eq!(code, Some(2), "{output}");
    assert!(output.contains("Workers are started by `complex` itself"), "{output}");
}

#[test]
fn bad_values_get_a_clear_message_and_exit_2() {
    for (args, expected) in [
        (&["--workers", "0"][..], "--workers"),
        (&["--pool-threads", "many"], "--pool-threads"),
        (&["--update-every", "0"], "must be more than 0 seconds"),
        (&["--inject-fault", "everywhere"], "invalid value 'everywhere'"),
    ] {
        let (code, output) = run_to_end(COMPLEX, args);
        assert_eq!(code, Some(2), "{args:?}: {output}");
        assert!(output.contains(expected), "{args:?}: {output}");
    }
}
