//! The idea: a terminal sends Ctrl+C to every process of its foreground
//! group, workers included, so a worker ignores it and stops when its
//! parent tells it to.
//!
//! Run it with `cargo run --example 05_workers_ignore_ctrl_c` and press
//! Ctrl+C once the worker is ready. Both processes get the signal. The
//! worker says so and carries on; the parent, which owns the shutdown,
//! tells it to stop (a line on its stdin) and waits for it. A worker that
//! obeyed Ctrl+C itself could die in the middle of a job its parent still
//! counts on. (The library's workers do this, with a protocol.)

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, ExitCode, Stdio};

use crossbeam::channel;

fn main() -> ExitCode {
    let worker = std::env::args().any(|argument| argument == "--worker");
    let (pressed, ctrl_c) = channel::unbounded();
    let heard = if worker {
        ignore_ctrl_c()
    } else {
        ctrlc::set_handler(move || {
            let _ = pressed.send(());
        })
    };
    if let Err(cause) = heard {
        eprintln!("cannot listen for Ctrl+C: {cause}");
        return ExitCode::FAILURE;
    }
    if worker {
        println!("ready"); // to the parent: Ctrl+C can no longer kill me
        for line in std::io::stdin().lock().lines() {
            if line.as_deref().ok() == Some("stop") {
                eprintln!("worker: told to stop by my parent; stopping");
                return ExitCode::SUCCESS;
            }
        }
        eprintln!("worker: my parent is gone; stopping");
        return ExitCode::SUCCESS;
    }

    let program = std::env::current_exe().map(Command::new);
    let spawned = program.and_then(|mut command| {
        command.arg("--worker").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()
    });
    let mut child = match spawned {
        Ok(child) => child,
        Err(cause) => {
            eprintln!("parent: cannot start the worker: {cause}");
            return ExitCode::FAILURE;
        }
    };
    let mut ready = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut ready);
    }
    eprintln!("parent: the worker is ready; press Ctrl+C");
    let _ = ctrl_c.recv();
    eprintln!("parent: Ctrl+C; telling the worker to stop");
    if let Some(mut to_worker) = child.stdin.take() {
        let _ = writeln!(to_worker, "stop");
    }
    match child.wait() {
        Ok(status) => eprintln!("parent: the worker has stopped ({status}); stopping too"),
        Err(cause) => eprintln!("parent: cannot wait for the worker: {cause}"),
    }
    ExitCode::SUCCESS
}

/// The worker's handler: it logs and does nothing else.
fn ignore_ctrl_c() -> Result<(), ctrlc::Error> {
    ctrlc::set_handler(|| eprintln!("worker: Ctrl+C reached me too; ignored: my parent decides"))
}
