//! The ladder of examples, each run and held to what it says it teaches
//! (`cargo test` builds the examples next to the tests).

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::util::{give_sigint_its_default, Program, SIGINT};

/// Where `cargo test` put example `name`: beside the test binary's folder.
fn example(name: &str) -> String {
    let test = std::env::current_exe().expect("the test's path");
    let profile = test.parent().and_then(|deps| deps.parent()).expect("the build folder");
    let path: PathBuf = profile.join("examples").join(name);
    path.to_string_lossy().into_owned()
}

/// Runs example `name` to its end with no terminal; its exit code and what
/// it wrote to stdout and stderr.
fn run_example(name: &str) -> (Option<i32>, String) {
    let mut command = Command::new(example(name));
    give_sigint_its_default(&mut command);
    let output = command.stdin(Stdio::null()).output().expect("run the example");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code(), text)
}

/// Whether `needles` appear in `text` in this order.
fn in_order(text: &str, needles: &[&str]) -> bool {
    let mut from = 0;
    needles.iter().all(|needle| match text[from..].find(needle) {
        Some(at) => {
            from += at + needle.len();
            true
        }
        None => false,
    })
}

#[test]
fn ladder_01_the_shield_finishes_its_record_then_dies_of_sigint() {
    let mut program = Program::start_on_terminal(&example("01_shield"), &[]);
    program.wait_for("record 1: step 1 of 3");
    program.press_ctrl_c();
    let run = program.finish();
    run.assert_died_of(SIGINT);
    run.assert_in_order(&[
        "record 1: step 3 of 3",
        "Ctrl+C (1x) during record 1; it was finished first",
    ]);
    run.assert_absent("record 2");
}

#[test]
fn ladder_02_one_drop_cancels_every_loop_and_each_is_joined() {
    let (code, text) = run_example("02_cancel_every_loop");
    assert_eq!(code, Some(0), "{text}");
    for id in 1..=3 {
        assert!(text.contains(&format!("loop {id}: cancelled after")), "{text}");
    }
    assert_eq!(text.matches("main: a loop ended after").count(), 3, "{text}");
    assert!(in_order(&text, &["main: cancelling the loops", "main: every loop has ended"]));
}

#[test]
fn ladder_03_parts_stop_in_reverse_even_after_a_failed_stop() {
    let (code, text) = run_example("03_reverse_stop_order");
    assert_eq!(code, Some(6), "{text}");
    let order = [
        "database: started",
        "cache: started",
        "web server: started",
        "web server: stopped",
        "cache: stopping",
        "database: stopped",
        "main: every part was stopped; failed: cache: could not write its file",
    ];
    assert!(in_order(&text, &order), "{text}");
    assert!(!text.contains("cache: stopped"), "{text}");
}

#[test]
fn ladder_04_a_stop_queued_behind_a_busy_pool_waits_for_it() {
    let (code, text) = run_example("04_pool_pitfall");
    assert_eq!(code, Some(0), "{text}");
    let one_thread = [
        "pool of 1 thread(s): a long job starts",
        "stop job: still queued after 500 ms: every thread is busy",
        "long job: done",
        "stop job: ran only after the long job was done",
        "pool of 2 thread(s): a long job starts",
        "stop job: ran at once, beside the long job",
    ];
    assert!(in_order(&text, &one_thread), "{text}");
    assert_eq!(text.matches("still queued").count(), 1, "{text}");
}

#[test]
fn ladder_05_the_worker_ignores_ctrl_c_and_stops_when_told() {
    let mut program = Program::start_on_terminal(&example("05_workers_ignore_ctrl_c"), &[]);
    program.wait_for("parent: the worker is ready; press Ctrl+C");
    program.press_ctrl_c();
    let run = program.finish();
    run.assert_exit_code(0);
    run.assert_in_order(&[
        "parent: Ctrl+C; telling the worker to stop",
        "worker: told to stop by my parent; stopping",
        "parent: the worker has stopped (exit status: 0); stopping too",
    ]);
    // Survived the Ctrl+C (it was told to stop, and exited 0); whether its
    // handler's line came before the parent's word is up to the scheduler.
    assert!(run.count("worker: Ctrl+C reached me too; ignored") <= 1, "{}", run.log.join("\n"));
}

#[test]
fn ladder_06_the_child_ends_only_once_its_parent_is_gone() {
    // The parent's output and the child's share one pipe, read to its end
    // (the child holds it open until it exits).
    let (_, text) = run_example("06_child_ends_with_parent");
    let position =
        |needle: &str| text.find(needle).unwrap_or_else(|| panic!("no {needle:?}:\n{text}"));
    assert!(
        position("parent: exiting now") < position("child: stdin closed"),
        "the child saw end-of-file before its parent was gone:\n{text}"
    );
}

