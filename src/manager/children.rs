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
use std::time::Instant;

use super::dispatch::worker_name;
use crate::deadline;

/// A worker process, shared between its collector (which reaps it) and the
/// list.
pub type SharedChild = Arc<Mutex<Child>>;

/// Every worker process a manager started, with its number.
pub(super) type ChildList = Mutex<Vec<(usize, SharedChild)>>;

/// A new, empty list, registered with every exit of the program.
pub(super) fn registered_list() -> Arc<ChildList> {
    let list = Arc::new(ChildList::default());
    deadline::leave_no_child_behind(list.clone());
    list
}

/// Runs `action` on each child; counts the `true`s. Waits for no lock: a
/// child whose lock is held is being reaped by its owner right now.
fn each(list: &ChildList, mut action: impl FnMut(usize, &mut Child) -> bool) -> usize {
    let Ok(children) = list.try_lock() else { return 0 };
    let unlocked = children.iter().filter_map(|(id, child)| Some((*id, child.try_lock().ok()?)));
    unlocked.map(|(id, mut child)| action(id, &mut child)).filter(|done| *done).count()
}

impl deadline::Children for ChildList {
    fn alive(&self) -> usize {
        each(self, |_, child| matches!(child.try_wait(), Ok(None)))
    }

    /// SIGKILL on Unix: a stopped process is ended too. All are killed
    /// before any is waited for, so they die together.
    fn kill_and_reap(&self, by: Instant) -> Vec<String> {
        each(self, |_, child| child.kill().is_ok());
        let mut dying = Vec::new();
        each(self, |id, child| {
            if !reaped_by(child, by) {
                dying.push(format!("{} (pid {})", worker_name(id), child.id()));
            }
            true
        });
        dying
    }
}

/// Waits until `child` has died, for no longer than `by`, and reaps it.
/// A process that cannot die at once (frozen, traced, in uninterruptible
/// sleep) is left to the kernel: our exit hands it to init, which reaps it
/// when it dies. Linux tells of a death on a descriptor (a pidfd), which
/// `poll` waits for with a timeout.
#[cfg(target_os = "linux")]
fn reaped_by(child: &mut Child, by: Instant) -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    // Asked first: the pid of a child already reaped may be another's now.
    if let Ok(Some(_)) = child.try_wait() {
        return true;
    }
    if let Some(pidfd) = pidfd_of(child) {
        let left = by.saturating_duration_since(Instant::now());
        let timeout = PollTimeout::try_from(left).unwrap_or(PollTimeout::ZERO);
        let _ = poll(&mut [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)], timeout);
    }
    matches!(child.try_wait(), Ok(Some(_)))
}

/// Elsewhere std offers no wait with a timeout: a killed child is waited
/// for until it dies, as it almost always does at once.
#[cfg(not(target_os = "linux"))]
fn reaped_by(child: &mut Child, _: Instant) -> bool {
    child.wait().is_ok()
}

/// A descriptor that becomes readable when `child` dies (Linux 5.3).
#[cfg(target_os = "linux")]
fn pidfd_of(child: &Child) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: pidfd_open takes a pid and flags; it returns a new descriptor,
    // or -1 and touches nothing.
    let fd = unsafe { nix::libc::syscall(nix::libc::SYS_pidfd_open, child.id(), 0) };
    // SAFETY: a descriptor just made, and ours alone.
    i32::try_from(fd)
        .ok()
        .filter(|fd| *fd >= 0)
        .map(|fd| unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}
