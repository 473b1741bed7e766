//! The idea: after a graceful stop that Ctrl+C began, die of SIGINT, so the
//! shell loop, `make` or script that ran the program stops too.
//!
//! Run it in a loop and press Ctrl+C during the first run:
//! `for i in 1 2 3; do cargo run -q --example 08_die_of_sigint; echo "rc=$?"; done`.
//! The program stops gracefully, then dies of SIGINT, and the loop stops:
//! no `rc=` line. Add `-- --exit-130` to exit with 130 instead: the loop
//! goes on to the next run, because bash takes a child that *exited* to
//! have used Ctrl+C for itself (its "wait and cooperative exit" rule).
//! (The library's `Ending::exit` does this after `main: end`.)

use std::process::ExitCode;

use crossbeam::channel;

fn main() -> ExitCode {
    let exit_130 = std::env::args().any(|argument| argument == "--exit-130");
    let (pressed, ctrl_c) = channel::unbounded();
    if let Err(cause) = ctrlc::set_handler(move || {
        let _ = pressed.send(());
    }) {
        eprintln!("cannot listen for Ctrl+C: {cause}");
        return ExitCode::FAILURE;
    }
    eprintln!("running; press Ctrl+C");
    let _ = ctrl_c.recv();
    eprintln!("Ctrl+C: stopping gracefully");
    eprintln!("stopped");
    if exit_130 {
        eprintln!("exiting with 130");
        return ExitCode::from(130);
    }
    eprintln!("dying of SIGINT, as Ctrl+C would have killed me");
    die_of_sigint()
}

/// Restores SIGINT's default action and raises it: the process ends as if
/// Ctrl+C had killed it. On Windows, the status a console program ends with
/// when Ctrl+C kills it.
#[cfg(unix)]
fn die_of_sigint() -> ExitCode {
    let _ = signal_hook::low_level::emulate_default_handler(signal_hook::consts::SIGINT);
    ExitCode::from(130) // only if raising it failed
}

#[cfg(not(unix))]
fn die_of_sigint() -> ExitCode {
    std::process::exit(0xC000_013A_u32 as i32)
}
