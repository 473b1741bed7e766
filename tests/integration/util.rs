//! Test harness: start a real binary, watch its log, send it real signals.
//!
//! Each program runs in a process group of its own, like a job in a shell,
//! so a signal to the group reaches exactly the processes a terminal's
//! Ctrl+C would reach (the program and its workers), and never the test
//! runner. Or it runs on a pseudo-terminal of its own, where typing Ctrl+C
//! goes through the terminal driver as it does for a person. Timeouts here
//! only keep a broken build from hanging the suite; no test asserts on how
//! long anything took.
//!
//! Used by the integration tests, and compiled again (with `#[path]`) by
//! the chaos test and the benchmark, which use only part of it and say so
//! where they include it.

use std::ffi::CString;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam::channel::{self, Receiver, RecvTimeoutError};
use nix::fcntl::{fcntl, open, FcntlArg, FdFlag, OFlag};
use nix::pty::openpty;
use nix::sys::signal::{kill, killpg, signal, SigHandler};
use nix::sys::stat::Mode;
use nix::unistd::{close, setsid, ttyname, Pid};

pub use nix::sys::signal::Signal::{self, SIGCONT, SIGHUP, SIGINT, SIGKILL, SIGSTOP, SIGTERM};

/// Long enough for a slow CI machine; only reached when something hangs.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// `complex`'s whole stop sequence, in order, after `stop: begin`.
pub const COMPLEX_STOP: &[&str] = &[
    "stop: begin",
    "service-2: stopping",
    "service-2: stopped",
    "service-1: stopping",
    "service-1: cancelling the update loop",
    "service-1: cancelling the busy loops",
    "service-1: stopping the manager (",
    "manager: stopping the workers",
    "manager: all workers stopped",
    "service-1: stopped",
    "stop: end",
    "main: end",
];

/// `steps`, then the whole stop sequence of `complex`.
pub fn then_complex_stop<'a>(steps: &[&'a str]) -> Vec<&'a str> {
    steps.iter().chain(COMPLEX_STOP).copied().collect()
}

/// One line of the log, split into its six columns: the same parser the
/// `timeline` tool reads logs with.
pub use graceful::log_line::LogLine;

/// The pid at the end of a log line that ends in "(pid N)": a worker's
/// "bootstrapped (pid N)", the manager's "spawned worker-1 (pid N)".
pub fn pid_in(line: &str) -> Pid {
    LogLine::parse(line)
        .and_then(|line| line.message.rsplit_once("(pid "))
        .and_then(|(_, rest)| rest.trim_end_matches(')').parse().ok())
        .map(Pid::from_raw)
        .unwrap_or_else(|| panic!("no pid in {line:?}"))
}

/// A running program and the log lines it has printed so far.
pub struct Program {
    child: Child,
    lines: Receiver<String>,
    log: Vec<String>,
    /// Our side of the program's terminal, if it runs on one.
    terminal: Option<File>,
    /// Process groups this test must end if it fails: the program's own,
    /// and any a script started (see [`Program::owns_group`]).
    groups: Vec<Pid>,
    /// Set once the program has been waited for.
    ended: bool,
}

/// A test that fails half-way (a panic between start and finish) must not
/// leave its program running: nobody else would ever end it.
impl Drop for Program {
    fn drop(&mut self) {
        if !self.ended {
            self.kill_groups();
            let _ = self.child.wait();
        }
    }
}

impl Program {
    /// Starts `exe` in a process group of its own, with stdin from nowhere,
    /// and SIGINT's default action (a test run started in the background
    /// inherits SIGINT ignored, and the programs keep an inherited ignore).
    pub fn start(exe: &str, args: &[&str]) -> Program {
        Program::start_with(exe, args, SigHandler::SigDfl)
    }

    /// [`Program::start`], with SIGINT and SIGHUP set to `action` as the
    /// parent leaves them (`SigIgn`: as `cmd &` in a script and `nohup` do).
    pub fn start_with(exe: &str, args: &[&str], action: SigHandler) -> Program {
        let mut command = Command::new(exe);
        command.args(args).stdin(Stdio::null()).process_group(0);
        // SAFETY: sigaction is async-signal-safe, and no handler is set.
        unsafe {
            command.pre_exec(move || {
                signal(SIGINT, action)?;
                if matches!(action, SigHandler::SigIgn) {
                    signal(SIGHUP, action)?;
                }
                Ok(())
            });
        }
        Program::spawn(command, None)
    }

