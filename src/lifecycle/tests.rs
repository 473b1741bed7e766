//! The lifecycle's own tests: the order of starts and stops, and the exit
//! status, with services that record what happens to them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::lock;

/// What a test service does in `start` and `stop`.
#[derive(Clone, Copy, PartialEq)]
enum Behaviour {
    Works,
    FailsToStart,
    PanicsInStart,
    FailsToStop,
    PanicsInStop,
}

/// Writes "start NAME" / "stop NAME" into a shared journal.
struct Recorder {
    name: String,
    behaviour: Behaviour,
    journal: Arc<Mutex<Vec<String>>>,
}

impl Service for Recorder {
    fn name(&self) -> &str {
        &self.name
    }

    fn start(&mut self) -> Result<(), BoxError> {
        lock(&self.journal).push(format!("start {}", self.name));
        match self.behaviour {
            Behaviour::FailsToStart => Err("no database".into()),
            Behaviour::PanicsInStart => panic!("bug in start"),
            _ => Ok(()),
        }
    }

    fn stop(&mut self) -> Result<(), BoxError> {
        lock(&self.journal).push(format!("stop {}", self.name));
        match self.behaviour {
            Behaviour::FailsToStop => Err("flush failed".into()),
            Behaviour::PanicsInStop => panic!("bug in stop"),
            _ => Ok(()),
        }
    }
}

/// Runs an app of three services (`a`, `b`, `c`) that ends its run stage
/// at once; returns the outcome and the journal.
fn run_app(behaviours: [Behaviour; 3], failure: Option<Failure>) -> (Exit, Vec<String>) {
    // A hub of its own, without the process-wide signal handler.
    let hub = Hub::for_tests();
    let journal = Arc::new(Mutex::new(Vec::new()));
    let mut app = App::new(hub, Duration::from_secs(30), Some(Duration::ZERO));
    if let Some(failure) = failure {
        app.failure_reporter().report(failure);
    }
    for (name, behaviour) in ["a", "b", "c"].into_iter().zip(behaviours) {
        app = app.service(Recorder { name: name.to_owned(), behaviour, journal: journal.clone() });
    }
    let outcome = app.run().status();
    let journal = lock(&journal).clone();
    (outcome, journal)
}

use Behaviour::*;

#[test]
fn starts_in_order_and_stops_in_reverse() {
    let (outcome, journal) = run_app([Works; 3], None);
    assert_eq!(outcome, Exit::Clean);
    assert_eq!(journal, ["start a", "start b", "start c", "stop c", "stop b", "stop a"]);
}

#[test]
fn a_failed_start_stops_only_what_started_before_it() {
    let (outcome, journal) = run_app([Works, FailsToStart, Works], None);
    assert_eq!(outcome, Exit::StartFailed);
    assert_eq!(journal, ["start a", "start b", "stop a"]);
}

#[test]
fn a_panic_in_start_is_an_internal_failure_and_still_stops_the_rest() {
    let (outcome, journal) = run_app([Works, PanicsInStart, Works], None);
    assert_eq!(outcome, Exit::Internal);
    assert_eq!(journal, ["start a", "start b", "stop a"]);
}

#[test]
fn a_failed_or_panicking_stop_does_not_skip_the_other_stops() {
    for broken in [FailsToStop, PanicsInStop] {
        let (outcome, journal) = run_app([Works, broken, Works], None);
        assert_eq!(outcome, Exit::StopFailed);
        assert_eq!(journal, ["start a", "start b", "start c", "stop c", "stop b", "stop a"]);
    }
}

#[test]
fn a_fault_stops_the_app_with_its_own_exit_code() {
    let failure = Failure::WorkerDied {
        worker: "worker-1".to_owned(),
        detail: "signal: 9 (SIGKILL)".to_owned(),
    };
    let (outcome, journal) = run_app([Works; 3], Some(failure));
    assert_eq!(outcome, Exit::WorkerDied);
    assert_eq!(journal.len(), 6);
}
