//! The idea: the stop order is written down in one place, the reverse of the
//! start order, and every part is stopped even if one before it failed.
//!
//! Run it with `cargo run --example 03_reverse_stop_order`: three parts
//! start one after another, the cache's stop fails, and all three are
//! stopped all the same, in reverse; the exit code says a stop failed.
//!
//! Why not leave it to `drop`: Rust drops values in reverse order of
//! declaration, which hides the stop order in the layout of `main`, a panic
//! on the way drops the rest in the middle of the stop, and
//! `std::process::exit` skips drops altogether. A loop over a list, in
//! reverse, says the order where a reader looks for it. (The library's
//! `App::run` and service-1's `take_apart` do this.)

use std::process::ExitCode;

/// A part of a program with a start and a stop.
struct Part {
    name: &'static str,
    stop_fails: bool,
}

impl Part {
    fn start(&self) {
        eprintln!("{}: started", self.name);
    }

    fn stop(&self) -> Result<(), String> {
        eprintln!("{}: stopping", self.name);
        if self.stop_fails {
            return Err("could not write its file".to_owned());
        }
        eprintln!("{}: stopped", self.name);
        Ok(())
    }
}

fn main() -> ExitCode {
    // The start order: each part may use the ones before it.
    let parts = [
        Part { name: "database", stop_fails: false },
        Part { name: "cache", stop_fails: true },
        Part { name: "web server", stop_fails: false },
    ];
    for part in &parts {
        part.start();
    }

    eprintln!("main: stopping, in reverse order");
    let mut failures = Vec::new();
    for part in parts.iter().rev() {
        // A failed stop is noted, not returned: the parts after it (which
        // the failed one may still be using) must be stopped too.
        if let Err(cause) = part.stop() {
            failures.push(format!("{}: {cause}", part.name));
        }
    }
    if failures.is_empty() {
        eprintln!("main: every part stopped");
        return ExitCode::SUCCESS;
    }
    eprintln!("main: every part was stopped; failed: {}", failures.join("; "));
    ExitCode::from(6)
}
