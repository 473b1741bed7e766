//! `simple` under real signals at chosen moments.

use crate::util::{run_to_end, Finished, Program, SIGHUP, SIGINT, SIGTERM};

const SIMPLE: &str = env!("CARGO_BIN_EXE_simple");

/// Fast enough for the suite, slow enough that "during service-1's start"
/// is a half-second window a signal cannot miss.
const SCALE: &str = "0.5";

const STOP: &[&str] = &[
    "stop: begin",
    "service-2: stopping",
    "service-2: stopped",
    "service-1: stopping",
    "service-1: stopped",
    "stop: end",
    "main: end",
];

/// A graceful stop after SIGTERM, SIGHUP or `--run-for`: exit 0.
fn assert_clean_stop(run: &Finished) {
    run.assert_graceful_end(&[&["main: begin"], STOP].concat());
}

/// A graceful stop after Ctrl+C: the program then dies of SIGINT.
fn assert_clean_stop_after_ctrl_c(run: &Finished) {
    run.assert_graceful_end_after_ctrl_c(&[&["main: begin"], STOP].concat());
}

#[test]
fn ctrl_c_typed_on_a_real_terminal() {
    let mut program = Program::start_on_terminal(SIMPLE, &["--time-scale", "0.05"]);
    program.wait_for("run: waiting");
    program.press_ctrl_c();
    let run = program.finish();
    assert_clean_stop_after_ctrl_c(&run);
    run.assert_in_order(&["run: waiting", "run: end; interrupted"]);
}

#[test]
fn ctrl_c_during_the_wait_stops_services_in_reverse_order() {
    let mut program = Program::start(SIMPLE, &["--time-scale", "0.05"]);
    program.wait_for("run: waiting");
    program.signal_group(SIGINT);
    let run = program.finish();
    assert_clean_stop_after_ctrl_c(&run);
    run.assert_in_order(&[
        "service-1: started",
        "service-2: started",
        "run: waiting",
        "run: end; interrupted",
    ]);
    run.assert_absent("during start; delayed");
    run.assert_in_order(&["signal #1: Ctrl+C (SIGINT); interrupting: the graceful stop begins"]);
}

#[test]
fn ctrl_c_during_start_of_service_1_finishes_start_then_stops() {
    let mut program = Program::start(SIMPLE, &["--time-scale", SCALE]);
    program.wait_for("service-1: starting");
    program.signal_group(SIGINT);
    let run = program.finish();
    assert_clean_stop_after_ctrl_c(&run);
    run.assert_in_order(&[
        "service-1: starting",
        "signal #1: Ctrl+C (SIGINT) during start; delayed until start is over",
        "service-1: started",
        "service-2: starting",
        "service-2: started",
        "got the interrupt during start",
        "stop: begin (interrupted during start",
    ]);
    run.assert_absent("run: waiting");
}

#[test]
fn ctrl_c_during_start_of_service_2_finishes_start_then_stops() {
    let mut program = Program::start(SIMPLE, &["--time-scale", SCALE]);
    program.wait_for("service-2: starting");
    program.signal_group(SIGINT);
    let run = program.finish();
    assert_clean_stop_after_ctrl_c(&run);
    run.assert_in_order(&[
        "service-1: started",
        "service-2: starting",
        "signal #1: Ctrl+C (SIGINT) during start; delayed until start is over",
        "service-2: started",
        "got the interrupt during start",
    ]);
    run.assert_absent("run: waiting");
}

#[test]
fn ctrl_c_during_stop_is_delayed_and_the_stop_completes() {
    let mut program = Program::start(SIMPLE, &["--time-scale", SCALE, "--run-for", "0"]);
    program.wait_for("service-2: stopping");
    program.signal_group(SIGINT);
    let run = program.finish();
    assert_clean_stop_after_ctrl_c(&run);
    run.assert_in_order(&[
        "service-2: stopping",
        "signal #1: Ctrl+C (SIGINT) during the stop, which runs to its end; 2 more force the exit",
        "service-1: stopped",
        "1 signal(s) arrived during stop; the stop still ran to the end",
        "stop: end",
    ]);
}