    /// Starts the program as a person at a terminal would: on a
    /// pseudo-terminal of its own, as the foreground process group, so
    /// [`Program::press_ctrl_c`] goes through the terminal's own machinery.
    pub fn start_on_terminal(exe: &str, args: &[&str]) -> Program {
        let mut command = Command::new(exe);
        command.args(args);
        Program::start_command_on_terminal(command)
    }

    /// [`Program::start_on_terminal`] for any command (a shell, a script).
    pub fn start_command_on_terminal(mut command: Command) -> Program {
        let (ours, theirs, path) = open_terminal();
        command.stdin(Stdio::from(theirs));
        make_controlling_terminal(&mut command, path);
        Program::spawn(command, Some(ours))
    }

    /// Starts an already prepared command (its stdin and group are set).
    pub fn spawn(mut command: Command, terminal: Option<File>) -> Program {
        // The programs' own default filter, unless the test asked for one:
        // the caller's RUST_LOG must not change what a test sees.
        let filter_given = command.get_envs().any(|(name, _)| name == "RUST_LOG");
        if !filter_given {
            command.env_remove("RUST_LOG");
        }
        without_callers_colour(&mut command);
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {command:?}: {error}"));
        let stderr = child.stderr.take().expect("stderr is piped");
        let (sender, lines) = channel::unbounded();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let group = Pid::from_raw(child.id() as i32);
        Program { child, lines, log: Vec::new(), terminal, groups: vec![group], ended: false }
    }

    /// Types Ctrl+C on the program's terminal: the terminal driver turns it
    /// into SIGINT for the whole foreground process group.
    pub fn press_ctrl_c(&mut self) {
        let terminal = self.terminal.as_mut().expect("started on a terminal");
        terminal.write_all(&[0x03]).expect("write to the terminal");
    }

    /// Closes the program's terminal, as closing a terminal window does: the
    /// kernel sends SIGHUP to the program.
    pub fn close_terminal(&mut self) {
        drop(self.terminal.take().expect("started on a terminal"));
    }

