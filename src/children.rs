//! Every child process the program starts, in one list, so that every way
//! out of the program can end and reap the ones still alive.
//!
//! The graceful stop reaps each worker in order (see [`crate::manager`]).
//! But some exits do not wait for the graceful stop: the stop deadline, the
//! escape hatch of a third Ctrl+C. Exiting with a worker still running would
//! leave it behind, and a worker that is stopped (`kill -STOP`) or stuck in
//! a long call never notices that its parent is gone. So before any such
//! exit, [`kill_and_reap_all`] ends and reaps whatever is left.
//!
//! A child is killed only through its `Child` handle, under its lock: a
//! handle that has been waited for knows it, so we can never signal a pid
//! the system has already handed to another process.

use std::process::Child;
use std::sync::{Arc, Mutex, TryLockError, Weak};

use crate::lock;

/// A child process shared between its owner and this list.
pub type SharedChild = Arc<Mutex<Child>>;

static CHILDREN: Mutex<Vec<Weak<Mutex<Child>>>> = Mutex::new(Vec::new());

/// Puts `child` on the list and returns the handle its owner keeps.
pub fn adopt(child: Child) -> SharedChild {
    let shared = Arc::new(Mutex::new(child));
    let mut children = lock(&CHILDREN);
    children.retain(|child| child.strong_count() > 0);
    children.push(Arc::downgrade(&shared));
    shared
}

/// How many children on the list have not exited yet.
pub fn alive() -> usize {
    each_unlocked_child(|child| matches!(child.try_wait(), Ok(None)))
}

/// Kills every child still alive (SIGKILL on Unix: a stopped process is
/// ended too) and waits for each, so none is left as a process or a zombie.
/// Returns how many it killed.
///
/// A child whose lock is held is being reaped by its owner right now (its
/// collector saw its output end, so it is exiting by itself); it is left to
/// that owner rather than waited for here.
pub fn kill_and_reap_all() -> usize {
    each_unlocked_child(|child| {
        if matches!(child.try_wait(), Ok(None)) {
            let _ = child.kill();
            let _ = child.wait();
            true
        } else {
            false
        }
    })
}

/// Runs `action` on each child whose lock is free; counts the `true`s.
fn each_unlocked_child(mut action: impl FnMut(&mut Child) -> bool) -> usize {
    let children: Vec<SharedChild> = lock(&CHILDREN).iter().filter_map(Weak::upgrade).collect();
    let mut count = 0;
    for child in children {
        let mut guard = match child.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => continue,
        };
        if action(&mut guard) {
            count += 1;
        }
    }
    count
}
