//! Hostile surroundings instead of random timing: a stderr nobody reads, a
//! worker stopped with SIGSTOP, bad input to worker mode. Nothing may hold a
//! stop past its deadline, and nothing may outlive the program.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::signal::{kill, killpg};
use nix::unistd::Pid;

use crate::complex::worker_pid;
use crate::util::{
    full_pipe, live_members, start_with_stderr, status_within, Program, PATIENCE, SIGINT, SIGKILL,
    SIGSTOP, SIGTERM,
};

const SIMPLE: &str = env!("CARGO_BIN_EXE_simple");
const COMPLEX: &str = env!("CARGO_BIN_EXE_complex");

#[test]
fn a_stderr_nobody_reads_cannot_hold_the_stop_past_its_deadline() {
    for exe in [SIMPLE, COMPLEX] {
        let (_unread, stderr) = full_pipe();
        let mut child =
            start_with_stderr(exe, &["--time-scale", "0.05", "--stop-timeout", "2"], stderr, None);
        let group = Pid::from_raw(child.id() as i32);
        thread::sleep(Duration::from_millis(800));
        killpg(group, SIGINT).expect("Ctrl+C to the group");
        // The stop itself is short; writing its log is what cannot finish,
        // so the deadline ends the program with its code.
        let code = status_within(&mut child, Duration::from_secs(20)).code();
        assert_eq!(code, Some(5), "{exe}");
        assert!(live_members(group).is_empty(), "{exe} left processes behind");
    }
}

#[test]
fn a_third_ctrl_c_ends_the_wait_for_a_stderr_nobody_reads() {
    // The deadline is far away: only the escape hatch can end this run
    // soon. The stop itself is short, so the second and third Ctrl+C may
    // come during the stop or after `main: end`, while the last lines wait
    // for stderr; the hatch must be open in both places.
    let (_unread, stderr) = full_pipe();
    let mut child =
        start_with_stderr(SIMPLE, &["--time-scale", "0.05", "--stop-timeout", "600"], stderr, None);
    let group = Pid::from_raw(child.id() as i32);
    for pause in [800, 400, 200] {
        thread::sleep(Duration::from_millis(pause));
        killpg(group, SIGINT).expect("Ctrl+C to the group");
    }
    let code = status_within(&mut child, Duration::from_secs(60)).code();
    assert_eq!(code, Some(5));
    assert!(live_members(group).is_empty(), "processes left behind");
}

#[test]
fn a_stderr_blocked_for_a_while_loses_nothing_and_keeps_the_order() {
    a_full_stderr_loses_nothing(OFlag::empty());
}

/// A parent may leave stderr non-blocking (a shared pipe, an event loop's
/// output): full, it refuses a write at once, and the line must wait as it
/// would for a blocking one, not be counted as lost.
#[test]
fn a_non_blocking_stderr_full_for_a_while_loses_nothing_either() {
    a_full_stderr_loses_nothing(OFlag::O_NONBLOCK);
}

fn a_full_stderr_loses_nothing(flags: OFlag) {
    let (mut unread, stderr) = full_pipe();
    fcntl(&stderr, FcntlArg::F_SETFL(flags)).expect("set the pipe's flags");
    let mut child = start_with_stderr(
        COMPLEX,
        &["--time-scale", "0.05", "--run-for", "0.3", "--stop-timeout", "20"],
        stderr,
        None,
    );
    // Let the program run against the blocked pipe, then drain it.
    thread::sleep(Duration::from_millis(1500));
    let reader = thread::spawn(move || {
        let mut everything = Vec::new();
        let _ = unread.read_to_end(&mut everything);
        everything
    });
    let code = status_within(&mut child, Duration::from_secs(30)).code();
    assert_eq!(code, Some(0));
    let everything = reader.join().expect("the reader");
    let text = String::from_utf8_lossy(&everything);
    let log: Vec<&str> = text.trim_start_matches('#').lines().collect();
    let position = |needle: &str| {
        log.iter()
            .position(|line| line.contains(needle))
            .unwrap_or_else(|| panic!("{needle:?} lost; log:\n{}", log.join("\n")))
    };
    assert!(position("main: begin") < position("run: waiting"));
    assert!(position("run: waiting") < position("stop: begin"));
    assert!(position("stop: begin") < position("manager: all workers stopped"));
    assert!(log.last().is_some_and(|line| line.contains("main: end")), "{}", log.join("\n"));
    assert!(text.contains("| worker-"), "no worker line survived");
    assert_eq!(text.matches(" dropped: stderr").count(), 0, "nothing was dropped");
}

