//! Failures: reasons to stop that come from inside the program, a worker
//! that died or a thread that panicked. Hardening: skip it on a first reading
//! (the lesson only sees failures arrive on a channel).
//!
//! The code that notices a failure (a collector thread deep inside the
//! manager, the panic hook) must not stop the application itself: only the
//! lifecycle knows the stop order. So it reports the failure through a
//! [`FailureReporter`], and the run stage, which waits for "interrupt *or*
//! failure", wakes up and runs the same graceful stop as for Ctrl+C.
//!
//! # Panics
//!
//! By default a panic in a spawned thread prints a message in its own format
//! and ends that thread only; the rest of the program carries on without it
//! (a busy loop that no longer runs, a caller waiting for a result that will
//! never come), and nobody is told. So `main` installs one panic hook, the
//! way it installs one signal handler. For every panic, in any thread, the
//! hook logs it once, at ERROR, with the thread's name, the place and the
//! message; in any thread but the main one it also reports a
//! [`Failure::Panicked`]: the program stops in order and exits with code 7.
//! The main thread runs the lifecycle, which catches a panicking start or
//! stop itself and knows better what it means (a failed start, a failed
//! stop).

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::thread;

use crossbeam::channel::Sender;
use log::{error, warn};

use crate::exit::Exit;
use crate::signals::{Hub, Stage};

/// What went wrong, in words a person can act on. (Each field is named in
/// its variant's doc.)
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Failure {
    /// A worker process (`worker-2`) exited while the application still
    /// needed it; `detail` says how (`exit status: 7`, with its last words).
    WorkerDied { worker: String, detail: String },
    /// A thread of ours, named `thread`, panicked: a bug. Its message is
    /// already logged.
    Panicked { thread: String },
}

impl Failure {
    /// The exit status the program ends with because of this failure.
    pub fn status(&self) -> Exit {
        match self {
            Failure::WorkerDied { .. } => Exit::WorkerDied,
            Failure::Panicked { .. } => Exit::Internal,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::WorkerDied { worker, detail } => write!(f, "{worker} died: {detail}"),
            Failure::Panicked { thread } => write!(f, "thread '{thread}' panicked"),
        }
    }
}

/// A handle for reporting failures to the application; cheap to clone.
#[derive(Clone, Debug)]
pub struct FailureReporter {
    pub(crate) failures: Sender<Failure>,
    /// Asked what the program is doing, to say what the failure does now.
    pub(crate) hub: &'static Hub,
}

impl FailureReporter {
    /// Tells the application to stop because of `failure`. Never blocks.
    pub fn report(&self, failure: Failure) {
        if self.hub.stage() == Stage::Starting {
            // Start is shielded: it runs to its end, failure or not, for the
            // same reason as for a Ctrl+C. Say so now, not only at the end.
            warn!("{failure} during start; start runs to its end, then the program stops");
        }
        // The application keeps the receiving end until it exits, so this
        // cannot fail while anyone is left to care.
        let _ = self.failures.send(failure);
    }
}

/// Replaces the default panic hook; call it from the main thread. With
/// `failures`, each panic in another thread is also reported there; worker
/// processes pass `None`, because they tell their parent themselves (see
/// [`crate::worker`]).
pub fn install_panic_hook(failures: Option<FailureReporter>) {
    let main = thread::current().id();
    panic::set_hook(Box::new(move |info| {
        let thread = thread::current().name().unwrap_or("unnamed").to_owned();
        let place = info.location().map_or(String::new(), |at| format!(" at {at}"));
        error!("thread '{thread}' panicked{place}: {}", message(info.payload()));
        if let (false, Some(failures)) = (thread::current().id() == main, &failures) {
            failures.report(Failure::Panicked { thread });
        }
    }));
}

/// Runs `work`, turning a panic inside it into `Err(its message)`; the
/// caller takes it from there (the hook has logged the panic).
///
/// `AssertUnwindSafe` is sound here for the same reason the crate's `lock`
/// helper is: the state `work` can leave behind is either thrown away with
/// the failed part or consistent after every statement.
pub fn catch<T>(work: impl FnOnce() -> T) -> Result<T, String> {
    panic::catch_unwind(AssertUnwindSafe(work)).map_err(|payload| message(payload.as_ref()))
}

/// The text a panic was raised with (`panic!("...")` gives a `&str` or a
/// `String`; anything else has no message we can show).
fn message(payload: &(dyn Any + Send)) -> String {
    let text = payload.downcast_ref::<&str>().copied();
    let text = text.or(payload.downcast_ref::<String>().map(String::as_str));
    text.unwrap_or("a panic without a message").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catch_returns_the_value_or_the_panic_message() {
        assert_eq!(catch(|| 7), Ok(7));
        let number = 3;
        let caught = catch(|| -> u32 { panic!("broke at {number}") });
        assert_eq!(caught, Err("broke at 3".to_owned()));
        let plain = catch(|| -> u32 { panic!("plain") });
        assert_eq!(plain, Err("plain".to_owned()));
    }
}
