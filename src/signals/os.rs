//! How signals reach the hub, wherever the program runs.
//! (OS plumbing: skip it on a first reading. One call sets it up,
//! [`hand_signals_to`].)
//!
//! `ctrlc` hears Ctrl+C on every platform (the console event on Windows)
//! and calls us on a thread of its own, `ctrl-c`; on Unix, `signal-hook`
//! hears SIGTERM and SIGHUP, which `ctrlc` cannot tell apart, and a thread
//! of ours, `signals`, reads them from it. Before that, the process is made
//! ready for the places it is started from:
//!
//! * a signal the parent left **ignored** stays ignored, as the shell
//!   convention and CPython have it (`nohup` ignores SIGHUP, a script's
//!   `cmd &` ignores SIGINT). Asked without changing it: setting "default"
//!   to learn the old action would let a signal in between kill us;
//! * a signal the parent left **blocked** (some supervisors and launchers
//!   do) is unblocked: it would otherwise wait for ever, while the log says
//!   the program waits for it;
//! * **SIGXFSZ** is ignored, as CPython does: past `ulimit -f`, a write to
//!   the log fails (and is counted) instead of killing the program.
//!
//! The log is not set up yet at that point, so what was found is said later,
//! by [`say_what_was_inherited`], at the start of the run. And at the very
//! end, [`clean_exit_unless_ctrl_c`] ends a run that a Ctrl+C reached the
//! way Ctrl+C would have, except where the kernel will not let it: a
//! container's PID 1.
//!
//! Two rules sit in front of every deliverer, the hub's and a worker's
//! alike: closing a terminal is **one** event however many SIGHUPs it sends
//! (the kernel's, and the shell's to its jobs), and SIGCONT (running again
//! after Ctrl+Z or `kill -STOP`) is no request to stop: the main process
//! says that stopped time counts against every deadline, and goes on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use log::{info, warn};

use super::Signal;
use crate::exit::Exit;

/// The termination signals there are, by name and number: one table. On
/// Windows, only the console event.
#[cfg(unix)]
const TERMINATION: [(Signal, i32); 3] = {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    [(Signal::CtrlC, SIGINT), (Signal::Terminate, SIGTERM), (Signal::Hangup, SIGHUP)]
};
#[cfg(not(unix))]
const TERMINATION: [(Signal, i32); 1] = [(Signal::CtrlC, 0)];

/// What the parent left us: signals ignored (kept so) and blocked (undone).
#[derive(Debug, Default)]
struct Inherited {
    ignored: Vec<Signal>,
    unblocked: Vec<Signal>,
}

static INHERITED: OnceLock<Inherited> = OnceLock::new();

/// Set by SIGINT's arrival itself, in the signal handler, where only a store
/// is safe: the exit must not depend on whether the `ctrl-c` thread has been
/// scheduled yet (on Windows, that thread is where it is set).
static CTRL_C: AtomicBool = AtomicBool::new(false);

/// Takes over the termination signals the parent did not leave ignored and
/// hands each to `deliver`, on the thread of the crate that caught it. If
/// that cannot be done, says so and exits with code 3: nothing has started.
pub fn hand_signals_to(deliver: impl Fn(Signal) + Copy + Send + 'static) {
    let ignored = &INHERITED.get_or_init(take_over_inherited).ignored;
    listen_or_exit(|signal| !ignored.contains(&signal), true, deliver);
}

/// A worker's version: it hears every termination signal, whatever its
/// parent left (the parent starts it with them ignored, precisely so that
/// none can kill it before this call), and SIGCONT is its parent watch's.
pub fn hand_worker_signals_to(deliver: impl Fn(Signal) + Copy + Send + 'static) {
    INHERITED.get_or_init(take_over_inherited);
    listen_or_exit(|_| true, false, deliver);
}