#[test]
fn a_stopped_worker_is_killed_when_the_stop_deadline_passes() {
    let mut program = Program::start(COMPLEX, &["--time-scale", "0.05", "--stop-timeout", "1"]);
    let stopped = worker_pid(&mut program, "worker-2");
    program.wait_for("run: waiting");
    kill(stopped, SIGSTOP).expect("stop worker-2");
    program.signal_group(SIGINT);
    // `finish` also checks that no process of the program is left.
    let run = program.finish();
    run.assert_exit_code(5);
    // Stuck behind worker-2: a busy loop waiting for its call, or the
    // manager's stop waiting for it to exit, whichever the Ctrl+C met.
    run.assert_in_order(&["stop: begin", "stop: deadline of 1.000 s exceeded while service-1: "]);
    assert_eq!(run.count("giving up on a graceful shutdown"), 1);
    run.assert_parents_last_line("giving up on a graceful shutdown");
}

#[test]
fn a_stopped_worker_does_not_outlive_a_killed_parent() {
    let mut program = Program::start(COMPLEX, &["--time-scale", "0.05"]);
    let stopped = worker_pid(&mut program, "worker-3");
    program.wait_for("run: waiting");
    kill(stopped, SIGSTOP).expect("stop worker-3");
    program.signal_leader(SIGKILL);
    // Within about a second: the kernel's SIGCONT resumes worker-3, which
    // then sees the end of its input like the others.
    let run = program.finish_within(Duration::from_secs(5));
    assert_eq!(run.count("the parent is gone; exiting"), 4, "{}", run.log.join("\n"));
}

/// A worker that cannot die yet does not hold the forced exit: here a tracer
/// holds it (the test, as a debugger would; a frozen cgroup or a process in
/// uninterruptible sleep do the same), so its death cannot be reaped by its
/// parent. The parent kills it, says which worker it leaves to the kernel,
/// and exits with 5 while the worker is still held.
#[test]
#[cfg(target_os = "linux")]
fn a_worker_that_cannot_die_yet_does_not_hold_the_forced_exit() {
    use nix::sys::ptrace;
    use nix::sys::wait::{waitpid, WaitPidFlag};
    let mut program = Program::start(COMPLEX, &["--time-scale", "0.05", "--stop-timeout", "600"]);
    let held = worker_pid(&mut program, "worker-1");
    program.wait_for("run: waiting");
    ptrace::seize(held, ptrace::Options::empty()).expect("trace worker-1");
    ptrace::interrupt(held).expect("hold worker-1");
    for number in 1..=3 {
        program.signal_leader(SIGTERM);
        if number < 3 {
            program.wait_for(&format!("signal #{number}: SIGTERM"));
        }
    }
    let error = program.wait_for("giving up on a graceful shutdown");
    let dying = format!("worker-1 (pid {held}) cannot die yet");
    assert!(error.contains(&dying), "{error}");
    // The parent is gone, and worker-1 still held: only now let it go.
    program.wait_for_the_end_of_its_output(PATIENCE);
    waitpid(held, Some(WaitPidFlag::__WALL)).expect("reap worker-1 as its tracer");
    let run = program.finish();
    run.assert_exit_code(5);
    run.assert_parents_last_line("giving up on a graceful shutdown");
}

/// Runs worker mode by hand with `input` on a pipe; returns the exit code,
/// its reports (stdout) and its log (stderr).
fn feed_worker(input: Vec<u8>) -> (Option<i32>, String, String) {
    let mut child = Command::new(COMPLEX)
        .args(["--worker-id", "1", "--time-scale", "0"])
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start a worker");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let writer = thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let output = child.wait_with_output().expect("the worker's output");
    let _ = writer.join();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn worker_input_is_bounded_and_a_bad_line_is_not_the_end() {
    let mut input = vec![b'x'; 5_000_000];
    input.extend_from_slice(b"\n\xff\xfe not utf-8\n");
    input.extend_from_slice(br#"{"Call":{"id":1,"request":{"ProcessNumber":7}}}"#);
    // No stop: the end of the input ends the worker once the call is done
    // (a stop would go first: stop > call).
    input.push(b'\n');
    let (code, reports, log) = feed_worker(input);
    assert_eq!(code, Some(0), "{log}");
    assert!(reports.contains(r#""Reply":{"id":1,"result":{"Ok""#), "{reports}");
    let too_long = log
        .lines()
        .find(|line| line.contains("ignoring a command of 5000001 bytes, over the limit of 65536"))
        .unwrap_or_else(|| panic!("no refusal in:\n{log}"));
    assert!(too_long.len() < 600, "the refusal quotes too much: {} bytes", too_long.len());
    assert!(log.contains("ignoring a malformed command (not UTF-8)"), "{log}");
    assert!(log.contains("the parent is gone; exiting"), "{log}");
}

#[test]
fn worker_mode_with_stdin_that_is_not_a_pipe_is_refused() {
    let output = Command::new(COMPLEX)
        .args(["--worker-id", "1"])
        .stdin(Stdio::null())
        .output()
        .expect("run complex");
    assert_eq!(output.status.code(), Some(2));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("its stdin is not a pipe"), "{text}");
}
