//! The examples do what they say: the shield finishes its record,
//! then dies of SIGINT; the child of `child_ends_with_parent` ends only when
//! its parent is gone. (`cargo test` builds the examples next to the tests.)

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::util::{Program, SIGINT};

/// Where `cargo test` put example `name`: beside the test binary's folder.
fn example(name: &str) -> String {
    let test = std::env::current_exe().expect("the test's path");
    let profile = test.parent().and_then(|deps| deps.parent()).expect("the build folder");
    let path: PathBuf = profile.join("examples").join(name);
    path.to_string_lossy().into_owned()
}

#[test]
fn the_shield_finishes_its_record_then_dies_of_sigint() {
    let mut program = Program::start_on_terminal(&example("shield"), &[]);
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
fn the_child_ends_only_once_its_parent_is_gone() {
    // The parent's output and the child's share one pipe, read to its end
    // (the child holds it open until it exits).
    let output = Command::new(example("child_ends_with_parent"))
        .stdin(Stdio::null())
        .output()
        .expect("run the example");
    let text = String::from_utf8_lossy(&output.stdout);
    let position =
        |needle: &str| text.find(needle).unwrap_or_else(|| panic!("no {needle:?}:\n{text}"));
    assert!(
        position("parent: exiting now") < position("child: stdin closed"),
        "the child saw end-of-file before its parent was gone:\n{text}"
    );
}

/// The asyncio lesson in tokio: a Ctrl+C during start waits for the start,
/// one in the run stage ends it; either way the stop goes in reverse, the
/// runtime's shutdown cancels the tasks left, and `shutdown_timeout` does
/// not wait for the blocking job.
#[test]
fn the_tokio_example_shields_its_start_and_chooses_its_stop_order() {
    for (moment, then) in [
        (
            "service-1: starting",
            "start: end; got the interrupt during start, so skipping the run stage",
        ),
        ("run: waiting", "run: end; interrupted"),
    ] {
        let mut program = Program::start_on_terminal(&example("tokio_services"), &[]);
        program.wait_for(moment);
        program.press_ctrl_c();
        let run = program.finish();
        run.assert_exit_code(130);
        run.assert_in_order(&[
            "service-1: started",
            "service-2: started",
            then,
            "service-2: stopping",
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