    /// The program's pid (and its process group's id).
    pub fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    /// Waits until a line containing `needle` appears and returns it.
    pub fn wait_for(&mut self, needle: &str) -> String {
        if let Some(line) = self.log.iter().find(|line| line.contains(needle)) {
            return line.clone();
        }
        loop {
            let line = self.wait_for_any_line(needle);
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// Like `wait_for`, but only a line printed from now on counts (what the
    /// program printed already, read or not, is skipped).
    pub fn wait_for_new(&mut self, needle: &str) -> String {
        self.log.extend(self.lines.try_iter());
        loop {
            let line = self.wait_for_any_line(needle);
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// Waits until the `n`th line containing `needle` has appeared (counting
    /// from the program's first line, read or not) and returns it.
    pub fn wait_for_nth(&mut self, needle: &str, n: usize) -> String {
        loop {
            if let Some(line) = self.log.iter().filter(|line| line.contains(needle)).nth(n - 1) {
                return line.clone();
            }
            self.wait_for_any_line(needle);
        }
    }

    fn wait_for_any_line(&mut self, needle: &str) -> String {
        match self.lines.recv_deadline(Instant::now() + PATIENCE) {
            Ok(line) => {
                self.log.push(line.clone());
                line
            }
            Err(RecvTimeoutError::Disconnected) => {
                panic!("program ended before logging {needle:?}; log:\n{}", self.log.join("\n"))
            }
            Err(RecvTimeoutError::Timeout) => {
                panic!("no {needle:?} in the log; log:\n{}", self.log.join("\n"))
            }
        }
    }

    /// Waits until the program, a shell, is blocked waiting for its child
    /// (Linux: its wait channel is `do_wait`). A non-interactive bash that
    /// gets Ctrl+C in the moment between starting a child and waiting for it
    /// dies at once, and the terminal's hang-up then kills the child before
    /// it can say anything: a press of a test must not fall in that gap.
    pub fn wait_until_the_shell_waits(&self) {
        let wait_channel = format!("/proc/{}/wchan", self.pid());
        let give_up = Instant::now() + PATIENCE;
        // No event tells when a process starts to wait: its state is read.
        while std::fs::read_to_string(&wait_channel).unwrap_or_default() != "do_wait" {
            assert!(Instant::now() < give_up, "the shell never waited for its child");
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// Sends `signal` to the whole process group, as a terminal does on Ctrl+C.
    pub fn signal_group(&self, signal: Signal) {
        killpg(self.pid(), signal).expect("signal the program's group");
    }

    /// Sends `signal` to the main process only, as `kill PID`, systemd,
    /// docker and Kubernetes do.
    pub fn signal_leader(&self, signal: Signal) {
        kill(self.pid(), signal).expect("signal the program");
    }

    /// Waits for the program to exit (every process holding its stderr must
    /// be gone for that), then checks that none of its group is left.
    pub fn finish(self) -> Finished {
        self.finish_within(PATIENCE)
    }

    /// `finish`, failing if the program has not ended within `patience`.
    pub fn finish_within(mut self, patience: Duration) -> Finished {
        self.wait_for_the_end_of_its_output(patience);
        let status = self.child.wait().expect("wait for the program");
        self.ended = true;
        let finished = Finished { status, log: std::mem::take(&mut self.log), group: self.pid() };
        finished.assert_no_process_left(Duration::ZERO);
        finished
    }

    /// Waits until no process of the program holds its stderr any more:
    /// every one has exited (a zombie holds nothing). Fails after `patience`.
    pub fn wait_for_the_end_of_its_output(&mut self, patience: Duration) {
        let give_up = Instant::now() + patience;
        loop {
            match self.lines.recv_deadline(give_up) {
                Ok(line) => self.log.push(line),
                Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("program did not end; log:\n{}", self.log.join("\n"))
                }
            }
        }
    }

    /// Also ends process group `group` if the test fails: a script runs
    /// the program in a group of its own.
    pub fn owns_group(&mut self, group: Pid) {
        self.groups.push(group);
    }

    fn kill_groups(&self) {
        for group in &self.groups {
            let _ = killpg(*group, SIGKILL);
        }
    }
}

/// A program that has exited, with its whole log.
pub struct Finished {
    pub status: ExitStatus,
    pub log: Vec<String>,
    group: Pid,
}

impl Finished {
    /// The exit code, if it exited rather than died of a signal.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Every line, parsed.
    pub fn lines(&self) -> Vec<LogLine<'_>> {
        self.log.iter().filter_map(|line| LogLine::parse(line)).collect()
    }

    fn dump(&self) -> String {
        self.log.join("\n")
    }

    pub fn assert_exit_code(&self, expected: i32) {
        assert_eq!(
            self.status.code(),
            Some(expected),
            "exit status {:?} (signal {:?}); log:\n{}",
            self.status.code(),
            self.status.signal(),
            self.dump()
        );
    }

    /// The program died of `signal` (it re-raised it, or never caught it).
    pub fn assert_died_of(&self, signal: Signal) {
        assert_eq!(
            self.status.signal(),
            Some(signal as i32),
            "exit status {:?}, expected death by {signal}; log:\n{}",
            self.status,
            self.dump()
        );
    }

    /// The shape of every graceful end after SIGTERM, SIGHUP or
    /// `--run-for`: exit status 0, `steps` in this order, `main: end` last,
    /// every line whole and printed once, no panic.
    pub fn assert_graceful_end(&self, steps: &[&str]) {
        self.assert_exit_code(0);
        self.assert_graceful_shape(steps);
    }

    /// The graceful end after Ctrl+C: the same shape, and the program died
    /// of SIGINT after `main: end`, so its caller knows.
    pub fn assert_graceful_end_after_ctrl_c(&self, steps: &[&str]) {
        self.assert_died_of(SIGINT);
        self.assert_graceful_shape(steps);
    }

    fn assert_graceful_shape(&self, steps: &[&str]) {
        self.assert_in_order(steps);
        self.assert_last_line("main: end");
        self.assert_well_formed();
        self.assert_no_duplicate_lines();
        self.assert_absent("panicked");
    }

    /// The same shape after a failure: the stop still ran through `steps`,
    /// `main: end` is last, but the exit status says what went wrong.
    pub fn assert_graceful_end_with(&self, code: i32, steps: &[&str]) {
        self.assert_exit_code(code);
        self.assert_in_order(steps);
        self.assert_last_line("main: end");
        self.assert_well_formed();
        self.assert_no_duplicate_lines();
    }

    /// How many lines contain `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.log.iter().filter(|line| line.contains(needle)).count()
    }

    pub fn assert_absent(&self, needle: &str) {
        assert_eq!(self.count(needle), 0, "{needle:?} in log:\n{}", self.dump());
    }

    /// Each needle appears in some line, in this order (other lines between).
    pub fn assert_in_order(&self, needles: &[&str]) {
        let mut rest = self.log.iter();
        for needle in needles {
            assert!(
                rest.any(|line| line.contains(needle)),
                "{needle:?} missing or out of order in {needles:?}; log:\n{}",
                self.dump()
            );
        }
    }

    pub fn assert_last_line(&self, needle: &str) {
        let last = self.log.last().map(String::as_str).unwrap_or("");
        assert!(last.contains(needle), "last line is not {needle:?}; log:\n{}", self.dump());
    }

    /// The main process's last line contains `needle` (workers may still
    /// print a line or two before they end).
    pub fn assert_parents_last_line(&self, needle: &str) {
        let last = self.lines().into_iter().rev().find(|line| line.process == "main");
        assert!(
            last.is_some_and(|line| line.message.contains(needle)),
            "the main process's last line is not {needle:?}; log:\n{}",
            self.dump()
        );
    }

    /// No line of the log appears twice (timestamps make real repeats unique
    /// only when they are in different milliseconds, so compare whole lines).
    pub fn assert_no_duplicate_lines(&self) {
        let mut seen = std::collections::HashSet::new();
        for line in &self.log {
            assert!(seen.insert(line), "duplicated line {line:?}; log:\n{}", self.dump());
        }
    }

    /// Every log line is whole: six columns, a known level.
    pub fn assert_well_formed(&self) {
        for line in &self.log {
            assert!(
                LogLine::parse(line).is_some(),
                "malformed line {line:?}; log:\n{}",
                self.dump()
            );
        }
    }

    /// Within each process, timestamps never go backwards.
    pub fn assert_time_in_order(&self) {
        let mut last: std::collections::HashMap<&str, &str> = Default::default();
        for line in self.lines() {
            let previous = last.insert(line.process, line.time).unwrap_or("");
            assert!(
                line.time >= previous,
                "{} went back in time from {previous} to {}; log:\n{}",
                line.process,
                line.time,
                self.dump()
            );
        }
    }

    /// Waits up to `grace` for every process of the program's group to be gone.
    pub fn assert_no_process_left(&self, grace: Duration) {
        let alive = members_left_after(self.group, grace);
        if !alive.is_empty() {
            let _ = killpg(self.group, SIGKILL);
            panic!(
                "processes {alive:?} of group {} left behind; log:\n{}",
                self.group,
                self.dump()
            );
        }
    }
}

/// Waits up to `grace` for every process of `group` to be gone (even a
/// SIGKILL takes a moment to land); returns the ones still running.
pub fn members_left_after(group: Pid, grace: Duration) -> Vec<i32> {
    let give_up = Instant::now() + grace;
    loop {
        let alive = live_members(group);
        if alive.is_empty() || Instant::now() >= give_up {
            return alive;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Pids of the processes of `group` that are still running. Zombies do not
/// count: an orphan that exited waits for whatever adopted it to reap it,
/// and that is outside the program's control.
pub fn live_members(group: Pid) -> Vec<i32> {
    if killpg(group, None).is_err() {
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return vec![group.as_raw()]; // no /proc: cannot tell zombies apart
    };
    let mut alive = Vec::new();
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the command name, which is in parentheses: state ppid pgrp ...
        let Some(after) = stat.rfind(')').map(|end| &stat[end + 2..]) else {
            continue;
        };
        let fields: Vec<&str> = after.split(' ').collect();
        if fields.len() > 2 && fields[2] == group.to_string() && fields[0] != "Z" {
            alive.push(pid);
        }
    }
    alive
}

/// Removes from `command`'s environment what would decide colour for the
/// program instead of the test: the colour switches a caller may have set,
/// and `CI`, which `anstream` reads as "this terminal renders colour", so
/// that on a CI machine even `TERM=dumb` is coloured. What the test itself
/// set on `command` stays.
pub fn without_callers_colour(command: &mut Command) {
    for name in ["RUST_LOG_STYLE", "NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "CI"] {
        if !command.get_envs().any(|(given, _)| given == name) {
            command.env_remove(name);
        }
    }
}

/// Runs a program to its end with no signal (for flag checks); returns the
/// exit code and everything it printed on stdout and stderr.
pub fn run_to_end(exe: &str, args: &[&str]) -> (Option<i32>, String) {
    let mut command = Command::new(exe);
    without_callers_colour(&mut command);
    give_sigint_its_default(&mut command);
    let output = command
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("cannot start {exe}: {error}"));
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code(), text)
}

/// Runs a program with its stdin on a pseudo-terminal, as when a person
/// types the command; returns the exit code and what it printed.
pub fn run_with_terminal_stdin(exe: &str, args: &[&str]) -> (Option<i32>, String) {
    let (ours, theirs, _) = open_terminal();
    let output = Command::new(exe)
        .args(args)
        .stdin(Stdio::from(theirs))
        .output()
        .unwrap_or_else(|error| panic!("cannot start {exe}: {error}"));
    drop(ours);
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code(), text)
}

/// Runs a program to its end entirely on a pseudo-terminal (stdin, stdout
/// and stderr), as in a terminal window, with `env` added to its
/// environment; returns its exit code and the bytes the terminal received.
pub fn run_in_terminal_window(
    exe: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Option<i32>, Vec<u8>) {
    use std::io::Read;
    let (mut ours, theirs, path) = open_terminal();
    let mut command = Command::new(exe);
    without_callers_colour(&mut command);
    command
        .args(args)
        .env_remove("RUST_LOG")
        // A terminal window's own TERM, whatever the test runner has (CI
        // often has none, and no TERM means no colour).
        .env("TERM", "xterm-256color")
        .envs(env.iter().copied())
        .stdin(Stdio::from(theirs.try_clone().expect("a second handle")))
        .stdout(Stdio::from(theirs.try_clone().expect("a third handle")))
        .stderr(Stdio::from(theirs));
    make_controlling_terminal(&mut command, path);
    let mut child = command.spawn().unwrap_or_else(|error| panic!("cannot start {exe}: {error}"));
    // `command` holds the program's side open; without this drop the
    // terminal would never report its end.
    drop(command);
    let mut received = Vec::new();
    // Linux reports the end of a terminal whose other side is closed as
    // an error (EIO), not as end-of-file: either way, all was read.
    let _ = ours.read_to_end(&mut received);
    let status = child.wait().expect("wait for the program");
    (status.code(), received)
}

/// Makes the terminal at `path` the controlling terminal of the program
/// `command` starts, with the program's group as its foreground group: the
/// shape of a command typed in a terminal window.
pub fn make_controlling_terminal(command: &mut Command, path: CString) {
    // SAFETY: runs between fork and exec, where only async-signal-safe
    // calls are allowed: setsid(2), open(2) and close(2) are, and the path
    // was made before the fork, so nothing allocates.
    unsafe {
        command.pre_exec(move || {
            // A new session; opening a terminal as its leader makes it the
            // session's controlling terminal (Linux), so the program's
            // group is that terminal's foreground group.
            setsid()?;
            let fd = open(path.as_c_str(), OFlag::O_RDWR, Mode::empty())?;
            close(fd)?;
            Ok(())
        });
    }
    // What a shell gives a foreground job. A shell that starts with SIGINT
    // ignored can never trap it, which would defeat the tests of shell loops
    // and scripts.
    give_sigint_its_default(command);
}

/// Gives the program `command` starts SIGINT's default action, whatever this
/// process inherited: a test run or a benchmark started in the background
/// (`cargo test &` in a script) inherits SIGINT ignored, and the programs
/// keep an inherited ignore, as shells do.
pub fn give_sigint_its_default(command: &mut Command) {
    // SAFETY: sigaction(2) is async-signal-safe, and no handler of ours is
    // set: only the default action.
    unsafe {
        command.pre_exec(|| {
            signal(SIGINT, SigHandler::SigDfl)?;
            Ok(())
        });
    }
}

/// A new pseudo-terminal: our side, the program's side, and the path of the
/// program's side (to make it a controlling terminal).
pub fn open_terminal() -> (File, File, CString) {
    let pty = openpty(None, None).expect("openpty");
    // Close-on-exec, so that no other test's child keeps this terminal open
    // (a terminal hangs up only once every handle to its master is closed).
    for fd in [&pty.master, &pty.slave] {
        fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).expect("close-on-exec");
    }
    let path = ttyname(&pty.slave).expect("the terminal's name");
    let path = CString::new(path.as_os_str().as_bytes()).expect("a path without NUL");
    (File::from(pty.master), File::from(pty.slave), path)
}

#[test]
fn a_test_that_fails_half_way_leaves_nothing_running() {
    let mut group = None;
    let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut program = Program::start(env!("CARGO_BIN_EXE_complex"), &["--time-scale", "0.05"]);
        group = Some(program.pid());
        program.wait_for("run: waiting");
        panic!("a test failing between start and finish");
    }));
    assert!(failed.is_err());
    let group = group.expect("the program started");
    let left = members_left_after(group, Duration::from_secs(5));
    assert!(left.is_empty(), "left: {left:?}");
}

