//! The one place that hears Ctrl+C, SIGTERM and SIGHUP, and the
//! delayed-interrupt guard, [`Shield`], that keeps them from cutting start
//! and stop short.
//!
//! # How a signal reaches us
//!
//! Python injects `KeyboardInterrupt` into whatever code happens to be
//! running. Rust does nothing of the kind: a Unix signal handler may only
//! run a few *async-signal-safe* instructions (no lock, no allocation, no
//! log line), so the crates we use keep their handlers tiny. `ctrlc` (Ctrl+C
//! on every platform) and `signal-hook` (SIGTERM and SIGHUP on Unix, which
//! `ctrlc` cannot tell apart) each write a byte to a pipe in the handler,
//! and a thread of theirs (`ctrl-c`, `signals`) wakes up in ordinary code
//! and hands the signal on ([`listen`]): in the main process, to the hub,
//! [`Signals::on_signal`]. No line of the program is ever interrupted: the
//! rest of it finds out only when it *looks*.
//!
//! # What a signal means
//!
//! The hub numbers each signal, logs what it does now, and forwards it the
//! same way every time: it cancels [`Signals::interrupt`]. What differs from
//! stage to stage is who looks:
//!
//! * the **run** stage waits for the interrupt: the stop begins at once;
//! * **start** runs under a [`Shield`] and simply does not look until it is
//!   over: the guard says so when it is released, and the program goes
//!   straight to the stop;
//! * the **stop** runs under a shield too, and to its end: nothing in it
//!   looks at the interrupt;
//! * the **third** signal, wherever it comes, forces the exit (see
//!   [`crate::ending::force_exit`]): two Ctrl+C stay harmless.
//!
//! A worker process hands them to a handler of its own, which logs and
//! ignores them (see [`crate::worker`]). Closing a terminal is one event,
//! however many SIGHUPs it produces (the kernel's and the shell's): only the
//! first counts. And a signal the parent left *ignored* stays ignored, as
//! the shell convention has it: `nohup` ignores SIGHUP, a script's `cmd &`
//! ignores SIGINT.
//!
//! ```
//! use graceful::signals::{Signals, Stage};
//!
//! // A hub of its own (a program gets the process-wide one from `install`).
//! let signals = Signals::for_tests();
//! let shield = signals.shield(Stage::Starting);
//! // ... a Ctrl+C arriving here is only recorded ...
//! match shield.release() {
//!     Ok(()) => println!("no signal came: carry on"),
//!     Err(interrupted) => println!("{} signal(s) came: stop now", interrupted.delayed_signals),
//! }
//! ```

use std::io;
use std::sync::{Mutex, OnceLock};

use log::{debug, info, warn};

use crate::cancel::{self, Cancelled, Trigger};
use crate::ending;

/// The signal that forces the exit, counting every signal received.
pub const FORCED_BY: u32 = 3;

/// A signal, by the name a person knows it by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// Ctrl+C at a terminal (SIGINT); on Windows, the console's Ctrl+C or
    /// Ctrl+Break event.
    CtrlC,
    /// SIGTERM: `kill PID`, systemd, docker and Kubernetes asking for a stop.
    Terminate,
    /// SIGHUP: the terminal went away.
    Hangup,
    /// SIGCONT: running again after Ctrl+Z or `kill -STOP`. Not a request
    /// to stop; only the main process listens for it.
    Continue,
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Signal::CtrlC if cfg!(windows) => "Ctrl+C or Ctrl+Break (console event)",
            Signal::CtrlC => "Ctrl+C (SIGINT)",
            Signal::Terminate => "SIGTERM",
            Signal::Hangup => "SIGHUP",
            Signal::Continue => "SIGCONT",
        })
    }
}

/// What the program is doing, as far as a signal's meaning goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Stage {
    /// Shielded: a signal waits until start is over.
    #[default]
    Starting,
    /// The run stage: a signal interrupts at once.
    Running,
    /// Shielded: the stop runs to its end.
    Stopping,
    /// After the stop: signals still count, but nothing is logged any more.
    Done,
}

/// Returned by [`Shield::release`] when the program has been interrupted:
/// the code after a shielded block must not carry on as if nothing happened.
#[derive(Debug, PartialEq, Eq)]
pub struct Interrupted {
    /// How many signals arrived while the shield was up.
    pub delayed_signals: u32,
}

/// The signal hub. There is one per process, made by [`install`].
#[derive(Debug)]
pub struct Signals {
    state: Mutex<State>,
    /// Cancelled by the first signal.
    interrupt: Cancelled,
    /// The signals this process hears: all but those its parent left ignored.
    heard: Vec<Signal>,
    /// What the third signal does: [`ending::force_exit`], but in tests.
    force_exit: fn(&str),
}

