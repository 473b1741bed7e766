//! Panics: a bug in one thread becomes a graceful stop of the whole program.
//!
//! By default a panic in a spawned thread prints a message in its own format
//! and ends that thread only. The rest of the program carries on without it:
//! a busy loop that no longer runs, a caller waiting for a result that will
//! never come. That is neither a crash nor a shutdown, and nobody is told.
//!
//! So the program installs one panic hook, the way it installs one signal
//! handler. For every panic, in any thread, the hook
//!
//! * logs it once, at ERROR, in the same format as every other line, with
//!   the thread's name, the place in the source and the panic message;
//! * reports a [`Failure::Panicked`] to the application: its run stage wakes
//!   up and stops everything in order, as for Ctrl+C, and the program exits
//!   with [`INTERNAL_FAILURE`](crate::exit_code::INTERNAL_FAILURE).
//!
//! Code that expects a panic and deals with it itself (the lifecycle running
//! a service's `start` or `stop`) runs it inside [`catch`]: the hook still
//! logs the panic, but does not report it, because that caller turns it into
//! a start or stop failure of its own.

use std::any::Any;
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::thread;

use log::error;

use crate::failure::{Failure, FailureReporter};

thread_local! {
    /// How many [`catch`] calls are running on this thread.
    static CATCHING: Cell<u32> = const { Cell::new(0) };
}

/// Replaces the default panic hook. With `failures`, each panic that no
/// [`catch`] handles is also reported there; worker processes pass `None`,
/// because they tell their parent themselves (see [`crate::worker`]).
pub fn install_hook(failures: Option<FailureReporter>) {
    panic::set_hook(Box::new(move |info| {
        let thread = thread::current().name().unwrap_or("unnamed").to_owned();
        let place = info
            .location()
            .map_or_else(String::new, |place| format!(" at {place}"));
        error!(
            "thread '{thread}' panicked{place}: {}",
            message(info.payload())
        );
        if CATCHING.get() == 0 {
            if let Some(failures) = &failures {
                failures.report(Failure::Panicked { thread });
            }
        }
    }));
}

/// A panic that [`catch`] stopped, with its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panicked {
    /// The panic's payload if it was a string, else a placeholder.
    pub message: String,
}

impl std::fmt::Display for Panicked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "panicked: {}", self.message)
    }
}

impl std::error::Error for Panicked {}

/// Runs `work`, turning a panic inside it into `Err(Panicked)`.
///
/// The caller promises to handle the failure, so the hook does not report it
/// as a failure. `AssertUnwindSafe` is sound here for the same reason the
/// crate's `lock` helper is: the state `work` can leave behind is either
/// thrown away with the failed part or consistent after every statement.
pub fn catch<T>(work: impl FnOnce() -> T) -> Result<T, Panicked> {
    CATCHING.set(CATCHING.get() + 1);
    let result = panic::catch_unwind(AssertUnwindSafe(work));
    CATCHING.set(CATCHING.get() - 1);
    result.map_err(|payload| Panicked {
        message: message(payload.as_ref()),
    })
}

/// The text a panic was raised with (`panic!("...")` gives a `&str` or a
/// `String`; anything else has no message we can show).
pub fn message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catch_returns_the_value_or_the_panic_message() {
        assert_eq!(catch(|| 7), Ok(7));
        let number = 3;
        let caught = catch(|| -> u32 { panic!("broke at {number}") });
        assert_eq!(
            caught,
            Err(Panicked {
                message: "broke at 3".to_owned()
            })
        );
        assert_eq!(
            catch(|| -> u32 { panic!("plain") }).map_err(|p| p.message),
            Err("plain".to_owned())
        );
    }

    #[test]
    fn catch_nests_and_unwinds_its_count() {
        let inner = catch(|| catch(|| -> () { panic!("inner") }).is_err());
        assert_eq!(inner, Ok(true));
        assert_eq!(CATCHING.get(), 0);
    }
}
