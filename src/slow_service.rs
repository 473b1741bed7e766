//! A service whose start and stop take a while, and nothing else.
//!
//! It stands for the ordinary parts of a real program: opening a database
//! connection, loading a model, flushing a file. Each of its steps lasts one
//! (scaled) second, which is long enough to press Ctrl+C in the middle of it
//! and watch the shield delay the interrupt.

use std::thread;

use log::info;

use crate::knobs::TimeScale;
use crate::lifecycle::{BoxError, Service};
use crate::stop_deadline::StopDeadline;

/// How long start and stop each take, in designed seconds.
const STEP_SECONDS: f64 = 1.0;

pub struct SlowService {
    name: String,
    time_scale: TimeScale,
    fault: Option<ServiceFault>,
}

/// A fault the service can be told to simulate (`--inject-fault`), to watch
/// the lifecycle handle it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceFault {
    /// `start` returns an error after its step: exit code 3.
    StartFails,
    /// `stop` panics after its step: the other services still stop; exit 6.
    StopPanics,
}

impl SlowService {
    pub fn new(name: impl Into<String>, time_scale: TimeScale) -> SlowService {
        SlowService {
            name: name.into(),
            time_scale,
            fault: None,
        }
    }

    pub fn with_fault(mut self, fault: Option<ServiceFault>) -> SlowService {
        self.fault = fault;
        self
    }
}

impl Service for SlowService {
    fn name(&self) -> &str {
        &self.name
    }

    fn start(&mut self) -> Result<(), BoxError> {
        info!("{}: starting", self.name);
        // A blocking step, not a poll: the thread simply has work to wait for.
        thread::sleep(self.time_scale.of(STEP_SECONDS));
        if self.fault == Some(ServiceFault::StartFails) {
            return Err("injected fault (service-start): cannot start".into());
        }
        info!("{}: started", self.name);
        Ok(())
    }

    fn stop(&mut self, _deadline: &StopDeadline) -> Result<(), BoxError> {
        info!("{}: stopping", self.name);
        thread::sleep(self.time_scale.of(STEP_SECONDS));
        if self.fault == Some(ServiceFault::StopPanics) {
            panic!(
                "injected fault (service-stop): a bug in {}'s stop",
                self.name
            );
        }
        info!("{}: stopped", self.name);
        Ok(())
    }
}
