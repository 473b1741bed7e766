//! A collector: one thread per worker that reads its reports, routes each
//! reply to the caller waiting for it, and reaps the worker when it exits.
//!
//! Reading a worker's stdout is also the cheapest way to watch it: the read
//! returns end-of-file the moment the process dies, however it dies, so a
//! crash is noticed at once instead of when some caller's timeout expires.
//! (A bug in a collector itself panics it: the panic hook turns that into a
//! graceful stop, whose manager stop ends the worker, and the exit reaps it.)

use std::io::{BufRead, BufReader};
use std::process::ChildStdout;
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use log::{debug, warn};

use super::children::SharedChild;
use super::dispatch::{worker_name, Phase};
use super::{Event, ManagerError, Shared};
use crate::cancel::Trigger;
use crate::failure::Failure;
use crate::lock;
use crate::protocol::{self, Report};

/// Starts worker `worker`'s collector, a thread named `collector-N`. It
/// holds `running` until it ends, which tells the manager that it has.
pub(super) fn spawn(
    shared: Arc<Shared>,
    worker: usize,
    stdout: ChildStdout,
    child: SharedChild,
    running: Option<Trigger>,
) -> std::io::Result<JoinHandle<()>> {
    thread::Builder::new().name(format!("collector-{worker}")).spawn(move || {
        run(&shared, worker, stdout, &child);
        drop(running);
    })
}

/// Reads worker `worker`'s reports until its output ends, then reaps it.
fn run(shared: &Shared, worker: usize, stdout: ChildStdout, child: &SharedChild) {
    let name = worker_name(worker);
    let mut last_words = None;
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line.inspect_err(|cause| warn!("{name}: cannot read its reports ({cause})"))
        else {
            break;
        };
        match protocol::parse::<Report>(&line) {
            // The worker's last words before it exits on an error or a
            // panic: "exit status: 7" alone would say little.
            Ok(Report::Failed { message }) => last_words = Some(message),
            Ok(report) => on_report(shared, worker, report),
            Err(cause) => warn!("{name}: ignoring a malformed report ({cause}): {line:?}"),
        }
    }
    // Output closed: the worker has exited or is exiting. Reap it, so no
    // zombie is left, and learn how it ended.
    let status = match lock(child).wait() {
        Ok(status) => status.to_string(),
        Err(cause) => format!("exit status unknown: {cause}"),
    };
    let status = last_words.map_or(status.clone(), |words| format!("{words}; {status}"));
    on_exit(shared, worker, &name, status);
}

fn on_report(shared: &Shared, worker: usize, report: Report) {
    let event = match report {
        Report::Bootstrapped { pid } => Event::Bootstrapped { worker, pid },
        Report::Started => Event::Started { worker },
        Report::Updated { round, version } => {
            shared.lock().updated(worker);
            Event::Updated { worker, round, version }
        }
        Report::Reply { id, result } => {
            let caller = shared.lock().replied(worker, id);
            let worker = worker_name(worker);
            let result = result.map_err(|message| ManagerError::CallFailed { worker, message });
            match caller {
                Some(caller) => drop(caller.send(result)),
                None => debug!("call {id}: result arrived after its caller gave up"),
            }
            return;
        }
        // Taken by `run`, which keeps it for the exit status.
        Report::Failed { .. } => return,
    };
    let _ = shared.events.send(event);
}

fn on_exit(shared: &Shared, worker: usize, name: &str, status: String) {
    let mut state = shared.lock();
    let lost_call = state.exited(worker);
    let unexpected = state.phase == Phase::Running;
    drop(state);
    if let Some((id, caller)) = lost_call {
        // The caller learns at once, not after its 30 s timeout.
        warn!("{name}: exited ({status}) while processing call {id}");
        let (worker, status) = (name.to_owned(), status.clone());
        let _ = caller.send(Err(ManagerError::WorkerDied { worker, status }));
    }
    match &shared.failures {
        Some(failures) if unexpected => {
            failures.report(Failure::WorkerDied { worker: name.to_owned(), detail: status.clone() })
        }
        _ => debug!("{name}: exited ({status})"),
    }
    let _ = shared.events.send(Event::Exited { worker, status });
}
