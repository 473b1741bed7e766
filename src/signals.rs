//! The one place that hears Ctrl+C, SIGTERM and SIGHUP, and decides what they mean.
//!
//! Python injects `KeyboardInterrupt` into whatever code happens to be running.
//! Rust does nothing of the kind: a Unix signal handler may only run a few
//! async-signal-safe instructions, so the `ctrlc` crate's handler just writes a
//! byte to a pipe, and a dedicated thread named `ctrl-c` wakes up and calls our
//! [`Signals::on_signal`]. That is ordinary code on an ordinary thread: it can
//! take a lock, log, and decide. Nothing is ever interrupted mid-instruction;
//! the rest of the program finds out only when it *asks* (through
//! [`Signals::interrupt`] or [`Shield::release`]).
//!
//! What a signal means depends on where the program is:
//!
//! * inside a [`Shield`] (the start and stop stages): it is counted and logged
//!   as delayed, and becomes the interrupt when the outermost shield ends;
//! * outside any shield: it *is* the interrupt, and wakes whoever waits for it;
//! * in a worker process ([`OnSignal::Ignore`]): it is logged and ignored,
//!   because a worker stops only when its parent tells it to.

use std::sync::{Mutex, MutexGuard, OnceLock};

use crossbeam::channel::{self, Receiver, Sender};
use log::{debug, info, warn};

/// A type with no values. A channel of `Never` can carry no message, so the
/// only thing that can ever happen to it is that it disconnects, which wakes
/// every receiver at once: a one-shot broadcast, made of a plain channel.
#[derive(Debug)]
pub enum Never {}

/// What a signal does in this process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnSignal {
    /// The main process: a signal is the request to stop (maybe delayed).
    Interrupt,
    /// A worker process: log it and carry on; the parent decides when we stop.
    Ignore,
}

/// Returned by [`Shield::release`] when the program has been interrupted:
/// the code after a shielded block must not carry on as if nothing happened.
#[derive(Debug, PartialEq, Eq)]
pub struct Interrupted {
    /// How many signals arrived while the shield was up (0 when the interrupt
    /// came before the shield was raised).
    pub delayed_signals: u32,
}

/// Installing the handler failed: the program cannot promise a clean stop.
#[derive(Debug)]
pub struct InstallError(ctrlc::Error);

impl std::fmt::Display for InstallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot install the signal handler: {}", self.0)
    }
}

impl std::error::Error for InstallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// The signal hub. There is one per process, made by [`install`].
#[derive(Debug)]
pub struct Signals {
    state: Mutex<State>,
    /// Disconnects (see [`Never`]) when the program is interrupted.
    interrupt: Receiver<Never>,
}

#[derive(Debug)]
struct State {
    on_signal: OnSignal,
    /// How many shields are up right now (shields nest).
    shields: u32,
    /// Signals that arrived while a shield was up and are not delivered yet.
    delayed: u32,
    /// Signals received while the current outermost shield was up.
    during_shield: u32,
    /// Dropping this sender is what "interrupt" means; `None` once it happened.
    trigger: Option<Sender<Never>>,
    /// Set when the program has finished: from then on signals are not logged,
    /// so nothing is printed after `main: end`.
    finished: bool,
    /// Signals received in all, numbered in the log: two Ctrl+C in the same
    /// millisecond are two lines that say so, not one line printed twice.
    received: u32,
}

static SIGNALS: OnceLock<Signals> = OnceLock::new();

/// Installs the process's only signal handler and returns the hub.
///
/// Call it first thing in `main`: until it runs, Ctrl+C kills the process the
/// old-fashioned way, with no chance to clean up. `ctrlc` allows one handler
/// per process, which suits us: every signal goes to one place.
pub fn install() -> Result<&'static Signals, InstallError> {
    let signals = SIGNALS.get_or_init(Signals::new);
    ctrlc::set_handler(move || signals.on_signal()).map_err(InstallError)?;
    Ok(signals)
}

impl Signals {
    pub(crate) fn new() -> Signals {
        let (trigger, interrupt) = channel::bounded(0);
        Signals {
            state: Mutex::new(State {
                on_signal: OnSignal::Interrupt,
                shields: 0,
                delayed: 0,
                during_shield: 0,
                trigger: Some(trigger),
                finished: false,
                received: 0,
            }),
            interrupt,
        }
    }

    /// Chooses what signals mean in this process (workers call this with
    /// [`OnSignal::Ignore`] right after parsing their command line).
    pub fn set_policy(&self, on_signal: OnSignal) {
        self.lock().on_signal = on_signal;
    }

    /// A channel that becomes ready (disconnected) when the program is
    /// interrupted. Use it in `crossbeam::select!` to wait for the interrupt
    /// together with other events, without spending any CPU while waiting.
    pub fn interrupt(&self) -> &Receiver<Never> {
        &self.interrupt
    }

    /// Has the program been interrupted (delayed signals do not count until
    /// their shield ends)?
    pub fn is_interrupted(&self) -> bool {
        self.lock().trigger.is_none()
    }

