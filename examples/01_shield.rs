//! The idea: the Ctrl+C handler only reports the signal on a channel, and
//! the program looks at that channel where stopping is safe, so Ctrl+C
//! cannot cut a critical section in half.
//!
//! Run it with `cargo run --example 01_shield` and press Ctrl+C while a
//! record is being written: the record is finished, then the program stops
//! between two records, says so, and dies of SIGINT, as if Ctrl+C had
//! killed it: so a shell loop around it stops too.
//! (The library's `signals::Shield` is the same idea with bookkeeping
//! around it; dying of SIGINT is example 08.)

use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use crossbeam::channel;

fn main() -> ExitCode {
    let (interrupts, interrupted) = channel::unbounded();
    // The handler runs on a thread of ctrlc's, not inside our code: it
    // cannot interrupt `write_record` halfway, whatever it does. Keeping
    // it to one channel send means it can never block or fail.
    if let Err(cause) = ctrlc::set_handler(move || {
        let _ = interrupts.send(());
    }) {
        eprintln!("shield: cannot install the Ctrl+C handler: {cause}");
        return ExitCode::FAILURE;
    }

    for record in 1.. {
        // The critical section: a Ctrl+C now is queued, not obeyed.
        write_record(record);
        // The one safe point: between two records.
        let pressed = interrupted.try_iter().count();
        if pressed > 0 {
            eprintln!(
                "Ctrl+C ({pressed}x) during record {record}; it was finished first. Stopping."
            );
            die_of_ctrl_c();
        }
    }
    ExitCode::SUCCESS
}

/// Stands for work that must not be left half done (a file written, a
/// transaction committed): one second, in three steps.
fn write_record(record: u64) {
    for step in 1..=3 {
        eprintln!("record {record}: step {step} of 3");
        thread::sleep(Duration::from_millis(333));
    }
}

/// Ends the process the way Ctrl+C would have, now that it is safe: a shell
/// loop stops only when its child *died of SIGINT* (an exit code of 0, or
/// even 130, tells bash the child handled Ctrl+C itself).
fn die_of_ctrl_c() -> ! {
    #[cfg(unix)]
    let _ = signal_hook::low_level::emulate_default_handler(signal_hook::consts::SIGINT);
    // Only if that failed, or on Windows, whose status for it is this.
    std::process::exit(if cfg!(windows) { 0xC000_013A_u32 as i32 } else { 130 })
}
