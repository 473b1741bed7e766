//! The try-it scripts: each one answers `--help` with its usage and what to
//! look at, from any current directory, without building or running
//! anything; and a Ctrl+C typed at a script stops the demo gracefully,
//! the way a Ctrl+C typed at the program itself does.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use nix::unistd::Pid;

use crate::util::{members_left_after, Program, SIGINT};

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts")
}

#[test]
fn every_script_explains_itself() {
    let mut checked = 0;
    for entry in std::fs::read_dir(scripts()).expect("scripts/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_none_or(|ext| ext != "sh") {
            continue;
        }
        let output = Command::new(&path)
            .arg("--help")
            .current_dir(std::env::temp_dir())
            .output()
            .expect("the script runs");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{}: {output:?}", path.display());
        assert!(text.starts_with("Usage: "), "{}: {text}", path.display());
        if path.file_name().is_some_and(|name| name != "common.sh") {
            for promise in ["What to look at", "Ctrl+C typed at the script"] {
                assert!(text.contains(promise), "{}: {text}", path.display());
            }
        }
        checked += 1;
    }
    assert!(checked >= 7, "only {checked} scripts found");
}

/// `scripts/ctrl-c.sh` waits (its own Ctrl+C is an hour away); a person
/// presses Ctrl+C at the script's terminal. The script is the terminal's
/// foreground job, the program is not: the script must pass the interrupt
/// on, wait for the graceful stop, and then die of SIGINT itself.
#[test]
fn ctrl_c_typed_at_a_script_stops_the_program_gracefully() {
    let mut command = crate::util::script("ctrl-c.sh");
    command.args(["--bin", "complex", "--at", "3600", "--", "--time-scale", "0.05"]);
    let mut script = Program::start_command_on_terminal(command);
    let started = script.wait_for(">>> started ");
    let group: i32 = started
        .rsplit(' ')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no process group in {started:?}"));
    script.owns_group(Pid::from_raw(group));
    script.wait_for("run: waiting");
    script.press_ctrl_c();
    let run = script.finish();

    run.assert_died_of(SIGINT);
    // The script's own line and the program's (which reach the terminal
    // through `tail`) may come in either order; each is there once.
    assert_eq!(
        run.count("SIGINT at the script: passed on to process group"),
        1,
        "{}",
        run.log.join("\n")
    );
    run.assert_in_order(&[
        "signal #1: Ctrl+C (SIGINT); interrupting: the graceful stop begins",
        "main: end",
        ">>> exit code 130 = 128 + 2: the program died of SIGINT",
        ">>> no process of the run is left",
    ]);
    run.assert_absent("SIGKILL");
    run.assert_absent("at 3600 s");
    assert!(group > 1, "a process group of the program's own: {started:?}");
    let left = members_left_after(Pid::from_raw(group), Duration::from_secs(5));
    assert!(left.is_empty(), "processes of the program's group {group} are left: {left:?}");
}

/// The phrases a script's `--help` quotes under "What to look at", each
/// whitespace-folded.
fn quoted_phrases(help: &str) -> Vec<String> {
    let start = help.find("What to look at:").expect("a What to look at paragraph");
    let paragraph = help[start..].split("\n\n").next().unwrap_or("");
    let folded = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
    folded.split('"').skip(1).step_by(2).map(str::to_owned).collect()
}

/// What a script's `--help` tells a person to look for is checked the way
/// the README's excerpts are: against a run of the scenario it describes.
#[test]
fn what_each_script_says_to_look_for_is_what_its_run_prints() {
    let runs: [(&str, &[&str]); 6] = [
        ("ctrl-c.sh", &["--during", "start", "--", "--time-scale", "0.3"]),
        ("ctrl-c-twice.sh", &["--", "--time-scale", "0.3"]),
        ("sigterm.sh", &["--bin", "complex", "--", "--time-scale", "0.05"]),
        ("kill-parent.sh", &["--", "--time-scale", "0.05", "--update-every", "100"]),
        ("kill-worker.sh", &["--", "--time-scale", "0.05"]),
        ("stop-deadline.sh", &["--bin", "complex"]),
    ];
    let checks: Vec<_> = runs
        .into_iter()
        .map(|(script, args)| {
            std::thread::spawn(move || {
                let path = scripts().join(script);
                let help = Command::new(&path).arg("--help").output().expect("--help");
                let phrases = quoted_phrases(&String::from_utf8_lossy(&help.stdout));
                let mut command = crate::util::script(script);
                command.args(args);
                let run = Program::start_command_on_terminal(command).finish();
                let shown = run.log.join(" ").split_whitespace().collect::<Vec<_>>().join(" ");
                let missing: Vec<String> =
                    phrases.iter().filter(|phrase| !shown.contains(*phrase)).cloned().collect();
                (script, phrases.len(), missing, run.log.join("\n"))
            })
        })
        .collect();
    for check in checks {
        let (script, quoted, missing, log) = check.join().expect("a script run");
        assert!(quoted >= 2, "{script} quotes only {quoted} phrase(s)");
        assert!(missing.is_empty(), "{script} --help quotes {missing:?}, not in its run:\n{log}");
    }
}

#[test]
fn a_bad_moment_or_worker_is_refused_before_anything_runs() {
    for (name, args, says) in [
        ("ctrl-c.sh", &["--at", "soon"][..], "--at takes seconds"),
        ("kill-worker.sh", &["--worker", "x"], "--worker takes a worker's number"),
        ("kill-worker.sh", &["--worker", "99"], "the program runs 4 worker(s)"),
        ("kill-worker.sh", &["--worker", "5", "--", "--workers", "4"], "pick one from 1 to 4"),
    ] {
        let output = crate::util::script(name).args(args).output().expect("the script runs");
        let said = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name} {args:?}: {said}");
        assert!(said.contains(says), "{name} {args:?}: {said}");
        assert!(!said.contains(">>> started"), "{name} {args:?} started the program: {said}");
    }
}

/// A Ctrl+C at the script while it gives the workers of a killed parent a
/// moment to leave: the wait ends, the report does not.
#[test]
fn ctrl_c_at_a_script_in_its_last_wait_still_gets_the_report() {
    let mut command = crate::util::script("kill-parent.sh");
    command.args(["--", "--time-scale", "0.05"]);
    let mut script = Program::start_command_on_terminal(command);
    script.wait_for(">>> SIGKILL to the parent");
    // The workers leave at once; the script then waits 2 s for stragglers.
    script.wait_for("the parent is gone");
    std::thread::sleep(std::time::Duration::from_millis(500));
    script.press_ctrl_c();
    let run = script.finish();
    run.assert_in_order(&[
        "SIGINT at the script",
        "exit code 137",
        "no process of the run is left",
        "the run",
    ]);
}
