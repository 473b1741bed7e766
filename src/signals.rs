//! The one place that hears Ctrl+C, SIGTERM and SIGHUP, and decides what
//! they mean.
//!
//! # How a signal reaches us
//!
//! Python injects `KeyboardInterrupt` into whatever code happens to be
//! running. Rust does nothing of the kind: a Unix signal handler may only
//! run a few *async-signal-safe* instructions (no lock, no allocation, no
//! log line), so the crates we use keep their handlers tiny. `ctrlc` (Ctrl+C
//! on every platform) and `signal-hook` (SIGTERM and SIGHUP on Unix, which
//! `ctrlc` cannot tell apart) each write a byte to a pipe in the handler, and
//! a thread of theirs wakes up in ordinary code. Both hand the signal, by
//! name, to one thread of ours called `signals`, which calls
//! [`Signals::on_signal`]: there it can take a lock, log, and decide.
//! Nothing is ever interrupted mid-instruction; the rest of the program
//! finds out only when it *asks* (through [`Signals::interrupt`] or
//! [`Shield::release`]).
//!
//! # What a signal means
//!
//! Each signal the process receives is numbered (`signal #2: ...`) and its
//! log line says what it does now:
//!
//! * outside any shield: it *is* the interrupt, and wakes whoever waits for
//!   it ([`Signals::interrupt`]);
//! * inside a [`Shield`] (start): it is recorded, and becomes the
//!   interrupt when the outermost shield ends;
//! * during the stop: it changes nothing, the stop runs to its end;
//! * the third one, wherever it comes, forces the exit: see
//!   [`crate::abandon`]. Two Ctrl+C stay harmless;
//! * in a worker process ([`OnSignal::Ignore`]) it is logged and ignored,
//!   because a worker stops only when its parent tells it to.
//!
//! ```
//! use graceful::signals::Signals;
//!
//! // A hub of its own (a program gets the process-wide one from `install`).
//! let signals = Signals::for_tests();
//! let shield = signals.shield("start");
//! // ... a Ctrl+C arriving here would only be recorded ...
//! match shield.release() {
//!     Ok(()) => println!("no signal came: carry on"),
//!     Err(interrupted) => println!("{} signal(s) came: stop now", interrupted.delayed_signals),
//! }
//! ```

use std::sync::{Mutex, MutexGuard, OnceLock};

use crossbeam::channel::{self, Sender};
use log::{debug, info, warn};

use crate::cancel::{self, Cancelled, Trigger};

/// The signal that forces the exit, counting every signal received.
pub const FORCED_BY: u32 = 3;

/// A signal, by the name a person knows it by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// Ctrl+C at a terminal (SIGINT); on Windows, any console event that
    /// `ctrlc` reports (Ctrl+C, Ctrl+Break).
    CtrlC,
    /// SIGTERM: `kill PID`, systemd, docker and Kubernetes asking for a stop.
    Terminate,
    /// SIGHUP: the terminal went away.
    Hangup,
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            #[cfg(unix)]
            Signal::CtrlC => "Ctrl+C (SIGINT)",
            #[cfg(not(unix))]
            Signal::CtrlC => "Ctrl+C or Ctrl+Break (console event)",
            Signal::Terminate => "SIGTERM",
            Signal::Hangup => "SIGHUP",
        })
    }
}

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

/// Installing the handlers failed: the program cannot promise a clean stop.
#[derive(Debug)]
pub struct InstallError(String);

impl std::fmt::Display for InstallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot install the signal handlers: {}", self.0)
    }
}

impl std::error::Error for InstallError {}

/// What to do with the signal that forces the exit (its description).
type Escape = Box<dyn Fn(&str) + Send + Sync>;

/// The signal hub. There is one per process, made by [`install`].
pub struct Signals {
    state: Mutex<State>,
    /// Cancelled when the program is interrupted.
    interrupt: Cancelled,
    escape: Escape,
}

impl std::fmt::Debug for Signals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signals").finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct State {
    on_signal: OnSignal,
    /// How many shields are up right now (shields nest).
    shields: u32,
    /// The name of the outermost shield's stage ("start").
    stage: &'static str,
    /// A signal came during the current shield and is not delivered yet.
    delayed: bool,
    /// Signals received while the current outermost shield was up.
    during_shield: u32,
    /// Pulling it is what "interrupt" means.
    trigger: Trigger,
    /// The first signal that interrupted (or will, when its shield ends).
    cause: Option<Signal>,
    /// A Ctrl+C has reached us (the exit status tells the caller).
    ctrl_c: bool,
    /// The stop has begun: from now on signals change nothing, but count.
    stopping: bool,
    /// Set when the program has finished: from then on signals are not
    /// logged, so nothing is printed after `main: end`; they still count.
    finished: bool,
    /// Signals received in all; numbers every line.
    received: u32,
}