/// A try-it script from `scripts/`, set to run the binaries this test run
/// built and to keep its logs apart from a learner's `target/try-it`.
pub fn script(name: &str) -> Command {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut command = Command::new(root.join("scripts").join(name));
    let bin_dir =
        std::path::Path::new(env!("CARGO_BIN_EXE_complex")).parent().map(|dir| dir.to_owned());
    command.env("GRACEFUL_BIN_DIR", bin_dir.unwrap_or_default());
    command.env("GRACEFUL_TRY_IT_DIR", std::env::temp_dir().join("graceful-try-it-tests"));
    command
}

/// A pipe whose buffer is already full: the next write to it blocks until
/// someone reads. (read end, write end)
pub fn full_pipe() -> (File, File) {
    let (read, write) = nix::unistd::pipe().expect("pipe");
    let mut write = File::from(write);
    fcntl(&write, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).expect("non-blocking");
    while write.write(&[b'#'; 4096]).is_ok() {}
    fcntl(&write, FcntlArg::F_SETFL(OFlag::empty())).expect("blocking again");
    (File::from(read), write)
}

/// Starts `exe` in a process group of its own, with `stderr` as its stderr,
/// and its address space limited to `memory` bytes if given.
pub fn start_with_stderr(exe: &str, args: &[&str], stderr: File, memory: Option<u64>) -> Child {
    let mut command = Command::new(exe);
    command.args(args).env_remove("RUST_LOG").stdin(Stdio::null()).stdout(Stdio::null());
    without_callers_colour(&mut command);
    command.stderr(stderr).process_group(0);
    give_sigint_its_default(&mut command);
    if let Some(limit) = memory {
        use nix::sys::resource::{setrlimit, Resource};
        // SAFETY: setrlimit is async-signal-safe and allocates nothing.
        unsafe {
            command.pre_exec(move || Ok(setrlimit(Resource::RLIMIT_AS, limit, limit)?));
        }
    }
    command.spawn().expect("start the program")
}

/// Waits up to `patience` for `child` (started by [`start_with_stderr`]) to
/// end; its status, or a panic after killing its group.
pub fn status_within(child: &mut Child, patience: Duration) -> ExitStatus {
    let give_up = Instant::now() + patience;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > give_up {
            let _ = killpg(Pid::from_raw(child.id() as i32), SIGKILL);
            panic!("the program did not end within {patience:?}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}
