//! Starting one worker process: immune to Ctrl+C from its first
//! instruction, and (on Linux) told by the kernel when its parent dies.
//! (Hardening: skip it on a first reading.)
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

use crate::worker;

/// Starts `program args... --worker-id ID` with stdin and stdout piped to us
/// and stderr shared with us (worker logs go straight to the terminal).
pub(super) fn spawn_worker(program: &Path, args: &[OsString], id: usize) -> std::io::Result<Child> {
    let mut command = Command::new(program);
    command
        .args(args)
        .arg(format!("--{}", worker::ID_FLAG))
        .arg(id.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    prepare_child(&mut command);
    command.spawn()
}

#[cfg(unix)]
fn prepare_child(command: &mut Command) {
    use nix::sys::signal::{signal, SigHandler, Signal};
    use std::os::unix::process::CommandExt;

    #[cfg(target_os = "linux")]
    let parent = nix::unistd::getpid();
    // SAFETY: the closure runs in the child between fork and exec, where only
    // async-signal-safe calls are allowed. It makes system calls only
    // (sigaction, prctl, getppid), allocates nothing and touches no memory
    // of ours; `signal` is unsafe because a handler could break that rule,
    // and SIG_IGN is no handler.
    unsafe {
        command.pre_exec(move || {
            // An ignored signal stays ignored across `exec` (a handler would
            // not), so the new program is immune until it installs its own.
            for terminal_signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
                signal(terminal_signal, SigHandler::SigIgn)?;
            }
            // The backstop for a parent that dies without closing our stdin
            // in a way we can see (see `crate::worker`): SIGCONT resumes a
            // stopped worker and wakes its `parent-watch` thread. The kernel
            // sends it when the *thread* that spawned us ends, too (a pool
            // thread, here); the worker then finds its parent unchanged and
            // carries on, so an early SIGCONT does no harm.
            #[cfg(target_os = "linux")]
            {
                nix::sys::prctl::set_pdeathsig(Signal::SIGCONT)?;
                // The parent may have died before the line above took hold.
                if nix::unistd::getppid() != parent {
                    return Err(std::io::Error::from_raw_os_error(nix::errno::Errno::ESRCH as i32));
                }
            }
            Ok(())
        });
    }
}

#[cfg(windows)]
fn prepare_child(command: &mut Command) {
    use std::os::windows::process::CommandExt;
    // Windows' counterpart: a process created in a new process group starts
    // with Ctrl+C disabled (as if it had called SetConsoleCtrlHandler(NULL,
    // TRUE)); the worker's own handler then logs what still reaches it.
    // There is no parent-death signal: end-of-file on stdin is the rule.
    const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
    command.creation_flags(CREATE_NEW_PROCESS_GROUP);
}