static SIGNALS: OnceLock<Signals> = OnceLock::new();

/// Has a Ctrl+C reached this process's hub, up to now (`false` if no hub
/// was installed)? Read at the very last moment before the exit.
pub fn ctrl_c_received() -> bool {
    SIGNALS.get().is_some_and(Signals::got_ctrl_c)
}

/// Installs the process's signal handlers and returns the hub.
///
/// Call it first thing in `main`: until it runs, Ctrl+C kills the process the
/// old-fashioned way, with no chance to clean up. `ctrlc` allows one handler
/// per process, which suits us: every signal goes to one place.
pub fn install() -> Result<&'static Signals, InstallError> {
    let signals = SIGNALS.get_or_init(|| {
        Signals::new(Box::new(|why: &str| {
            crate::abandon::abandon(why);
        }))
    });
    let (arrived, arrivals) = channel::unbounded::<Signal>();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in arrivals {
                signals.on_signal(signal);
            }
        })
        .map_err(|cause| InstallError(format!("cannot start the signals thread: {cause}")))?;
    let ctrl_c = arrived.clone();
    ctrlc::set_handler(move || {
        let _ = ctrl_c.send(Signal::CtrlC);
    })
    .map_err(|cause| InstallError(cause.to_string()))?;
    #[cfg(unix)]
    listen_for_sigterm_and_sighup(arrived)?;
    Ok(signals)
}

/// SIGTERM and SIGHUP through `signal-hook`, whose thread tells us which one
/// came (ctrlc's `termination` feature would call one closure for all).
#[cfg(unix)]
fn listen_for_sigterm_and_sighup(arrived: Sender<Signal>) -> Result<(), InstallError> {
    use signal_hook::consts::{SIGHUP, SIGTERM};
    let mut listener = signal_hook::iterator::Signals::new([SIGTERM, SIGHUP])
        .map_err(|cause| InstallError(format!("SIGTERM/SIGHUP: {cause}")))?;
    std::thread::Builder::new()
        .name("signal-listener".into())
        .spawn(move || {
            for number in listener.forever() {
                let signal = if number == SIGTERM {
                    Signal::Terminate
                } else {
                    Signal::Hangup
                };
                let _ = arrived.send(signal);
            }
        })
        .map_err(|cause| InstallError(format!("cannot start the listener thread: {cause}")))?;
    Ok(())
}

impl Signals {
    fn new(escape: Escape) -> Signals {
        let (trigger, interrupt) = cancel::pair();
        Signals {
            state: Mutex::new(State {
                on_signal: OnSignal::Interrupt,
                shields: 0,
                stage: "",
                delayed: false,
                during_shield: 0,
                trigger,
                cause: None,
                ctrl_c: false,
                stopping: false,
                finished: false,
                received: 0,
            }),
            interrupt,
            escape,
        }
    }

