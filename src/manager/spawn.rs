//! Starting one worker process, safe from Ctrl+C from its first instruction.
//!
//! A worker installs its own signal handler in `main`, but between `exec`
//! and that line there are a few milliseconds in which Ctrl+C (sent by the
//! terminal to the whole process group) would kill it with the default
//! action. The Python demo fights this window with a "bootstrapped" event;
//! we close it instead: the worker starts with terminal signals already
//! ignored, and its own handler takes over from there.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Starts `program args... --worker-id ID` with stdin and stdout piped to us
/// and stderr shared with us (worker logs go straight to the terminal).
pub(super) fn spawn_worker(program: &Path, args: &[OsString], id: usize) -> std::io::Result<Child> {
    let mut command = Command::new(program);
    command
        .args(args)
        .arg("--worker-id")
        .arg(id.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    start_with_terminal_signals_ignored(&mut command);
    command.spawn()
}

#[cfg(unix)]
fn start_with_terminal_signals_ignored(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // An ignored signal stays ignored across `exec` (a handler would not),
    // so the new program is immune until it installs its own handler.
    // SAFETY: the closure runs in the child between fork and exec, where only
    // async-signal-safe calls are allowed; signal(2) is one, and it touches
    // no memory of ours.
    unsafe {
        command.pre_exec(|| {
            for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::signal(signal, libc::SIG_IGN);
            }
            Ok(())
        });
    }
}

#[cfg(windows)]
fn start_with_terminal_signals_ignored(command: &mut Command) {
    use std::os::windows::process::CommandExt;
    // Windows' counterpart: a process created in a new process group starts
    // with Ctrl+C disabled (as if it had called SetConsoleCtrlHandler(NULL,
    // TRUE)); the worker's own handler then logs what still reaches it.
    const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
    command.creation_flags(CREATE_NEW_PROCESS_GROUP);
}

#[cfg(not(any(unix, windows)))]
fn start_with_terminal_signals_ignored(_command: &mut Command) {
    // No terminal signals to guard against on other targets.
}
