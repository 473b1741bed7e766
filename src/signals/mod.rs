//! The hub: the one place that decides what Ctrl+C, SIGTERM and SIGHUP
//! mean, and the delayed-interrupt guard, [`Shield`], that keeps them from
//! cutting start and stop short.
//!
//! No line of the program is ever interrupted by a signal: `ctrlc` and
//! `signal-hook` wake a thread of theirs, which calls [`Hub::on_signal`]
//! (README, section 2, says why Rust works this way). [`install`] sets that
//! up; how, in a terminal, a container or under a supervisor, is the
//! private `os` module beside this file, which a first reading skips.
//!
//! The hub numbers each signal, logs what it does now, and forwards it the
//! same way every time: the first one drops the trigger of
//! [`Hub::interrupt`] (see [`crate::cancel`]). What differs from stage to
//! stage is who looks: the run stage waits for it; start and stop run under
//! a [`Shield`] and do not look until they are over; the third signal,
//! wherever it comes, forces the exit ([`crate::deadline::force_exit`]).
//!
//! ```
//! use graceful::signals::{Hub, Stage};
//!
//! // A hub of its own (a program gets the process-wide one from `install`).
//! let hub = Hub::for_tests();
//! let shield = hub.shield(Stage::Starting);
//! // ... a Ctrl+C arriving here is only recorded ...
//! match shield.release() {
//!     Ok(()) => println!("no signal came: carry on"),
//!     Err(interrupted) => println!("{} signal(s) came: stop now", interrupted.delayed_signals),
//! }
//! ```

mod os;
mod seam;

use log::{debug, info, warn};

use crate::cancel::{self, Cancelled, Trigger};
use crate::exit::Exit;
use seam::{lock, Mutex, OnceLock};

/// The signal that forces the exit, counting every signal received.
pub const FORCED_BY: u32 = 3;

/// A request to stop, by the name a person knows it by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// Ctrl+C at a terminal (SIGINT); on Windows, the console's Ctrl+C or
    /// Ctrl+Break event.
    CtrlC,
    /// SIGTERM: `kill PID`, systemd, docker and Kubernetes asking for a stop.
    Terminate,
    /// SIGHUP: the terminal went away.
    Hangup,
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Signal::CtrlC if cfg!(windows) => "Ctrl+C or Ctrl+Break (console event)",
            Signal::CtrlC => "Ctrl+C (SIGINT)",
            Signal::Terminate => "SIGTERM",
            Signal::Hangup => "SIGHUP",
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
pub struct Hub {
    state: Mutex<State>,
    /// Cancelled by the first signal.
    interrupt: Cancelled,
    /// What the third signal does: [`deadline::force_exit`], but in tests.
    force_exit: fn(&str),
}

#[derive(Debug, Default)]
struct State {
    stage: Stage,
    /// Dropped by the first signal: that is what "interrupt" means.
    trigger: Option<Trigger>,
    /// Hub counted in all (each line is numbered), and since the
    /// current shield went up.
    received: u32,
    while_shielded: u32,
    /// Shields up now: a shield inside a shield changes nothing.
    shields: u32,
}

/// Installs the process's signal handlers, all of which call the hub it
/// returns. Until then, Ctrl+C kills the process the old-fashioned way,
/// which is harmless while nothing has started. (If they cannot be
/// installed, the program says so and exits with code 3.)
pub fn install() -> &'static Hub {
    static HUB: OnceLock<Hub> = OnceLock::new();
    let hub = HUB.get_or_init(|| Hub::new(|why| crate::deadline::force_exit(why)));
    os::hand_signals_to(|signal| hub.on_signal(signal));
    hub
}

/// Takes over a worker process's signals: each goes to `on_signal`. A
/// worker hears every termination signal, whatever its parent left: the
/// parent starts it with them ignored, precisely so that none can kill it
/// before this call (see [`crate::worker`]).
pub fn install_in_worker(on_signal: fn(Signal)) {
    os::hand_worker_signals_to(on_signal);
}

impl Hub {
    fn new(force_exit: fn(&str)) -> Hub {
        let (trigger, interrupt) = cancel::pair();
        // From here until start is over, the program is starting.
        let state = State { trigger: Some(trigger), ..State::default() };
        Hub { state: Mutex::new(state), interrupt, force_exit }
    }

