//! Where programs really run, round three: as a container's PID 1, under a
//! supervisor that leaves signals blocked, under `ulimit -f`, with an
//! invalid `RUST_LOG` and nobody reading stderr, and with every worker
//! killed at once. Each test here failed before its fix.

use std::fs::File;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{kill, SigSet};
use nix::unistd::Pid;

use crate::util::{
    full_pipe, give_sigint_its_default, pid_in, status_within, Program, SIGHUP, SIGINT, SIGKILL,
    SIGTERM,
};

const SIMPLE: &str = env!("CARGO_BIN_EXE_simple");
const COMPLEX: &str = env!("CARGO_BIN_EXE_complex");

/// Says why a test cannot run here, where `cargo test` shows it even for a
/// passing test (the harness captures only `print!` and `eprint!`).
fn skipped(why: &str) {
    let _ = writeln!(std::io::stderr(), "skipped: {why}");
}

#[test]
fn as_pid_1_of_a_namespace_ctrl_c_ends_with_130_and_sigterm_with_0() {
    let root = nix::unistd::geteuid().is_root();
    let unshare =
        Command::new("unshare").arg("--version").output().is_ok_and(|out| out.status.success());
    if !root || !unshare {
        return skipped("the PID 1 test needs root and `unshare` (CI has both)");
    }
    for (program, signal, code) in
        [(SIMPLE, SIGINT, 130), (COMPLEX, SIGINT, 130), (SIMPLE, SIGTERM, 0), (COMPLEX, SIGTERM, 0)]
    {
        let mut command = Command::new("unshare");
        command.args(["--pid", "--fork", "--mount-proc", program, "--time-scale", "0.05"]);
        command.stdin(Stdio::null()).process_group(0);
        give_sigint_its_default(&mut command);
        let mut run = Program::spawn(command, None);
        run.wait_for("run: waiting");
        // `unshare` forks the program, which is PID 1 inside: signal it,
        // not `unshare`, as `docker stop` and `docker run -it` do.
        let children = format!("/proc/{0}/task/{0}/children", run.pid());
        let inner = std::fs::read_to_string(children).expect("unshare's child");
        let inner: i32 =
            inner.split_whitespace().next().and_then(|pid| pid.parse().ok()).expect("a pid");
        kill(Pid::from_raw(inner), signal).expect("signal PID 1");
        let run = run.finish();
        // `unshare` passes on how its child ended: a program that died of a
        // signal (SIGSEGV, before the fix) makes `unshare` die of it too.
        run.assert_exit_code(code);
        run.assert_parents_last_line("main: end");
    }
}

#[test]
fn signals_left_blocked_by_the_parent_are_unblocked_and_said() {
    for signal in [SIGTERM, SIGINT, SIGHUP] {
        let mut command = Command::new(SIMPLE);
        command.args(["--time-scale", "0.05"]).stdin(Stdio::null()).process_group(0);
        give_sigint_its_default(&mut command);
        // SAFETY: sigprocmask is async-signal-safe and allocates nothing.
        unsafe {
            command.pre_exec(|| {
                let blocked: SigSet = [SIGINT, SIGTERM, SIGHUP].into_iter().collect();
                Ok(blocked.thread_block()?)
            });
        }
        let mut program = Program::spawn(command, None);
        program.wait_for("run: waiting for Ctrl+C (SIGINT), SIGTERM, SIGHUP");
        program.signal_leader(signal);
        let run = program.finish();
        run.assert_in_order(&["SIGTERM was blocked when the program started", "run: waiting"]);
        assert_eq!(run.count("was blocked when the program started"), 3, "{}", run.log.join("\n"));
        match signal {
            SIGINT => run.assert_graceful_end_after_ctrl_c(&["run: end; interrupted"]),
            _ => run.assert_graceful_end(&["run: end; interrupted"]),
        }
    }
}

#[test]
fn past_ulimit_f_the_log_write_fails_and_the_program_stops_as_it_would() {
    // Below what a start and a stop of `complex` write whatever the machine's
    // speed (over 5 KiB of their own lines, before any call's): the limit
    // is reached by the events of the run, not by how much it managed to
    // write in a given time.
    const LIMIT: u64 = 4 * 1024;
    let folder = std::env::temp_dir().join(format!("graceful-ulimit-f-{}", std::process::id()));
    std::fs::create_dir_all(&folder).expect("a folder for the log");
    let path = folder.join("complex.log");
    let log = File::create(&path).expect("a log file");
    let mut command = Command::new(COMPLEX);
    command.args(["--time-scale", "0.2", "--run-for", "0"]).env_remove("RUST_LOG");
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log).process_group(0);
    give_sigint_its_default(&mut command);
    // SAFETY: setrlimit is async-signal-safe and allocates nothing.
    unsafe {
        command.pre_exec(|| {
            use nix::sys::resource::{setrlimit, Resource};
            Ok(setrlimit(Resource::RLIMIT_FSIZE, LIMIT, LIMIT)?)
        });
    }
    let mut child = command.spawn().expect("start complex");
    let group = Pid::from_raw(child.id() as i32);
    let status = status_within(&mut child, Duration::from_secs(60));
    let written = std::fs::metadata(&path).map(|file| file.len()).unwrap_or(0);
    let _ = std::fs::remove_dir_all(&folder);
    // Before the fix: killed by SIGXFSZ (status 153 in a shell).
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert_eq!(written, LIMIT, "the log filled the file up to the limit");
    let left = crate::util::members_left_after(group, Duration::from_secs(2));
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn an_invalid_rust_log_is_said_in_the_log_not_written_from_the_main_thread() {
    // Said through the log, in its format (so a full stderr cannot block it).
    let mut command = Command::new(SIMPLE);
    command.args(["--time-scale", "0", "--run-for", "0"]).env("RUST_LOG", "==x");
    command.stdin(Stdio::null()).process_group(0);
    let run = Program::spawn(command, None).finish();
    run.assert_exit_code(0);
    let warning = run.log.iter().find(|line| line.contains("is not a valid filter"));
    let warning = warning.unwrap_or_else(|| panic!("no warning:\n{}", run.log.join("\n")));
    assert!(
        warning.contains("| main | main | graceful::logging | WARN  | RUST_LOG=\"==x\""),
        "{warning}"
    );
    run.assert_in_order(&["is not a valid filter", "main: begin", "main: end"]);

    // And with nobody reading stderr, SIGTERM still stops the program: the
    // deadline then ends the wait for the last lines (exit 5). Before the
    // fix, the main thread was stuck writing the warning, start never ended
    // and one SIGTERM did nothing at all.
    let (_unread, stderr) = full_pipe();
    let mut command = Command::new(SIMPLE);
    let args = ["--time-scale", "0.05", "--stop-timeout", "2"];
    command.args(args).env("RUST_LOG", "==x").stdin(Stdio::null()).stdout(Stdio::null());
    command.stderr(stderr).process_group(0);
    let mut child = command.spawn().expect("start simple");
    std::thread::sleep(Duration::from_secs(1));
    kill(Pid::from_raw(child.id() as i32), SIGTERM).expect("SIGTERM");
    let status = status_within(&mut child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(5), "{status:?}");
}

