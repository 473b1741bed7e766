//! Test harness: start a real binary, watch its log, send it real signals.
//!
//! Each program runs in a process group of its own, like a job in a shell,
//! so a signal to the group reaches exactly the processes a terminal's
//! Ctrl+C would reach (the program and its workers), and never the test
//! runner. Timeouts here only keep a broken build from hanging the suite;
//! no test asserts on how long anything took.

#![allow(dead_code)] // each test file uses a different part of the harness

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam::channel::{self, Receiver, RecvTimeoutError};

/// Long enough for a slow CI machine; only reached when something hangs.
const PATIENCE: Duration = Duration::from_secs(60);

pub const SIGINT: i32 = libc::SIGINT;
pub const SIGTERM: i32 = libc::SIGTERM;
pub const SIGHUP: i32 = libc::SIGHUP;
pub const SIGKILL: i32 = libc::SIGKILL;

/// `complex`'s whole stop sequence, in order, after `stop: begin`.
pub const COMPLEX_STOP: &[&str] = &[
    "stop: begin",
    "service-2: stopping",
    "service-2: stopped",
    "service-1: stopping",
    "service-1: cancelling the update loop",
    "service-1: cancelling the busy loops",
    "service-1: stopping the manager on the pool",
    "manager: all workers stopped",
    "service-1: stopped",
    "stop: end",
    "main: end",
];

/// `steps`, then the whole stop sequence of `complex`.
pub fn then_complex_stop<'a>(steps: &[&'a str]) -> Vec<&'a str> {
    steps.iter().chain(COMPLEX_STOP).copied().collect()
}

/// A running program and the log lines it has printed so far.
pub struct Program {
    child: Child,
    lines: Receiver<String>,
    log: Vec<String>,
    /// Our side of the program's terminal, if it runs on one.
    terminal: Option<File>,
}

impl Program {
    pub fn start(exe: &str, args: &[&str]) -> Program {
        let mut command = Command::new(exe);
        command.stdin(Stdio::null()).process_group(0);
        Program::spawn(exe, args, command, None)
    }