#[derive(Debug, Default)]
struct State {
    stage: Stage,
    /// Dropped by the first signal: that is what "interrupt" means.
    trigger: Option<Trigger>,
    /// Signals counted in all (each line is numbered), and since the
    /// current shield went up.
    received: u32,
    while_shielded: u32,
    /// Shields up now: a shield inside a shield changes nothing.
    shields: u32,
    hangup_seen: bool,
}

/// The termination signals there are: on Windows, only the console event.
#[cfg(unix)]
const ALL: [Signal; 3] = [Signal::CtrlC, Signal::Terminate, Signal::Hangup];
#[cfg(not(unix))]
const ALL: [Signal; 1] = [Signal::CtrlC];
static SIGNALS: OnceLock<Signals> = OnceLock::new();

/// Installs the process's signal handlers and returns the hub.
///
/// Until it runs, Ctrl+C kills the process the old-fashioned way, which is
/// harmless while nothing has started. `ctrlc` allows one handler per
/// process, which suits us: every signal goes to one place.
pub fn install() -> io::Result<&'static Signals> {
    let signals =
        SIGNALS.get_or_init(|| Signals::new(not_left_ignored(), |why| ending::force_exit(why)));
    let heard = [signals.heard.as_slice(), &[Signal::Continue]].concat();
    listen(&heard, |signal| signals.on_signal(signal))?;
    Ok(signals)
}

/// Hands each signal of `heard` that arrives to `deliver`, on a thread of
/// the crate that caught it: `ctrlc`'s (`ctrl-c`) for Ctrl+C, signal-hook's
/// (`signals`) for the others. The main process delivers to its hub; a
/// worker, to its own handler that logs and ignores (see [`crate::worker`]).
pub fn listen(
    heard: &[Signal],
    deliver: impl Fn(Signal) + Copy + Send + 'static,
) -> io::Result<()> {
    if heard.contains(&Signal::CtrlC) {
        ctrlc::set_handler(move || deliver(Signal::CtrlC)).map_err(io::Error::other)?;
    }
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGCONT, SIGHUP, SIGTERM};
        let numbers =
            [(SIGTERM, Signal::Terminate), (SIGHUP, Signal::Hangup), (SIGCONT, Signal::Continue)];
        let numbers: Vec<(i32, Signal)> =
            numbers.into_iter().filter(|(_, signal)| heard.contains(signal)).collect();
        let mut listener = signal_hook::iterator::Signals::new(numbers.iter().map(|(n, _)| *n))?;
        std::thread::Builder::new().name("signals".into()).spawn(move || {
            for number in listener.forever() {
                if let Some(&(_, signal)) = numbers.iter().find(|(n, _)| *n == number) {
                    deliver(signal);
                }
            }
        })?;
    }
    Ok(())
}

/// The termination signals this process's parent did not leave ignored.
/// Asking for a signal's action means setting one, so this sets the default
/// action, which is what a program normally starts with, and puts "ignored"
/// back where the parent had chosen it.
#[cfg(unix)]
fn not_left_ignored() -> Vec<Signal> {
    use nix::sys::signal::{signal, SigHandler, Signal::*};
    let numbers = [SIGINT, SIGTERM, SIGHUP];
    // SAFETY: SigDfl and SigIgn are not handlers; no code of ours runs.
    let ignored = |number| match unsafe { signal(number, SigHandler::SigDfl) } {
        Ok(SigHandler::SigIgn) => unsafe { signal(number, SigHandler::SigIgn) }.is_ok(),
        _ => false,
    };
    numbers.into_iter().zip(ALL).filter(|(number, _)| !ignored(*number)).map(|(_, s)| s).collect()
}

/// Windows has no signals to inherit as ignored: `ctrlc` hears every console
/// event.
#[cfg(not(unix))]
fn not_left_ignored() -> Vec<Signal> {
    ALL.to_vec()
}

impl Signals {
    fn new(heard: Vec<Signal>, force_exit: fn(&str)) -> Signals {
        let (trigger, interrupt) = cancel::pair();
        // From here until start is over, the program is starting.
        let state = State { trigger: Some(trigger), ..State::default() };
        Signals { state: Mutex::new(state), interrupt, heard, force_exit }
    }