/// The signals that stop this program, as the run stage names them.
pub fn names_of_stop_signals() -> String {
    let ignored = INHERITED.get().map_or(&[][..], |inherited| &inherited.ignored);
    let heard = TERMINATION.iter().filter(|(signal, _)| !ignored.contains(signal));
    heard.map(|(signal, _)| signal.to_string()).collect::<Vec<_>>().join(", ")
}

/// Says in the log what the parent left: signals ignored (they stay so) and
/// signals blocked (they were unblocked).
pub fn say_what_was_inherited() {
    let Some(inherited) = INHERITED.get() else { return };
    for signal in &inherited.ignored {
        warn!(
            "{signal} was ignored when the program started (`nohup` does that to SIGHUP, \
             a script's `cmd &` to SIGINT), and stays ignored: it will not stop the program"
        );
    }
    for signal in &inherited.unblocked {
        info!(
            "{signal} was blocked when the program started (a supervisor or launcher did that); \
             unblocked, so that it stops the program as it should"
        );
    }
}

fn listen_or_exit(
    heard: impl Fn(Signal) -> bool,
    with_sigcont: bool,
    deliver: impl Fn(Signal) + Copy + Send + 'static,
) {
    let heard: Vec<(Signal, i32)> = TERMINATION.into_iter().filter(|(s, _)| heard(*s)).collect();
    if let Err(cause) = listen(heard, with_sigcont, move |signal| once_per_hangup(signal, deliver))
    {
        let why = format!("cannot install the signal handlers ({cause}); nothing has started");
        Exit::StartFailed.end_process_saying(&why);
    }
}

/// Closing a terminal sends SIGHUP twice (the kernel's, and the shell's to
/// its jobs): one event, not a person asking twice.
fn once_per_hangup(signal: Signal, deliver: impl Fn(Signal)) {
    static HANGUP_SEEN: AtomicBool = AtomicBool::new(false);
    if signal != Signal::Hangup || !HANGUP_SEEN.swap(true, Ordering::SeqCst) {
        deliver(signal);
    }
}

fn listen(
    mut heard: Vec<(Signal, i32)>,
    with_sigcont: bool,
    deliver: impl Fn(Signal) + Copy + Send + 'static,
) -> std::io::Result<()> {
    // Ctrl+C is `ctrlc`'s, on every platform; the others, signal-hook's.
    if let Some(at) = heard.iter().position(|(signal, _)| *signal == Signal::CtrlC) {
        heard.remove(at);
        let on_ctrl_c = move || {
            CTRL_C.store(true, Ordering::SeqCst);
            deliver(Signal::CtrlC);
        };
        ctrlc::set_handler(on_ctrl_c).map_err(std::io::Error::other)?;
        // signal-hook's handler sets the flag, then calls ctrlc's (it chains).
        #[cfg(unix)]
        signal_hook::flag::register(signal_hook::consts::SIGINT, &CTRL_C)?;
    }
    #[cfg(unix)]
    {
        let sigcont = with_sigcont.then_some(signal_hook::consts::SIGCONT);
        let numbers = heard.iter().map(|(_, number)| *number).chain(sigcont);
        let mut listener = signal_hook::iterator::Signals::new(numbers)?;
        std::thread::Builder::new().name("signals".into()).spawn(move || {
            for number in listener.forever() {
                match heard.iter().find(|(_, n)| *n == number) {
                    Some(&(signal, _)) => deliver(signal),
                    // Said, because a stopped process's deadlines run on (a
                    // start of many workers can miss its own).
                    None => info!(
                        "SIGCONT: running again if the program was stopped (Ctrl+Z, kill -STOP); \
                         the time it spent stopped counts against every deadline"
                    ),
                }
            }
        })?;
    }
    #[cfg(not(unix))]
    let _ = (heard, with_sigcont);
    Ok(())
}

