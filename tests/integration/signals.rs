//! What the caller sees: a shell loop that stops with the program, and the
//! escape hatch of a third Ctrl+C.

use std::process::Command;

use nix::sys::signal::kill;

use crate::complex::worker_pid;
use crate::util::{Program, SIGINT, SIGSTOP};

const SIMPLE: &str = env!("CARGO_BIN_EXE_simple");
const COMPLEX: &str = env!("CARGO_BIN_EXE_complex");

/// `for i in 1 2; do PROGRAM; done` on a terminal, Ctrl+C in the first
/// run's run stage: the program stops gracefully, then dies of SIGINT, so
/// bash stops the loop too (and dies of SIGINT itself).
fn ctrl_c_stops_the_shell_loop(exe: &str) {
    let script = format!("for i in 1 2; do {exe} --time-scale 0.05; done; echo LOOP-CONTINUED >&2");
    let mut command = Command::new("bash");
    command.arg("-c").arg(script);
    let mut program = Program::start_command_on_terminal(command);
    program.wait_for("run: waiting");
    program.wait_until_the_shell_waits();
    program.press_ctrl_c();
    let run = program.finish();
    run.assert_died_of(SIGINT);
    assert_eq!(run.count("main: begin"), 1, "a second run started:\n{}", run.log.join("\n"));
    run.assert_absent("LOOP-CONTINUED");
    run.assert_last_line("main: end");
}

#[test]
fn ctrl_c_stops_the_shell_loop_around_simple() {
    ctrl_c_stops_the_shell_loop(SIMPLE);
}

#[test]
fn ctrl_c_stops_the_shell_loop_around_complex() {
    ctrl_c_stops_the_shell_loop(COMPLEX);
}

#[test]
fn a_third_ctrl_c_during_complexs_stop_forces_the_exit() {
    // The stop must still be running when the third Ctrl+C arrives, however
    // slow or fast the machine. An update lasts a (scaled) 5 s of CPU in each
    // worker, and the shielded update loop waits for it; stopping worker-1
    // (SIGSTOP) in the middle of update 1 makes sure that update never ends
    // by itself, so the stop waits in one known step until the deadline,
    // which is far away. A hung worker is also what the escape hatch is for.
    let mut program = Program::start_on_terminal(
        COMPLEX,
        &[
            "--time-scale",
            "1.5",
            "--update-every",
            "0.5",
            "--busy-loops",
            "0",
            "--stop-timeout",
            "600",
        ],
    );
    let hung = worker_pid(&mut program, "worker-1");
    program.wait_for("| worker-1 | main | graceful::worker | DEBUG | update 1: begin");
    kill(hung, SIGSTOP).expect("stop worker-1");
    program.wait_for("run: waiting");
    program.press_ctrl_c();
    program.wait_for("service-1: cancelling the update loop");
    program.press_ctrl_c();
    // Signals do not queue: wait until the parent has handled the second
    // (a worker's "signal #2" line says nothing about the parent's).
    program.wait_for("| main | ctrl-c | graceful::signals | WARN  | signal #2");
    program.press_ctrl_c();
    let run = program.finish();
    run.assert_exit_code(5);
    run.assert_in_order(&[
        "signal #1: Ctrl+C (SIGINT); interrupting",
        "signal #2: Ctrl+C (SIGINT) during the stop, which runs to its end; one more forces the exit",
        "signal #3 (Ctrl+C (SIGINT)) forced the exit while service-1: waiting for the update loop to end; \
         giving up on a graceful shutdown: killing the 4 worker process(es) still alive, exit code 5",
    ]);
    run.assert_absent("| worker-1 | main | graceful::worker | DEBUG | update 1: end");
    // Killing the workers unblocks the stop; what it went on to do must not
    // reach the log after the ERROR (no "stop: end", no "main: end").
    run.assert_parents_last_line("giving up on a graceful shutdown");
}

#[test]
fn a_third_ctrl_c_during_start_forces_the_exit_too() {
    let mut program = Program::start_on_terminal(SIMPLE, &["--time-scale", "2"]);
    program.wait_for("service-1: starting");
    program.press_ctrl_c();
    program.wait_for("signal #1");
    program.press_ctrl_c();
    program.wait_for("signal #2");
    program.press_ctrl_c();
    let run = program.finish();
    run.assert_exit_code(5);
    run.assert_in_order(&[
        "signal #1: Ctrl+C (SIGINT) during start; delayed until start is over",
        "signal #2: Ctrl+C (SIGINT) during start, which runs to its end before the stop; one more forces the exit",
        "signal #3 (Ctrl+C (SIGINT)) forced the exit while starting service-1",
    ]);
    run.assert_absent("service-1: started");
    run.assert_parents_last_line("giving up on a graceful shutdown");
}