    /// A hub that is not connected to the process's signals, for tests and
    /// examples: feed it with [`Signals::on_signal`]. Its third signal only
    /// logs instead of exiting.
    pub fn for_tests() -> &'static Signals {
        let hub = Signals::new(ALL.to_vec(), |why| warn!("{why} (a test hub)"));
        Box::leak(Box::new(hub))
    }

    /// Cancelled by the first signal. Use it in `crossbeam::select!` to wait
    /// for the interrupt together with other events, using no CPU meanwhile.
    pub fn interrupt(&self) -> &Cancelled {
        &self.interrupt
    }

    /// Says in the log which signals the parent left ignored: they stay
    /// ignored, as the shell convention has it.
    pub fn say_which_are_ignored(&self) {
        for signal in ALL.iter().filter(|signal| !self.heard.contains(signal)) {
            warn!(
                "{signal} was ignored when the program started (`nohup` does that to SIGHUP, \
                 a script's `cmd &` to SIGINT), and stays ignored: it will not stop the program"
            );
        }
    }

    /// The signals that stop this program, as the run stage names them.
    pub fn heard(&self) -> String {
        let names: Vec<String> = self.heard.iter().map(Signal::to_string).collect();
        names.join(", ")
    }

    /// What the program is doing now, as far as a signal's meaning goes.
    pub fn stage(&self) -> Stage {
        crate::lock(&self.state).stage
    }

    /// Raises a shield for `stage` (start or stop): until it is released,
    /// signals are recorded, and nobody acts on them.
    pub fn shield(&self, stage: Stage) -> Shield<'_> {
        let mut state = crate::lock(&self.state);
        if state.shields == 0 {
            state.stage = stage;
        }
        state.shields += 1;
        Shield { signals: self, released: false }
    }

    /// Handles one signal, on the thread of the crate that caught it.
    pub fn on_signal(&self, signal: Signal) {
        if signal == Signal::Continue {
            // Not a request to stop. Said, because a stopped process's
            // deadlines run on (a start of many workers can miss its).
            if self.stage() != Stage::Done {
                info!(
                    "SIGCONT: running again if the program was stopped (Ctrl+Z, kill -STOP); \
                     the time it spent stopped counts against every deadline"
                );
            }
            return;
        }
        // The lock is held for counting only: the line is made and logged
        // after it is released.
        let (number, stage, trigger) = {
            let mut state = crate::lock(&self.state);
            // Closing a terminal sends SIGHUP twice (the kernel's, and the
            // shell's to its jobs): one event, not a person asking twice.
            if signal == Signal::Hangup && std::mem::replace(&mut state.hangup_seen, true) {
                return;
            }
            state.received += 1;
            state.while_shielded += u32::from(state.stage != Stage::Running);
            (state.received, state.stage, state.trigger.take())
        };
        if signal == Signal::CtrlC {
            ending::remember_ctrl_c();
        }
        if number >= FORCED_BY {
            return (self.force_exit)(&format!("signal #{number} ({signal}) forced the exit"));
        }
        let more = match FORCED_BY - number {
            1 => "one more forces the exit".to_owned(),
            n => format!("{n} more force the exit"),
        };
        match (stage, trigger.is_some()) {
            (Stage::Done, _) => {}
            (Stage::Running, true) => {
                info!("signal #{number}: {signal}; interrupting: the graceful stop begins")
            }
            (Stage::Running, false) => {
                info!("signal #{number}: {signal}; already interrupted; {more}")
            }
            (Stage::Starting, true) => {
                warn!("signal #{number}: {signal} during start; delayed until start is over")
            }
            (Stage::Starting, false) => {
                warn!("signal #{number}: {signal} during start, which runs to its end before the stop; {more}")
            }
            (Stage::Stopping, _) => {
                warn!("signal #{number}: {signal} during the stop, which runs to its end; {more}")
            }
        }
        // Forwarded only now, so that the log shows the cause before its
        // effects: dropping the trigger wakes whoever waits for it.
        drop(trigger);
    }

    /// Ends the shield of the current stage; see [`Shield::release`].
    fn lower_shield(&self) -> Result<(), Interrupted> {
        let (stage, delayed_signals) = {
            let mut state = crate::lock(&self.state);
            state.shields = state.shields.saturating_sub(1);
            if state.shields > 0 {
                // Still inside the outer shield: it tells, when it ends.
                return Ok(());
            }
            let shielded = state.stage;
            state.stage = if shielded == Stage::Starting { Stage::Running } else { Stage::Done };
            (shielded, std::mem::take(&mut state.while_shielded))
        };
        if !cancel::is_cancelled(&self.interrupt) {
            return Ok(());
        }
        match (stage, delayed_signals) {
            (_, 0) => {}
            (Stage::Starting, n) => {
                debug!("start is over; acting on the interrupt delayed by {n} signal(s)")
            }
            (_, n) => {
                warn!("stop: {n} signal(s) arrived during stop; the stop still ran to the end")
            }
        }
        Err(Interrupted { delayed_signals })
    }
}