#[test]
fn when_every_worker_is_killed_at_once_the_program_stops_at_once_with_code_4() {
    // Before the fix, the busy loops' calls stayed queued for a worker that
    // could not come, and the stop ran into its deadline (exit 5).
    let args = ["--time-scale", "0.2", "--stop-timeout", "20"];
    let mut program = Program::start(COMPLEX, &args);
    let workers: Vec<Pid> =
        (1..=4)
            .map(|n| {
                pid_in(&program.wait_for(&format!(
                    "worker-{n} | main | graceful::worker | INFO  | bootstrapped"
                )))
            })
            .collect();
    program.wait_for("run: waiting");
    for worker in workers {
        kill(worker, SIGKILL).expect("kill a worker");
    }
    let run = program.finish();
    run.assert_graceful_end_with(4, &["died", "stop: begin", "main: end"]);
    run.assert_absent("deadline");
}

#[test]
fn a_start_that_fails_ends_even_when_a_worker_leaves_a_process_holding_its_pipe() {
    // A "worker" that never bootstraps and leaves a process behind that
    // holds its stdout open. Start fails at its bootstrap deadline, kills
    // the worker, and must not wait for that pipe to close.
    let folder = std::env::temp_dir().join(format!("graceful-leak-{}", std::process::id()));
    std::fs::create_dir_all(&folder).expect("a folder");
    let leaked = folder.join("leaked.pid");
    let script = format!("sleep 60 & echo $! > '{}'; exec sleep 60", leaked.display());
    let config = graceful::manager::ManagerSettings {
        workers: 1,
        program: "sh".into(),
        args: vec!["-c".into(), script.into(), "worker".into()],
    };
    let manager = graceful::manager::MultiProcessManager::new(config, None);
    let began = std::time::Instant::now();
    let error = manager.start().expect_err("the script never bootstraps");
    let took = began.elapsed();
    if let Ok(pid) = std::fs::read_to_string(&leaked) {
        let _ = kill(Pid::from_raw(pid.trim().parse().unwrap_or(0)), SIGKILL);
    }
    let _ = std::fs::remove_dir_all(&folder);
    assert!(error.to_string().contains("did not bootstrap"), "{error}");
    // The bound only catches the hang (which lasted as long as the leaked
    // process lived, 60 s here); it is no timing measurement.
    assert!(took < Duration::from_secs(30), "start took {took:?} to fail");
}

/// `simple` under a limit on its tasks (threads count): `tasks` of them,
/// as a user of its own, so that no other process counts.
fn simple_with_at_most(tasks: u64, args: &[&str]) -> Program {
    let mut command = Command::new(SIMPLE);
    command.args(args).stdin(Stdio::null()).process_group(0);
    give_sigint_its_default(&mut command);
    // SAFETY: setrlimit and setuid are async-signal-safe and allocate nothing.
    unsafe {
        command.pre_exec(move || {
            use nix::sys::resource::{setrlimit, Resource};
            setrlimit(Resource::RLIMIT_NPROC, tasks, tasks)?;
            Ok(nix::unistd::setuid(nix::unistd::Uid::from_raw(54_321))?)
        });
    }
    Program::spawn(command, None)
}

#[test]
fn a_thread_limit_reached_in_the_run_cannot_take_the_stops_deadline_away() {
    if !nix::unistd::geteuid().is_root() {
        return skipped("a limit on a user's tasks needs a user of its own (run as root)");
    }
    // Five tasks: main, ctrl-c, signals, log-writer and the deadline's
    // watchdog, all there once start begins; the stop cannot make another.
    // Its one-second steps overrun the deadline, which must still hold.
    let mut program = simple_with_at_most(5, &["--stop-timeout", "0.5"]);
    program.wait_for("run: waiting");
    program.signal_leader(SIGTERM);
    let run = program.finish();
    run.assert_exit_code(5);
    run.assert_parents_last_line(
        "stop: deadline of 0.500 s exceeded while stopping service-2; giving up",
    );

    // One fewer, and the deadline cannot be armed: the program says so and
    // does not start.
    let run = simple_with_at_most(4, &["--time-scale", "0"]).finish();
    run.assert_exit_code(3);
    run.assert_parents_last_line("start: cannot arm the stop's deadline (");
    run.assert_absent("start: begin");
}