#[test]
fn ladder_07_the_deadline_names_the_step_the_stop_is_stuck_in() {
    let (code, text) = run_example("07_deadline_names_the_stuck_step");
    assert_eq!(code, Some(5), "{text}");
    assert!(in_order(&text, &["stop: closing the database", "stop: flushing the cache"]));
    assert!(text.contains("exceeded while flushing the cache; exit code 5"), "{text}");
    assert!(!text.contains("stop: end"), "{text}");
}

/// A bash loop around the example, on a terminal; Ctrl+C during the first
/// run. Returns the loop's log.
fn loop_around_08(flags: &str) -> Vec<String> {
    let mut command = Command::new("bash");
    let example = example("08_die_of_sigint");
    command
        .args(["-c", &format!("for i in 1 2; do '{example}' {flags}; echo \"rc=$?\" >&2; done")]);
    give_sigint_its_default(&mut command);
    let mut shell = Program::start_command_on_terminal(command);
    shell.wait_for("running; press Ctrl+C");
    shell.wait_until_the_shell_waits();
    shell.press_ctrl_c();
    if !flags.is_empty() {
        // The loop goes on: the second run waits for its own Ctrl+C. (Its
        // line may have come already: counted, not waited for as new.)
        shell.wait_for_nth("running; press Ctrl+C", 2);
        shell.wait_until_the_shell_waits();
        shell.press_ctrl_c();
    }
    shell.finish().log
}

#[test]
fn ladder_08_dying_of_sigint_stops_the_shell_loop_and_exiting_130_does_not() {
    let died = loop_around_08("");
    let text = died.join("\n");
    assert!(text.contains("dying of SIGINT"), "{text}");
    assert!(!text.contains("rc="), "the loop went on after a death by SIGINT:\n{text}");
    let exited = loop_around_08("--exit-130").join("\n");
    assert_eq!(exited.matches("rc=130").count(), 2, "the loop stopped:\n{exited}");
}

/// The asyncio lesson in tokio: a Ctrl+C during start waits for the start,
/// one in the run stage ends it; either way the stop goes in reverse, a
/// second Ctrl+C during the stop changes nothing, the runtime's shutdown
/// cancels the tasks left, `shutdown_timeout` does not wait for the
/// blocking job, and the process dies of SIGINT.
#[test]
fn ladder_09_the_tokio_example_shields_its_start_and_chooses_its_stop_order() {
    for (moment, then) in [
        (
            "service-1: starting",
            "start: end; got the interrupt during start, so skipping the run stage",
        ),
        ("run: waiting", "run: end; interrupted"),
    ] {
        let mut program = Program::start_on_terminal(&example("09_tokio"), &[]);
        program.wait_for(moment);
        program.press_ctrl_c();
        program.wait_for("service-2: stopping");
        program.press_ctrl_c();
        let run = program.finish();
        run.assert_died_of(SIGINT);
        run.assert_in_order(&[
            "service-1: started",
            "service-2: started",
            then,
            "service-2: stopping",
            "signal #2: Ctrl+C during the stop, which runs to its end",
            "service-2: stopped",
            "service-1: stopping",
            "service-1: stopped",
            "stop: end",
            "main: shutting the runtime down",
            "main: end",
        ]);
        assert_eq!(run.count("cancelled at its .await"), 2, "{}", run.log.join("\n"));
        run.assert_absent("blocking job: done");
    }
}

#[test]
fn ladder_09_a_third_ctrl_c_forces_the_tokio_example_out() {
    let mut program = Program::start_on_terminal(&example("09_tokio"), &[]);
    program.wait_for("run: waiting");
    program.press_ctrl_c();
    program.wait_for("service-2: stopping");
    program.press_ctrl_c();
    program.wait_for("signal #2");
    program.press_ctrl_c();
    let run = program.finish();
    run.assert_exit_code(5);
    run.assert_in_order(&["signal #3: Ctrl+C forced the exit; exit code 5"]);
    run.assert_absent("stop: end");
}

#[test]
fn every_example_is_on_the_ladder_and_run_here() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let tests = std::fs::read_to_string(root.join("tests/integration/examples.rs")).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(root.join("examples"))
        .expect("the examples folder")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    for (rung, name) in (1..).zip(&names) {
        let stem = name.trim_end_matches(".rs");
        assert!(stem.starts_with(&format!("{rung:02}_")), "{name} is not rung {rung}");
        assert!(tests.contains(&format!("example(\"{stem}\")")), "{name} is not run");
        let text = std::fs::read_to_string(root.join("examples").join(name)).unwrap();
        assert!(text.starts_with("//! The idea"), "{name} does not open with its idea");
        assert!(text.lines().count() <= 100, "{name} is longer than a rung should be");
    }
    assert_eq!(names.len(), 9, "{names:?}");
}