/// Readies the process's signal state before any thread starts (threads
/// inherit the mask): see the module docs.
#[cfg(unix)]
fn take_over_inherited() -> Inherited {
    use nix::libc;
    use nix::sys::signal::{signal, SigHandler, SigSet, Signal::*};
    // SAFETY: SIG_IGN is no handler; no code of ours runs on SIGXFSZ.
    let _ = unsafe { signal(SIGXFSZ, SigHandler::SigIgn) };
    let number_of = |number| nix::sys::signal::Signal::try_from(number).ok();
    let blocked = SigSet::thread_get_mask().unwrap_or_else(|_| SigSet::empty());
    // Every signal we listen for, from the one table (and SIGCONT).
    let ours: SigSet = TERMINATION.iter().filter_map(|t| number_of(t.1)).chain([SIGCONT]).collect();
    let _ = ours.thread_unblock();
    let mut inherited = Inherited::default();
    for (signal, number) in TERMINATION {
        let mut old = std::mem::MaybeUninit::<libc::sigaction>::zeroed();
        // SAFETY: with no new action, sigaction only reads the current one
        // into `old`, zeroed memory of the right type.
        let read = unsafe { libc::sigaction(number, std::ptr::null(), old.as_mut_ptr()) };
        if read == 0 && unsafe { old.assume_init() }.sa_sigaction == libc::SIG_IGN {
            inherited.ignored.push(signal);
        } else if number_of(number).is_some_and(|n| blocked.contains(n)) {
            inherited.unblocked.push(signal);
        }
    }
    inherited
}

/// Windows has no signals to inherit: `ctrlc` hears every console event.
#[cfg(not(unix))]
fn take_over_inherited() -> Inherited {
    Inherited::default()
}

/// Exit code 0, unless a Ctrl+C reached the process, however late: then it
/// dies of SIGINT, as Ctrl+C would have killed it. SIGINT's default action
/// comes back *before* the last look at [`CTRL_C`], so a Ctrl+C after that
/// look kills the process too: none is swallowed. As PID 1 of a namespace (a
/// container without an init) the kernel drops a signal left to its default
/// action: the program then lives on, and exits with the shell's 130.
#[cfg(unix)]
pub fn clean_exit_unless_ctrl_c() -> Exit {
    use nix::sys::signal::{raise, signal, SigHandler, SigSet, Signal::SIGINT};
    // An inherited ignore stays (no Ctrl+C was ever heard, then).
    if !INHERITED.get().is_some_and(|inherited| inherited.ignored.contains(&Signal::CtrlC)) {
        // SAFETY: SIG_DFL is no handler.
        let _ = unsafe { signal(SIGINT, SigHandler::SigDfl) };
    }
    if !CTRL_C.load(Ordering::SeqCst) {
        return Exit::Clean;
    }
    let _ = SigSet::from(SIGINT).thread_unblock();
    let _ = raise(SIGINT);
    Exit::DiedOfSigint
}

