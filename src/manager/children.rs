//! The worker processes as one list, which every exit of the program ends
//! and reaps. (Hardening: skip it on a first reading.)
//!
//! The manager stops its workers in order; this list is for the exits that
//! do not wait for that: a forced exit (the stop deadline, a third Ctrl+C)
//! kills and reaps every worker still alive, and the graceful exit checks
//! that none is left. The manager registers it with
//! [`deadline::leave_no_child_behind`] when it is made.

use std::process::Child;
use std::sync::{Arc, Mutex};

use crate::deadline;

/// A worker process, shared between its collector (which reaps it) and the
/// list.
pub type SharedChild = Arc<Mutex<Child>>;

/// Every worker process a manager started, in id order.
pub(super) type ChildList = Mutex<Vec<SharedChild>>;

/// A new, empty list, registered with every exit of the program.
pub(super) fn registered_list() -> Arc<ChildList> {
    let list = Arc::new(ChildList::default());
    deadline::leave_no_child_behind(list.clone());
    list
}

/// Runs `action` on each child; counts the `true`s. Waits for no lock: a
/// child whose lock is held is being reaped by its owner right now.
fn each(list: &ChildList, mut action: impl FnMut(&mut Child) -> bool) -> usize {
    let Ok(children) = list.try_lock() else { return 0 };
    let unlocked = children.iter().filter_map(|child| child.try_lock().ok());
    unlocked.map(|mut child| action(&mut child)).filter(|done| *done).count()
}

impl deadline::Children for ChildList {
    fn alive(&self) -> usize {
        each(self, |child| matches!(child.try_wait(), Ok(None)))
    }

    /// SIGKILL on Unix: a stopped process is ended too.
    fn kill_and_reap(&self) {
        each(self, |child| {
            let _ = child.kill();
            child.wait().is_ok()
        });
    }
}