    /// A hub that is not connected to the process's signals, for tests and
    /// examples: feed it with [`Hub::on_signal`]. Its third signal only
    /// logs instead of exiting.
    pub fn for_tests() -> &'static Hub {
        Box::leak(Box::new(Hub::new(|why| warn!("{why} (a test hub)"))))
    }

    /// Cancelled by the first signal. Use it in `crossbeam::select!` to wait
    /// for the interrupt together with other events, using no CPU meanwhile.
    pub fn interrupt(&self) -> &Cancelled {
        &self.interrupt
    }

    /// What the program is doing now, as far as a signal's meaning goes.
    pub fn stage(&self) -> Stage {
        lock(&self.state).stage
    }

    /// Says in the log what the parent left the program: signals ignored
    /// (they stay so) and blocked (they were unblocked). At the start of the
    /// run, once the log exists.
    pub fn say_what_was_inherited(&self) {
        os::say_what_was_inherited();
    }

    /// The signals that stop this program, as the run stage names them:
    /// those the parent did not leave ignored.
    pub fn names_of_stop_signals(&self) -> String {
        os::names_of_stop_signals()
    }

    /// The end of a clean run: [`Exit::Clean`], unless a Ctrl+C reached the
    /// process at any moment, however late; then it dies of SIGINT, as
    /// Ctrl+C would have killed it (README, section 11).
    pub fn clean_exit_unless_ctrl_c(&self) -> Exit {
        os::clean_exit_unless_ctrl_c()
    }

    /// Raises a shield for `stage` (start or stop): until it is released,
    /// signals are recorded, and nobody acts on them.
    pub fn shield(&self, stage: Stage) -> Shield<'_> {
        let mut state = lock(&self.state);
        if state.shields == 0 {
            state.stage = stage;
        }
        state.shields += 1;
        Shield { hub: self, released: false }
    }

    /// Handles one signal, on the thread of the crate that caught it.
    pub fn on_signal(&self, signal: Signal) {
        // The lock is held for counting only: the line is made and logged
        // after it is released.
        let (number, stage, trigger) = {
            let mut state = lock(&self.state);
            state.received += 1;
            state.while_shielded += u32::from(state.stage != Stage::Running);
            (state.received, state.stage, state.trigger.take())
        };
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
        let (stage, delayed_signals, interrupted) = {
            let mut state = lock(&self.state);
            state.shields = state.shields.saturating_sub(1);
            if state.shields > 0 {
                // Still inside the outer shield: it tells, when it ends.
                return Ok(());
            }
            let shielded = state.stage;
            state.stage = if shielded == Stage::Starting { Stage::Running } else { Stage::Done };
            // Decided here, under the lock that `on_signal` counts under: a
            // signal either came before this line, and is reported, or comes
            // after it, and finds the shield down. (Asking the interrupt
            // channel instead, after the lock, would miss a signal whose
            // thread has counted it but not yet dropped the trigger.)
            let interrupted = state.trigger.is_none();
            (shielded, std::mem::take(&mut state.while_shielded), interrupted)
        };
        match (interrupted, stage, delayed_signals) {
            (false, ..) => return Ok(()),
            (_, _, 0) => {}
            (_, Stage::Starting, n) => {
                debug!("start is over; acting on the interrupt delayed by {n} signal(s)")
            }
            (_, _, n) => {
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
    hub: &'a Hub,
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
        self.hub.lower_shield()
    }
}

impl Drop for Shield<'_> {
    fn drop(&mut self) {
        if !self.released {
            let _ = self.hub.lower_shield();
        }
    }
}
#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    /// The hub, model-checked: loom runs the main thread's start, run and stop
    /// against the signal threads (`ctrl-c`, `signals`) in every order in which
    /// their steps can meet, and each run must keep the guard's promises:
    ///
    /// * a signal during a shielded stage is never lost: it is reported by that
    ///   stage's release, and the interrupt is delivered;
    /// * a signal's own log line and the release agree: "delayed until start is
    ///   over" means start's release says the program was interrupted;
    /// * the third signal forces the exit exactly once, and two never do;
    /// * a shield inside a shield changes nothing.
    ///
    /// It covers the hub's decisions, not the OS's delivery of a signal, nor
    /// `select!`, nor the deadline. Run it with
    /// `cargo test --features loom --lib signals::tests::model` (a failure
    /// prints the interleaving that broke; `docs/contributing.md`).
    ///
    /// The log lines are caught by the hub's tests' logger, which keeps them on
    /// the thread that runs the model: loom runs every thread of a model on
    /// that one thread.
    mod model;

    thread_local! {
        /// The lines logged on this thread, for a test that asked for them.
        static LINES: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
    }

    /// The hub's tests' logger. It keeps the lines of a thread that asked
    /// for them (the model runs all its threads on one), and holds a thread
    /// named `held-signal` inside its "delayed until start is over" line
    /// until the test lets it go.
    struct TestLogger;

    static HOLD: std::sync::OnceLock<Hold> = std::sync::OnceLock::new();

    /// `logging` says the held thread is in its line; `go` lets it out.
    struct Hold {
        logging: (crossbeam::channel::Sender<()>, crossbeam::channel::Receiver<()>),
        go: (crossbeam::channel::Sender<()>, crossbeam::channel::Receiver<()>),
    }

    impl log::Log for TestLogger {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }
        fn log(&self, record: &log::Record<'_>) {
            let line = record.args().to_string();
            let held = std::thread::current().name() == Some("held-signal");
            if let (true, Some(hold)) = (held && line.contains("delayed until start"), HOLD.get()) {
                let _ = hold.logging.0.send(());
                let _ = hold.go.1.recv();
            }
            LINES.with_borrow_mut(|lines| lines.as_mut().map(|lines| lines.push(line)));
        }
        fn flush(&self) {}
    }

    fn log_to_the_test_logger() {
        static LOGGER: TestLogger = TestLogger;
        let _ = log::set_logger(&LOGGER);
        log::set_max_level(log::LevelFilter::Debug);
    }

    /// The moment that once broke the guard, held open: a Ctrl+C that the
    /// hub has counted during start, and not yet forwarded (its thread is
    /// still writing its line), when start's shield is released. The
    /// release must still say the program was interrupted: it decides from
    /// what the hub counted, under its lock, not from the interrupt's
    /// channel. (The model cannot see that channel; this test needs no model.)
    #[test]
    fn a_release_while_a_counted_signal_is_still_being_logged_reports_it() {
        log_to_the_test_logger();
        let hold = HOLD.get_or_init(|| Hold {
            logging: crossbeam::channel::unbounded(),
            go: crossbeam::channel::unbounded(),
        });
        let signals: &'static Hub = Box::leak(Box::new(hub()));
        let shield = signals.shield(Stage::Starting);
        let ctrl_c = std::thread::Builder::new()
            .name("held-signal".into())
            .spawn(|| signals.on_signal(Signal::CtrlC))
            .unwrap();
        hold.logging.1.recv().unwrap();
        let released = shield.release();
        hold.go.0.send(()).unwrap();
        ctrl_c.join().unwrap();
        assert_eq!(released, Err(Interrupted { delayed_signals: 1 }));
    }

    thread_local! {
        /// What a test hub's third signal said, on this test's thread.
        static FORCED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    }

    fn hub() -> Hub {
        Hub::new(|why| FORCED.with_borrow_mut(|forced| forced.push(why.into())))
    }

    fn forced() -> Vec<String> {
        FORCED.with_borrow(Clone::clone)
    }

    fn interrupted(signals: &Hub) -> bool {
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
    fn the_stage_follows_the_shields_and_a_dropped_shield_lowers_too() {
        let signals = hub();
        assert_eq!(signals.stage(), Stage::Starting);
        let start = signals.shield(Stage::Starting);
        drop(signals.shield(Stage::Stopping));
        assert_eq!(signals.stage(), Stage::Starting, "an inner shield changed the stage");
        drop(start);
        assert_eq!(signals.stage(), Stage::Running, "a dropped start shield ends the start");
        let stop = signals.shield(Stage::Stopping);
        assert_eq!(signals.stage(), Stage::Stopping);
        assert_eq!(stop.release(), Ok(()));
        assert_eq!(signals.stage(), Stage::Done);
    }
}