    /// A hub that is not connected to the process's signals, for tests and
    /// examples: feed it with [`Signals::on_signal`]. Its escape hatch only
    /// logs instead of exiting.
    pub fn for_tests() -> &'static Signals {
        Box::leak(Box::new(Signals::new(Box::new(|why| {
            warn!("{why} (a test hub does not exit)")
        }))))
    }

    /// Chooses what signals mean in this process (workers call this with
    /// [`OnSignal::Ignore`] right after parsing their command line).
    pub fn set_policy(&self, on_signal: OnSignal) {
        self.lock().on_signal = on_signal;
    }

    /// Cancelled when the program is interrupted. Use it in
    /// `crossbeam::select!` to wait for the interrupt together with other
    /// events, without spending any CPU while waiting.
    pub fn interrupt(&self) -> &Cancelled {
        &self.interrupt
    }

    /// Has the program been interrupted (delayed signals do not count until
    /// their shield ends)?
    pub fn is_interrupted(&self) -> bool {
        self.lock().trigger.is_pulled()
    }

    /// The signal that interrupted the program, if one did.
    pub fn cause(&self) -> Option<Signal> {
        self.lock().cause
    }

    /// Has a Ctrl+C reached the program (whatever it did then)?
    pub fn got_ctrl_c(&self) -> bool {
        self.lock().ctrl_c
    }

    /// Raises a shield around the stage `stage` ("start"): until it is
    /// released, signals are only recorded.
    pub fn shield(&self, stage: &'static str) -> Shield<'_> {
        let mut state = self.lock();
        if state.shields == 0 {
            state.during_shield = 0;
            state.stage = stage;
        }
        state.shields += 1;
        Shield {
            signals: self,
            released: false,
        }
    }

    /// The stop has begun: a signal from now on runs no new stop, it only
    /// counts towards forcing the exit.
    pub fn begin_stop(&self) {
        self.lock().stopping = true;
    }

    /// Stops logging signals: after this nothing the hub does is visible,
    /// except that a third signal still forces the exit (the process may be
    /// waiting for a blocked stderr). Called once the program has finished,
    /// just before `main: end`.
    pub fn finish(&self) {
        self.lock().finished = true;
    }

    /// Handles one signal: runs on the `signals` thread, once per signal.
    pub fn on_signal(&self, signal: Signal) {
        let (number, said, finished) = {
            let mut state = self.lock();
            state.received += 1;
            (state.received, state.decide(signal), state.finished)
        };
        // After `main: end` nothing is logged, but the signal still counts:
        // a Ctrl+C tells the caller (see `exit_code`), and the third one must
        // still get the user out of the last wait, for the final lines to
        // reach a stderr nobody reads (a pipe into `less` left at a prompt).
        if finished && !matches!(said.kind, Loudness::Forced) {
            return;
        }
        // Logged outside the lock: a log call only queues its line, so it
        // never stands between a signal and its effect.
        let line = format!("signal #{number}: {signal}{}", said.text);
        match said.kind {
            Loudness::Info => info!("{line}"),
            Loudness::Interrupting => {
                // Logged first, so the log shows the cause before its effects.
                info!("{line}");
                self.lock().trigger.pull();
            }
            Loudness::Warn => warn!("{line}"),
            Loudness::Forced => {
                (self.escape)(&format!("signal #{number} ({signal}) forced the exit"))
            }
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
        if state.delayed && !state.trigger.is_pulled() {
            state.trigger.pull();
            debug!(
                "{} is over; delivering the interrupt delayed by {} signal(s)",
                state.stage, state.during_shield
            );
        }
        state.delayed = false;
        if state.trigger.is_pulled() {
            Err(Interrupted {
                delayed_signals: state.during_shield,
            })
        } else {
            Ok(())
        }
    }

    /// The `signals` thread must never die of a poisoned lock (see
    /// [`crate::lock`]): it is what turns Ctrl+C into a stop.
    fn lock(&self) -> MutexGuard<'_, State> {
        crate::lock(&self.state)
    }
}

/// What the log line about a signal says, and how loud.
struct Said {
    kind: Loudness,
    text: String,
}

#[derive(Clone, Copy)]
enum Loudness {
    Info,
    /// Logged, then the interrupt is delivered.
    Interrupting,
    Warn,
    /// Not a line of its own: the escape hatch logs its ERROR and exits.
    Forced,
}

impl State {
    /// Acts on the signal that was just counted; says what it did.
    fn decide(&mut self, signal: Signal) -> Said {
        use Loudness::*;
        let said = |kind, text: String| Said { kind, text };
        if self.on_signal == OnSignal::Ignore {
            // The terminal sends Ctrl+C to every process in its foreground
            // group, workers included. If a worker obeyed it, it could die in
            // the middle of a job while its parent still counts on it.
            return said(
                Info,
                "; ignored: a worker stops when its parent tells it to".into(),
            );
        }
        if signal == Signal::CtrlC {
            self.ctrl_c = true;
        }
        if self.shields > 0 {
            self.during_shield += 1;
        }
        if self.received >= FORCED_BY {
            return said(Forced, String::new());
        }
        let more = match FORCED_BY - self.received {
            1 => "one more forces the exit".to_owned(),
            n => format!("{n} more force the exit"),
        };
        if self.stopping {
            // Harmless now (the stop is under way), and it lets the stop's
            // shield report the signals that came during it.
            self.cause.get_or_insert(signal);
            self.trigger.pull();
            return said(
                Warn,
                format!(" during the stop, which runs to its end; {more}"),
            );
        }
        let stage = self.stage;
        if self.cause.is_none() {
            self.cause = Some(signal);
            if self.shields > 0 {
                self.delayed = true;
                return said(
                    Warn,
                    format!(" during {stage}; delayed until {stage} is over"),
                );
            }
            // Pulled by `on_signal` once this line is queued, so that the
            // log shows the cause before its effects.
            return said(
                Interrupting,
                "; interrupting: the graceful stop begins".into(),
            );
        }
        if self.shields > 0 {
            said(
                Warn,
                format!(" during {stage}, which runs to its end before the stop; {more}"),
            )
        } else {
            said(Info, format!("; already interrupted; {more}"))
        }
    }
}

