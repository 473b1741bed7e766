//! The idea: a child blocked reading a pipe from its parent gets
//! end-of-file the moment the parent dies, however it dies, so it can leave
//! with its parent.
//!
//! Run it with `cargo run --example 06_child_ends_with_parent`. The parent
//! starts a copy of itself as a child, with the child's stdin a pipe from
//! the parent, keeps that pipe for two seconds without writing to it, then
//! exits without a word to the child (as a parent killed with SIGKILL
//! would). The child notices at that moment, not before, and leaves.
//!
//! The rule: the kernel closes a process's end of every pipe when the
//! process dies, for any reason. So a child blocked reading its stdin gets
//! end-of-file the moment its parent is gone. It works for SIGKILL, for a
//! crash, on every platform, with no signal and no polling. (The pipe must
//! be the parent's to the end: `Child`'s stdin closes when it is dropped,
//! so the parent keeps it.)

use std::io::{self, Read};
use std::process::{Command, ExitCode, Stdio};
use std::thread;
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    if std::env::args().any(|argument| argument == "--child") {
        return child();
    }
    let Ok(program) = std::env::current_exe() else {
        eprintln!("parent: cannot find my own executable");
        return ExitCode::FAILURE;
    };
    let mut child = match Command::new(program).arg("--child").stdin(Stdio::piped()).spawn() {
        Ok(child) => child,
        Err(cause) => {
            eprintln!("parent: cannot start the child: {cause}");
            return ExitCode::FAILURE;
        }
    };
    // Kept until the parent exits: dropping it would close the pipe now.
    let _pipe_to_child = child.stdin.take();
    println!("parent: started child {}; alive for two more seconds", child.id());
    thread::sleep(Duration::from_secs(2));
    println!("parent: exiting now, without a word to the child");
    // Neither waited for nor killed: the child is on its own from here.
    ExitCode::SUCCESS
}

fn child() -> ExitCode {
    let began = Instant::now();
    println!("child: waiting on stdin; only my parent's exit will close it");
    // A real worker reads its commands here; this one only waits.
    let read = io::stdin().read_to_end(&mut Vec::new());
    let waited = began.elapsed().as_secs_f64();
    match read {
        Ok(_) => println!("child: stdin closed after {waited:.1} s: my parent is gone; exiting"),
        Err(cause) => println!("child: cannot read stdin ({cause}); exiting"),
    }
    ExitCode::SUCCESS
}
