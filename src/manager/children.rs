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

use crate::{deadline, lock};

/// A worker process, shared between its collector (which reaps it) and the
/// list.
pub type SharedChild = Arc<Mutex<Child>>;

/// Every worker process a manager started, in id order.
#[derive(Debug, Default)]
pub(super) struct ChildList(Mutex<Vec<SharedChild>>);

impl ChildList {
    /// A new list, registered with every exit of the program.
    pub(super) fn registered() -> Arc<ChildList> {
        let list = Arc::new(ChildList::default());
        deadline::leave_no_child_behind(list.clone());
        list
    }

    /// Puts `child` on the list, and returns the handle its owner keeps.
    pub(super) fn adopt(&self, child: Child) -> SharedChild {
        let shared = Arc::new(Mutex::new(child));
        lock(&self.0).push(shared.clone());
        shared
    }

    /// The workers so far.
    pub(super) fn all(&self) -> Vec<SharedChild> {
        lock(&self.0).clone()
    }

    /// Runs `action` on each child; counts the `true`s. Waits for no lock:
    /// a child whose lock is held is being reaped by its owner right now.
    fn each(&self, mut action: impl FnMut(&mut Child) -> bool) -> usize {
        let Ok(children) = self.0.try_lock() else { return 0 };
        let unlocked = children.iter().filter_map(|child| child.try_lock().ok());
        unlocked.map(|mut child| action(&mut child)).filter(|done| *done).count()
    }
}

impl deadline::Children for ChildList {
    fn alive(&self) -> usize {
        self.each(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// SIGKILL on Unix: a stopped process is ended too.
    fn kill_and_reap(&self) {
        self.each(|child| {
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
            }
            child.wait().is_ok()
        });
    }
}
