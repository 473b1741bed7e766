#[cfg(test)] // (declared in the hub's tests, and with `--features loom` only)
#[cfg(feature = "loom")]
mod every_interleaving {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use loom::sync::Arc;
    use loom::thread;

    use super::super::super::*;

    use super::super::{log_to_the_test_logger, LINES};

    fn forced(why: &str) {
        let line = format!("FORCED: {why}");
        LINES.with_borrow_mut(|lines| lines.as_mut().map(|lines| lines.push(line)));
    }

    /// A hub whose lock loom sees.
    fn model_hub() -> Arc<Hub> {
        let (trigger, interrupt) = crate::cancel::pair();
        let state = State { trigger: Some(trigger), ..State::default() };
        Arc::new(Hub { state: Mutex::loom(state), interrupt, force_exit: forced })
    }

    /// A signal thread (`ctrl-c` or `signals`) that hands `signals` to the
    /// hub, one after the other.
    fn signal_thread(hub: &Arc<Hub>, signals: &'static [Signal]) -> thread::JoinHandle<()> {
        let hub = hub.clone();
        thread::spawn(move || signals.iter().for_each(|signal| hub.on_signal(*signal)))
    }

    /// Runs `scenario` under every interleaving, and fails unless there were
    /// at least `at_least` of them (a lock loom cannot see gives a handful).
    fn explore(at_least: usize, scenario: impl Fn() + Sync + Send + 'static) {
        log_to_the_test_logger();
        let runs = std::sync::Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        loom::model(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            LINES.set(Some(Vec::new()));
            scenario();
        });
        let runs = runs.load(Ordering::SeqCst);
        assert!(runs >= at_least, "only {runs} interleavings: is the seam lost?");
    }

    fn lines() -> Vec<String> {
        LINES.with_borrow(|lines| lines.clone().unwrap_or_default())
    }

    fn interrupt_delivered(hub: &Hub) -> bool {
        crate::cancel::is_cancelled(hub.interrupt())
    }

    /// Start, run and stop against one Ctrl+C, wherever it lands.
    #[test]
    fn a_signal_is_reported_by_the_stage_it_lands_in_and_never_lost() {
        explore(MIN_RUNS_ONE_SIGNAL, || {
            let hub = model_hub();
            let ctrl_c = signal_thread(&hub, &[Signal::CtrlC]);
            let start = hub.shield(Stage::Starting).release();
            let stop = hub.shield(Stage::Stopping).release();
            ctrl_c.join().unwrap();

            let lines = lines();
            let said = |text: &str| lines.iter().any(|line| line.contains(text));
            if said("delayed until start is over") {
                assert_eq!(start, Err(Interrupted { delayed_signals: 1 }), "{lines:?}");
            }
            if said("interrupting: the graceful stop begins") {
                assert_eq!(start, Ok(()), "{lines:?}");
            }
            if said("during the stop, which runs to its end") {
                assert_eq!(start, Ok(()), "{lines:?}");
                assert_eq!(stop, Err(Interrupted { delayed_signals: 1 }), "{lines:?}");
            }
            if start.is_err() {
                assert!(said("delayed until start is over"), "{lines:?}");
            }
            assert!(interrupt_delivered(&hub), "the signal was lost: {lines:?}");
            assert!(!said("FORCED"), "one signal forced the exit: {lines:?}");
        });
    }

    /// Three signals from both signal threads: the exit is forced exactly
    /// once, by the third, whatever the order.
    #[test]
    fn the_third_signal_forces_the_exit_exactly_once() {
        explore(MIN_RUNS_THREE_SIGNALS, || {
            let hub = model_hub();
            let ctrl_c = signal_thread(&hub, &[Signal::CtrlC, Signal::CtrlC]);
            let signals = signal_thread(&hub, &[Signal::Terminate]);
            let start = hub.shield(Stage::Starting).release();
            let _stop = hub.shield(Stage::Stopping).release();
            ctrl_c.join().unwrap();
            signals.join().unwrap();

            let lines = lines();
            let forced: Vec<&String> = lines.iter().filter(|l| l.starts_with("FORCED")).collect();
            assert_eq!(forced.len(), 1, "{lines:?}");
            assert!(forced[0].contains("signal #3"), "{lines:?}");
            if lines.iter().any(|line| line.contains("delayed until start is over")) {
                assert!(start.is_err(), "{lines:?}");
            }
            assert!(interrupt_delivered(&hub), "{lines:?}");
        });
    }

    /// A shield inside a shield delivers nothing early, wherever the signal
    /// lands; the outer one tells.
    #[test]
    fn a_shield_inside_a_shield_changes_nothing() {
        explore(MIN_RUNS_NESTED, || {
            let hub = model_hub();
            let ctrl_c = signal_thread(&hub, &[Signal::CtrlC]);
            let outer = hub.shield(Stage::Starting);
            let inner = hub.shield(Stage::Stopping).release();
            let outer = outer.release();
            ctrl_c.join().unwrap();

            let lines = lines();
            assert_eq!(inner, Ok(()), "the inner shield told: {lines:?}");
            let during_start = lines.iter().any(|line| line.contains("during start"));
            assert_eq!(outer.is_err(), during_start, "{lines:?}");
            assert!(!lines.iter().any(|line| line.contains("during the stop")), "{lines:?}");
        });
    }

    /// How many interleavings each scenario has, as loom counts them: a
    /// hub whose lock loom cannot see gives a handful.
    const MIN_RUNS_ONE_SIGNAL: usize = 25;
    const MIN_RUNS_THREE_SIGNALS: usize = 12_769;
    const MIN_RUNS_NESTED: usize = 25;
}