/// The delayed-interrupt guard: while it lives, signals are recorded instead
/// of obeyed. Start runs under a shield because a half-done start leaves
/// things worse than a finished one, and is hard to undo.
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
    use std::sync::Arc;

    use super::*;

    /// A hub whose escape hatch records instead of exiting.
    fn hub() -> (Signals, Arc<Mutex<Vec<String>>>) {
        let forced = Arc::new(Mutex::new(Vec::new()));
        let record = forced.clone();
        let signals = Signals::new(Box::new(move |why: &str| {
            crate::lock(&record).push(why.to_owned());
        }));
        (signals, forced)
    }

    fn interrupt_fired(signals: &Signals) -> bool {
        cancel::is_cancelled(signals.interrupt())
    }

    #[test]
    fn no_signal_means_nothing_pending() {
        let (signals, _) = hub();
        let shield = signals.shield("start");
        assert_eq!(shield.release(), Ok(()));
        assert!(!signals.is_interrupted());
        assert!(!interrupt_fired(&signals));
    }

    #[test]
    fn signal_outside_a_shield_is_the_interrupt() {
        let (signals, _) = hub();
        signals.on_signal(Signal::Terminate);
        assert!(signals.is_interrupted());
        assert!(interrupt_fired(&signals));
        assert_eq!(signals.cause(), Some(Signal::Terminate));
        assert!(!signals.got_ctrl_c());
    }

    #[test]
    fn signal_inside_a_shield_is_pending_after_release_not_before() {
        let (signals, _) = hub();
        let shield = signals.shield("start");
        signals.on_signal(Signal::CtrlC);
        signals.on_signal(Signal::CtrlC);
        assert!(!signals.is_interrupted(), "delivered while still shielded");
        assert!(!interrupt_fired(&signals));
        assert_eq!(shield.release(), Err(Interrupted { delayed_signals: 2 }));
        assert!(signals.is_interrupted());
        assert!(signals.got_ctrl_c());
    }

    #[test]
    fn nested_shields_deliver_once_at_the_outermost_release() {
        let (signals, _) = hub();
        let outer = signals.shield("start");
        let inner = signals.shield("starting the manager");
        signals.on_signal(Signal::CtrlC);
        assert_eq!(inner.release(), Ok(()));
        assert!(!signals.is_interrupted(), "inner release delivered");
        assert_eq!(outer.release(), Err(Interrupted { delayed_signals: 1 }));
        assert!(signals.is_interrupted());
        // A later shield reports the interrupt that already happened, but
        // counts no new delayed signal.
        let later = signals.shield("stop");
        assert_eq!(later.release(), Err(Interrupted { delayed_signals: 0 }));
    }

    #[test]
    fn dropping_a_shield_still_delivers() {
        let (signals, _) = hub();
        {
            let _shield = signals.shield("start");
            signals.on_signal(Signal::Hangup);
        }
        assert!(signals.is_interrupted());
    }

    #[test]
    fn the_third_signal_forces_the_exit_and_two_do_not() {
        let (signals, forced) = hub();
        signals.on_signal(Signal::CtrlC);
        signals.begin_stop();
        let shield = signals.shield("stop");
        signals.on_signal(Signal::CtrlC);
        assert!(
            crate::lock(&forced).is_empty(),
            "two signals forced the exit"
        );
        signals.on_signal(Signal::Terminate);
        assert_eq!(
            *crate::lock(&forced),
            ["signal #3 (SIGTERM) forced the exit"]
        );
        let _ = shield.release();
    }

    #[test]
    fn the_hatch_is_open_during_start_too() {
        let (signals, forced) = hub();
        let shield = signals.shield("start");
        for _ in 0..3 {
            signals.on_signal(Signal::CtrlC);
        }
        assert_eq!(crate::lock(&forced).len(), 1);
        let _ = shield.release();
    }

    #[test]
    fn a_worker_ignores_signals_even_the_third() {
        let (signals, forced) = hub();
        signals.set_policy(OnSignal::Ignore);
        let shield = signals.shield("start");
        for _ in 0..4 {
            signals.on_signal(Signal::CtrlC);
        }
        assert_eq!(shield.release(), Ok(()));
        assert!(!signals.is_interrupted());
        assert!(crate::lock(&forced).is_empty());
    }

    #[test]
    fn after_finish_signals_still_count_and_the_third_still_forces_the_exit() {
        let (signals, forced) = hub();
        signals.finish();
        signals.on_signal(Signal::CtrlC);
        signals.on_signal(Signal::CtrlC);
        assert!(crate::lock(&forced).is_empty());
        assert!(signals.got_ctrl_c(), "the caller must still learn of it");
        signals.on_signal(Signal::CtrlC);
        assert_eq!(
            *crate::lock(&forced),
            ["signal #3 (Ctrl+C (SIGINT)) forced the exit"]
        );
    }
}
