//! Cancellation: one trigger that wakes every waiter at once.
//!
//! The whole program uses one idea to say "stop waiting": a channel that can
//! carry no message. Its receivers can never get a value, so the only thing
//! that can happen to them is that the channel *disconnects*, when its
//! sender, the [`Trigger`], is dropped. A disconnected channel is ready for
//! every receiver, now and forever after, so one drop is a broadcast:
//!
//! * it wakes a thread blocked in `recv` or in a `crossbeam::select!` arm,
//!   without polling and without spending CPU while nothing happens;
//! * it cannot be missed: a receiver that looks only later still sees it;
//! * it needs no lock and no flag next to the channel.
//!
//! The program's interrupt is one such pair (see [`crate::signals`]), so are
//! the manager's "stop has begun" and service-1's "end your loops".
//!
//! ```
//! use std::time::Duration;
//! use crossbeam::select;
//! use graceful::cancel;
//!
//! let (trigger, cancelled) = cancel::pair();
//! let worker = std::thread::spawn(move || {
//!     let mut rounds = 0;
//!     loop {
//!         select! {
//!             // Ready only once the trigger is dropped; never busy-waits.
//!             recv(cancelled) -> _ => return rounds,
//!             default(Duration::from_millis(1)) => rounds += 1,
//!         }
//!     }
//! });
//! drop(trigger); // pulls it: every receiver wakes
//! assert!(worker.join().is_ok());
//! ```

use crossbeam::channel::{self, Receiver, Sender};

/// A type with no values: a channel of `Never` can carry no message, only
/// disconnect.
#[derive(Debug)]
pub enum Never {}

/// The sending side: dropping it cancels every receiver.
pub type Trigger = Sender<Never>;

/// The receiving side: ready (disconnected) once its [`Trigger`] is
/// dropped. Clone it for every thread that waits.
pub type Cancelled = Receiver<Never>;

/// A new trigger and the receiver it cancels.
#[must_use = "a trigger dropped at once has cancelled already"]
pub fn pair() -> (Trigger, Cancelled) {
    channel::bounded(0)
}

/// Has `cancelled` been cancelled? The program itself never needs to ask
/// (it waits in `select!`, or decides from state under a lock); its tests do.
#[cfg(test)]
pub(crate) fn is_cancelled(cancelled: &Cancelled) -> bool {
    matches!(cancelled.try_recv(), Err(channel::TryRecvError::Disconnected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_the_trigger_cancels_every_receiver_now_and_later() {
        let (trigger, cancelled) = pair();
        let other = cancelled.clone();
        assert!(!is_cancelled(&cancelled));
        drop(trigger);
        assert!(is_cancelled(&cancelled));
        assert!(is_cancelled(&other));
        assert!(is_cancelled(&cancelled.clone()));
    }
}