    /// Starts the program as a person at a terminal would: on a
    /// pseudo-terminal of its own, as the foreground process group, so
    /// [`Program::press_ctrl_c`] goes through the terminal's own machinery.
    pub fn start_on_terminal(exe: &str, args: &[&str]) -> Program {
        let (ours, theirs) = open_terminal();
        let mut command = Command::new(exe);
        command.stdin(Stdio::from(theirs));
        // SAFETY: runs between fork and exec; setsid(2) and ioctl(2) are
        // async-signal-safe and touch no memory of ours.
        unsafe {
            command.pre_exec(|| {
                // A new session whose controlling terminal is stdin: the
                // program's group is that terminal's foreground group.
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        Program::spawn(exe, args, command, Some(ours))
    }

    fn spawn(exe: &str, args: &[&str], mut command: Command, terminal: Option<File>) -> Program {
        let mut child = command
            .args(args)
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {exe}: {error}"));
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
        Program {
            child,
            lines,
            log: Vec::new(),
            terminal,
        }
    }

    /// Types Ctrl+C on the program's terminal: the terminal driver turns it
    /// into SIGINT for the whole foreground process group.
    pub fn press_ctrl_c(&mut self) {
        let terminal = self.terminal.as_mut().expect("started on a terminal");
        terminal.write_all(&[0x03]).expect("write to the terminal");
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Waits until a line containing `needle` appears and returns it.
    pub fn wait_for(&mut self, needle: &str) -> String {
        if let Some(line) = self.log.iter().find(|line| line.contains(needle)) {
            return line.clone();
        }
        let give_up = Instant::now() + PATIENCE;
        loop {
            match self.lines.recv_deadline(give_up) {
                Ok(line) => {
                    self.log.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "program ended before logging {needle:?}; log:\n{}",
                        self.log.join("\n")
                    )
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.kill_group();
                    panic!("no {needle:?} in the log; log:\n{}", self.log.join("\n"))
                }
            }
        }
    }

    /// Like `wait_for`, but only a line printed from now on counts (what the
    /// program printed already, read or not, is skipped).
    pub fn wait_for_new(&mut self, needle: &str) -> String {
        let seen = self.log.len()
            + self.lines.try_iter().fold(0, |count, line| {
                self.log.push(line);
                count + 1
            });
        loop {
            let line = self.wait_for_any_line();
            if line.contains(needle) && self.log.len() > seen {
                return line;
            }
        }
    }

    fn wait_for_any_line(&mut self) -> String {
        match self.lines.recv_deadline(Instant::now() + PATIENCE) {
            Ok(line) => {
                self.log.push(line.clone());
                line
            }
            Err(_) => {
                self.kill_group();
                panic!("no more log lines; log:\n{}", self.log.join("\n"))
            }
        }
    }

    /// Sends `signal` to the whole process group, as a terminal does on Ctrl+C.
    pub fn signal_group(&self, signal: i32) {
        // SAFETY: kill(2) with a negative pid signals that process group.
        let result = unsafe { libc::kill(-self.pid(), signal) };
        assert_eq!(result, 0, "kill(-{}, {signal}) failed", self.pid());
    }

    /// Sends `signal` to the main process only, as `kill PID`, systemd,
    /// docker and Kubernetes do.
    pub fn signal_leader(&self, signal: i32) {
        // SAFETY: kill(2) on a pid we started and have not reaped yet.
        let result = unsafe { libc::kill(self.pid(), signal) };
        assert_eq!(result, 0, "kill({}, {signal}) failed", self.pid());
    }

    /// Like `signal_leader`, but the program may have ended already.
    pub fn try_signal_leader(&self, signal: i32) {
        // SAFETY: as in signal_leader; the child is not reaped until
        // `finish`, so the pid cannot have been reused.
        unsafe { libc::kill(self.pid(), signal) };
    }

    /// Waits for the program to exit (every process holding its stderr must
    /// be gone for that), then checks that none of its group is left.
    pub fn finish(self) -> Finished {
        self.finish_within(PATIENCE)
    }

    /// `finish`, failing if the program has not ended within `patience`.
    pub fn finish_within(mut self, patience: Duration) -> Finished {
        let give_up = Instant::now() + patience;
        loop {
            match self.lines.recv_deadline(give_up) {
                Ok(line) => self.log.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    self.kill_group();
                    panic!("program did not end; log:\n{}", self.log.join("\n"))
                }
            }
        }
        let status = self.child.wait().expect("wait for the program");
        let finished = Finished {
            status,
            log: self.log,
            group: self.child.id() as i32,
        };
        finished.assert_no_process_left(Duration::ZERO);
        finished
    }

    fn kill_group(&self) {
        // SAFETY: as in signal_group; cleanup before a test fails.
        unsafe { libc::kill(-self.pid(), libc::SIGKILL) };
    }
}

/// A program that has exited, with its whole log.
pub struct Finished {
    pub status: ExitStatus,
    pub log: Vec<String>,
    group: i32,
}

impl Finished {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    pub fn assert_exit_code(&self, expected: i32) {
        assert_eq!(
            self.status.code(),
            Some(expected),
            "exit status {:?} (signal {:?}); log:\n{}",
            self.status.code(),
            self.status.signal(),
            self.log.join("\n")
        );
    }

    /// The shape of every graceful end: exit status 0, `steps` in this
    /// order, `main: end` last, every line whole and printed once.
    pub fn assert_graceful_end(&self, steps: &[&str]) {
        self.assert_graceful_end_with(0, steps);
        self.assert_absent("panicked");
    }

    /// The same shape after a fault: the stop still ran through `steps`,
    /// `main: end` is last, but the exit status says what went wrong.
    pub fn assert_graceful_end_with(&self, code: i32, steps: &[&str]) {
        self.assert_exit_code(code);
        self.assert_in_order(steps);
        self.assert_last_line("main: end");
        self.assert_well_formed();
        self.assert_no_duplicate_lines();
    }

    /// The message column of each line (the part after the fifth ` | `).
    pub fn messages(&self) -> Vec<&str> {
        self.log.iter().map(|line| message(line)).collect()
    }

    pub fn count(&self, needle: &str) -> usize {
        self.log.iter().filter(|line| line.contains(needle)).count()
    }

    pub fn assert_absent(&self, needle: &str) {
        assert_eq!(
            self.count(needle),
            0,
            "{needle:?} in log:\n{}",
            self.log.join("\n")
        );
    }

    /// Each needle appears in some line, in this order (other lines between).
    pub fn assert_in_order(&self, needles: &[&str]) {
        let mut rest = self.log.iter();
        for needle in needles {
            assert!(
                rest.any(|line| line.contains(needle)),
                "{needle:?} missing or out of order in {needles:?}; log:\n{}",
                self.log.join("\n")
            );
        }
    }

    pub fn assert_last_line(&self, needle: &str) {
        let last = self.log.last().map(String::as_str).unwrap_or("");
        assert!(
            last.contains(needle),
            "last line is not {needle:?}; log:\n{}",
            self.log.join("\n")
        );
    }

    /// No line of the log appears twice (timestamps make real repeats unique
    /// only when they are in different milliseconds, so compare whole lines).
    pub fn assert_no_duplicate_lines(&self) {
        let mut seen = std::collections::HashSet::new();
        for line in &self.log {
            assert!(
                seen.insert(line),
                "duplicated line {line:?}; log:\n{}",
                self.log.join("\n")
            );
        }
    }

    /// Every log line is whole: six columns, a known level.
    pub fn assert_well_formed(&self) {
        for line in &self.log {
            let columns: Vec<&str> = line.splitn(6, " | ").collect();
            let ok = columns.len() == 6
                && ["ERROR", "WARN ", "INFO ", "DEBUG", "TRACE"].contains(&columns[4]);
            assert!(ok, "malformed line {line:?}; log:\n{}", self.log.join("\n"));
        }
    }

    /// Waits up to `grace` for every process of the program's group to be gone.
    pub fn assert_no_process_left(&self, grace: Duration) {
        let give_up = Instant::now() + grace;
        loop {
            let alive = live_members(self.group);
            if alive.is_empty() {
                return;
            }
            if Instant::now() >= give_up {
                // SAFETY: clean up our own leftovers before failing.
                unsafe { libc::kill(-self.group, libc::SIGKILL) };
                panic!(
                    "processes {alive:?} of group {} left behind; log:\n{}",
                    self.group,
                    self.log.join("\n")
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Pids of the processes of `group` that are still running. Zombies do not
/// count: an orphan that exited waits for whatever adopted it to reap it,
/// and that is outside the program's control.
fn live_members(group: i32) -> Vec<i32> {
    // SAFETY: signal 0 only checks whether any process of the group exists.
    if unsafe { libc::kill(-group, 0) } != 0 {
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return vec![group]; // no /proc: cannot tell zombies apart
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

pub fn message(line: &str) -> &str {
    line.splitn(6, " | ").nth(5).unwrap_or(line)
}

/// Runs a program to its end with no signal (for flag checks); returns the
/// exit code and everything it printed on stdout and stderr.
pub fn run_to_end(exe: &str, args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(exe)
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
    let (ours, theirs) = open_terminal();
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

/// A new pseudo-terminal: (our side, the program's side).
fn open_terminal() -> (File, File) {
    use std::os::fd::FromRawFd;
    // SAFETY: plain libc calls; every returned descriptor is checked and
    // handed to an owning File exactly once.
    unsafe {
        let ours = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(ours >= 0, "posix_openpt failed");
        assert_eq!(libc::grantpt(ours), 0);
        assert_eq!(libc::unlockpt(ours), 0);
        let name = libc::ptsname(ours);
        assert!(!name.is_null(), "ptsname failed");
        let theirs = libc::open(name, libc::O_RDWR | libc::O_NOCTTY);
        assert!(theirs >= 0, "cannot open the terminal side");
        (File::from_raw_fd(ours), File::from_raw_fd(theirs))
    }
}