    /// Raises a shield: until it is released, signals are only recorded.
    pub fn shield(&self) -> Shield<'_> {
        let mut state = self.lock();
        if state.shields == 0 {
            state.during_shield = 0;
        }
        state.shields += 1;
        Shield {
            signals: self,
            released: false,
        }
    }

    /// Stops logging signals: after this nothing the hub does is visible.
    /// Called once the program has finished, just before `main: end`.
    pub fn finish(&self) {
        self.lock().finished = true;
    }

    /// Runs on the `ctrl-c` thread, once per signal received.
    fn on_signal(&self) {
        let mut state = self.lock();
        if state.finished {
            return;
        }
        state.received += 1;
        let number = state.received;
        if state.on_signal == OnSignal::Ignore {
            // The terminal sends Ctrl+C to every process in its foreground
            // group, workers included. If a worker obeyed it, it could die in
            // the middle of a job while its parent still counts on it.
            info!("signal received (#{number}); ignoring it: a worker stops when its parent tells it to");
            return;
        }
        if state.shields > 0 {
            state.delayed += 1;
            state.during_shield += 1;
            warn!(
                "signal received during a shielded stage (#{}); delaying the interrupt until it ends",
                state.during_shield
            );
        } else if state.trigger.is_some() {
            info!("signal received; interrupting");
            state.interrupt();
        } else {
            info!("signal received (#{number}); already interrupted, the stop is under way");
        }
    }

    /// Ends one shield. Returns `Err` only from the outermost one, and only
    /// if the program has been interrupted by then.
    fn leave_shield(&self) -> Result<(), Interrupted> {
        let mut state = self.lock();
        state.shields -= 1;
        if state.shields > 0 {
            return Ok(());
        }
        if state.delayed > 0 && state.trigger.is_some() {
            debug!(
                "shielded stage over; delivering the interrupt delayed by {} signal(s)",
                state.delayed
            );
            state.interrupt();
        }
        state.delayed = 0;
        match state.trigger {
            Some(_) => Ok(()),
            None => Err(Interrupted {
                delayed_signals: state.during_shield,
            }),
        }
    }

    /// The `ctrl-c` thread must never die of a poisoned lock (see
    /// [`crate::lock`]): it is what turns Ctrl+C into a stop.
    fn lock(&self) -> MutexGuard<'_, State> {
        crate::lock(&self.state)
    }
}

impl State {
    fn interrupt(&mut self) {
        // Dropping the only sender disconnects the channel: every `recv` on
        // the interrupt, now and later, returns at once.
        self.trigger = None;
    }
}

/// The delayed-interrupt guard: while it lives, signals are recorded instead
/// of obeyed. Start and stop run under a shield because a half-done start or a
/// half-done stop leaves things worse than either finished one.
///
/// Release it with [`Shield::release`] to learn whether the program was
/// interrupted meanwhile. Dropping it without releasing still delivers a
/// delayed interrupt (so an early return cannot lose a Ctrl+C), but the code
/// that dropped it does not find out.
#[must_use = "a shield protects only while it lives; bind it and call `release()`"]
#[derive(Debug)]
pub struct Shield<'a> {
    signals: &'a Signals,
    released: bool,
}

impl Shield<'_> {
    /// Lowers the shield. `Err(Interrupted)` means the program has been
    /// interrupted, now or earlier, and should go on to stop. Nested shields
    /// always return `Ok`: only the outermost delivers, so it happens once.
    pub fn release(mut self) -> Result<(), Interrupted> {
        self.released = true;
        self.signals.leave_shield()
    }
}

impl Drop for Shield<'_> {
    fn drop(&mut self) {
        if !self.released {
            let _still_delivered = self.signals.leave_shield();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbeam::channel::TryRecvError;

    fn interrupt_fired(signals: &Signals) -> bool {
        matches!(
            signals.interrupt().try_recv(),
            Err(TryRecvError::Disconnected)
        )
    }

    #[test]
    fn no_signal_means_nothing_pending() {
        let signals = Signals::new();
        let shield = signals.shield();
        assert_eq!(shield.release(), Ok(()));
        assert!(!signals.is_interrupted());
        assert!(!interrupt_fired(&signals));
    }

    #[test]
    fn signal_outside_a_shield_is_the_interrupt() {
        let signals = Signals::new();
        signals.on_signal();
        assert!(signals.is_interrupted());
        assert!(interrupt_fired(&signals));
    }

    #[test]
    fn signal_inside_a_shield_is_pending_after_release_not_before() {
        let signals = Signals::new();
        let shield = signals.shield();
        signals.on_signal();
        signals.on_signal();
        assert!(!signals.is_interrupted(), "delivered while still shielded");
        assert!(!interrupt_fired(&signals));
        assert_eq!(shield.release(), Err(Interrupted { delayed_signals: 2 }));
        assert!(signals.is_interrupted());
        assert!(interrupt_fired(&signals));
    }

    #[test]
    fn nested_shields_deliver_once_at_the_outermost_release() {
        let signals = Signals::new();
        let outer = signals.shield();
        let inner = signals.shield();
        signals.on_signal();
        assert_eq!(inner.release(), Ok(()));
        assert!(!signals.is_interrupted(), "inner release delivered");
        assert_eq!(outer.release(), Err(Interrupted { delayed_signals: 1 }));
        assert!(signals.is_interrupted());
        // A later shield reports the interrupt that already happened, but
        // counts no new delayed signal.
        let later = signals.shield();
        assert_eq!(later.release(), Err(Interrupted { delayed_signals: 0 }));
    }

    #[test]
    fn dropping_a_shield_still_delivers() {
        let signals = Signals::new();
        {
            let _shield = signals.shield();
            signals.on_signal();
        }
        assert!(signals.is_interrupted());
    }

    #[test]
    fn a_worker_ignores_signals() {
        let signals = Signals::new();
        signals.set_policy(OnSignal::Ignore);
        signals.on_signal();
        let shield = signals.shield();
        signals.on_signal();
        assert_eq!(shield.release(), Ok(()));
        assert!(!signals.is_interrupted());
    }

    #[test]
    fn after_finish_signals_change_nothing() {
        let signals = Signals::new();
        signals.finish();
        signals.on_signal();
        assert!(!signals.is_interrupted());
    }
}