#[test]
fn sigterm_to_the_main_process_stops_cleanly() {
    let mut program = Program::start(SIMPLE, &["--time-scale", "0.05"]);
    program.wait_for("run: waiting");
    program.signal_leader(SIGTERM);
    let run = program.finish();
    assert_clean_stop(&run);
    run.assert_in_order(&["signal #1: SIGTERM; interrupting: the graceful stop begins"]);
}

#[test]
fn sighup_to_the_main_process_stops_cleanly() {
    // (A terminal that really closes: `edges.rs`.)
    let mut program = Program::start(SIMPLE, &["--time-scale", "0.05"]);
    program.wait_for("run: waiting");
    program.signal_leader(SIGHUP);
    let run = program.finish();
    assert_clean_stop(&run);
    run.assert_in_order(&["signal #1: SIGHUP; interrupting: the graceful stop begins"]);
}

#[test]
fn two_quick_ctrl_c_give_one_stop() {
    let mut program = Program::start(SIMPLE, &["--time-scale", "0.05"]);
    program.wait_for("run: waiting");
    program.signal_group(SIGINT);
    // Standard signals do not queue: a second SIGINT sent before the first
    // was handled merges with it. Send it as soon as the first is seen, so
    // it lands while the stop is being entered.
    program.wait_for("signal #1");
    program.signal_group(SIGINT);
    let run = program.finish();
    assert_clean_stop_after_ctrl_c(&run);
    assert_eq!(run.count("signal #"), 2, "both signals are seen:\n{}", run.log.join("\n"));
    run.assert_in_order(&[
        "signal #1: Ctrl+C (SIGINT); interrupting",
        "signal #2: Ctrl+C (SIGINT)",
    ]);
    assert_eq!(run.count("one more forces the exit"), 1);
    assert_eq!(run.count("stop: begin"), 1);
    assert_eq!(run.count("service-2: stopping"), 1);
    assert_eq!(run.count("service-1: stopped"), 1);
}

#[test]
fn run_for_ends_the_run_stage_without_a_signal() {
    let run = Program::start(SIMPLE, &["--time-scale", "0.01", "--run-for", "0.1"]).finish();
    assert_clean_stop(&run);
    run.assert_in_order(&["run: waiting", "run: end; --run-for time is over"]);
}

#[test]
fn a_stop_past_the_deadline_names_the_step_and_exits_5() {
    // Each stop step lasts 0.5 s here, ten times the 0.05 s deadline.
    let run = Program::start(
        SIMPLE,
        &["--time-scale", SCALE, "--run-for", "0", "--stop-timeout", "0.05"],
    )
    .finish();
    run.assert_exit_code(5);
    run.assert_last_line("stop: deadline of 0.050 s exceeded while stopping service-2; giving up on a graceful shutdown");
    run.assert_absent("main: end");
}

#[test]
fn bad_flag_values_get_a_clear_message_and_exit_2() {
    for (args, expected) in [
        (&["--time-scale", "fast"][..], "`fast` is not a number"),
        (&["--time-scale", "-1"], "must be a number from 0 to 1000"),
        (&["--time-scale", "2e18"], "must be a number from 0 to 1000"),
        (&["--stop-timeout", "1e19"], "from 0 to 1000000"),
        (&["--stop-timeout", "1e308"], "from 0 to 1000000"),
        (&["--run-for", "inf"], "from 0 to 1000000"),
        (&["--inject-fault", "busy-loop"], "invalid value"),
        (&["--stop-timeout", "0"], "must be more than 0 seconds"),
        (&["--run-for", "soon"], "is not a number of seconds"),
        (&["--no-such-flag"], "unexpected argument"),
    ] {
        let (code, output) = run_to_end(SIMPLE, args);
        assert_eq!(code, Some(2), "{args:?}: {output}");
        assert!(output.contains(expected), "{args:?}: {output}");
        assert!(!output.contains("main: begin"), "{args:?} started anyway: {output}");
    }
}
