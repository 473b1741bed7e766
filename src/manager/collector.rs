//! A collector: one thread per worker that reads its reports, routes each
//! reply to the caller waiting for it, and reaps the worker when it exits.
//!
//! Reading a worker's stdout is also the cheapest way to watch it: the read
//! returns end-of-file the moment the process dies, however it dies, so a
//! crash is noticed at once instead of when some caller's timeout expires.

use std::io::{BufRead, BufReader};
use std::panic::{self, AssertUnwindSafe};
use std::process::ChildStdout;

use log::{debug, warn};

use super::dispatch::{worker_name, Phase};
use super::{Event, ManagerError, Shared};
use crate::ending::SharedChild;
use crate::failure::Failure;
use crate::lock;
use crate::protocol::{self, Report};

/// Reads worker `worker`'s reports until its output ends, then reaps it.
pub(super) fn run(shared: &Shared, worker: usize, stdout: ChildStdout, child: &SharedChild) {
    let name = worker_name(worker);
    // Not `panics::catch`: a bug here is an internal failure, and the hook
    // must report it as one (exit code 7). We only clean up after it.
    let read = panic::catch_unwind(AssertUnwindSafe(|| {
        read_reports(shared, worker, &name, stdout)
    }));
    let last_words = match read {
        Ok(last_words) => last_words,
        Err(_) => {
            // Without its collector nobody would answer this worker's caller
            // or notice its exit: kill it, so the reaping below cannot hang
            // and the call in hand fails now.
            let _ = lock(child).kill();
            Some("its collector panicked".to_owned())
        }
    };
    // Output closed: the worker has exited or is exiting. Reap it, so no
    // zombie is left, and learn how it ended.
    let status = match lock(child).wait() {
        Ok(status) => status.to_string(),
        Err(cause) => format!("exit status unknown: {cause}"),
    };
    // "exit status: 7" alone says little; the worker's own words say why.
    let status = match last_words {
        Some(message) => format!("{message}; {status}"),
        None => status,
    };
    on_exit(shared, worker, &name, status);
}

/// Reads reports until the worker's output ends; returns the worker's last
/// words if it sent any (see [`Report::Failed`]).
fn read_reports(shared: &Shared, worker: usize, name: &str, stdout: ChildStdout) -> Option<String> {
    let mut reports = BufReader::new(stdout);
    let mut line = String::new();
    let mut last_words = None;
    loop {
        line.clear();
        match reports.read_line(&mut line) {
            Ok(0) => return last_words,
            Ok(_) => match protocol::parse::<Report>(&line) {
                Ok(Report::Failed { message }) => last_words = Some(message),
                Ok(report) => on_report(shared, worker, report),
                Err(cause) => warn!("{name}: ignoring a malformed report ({cause}): {line:?}"),
            },
            Err(cause) => {
                warn!("{name}: cannot read its reports ({cause})");
                return last_words;
            }
        }
    }
}

fn on_report(shared: &Shared, worker: usize, report: Report) {
    match report {
        Report::Bootstrapped { pid } => {
            let _ = shared.events.send(Event::Bootstrapped { worker, pid });
        }
        Report::Started => {
            let _ = shared.events.send(Event::Started { worker });
        }
        Report::Reply { id, result } => {
            let caller = shared.lock().replied(worker, id);
            let result = result.map_err(|message| ManagerError::CallFailed {
                worker: worker_name(worker),
                message,
            });
            match caller {
                Some(caller) => {
                    let _ = caller.send(result);
                }
                None => debug!("call {id}: result arrived after its caller gave up"),
            }
        }
        // Taken by `read_reports`, which keeps it for the exit status.
        Report::Failed { .. } => {}
        Report::Updated { round, version } => {
            shared.lock().updated(worker);
            let _ = shared.events.send(Event::Updated {
                worker,
                round,
                version,
            });
        }
    }
}

fn on_exit(shared: &Shared, worker: usize, name: &str, status: String) {
    let (phase, lost_call) = {
        let mut state = shared.lock();
        let lost = state.exited(worker);
        (state.phase, lost)
    };
    let unexpected = phase == Phase::Running;
    if let Some((id, caller)) = lost_call {
        // The caller learns at once, not after its 30 s timeout.
        warn!("{name}: exited ({status}) while processing call {id}");
        let _ = caller.send(Err(ManagerError::WorkerDied {
            worker: name.to_owned(),
            status: status.clone(),
        }));
    }
    if unexpected {
        if let Some(failures) = &shared.failures {
            failures.report(Failure::WorkerDied {
                worker: name.to_owned(),
                detail: status.clone(),
            });
        }
    } else {
        debug!("{name}: exited ({status})");
    }
    let _ = shared.events.send(Event::Exited { worker, status });
}
