//! The manager through its library API, with real worker processes (the
//! built `complex` binary in worker mode).

use std::sync::Arc;
use std::thread;

use graceful::manager::{ManagerError, ManagerSettings, MultiProcessManager};

fn manager(workers: usize, time_scale: &str) -> Arc<MultiProcessManager> {
    // Through `env`, so that the workers' log stays out of the test output
    // (they would share the test's stderr).
    let config = ManagerSettings {
        workers,
        program: "env".into(),
        args: vec![
            "RUST_LOG=off".into(),
            env!("CARGO_BIN_EXE_complex").into(),
            "--time-scale".into(),
            time_scale.into(),
        ],
    };
    Arc::new(MultiProcessManager::new(config, None))
}

#[test]
fn calls_return_real_work_and_updates_bump_the_version() {
    let manager = manager(2, "0.01");
    manager.start().expect("start");
    let first = manager.process_number(42).expect("call");
    assert_eq!(first.version, 0);
    assert!(first.rounds > 0, "the worker did no work");
    assert_eq!(first.digest, graceful::dummy::hash_chain(42, first.rounds));
    assert_eq!(manager.update().expect("update"), 1);
    assert_eq!(manager.process_string("string-1").expect("call").version, 1);
    manager.stop();
    assert!(matches!(manager.process_number(1), Err(ManagerError::NotRunning)));
}

#[test]
fn stop_is_handled_before_queued_calls_and_wakes_every_caller() {
    // One worker, calls of a nominal 3 s (sized by a calibration that a busy
    // machine can skew several times over): the first call is surely still
    // in hand, and the others queued, when the stop comes.
    let manager = manager(1, "10");
    manager.start().expect("start");
    let callers: Vec<_> = (0..5)
        .map(|n| {
            let manager = manager.clone();
            thread::spawn(move || manager.process_number(n))
        })
        .collect();
    // Give the callers time to queue up (they only need to take a lock).
    // A caller too late for that finds the manager stopped (`NotRunning`):
    // also an answer, and counted as one below.
    thread::sleep(std::time::Duration::from_millis(200));
    manager.stop();
    let results: Vec<_> =
        callers.into_iter().map(|caller| caller.join().expect("caller")).collect();
    let done = results.iter().filter(|result| result.is_ok()).count();
    let stopped = results
        .iter()
        .filter(|result| {
            matches!(result, Err(error) if error.to_string().ends_with("stopped while waiting for the result"))
        })
        .count();
    let too_late =
        results.iter().filter(|result| matches!(result, Err(ManagerError::NotRunning))).count();
    assert_eq!(done + stopped + too_late, 5, "every caller woke with an answer: {results:?}");
    assert!(done <= 1, "the stop went after at most the call in hand: {results:?}");
    assert!(stopped >= 1, "queued calls were not processed: {results:?}");
}

#[test]
fn a_worker_program_that_does_not_exist_fails_start_with_its_name() {
    let config =
        ManagerSettings { workers: 2, program: "/nonexistent/worker".into(), args: Vec::new() };
    let manager = MultiProcessManager::new(config, None);
    let error = manager.start().expect_err("start must fail");
    assert!(error.to_string().starts_with("cannot start worker-1:"), "{error}");
}
