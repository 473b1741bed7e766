//! A child process that ends when its parent dies, however it dies.
//!
//! Run it with `cargo run --example child_ends_with_parent`. The parent
//! starts a copy of itself as a child, with the child's stdin a pipe from
//! the parent, then exits without a word to the child (as a parent killed
//! with SIGKILL would). The child notices and leaves by itself.
//!
//! The rule: the kernel closes a process's end of every pipe when the
//! process dies, for any reason. So a child blocked reading its stdin gets
//! end-of-file the moment its parent is gone. It works for SIGKILL, for a
//! crash, on every platform, with no signal and no polling.

use std::io::{self, Read};
use std::process::{Command, ExitCode, Stdio};

fn main() -> ExitCode {
    if std::env::args().any(|argument| argument == "--child") {
        return child();
    }
    let Ok(program) = std::env::current_exe() else {
        eprintln!("parent: cannot find my own executable");
        return ExitCode::FAILURE;
    };
    match Command::new(program).arg("--child").stdin(Stdio::piped()).spawn() {
        Ok(child) => {
            println!("parent: started child {}; exiting without stopping it", child.id());
            // Dropping `child` does not wait for it or kill it; the
            // parent's end of the pipe closes when the parent exits.
            ExitCode::SUCCESS
        }
        Err(cause) => {
            eprintln!("parent: cannot start the child: {cause}");
            ExitCode::FAILURE
        }
    }
}

fn child() -> ExitCode {
    println!("child: waiting on stdin; my parent's exit will close it");
    // A real worker reads its commands here; this one only waits.
    let mut rest = Vec::new();
    match io::stdin().read_to_end(&mut rest) {
        Ok(_) => println!("child: stdin closed: my parent is gone; exiting"),
        Err(cause) => println!("child: cannot read stdin ({cause}); exiting"),
    }
    ExitCode::SUCCESS
}
