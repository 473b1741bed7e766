//! The edges, round two: a reader that comes back late, a terminal closed
//! after Ctrl+C, a memory limit, signals the parent left ignored, a script
//! whose terminal goes away, and the smaller things around the command
//! line. Each test here failed before its fix.

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, SigHandler};
use nix::unistd::{pipe, Pid};

use crate::util::{
    full_pipe, make_controlling_terminal, members_left_after, open_terminal, start_with_stderr,
    status_within, Program, SIGCONT, SIGHUP, SIGINT, SIGKILL, SIGSTOP, SIGTERM,
};

const SIMPLE: &str = env!("CARGO_BIN_EXE_simple");
const COMPLEX: &str = env!("CARGO_BIN_EXE_complex");

#[test]
fn a_reader_that_comes_back_within_the_deadline_gets_every_line_of_every_process() {
    // As `complex 2>&1 | less` paused at its prompt: the reader reads for a
    // second and stops (the pipe fills up within a few seconds), Ctrl+C
    // comes at 6 s, and the reader comes back three seconds later, well
    // inside --stop-timeout (30 s).
    let (read, write): (OwnedFd, OwnedFd) = pipe().expect("pipe");
    let mut child = start_with_stderr(COMPLEX, &["--time-scale", "0.05"], File::from(write), None);
    let (resume, paused) = crossbeam::channel::bounded::<()>(0);
    let reader = thread::spawn(move || {
        let mut reader = File::from(read);
        let mut everything = Vec::new();
        let mut buffer = [0u8; 4096];
        let began = Instant::now();
        while began.elapsed() < Duration::from_secs(1) {
            match reader.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(read) => everything.extend_from_slice(&buffer[..read]),
            }
        }
        let _ = paused.recv();
        let _ = reader.read_to_end(&mut everything);
        String::from_utf8_lossy(&everything).into_owned()
    });
    thread::sleep(Duration::from_secs(6));
    killpg(Pid::from_raw(child.id() as i32), SIGINT).expect("Ctrl+C to the group");
    thread::sleep(Duration::from_secs(3));
    resume.send(()).expect("the reader waits");
    let status = status_within(&mut child, Duration::from_secs(60));
    let log = reader.join().expect("the reader");
    assert_eq!(status.signal(), Some(SIGINT as i32), "{status:?}; log:\n{log}");
    assert_eq!(log.matches("graceful::worker | INFO  | stopped").count(), 4, "log:\n{log}");
    assert!(log.trim_end().ends_with("main: end"), "log:\n{log}");
    assert!(!log.contains("dropped"), "log:\n{log}");
}

#[test]
fn one_ctrl_c_and_then_closing_the_terminal_is_a_complete_graceful_stop() {
    let mut program = Program::start_on_terminal(SIMPLE, &["--time-scale", "0.5"]);
    program.wait_for("run: waiting");
    program.press_ctrl_c();
    program.wait_for("signal #1: Ctrl+C");
    // The kernel's SIGHUP, then the shell's: closing a terminal sends both.
    program.close_terminal();
    program.wait_for("signal #2: SIGHUP");
    program.signal_leader(SIGHUP);
    let run = program.finish();
    run.assert_graceful_end_after_ctrl_c(&["stop: begin", "service-1: stopped", "main: end"]);
    run.assert_absent("forced the exit");
    assert_eq!(run.count("signal #"), 2, "{}", run.log.join("\n"));
}

#[test]
fn under_a_memory_limit_with_stderr_blocked_the_deadline_and_the_third_ctrl_c_still_end_the_stop() {
    const LIMIT: u64 = 256 * 1024 * 1024;
    for (timeout, ctrl_c) in [("3", 1), ("600", 3)] {
        let (_unread, stderr) = full_pipe();
        let args = ["--time-scale", "0", "--stop-timeout", timeout];
        let mut child = start_with_stderr(COMPLEX, &args, stderr, Some(LIMIT));
        let group = Pid::from_raw(child.id() as i32);
        thread::sleep(Duration::from_secs(3));
        for _ in 0..ctrl_c {
            killpg(group, SIGINT).expect("Ctrl+C to the group");
            thread::sleep(Duration::from_millis(300));
        }
        let status = status_within(&mut child, Duration::from_secs(30));
        assert_eq!(status.code(), Some(5), "--stop-timeout {timeout}, {ctrl_c} Ctrl+C");
        assert!(members_left_after(group, Duration::from_secs(2)).is_empty(), "left behind");
    }
}

#[test]
fn the_forced_exit_names_the_step_the_program_is_in() {
    // Three signals back to back once the run stage waits: the third comes
    // while the program leaves the run stage or begins its stop, a moment
    // that lasts microseconds, so try it a few times.
    for _ in 0..10 {
        let mut program = Program::start(SIMPLE, &["--time-scale", "0.05"]);
        program.wait_for("run: waiting");
        for signal in [SIGTERM, SIGHUP, SIGINT] {
            program.signal_leader(signal);
        }
        let run = program.finish();
        run.assert_exit_code(5);
        let forced = run.log.iter().find(|line| line.contains("forced the exit while")).cloned();
        let forced = forced.unwrap_or_else(|| panic!("no forced exit:\n{}", run.log.join("\n")));
        let steps = ["waiting in the run stage", "beginning the stop", "stopping service-2"];
        assert!(steps.iter().any(|step| forced.contains(step)), "{forced}");
    }
}

