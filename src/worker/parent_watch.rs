//! The backstop for a parent that dies while its worker is not reading
//! (hardening: skip it on a first reading).
//!
//! End-of-file on stdin is the portable rule, and the one this program
//! teaches: a worker leaves when its parent is gone. It has one gap: a
//! worker that is stopped (`kill -STOP`), or busy in a long call, does not
//! read its stdin, so it cannot see the end of it. On Linux the manager
//! closes that gap: it asks the kernel to send each worker SIGCONT when the
//! parent dies (`PR_SET_PDEATHSIG`, see [`crate::manager`]'s `spawn`).
//! SIGCONT resumes a stopped worker, and the `parent-watch` thread, woken by
//! it, checks whether the parent is really gone; if so, the worker gets
//! [`PARENT_GONE_GRACE`] to leave through end-of-file as usual, and is ended
//! after that, whatever it was doing. Elsewhere end-of-file is the only rule.

use std::time::Duration;

/// After the kernel says the parent is gone, how long a worker has to leave
/// by itself before it is ended.
pub const PARENT_GONE_GRACE: Duration = Duration::from_secs(1);

#[cfg(target_os = "linux")]
pub(super) use linux::{start, stop};

#[cfg(target_os = "linux")]
mod linux {
    use std::thread::{self, JoinHandle};

    use crossbeam::select;
    use log::warn;
    use signal_hook::consts::SIGCONT;
    use signal_hook::iterator::{Handle, Signals};

    use super::PARENT_GONE_GRACE;
    use crate::cancel::{self, Trigger};

    /// The watching thread, and what ends it.
    pub struct Watch {
        signals: Handle,
        worker_done: Trigger,
        thread: JoinHandle<()>,
    }

    /// Starts the `parent-watch` thread; `None` if it cannot be started (the
    /// worker still leaves on end-of-file).
    pub fn start() -> Option<Watch> {
        let parent = std::os::unix::process::parent_id();
        let mut signals = Signals::new([SIGCONT]).ok()?;
        let handle = signals.handle();
        let (worker_done, done) = cancel::pair();
        let grace = PARENT_GONE_GRACE.as_secs_f64();
        let watch = move || {
            for _ in signals.forever() {
                // SIGCONT also comes from `kill -CONT` or a shell's `fg`:
                // only a changed parent means ours is gone.
                if std::os::unix::process::parent_id() == parent {
                    continue;
                }
                warn!("SIGCONT from the kernel: the parent is gone; leaving within {grace} s");
                // One grace period for the end-of-file path to finish the
                // graceful way first; it ends this wait if it does.
                select! {
                    recv(done) -> _ => return,
                    default(PARENT_GONE_GRACE) => {}
                }
                warn!("still here {grace} s after the parent died; exiting without finishing the work in hand");
                crate::logging::finish(PARENT_GONE_GRACE);
                crate::exit::Exit::Clean.end_process_now();
            }
        };
        let thread = thread::Builder::new().name("parent-watch".into()).spawn(watch).ok()?;
        Some(Watch { signals: handle, worker_done, thread })
    }

    /// Ends the thread (the worker is leaving anyway).
    pub fn stop(watch: Option<Watch>) {
        if let Some(watch) = watch {
            drop(watch.worker_done);
            watch.signals.close();
            let _ = watch.thread.join();
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub(super) fn start() -> Option<()> {
    None
}

#[cfg(not(target_os = "linux"))]
pub(super) fn stop(_watch: Option<()>) {}