/// The delayed-interrupt guard, the counterpart of the Python demo's
/// `DelayedKeyboardInterrupt`: while it lives, signals are recorded and
/// nobody acts on them. Start runs under a shield because a half-done start
/// leaves things worse than a finished one, and is hard to undo; the stop,
/// because a half-done stop leaves things running.
#[must_use = "a shield protects only while it lives; bind it and call `release()`"]
#[derive(Debug)]
pub struct Shield<'a> {
    signals: &'a Signals,
    released: bool,
}

impl Shield<'_> {
    /// Lowers the shield, and says in the log what it held back.
    /// `Err(Interrupted)` means the program has been interrupted, during
    /// the shield or before it, and should go on to stop. A shield raised
    /// inside another one delivers nothing early: it returns `Ok`, and the
    /// outer one tells. (Dropping a shield lowers it too, without telling.)
    pub fn release(mut self) -> Result<(), Interrupted> {
        self.released = true;
        self.signals.lower_shield()
    }
}

impl Drop for Shield<'_> {
    fn drop(&mut self) {
        if !self.released {
            let _ = self.signals.lower_shield();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    thread_local! {
        /// What a test hub's third signal said, on this test's thread.
        static FORCED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    }

    fn hub() -> Signals {
        Signals::new(Vec::new(), |why| FORCED.with_borrow_mut(|forced| forced.push(why.into())))
    }

    fn forced() -> Vec<String> {
        FORCED.with_borrow(Clone::clone)
    }

    fn interrupted(signals: &Signals) -> bool {
        cancel::is_cancelled(signals.interrupt())
    }

    #[test]
    fn no_signal_means_nothing_pending() {
        let signals = hub();
        let shield = signals.shield(Stage::Starting);
        assert_eq!(shield.release(), Ok(()));
        assert!(!interrupted(&signals));
    }

    #[test]
    fn a_signal_outside_a_shield_is_the_interrupt() {
        let signals = hub();
        signals.on_signal(Signal::Terminate);
        assert!(interrupted(&signals));
    }

    #[test]
    fn a_signal_during_start_is_acted_on_when_the_shield_is_released() {
        let signals = hub();
        let shield = signals.shield(Stage::Starting);
        signals.on_signal(Signal::CtrlC);
        signals.on_signal(Signal::CtrlC);
        assert_eq!(shield.release(), Err(Interrupted { delayed_signals: 2 }));
        // A later shield still reports the interrupt, with no new signal.
        let stop = signals.shield(Stage::Stopping);
        assert_eq!(stop.release(), Err(Interrupted { delayed_signals: 0 }));
    }

    #[test]
    fn a_shield_inside_a_shield_delivers_nothing_early() {
        let signals = hub();
        let outer = signals.shield(Stage::Starting);
        let inner = signals.shield(Stage::Starting);
        signals.on_signal(Signal::CtrlC);
        assert_eq!(inner.release(), Ok(()), "the inner shield told");
        assert_eq!(signals.stage(), Stage::Starting, "the inner shield ended the start");
        signals.on_signal(Signal::CtrlC);
        assert_eq!(outer.release(), Err(Interrupted { delayed_signals: 2 }));
    }

    #[test]
    fn the_third_signal_forces_the_exit_and_two_do_not() {
        let signals = hub();
        signals.on_signal(Signal::CtrlC);
        let shield = signals.shield(Stage::Stopping);
        signals.on_signal(Signal::CtrlC);
        assert!(forced().is_empty(), "two signals forced the exit");
        signals.on_signal(Signal::Terminate);
        assert_eq!(forced(), ["signal #3 (SIGTERM) forced the exit"]);
        drop(shield);
    }

    #[test]
    fn the_hatch_is_open_during_start_and_after_the_stop_too() {
        let signals = hub();
        let shield = signals.shield(Stage::Starting);
        for _ in 0..3 {
            signals.on_signal(Signal::CtrlC);
        }
        assert_eq!(forced().len(), 1);
        drop(shield);
        let done = hub();
        drop(done.shield(Stage::Stopping));
        for _ in 0..3 {
            done.on_signal(Signal::CtrlC);
        }
        assert_eq!(forced().len(), 2, "after the stop, the third still counts");
    }

    #[test]
    fn closing_a_terminal_counts_once_however_many_hangups_it_sends() {
        let signals = hub();
        signals.on_signal(Signal::CtrlC);
        for _ in 0..5 {
            signals.on_signal(Signal::Hangup);
        }
        assert!(forced().is_empty(), "one Ctrl+C and a closed terminal forced the exit");
        signals.on_signal(Signal::CtrlC);
        assert_eq!(forced().len(), 1);
    }
}