#[test]
fn a_signal_the_parent_left_ignored_stays_ignored_and_sigterm_still_stops() {
    // `nohup` leaves SIGHUP ignored, a script's `cmd &` leaves SIGINT
    // ignored: the terminal closing, or a Ctrl+C meant for the script, must
    // not stop the program.
    let mut program = Program::start_with(SIMPLE, &["--time-scale", "0.05"], SigHandler::SigIgn);
    program.wait_for("run: waiting for SIGTERM");
    program.signal_group(SIGINT);
    program.signal_leader(SIGHUP);
    thread::sleep(Duration::from_millis(500));
    program.signal_leader(SIGTERM);
    let run = program.finish();
    run.assert_graceful_end(&["main: begin", "main: end"]);
    run.assert_in_order(&[
        "Ctrl+C (SIGINT) was ignored when the program started",
        "SIGHUP was ignored when the program started",
        "signal #1: SIGTERM; interrupting",
    ]);
    assert_eq!(run.count("signal #"), 1, "{}", run.log.join("\n"));
}

/// Starts `script ARGS` with stdin, stdout and stderr all on a terminal of
/// its own, as in a terminal window; returns it, the terminal, and what the
/// terminal showed until a line with `needle` (the reader stops there).
fn start_script_in_a_window(script: &str, args: &[&str], needle: &str) -> (Child, File, String) {
    let (ours, theirs, path) = open_terminal();
    let mut command = crate::util::script(script);
    command.args(args).env_remove("RUST_LOG");
    command
        .stdin(theirs.try_clone().expect("a handle"))
        .stdout(theirs.try_clone().expect("a handle"));
    command.stderr(theirs);
    make_controlling_terminal(&mut command, path);
    let child = command.spawn().expect("start the script");
    drop(command);
    let mut reader = ours.try_clone().expect("a handle");
    let (mut shown, mut buffer) = (String::new(), [0u8; 4096]);
    let give_up = Instant::now() + Duration::from_secs(60);
    while !shown.contains(needle) && Instant::now() < give_up {
        match reader.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => shown.push_str(&String::from_utf8_lossy(&buffer[..read])),
        }
    }
    (child, ours, shown)
}

/// The process group a script says it started the program in.
fn program_group(shown: &str) -> Pid {
    let line = shown.lines().find(|line| line.contains(">>> started ")).expect("started");
    Pid::from_raw(line.trim().rsplit(' ').next().and_then(|id| id.parse().ok()).expect("a group"))
}

#[test]
fn closing_the_terminal_under_a_script_leaves_nothing_running() {
    let args = ["--bin", "complex", "--at", "3600", "--", "--time-scale", "0.05"];
    let (mut script, terminal, shown) =
        start_script_in_a_window("ctrl-c.sh", &args, "run: waiting");
    let group = program_group(&shown);
    drop(terminal);
    let _ = status_within(&mut script, Duration::from_secs(60));
    let left = members_left_after(group, Duration::from_secs(10));
    if !left.is_empty() {
        let _ = killpg(group, SIGKILL);
    }
    assert!(left.is_empty(), "the program's group {group} is left running: {left:?}\n{shown}");
}

#[test]
fn ctrl_c_at_a_script_while_it_waits_for_a_worker_is_passed_on() {
    let mut command = crate::util::script("kill-worker.sh");
    // worker-1 never bootstraps: the script waits for it until Ctrl+C.
    command.args(["--", "--time-scale", "0.05", "--inject-fault", "worker-hang"]);
    let mut script = Program::start_command_on_terminal(command);
    let started = script.wait_for(">>> started ");
    script.owns_group(program_group(&started));
    script.wait_for("manager: spawned worker-4");
    script.press_ctrl_c();
    let run = script.finish();
    run.assert_in_order(&["SIGINT at the script: passed on to process group", "main: end"]);
    run.assert_absent("SIGKILL to process group");
    assert!(members_left_after(program_group(&started), Duration::from_secs(5)).is_empty());
}

#[test]
fn a_help_text_that_cannot_be_written_is_an_error() {
    for flag in ["--help", "--version"] {
        let output = Command::new(SIMPLE)
            .arg(flag)
            .stdout(File::create("/dev/full").expect("/dev/full"))
            .output()
            .expect("run simple");
        assert_eq!(output.status.code(), Some(2), "{flag}");
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(said.contains("cannot write the text asked for"), "{flag}: {said}");
    }
    let version = Command::new(SIMPLE).arg("--version").output().expect("run simple");
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("simple "));
}

#[test]
fn a_usage_error_on_a_blocked_stderr_still_dies_of_ctrl_c() {
    let (_unread, stderr) = full_pipe();
    let mut child = start_with_stderr(SIMPLE, &["--no-such-flag"], stderr, None);
    thread::sleep(Duration::from_millis(300));
    killpg(Pid::from_raw(child.id() as i32), SIGINT).expect("Ctrl+C to the group");
    let status = status_within(&mut child, Duration::from_secs(10));
    assert_eq!(status.signal(), Some(SIGINT as i32), "{status:?}");
}

#[test]
fn worker_mode_refuses_worker_zero() {
    let output = Command::new(COMPLEX)
        .args(["--worker-id", "0"])
        .stdin(Stdio::piped())
        .output()
        .expect("run complex");
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn time_spent_stopped_is_said_to_count_against_the_deadlines() {
    let mut program = Program::start(COMPLEX, &["--time-scale", "0.05"]);
    program.wait_for("run: waiting");
    kill(program.pid(), SIGSTOP).expect("stop the program");
    thread::sleep(Duration::from_millis(300));
    kill(program.pid(), SIGCONT).expect("let it go on");
    program.wait_for("SIGCONT: running again");
    program.signal_leader(SIGTERM);
    let run = program.finish();
    run.assert_graceful_end(&[
        "the time it spent stopped counts against every deadline",
        "main: end",
    ]);
}