/// Windows has no signals to die of; a console program that Ctrl+C ends
/// outright exits with STATUS_CONTROL_C_EXIT (its default handler does
/// that), so we end with the same status.
#[cfg(not(unix))]
pub fn clean_exit_unless_ctrl_c() -> Exit {
    const STATUS_CONTROL_C_EXIT: u32 = 0xC000_013A;
    if !CTRL_C.load(Ordering::SeqCst) {
        return Exit::Clean;
    }
    std::process::exit(STATUS_CONTROL_C_EXIT as i32)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU32;

    use super::*;

    #[test]
    fn closing_a_terminal_counts_once_however_many_hangups_it_sends() {
        static DELIVERED: AtomicU32 = AtomicU32::new(0);
        let count = |_| {
            DELIVERED.fetch_add(1, Ordering::SeqCst);
        };
        once_per_hangup(Signal::CtrlC, count);
        for _ in 0..5 {
            once_per_hangup(Signal::Hangup, count);
        }
        once_per_hangup(Signal::CtrlC, count);
        assert_eq!(DELIVERED.load(Ordering::SeqCst), 3);
    }

    #[test]
    #[cfg(unix)]
    fn an_inherited_ignore_is_read_without_opening_a_window_for_the_signal() {
        use nix::sys::signal::{kill, signal, SigHandler, SIGHUP};
        // SIGHUP ignored, as `nohup` leaves it, and a flood of SIGHUP to this
        // very process while the disposition is read, many times over. Read
        // by setting the default action first, one of them would kill the
        // whole test process.
        // SAFETY: SIG_IGN is no handler.
        unsafe { signal(SIGHUP, SigHandler::SigIgn) }.unwrap();
        let flooding = std::sync::Arc::new(AtomicBool::new(true));
        let flood = {
            let flooding = flooding.clone();
            std::thread::spawn(move || {
                while flooding.load(Ordering::Relaxed) {
                    let _ = kill(nix::unistd::getpid(), SIGHUP);
                }
            })
        };
        for _ in 0..20_000 {
            assert!(take_over_inherited().ignored.contains(&Signal::Hangup));
        }
        flooding.store(false, Ordering::Relaxed);
        flood.join().unwrap();
    }

    /// Runs the ignored test `name` in a process of its own, which may die:
    /// its signal, if it died of one, and its exit code.
    #[cfg(unix)]
    fn in_a_child(name: &str) -> (Option<i32>, Option<i32>) {
        use std::os::unix::process::ExitStatusExt;
        let test = std::env::current_exe().unwrap();
        let status = std::process::Command::new(test)
            .args(["--exact", name, "--ignored", "--test-threads", "1"])
            .env("GRACEFUL_EXIT_CHILD", "1")
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        (status.signal(), status.code())
    }

    /// A child's part: the handlers installed, then `at_the_end`.
    #[cfg(unix)]
    fn child(at_the_end: impl FnOnce()) {
        use nix::sys::signal::{signal, SigHandler, Signal::SIGINT};
        if std::env::var_os("GRACEFUL_EXIT_CHILD").is_none() {
            return;
        }
        // As a terminal leaves it, whatever the test runner inherited.
        // SAFETY: SIG_DFL is no handler.
        unsafe { signal(SIGINT, SigHandler::SigDfl) }.unwrap();
        hand_signals_to(|_| {});
        at_the_end();
        std::process::exit(0);
    }

    #[test]
    #[ignore = "run in a child by a_ctrl_c_the_ctrl_c_thread_has_not_seen_yet_still_counts"]
    #[cfg(unix)]
    fn child_with_a_ctrl_c_just_before_the_exit() {
        child(|| {
            // On this very thread: the handler has run when `raise` returns,
            // and the `ctrl-c` thread has most likely not been scheduled yet.
            nix::sys::signal::raise(nix::sys::signal::SIGINT).unwrap();
            let _ = clean_exit_unless_ctrl_c();
        });
    }

    #[test]
    #[cfg(unix)]
    fn a_ctrl_c_the_ctrl_c_thread_has_not_seen_yet_still_counts() {
        let name = "signals::os::tests::child_with_a_ctrl_c_just_before_the_exit";
        assert_eq!(in_a_child(name), (Some(2), None), "it did not die of SIGINT");
    }

    #[test]
    #[ignore = "run in a child by a_ctrl_c_after_the_last_look_is_not_swallowed"]
    #[cfg(unix)]
    fn child_with_a_ctrl_c_after_the_last_look() {
        child(|| {
            assert_eq!(clean_exit_unless_ctrl_c(), Exit::Clean);
            nix::sys::signal::raise(nix::sys::signal::SIGINT).unwrap();
        });
    }

    #[test]
    #[cfg(unix)]
    fn a_ctrl_c_after_the_last_look_is_not_swallowed() {
        let name = "signals::os::tests::child_with_a_ctrl_c_after_the_last_look";
        assert_eq!(in_a_child(name), (Some(2), None), "it did not die of SIGINT");
    }
}
