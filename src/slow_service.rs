//! A service whose start and stop take a while, and nothing else.
//!
//! It stands for the ordinary parts of a real program: opening a database
//! connection, loading a model, flushing a file. Each of its steps lasts one
//! (scaled) second, which is long enough to press Ctrl+C in the middle of it
//! and watch the shield delay the interrupt.

use std::thread;

use log::info;

use crate::fault::{Armed, Fault};
use crate::knobs::TimeScale;
use crate::lifecycle::{BoxError, Service};

/// How long start and stop each take, in designed seconds.
const STEP_SECONDS: f64 = 1.0;

/// A service that takes one (scaled) second to start and one to stop.
pub struct SlowService {
    name: String,
    time_scale: TimeScale,
    /// `service-start` makes `start` fail (exit 3); `service-stop` makes
    /// `stop` panic (the other services still stop; exit 6).
    fault: Armed,
}

impl SlowService {
    /// A service named `name` (`service-1`) in the log.
    pub fn new(name: impl Into<String>, time_scale: TimeScale) -> SlowService {
        SlowService { name: name.into(), time_scale, fault: Armed::default() }
    }

    /// Arms an injected fault (see [`crate::fault`]); only the service
    /// faults apply here.
    pub fn with_fault(mut self, fault: Option<Fault>) -> SlowService {
        self.fault = Armed(fault);
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
        if self.fault.take(Fault::ServiceStart) {
            return Err("injected fault (service-start): cannot start".into());
        }
        info!("{}: started", self.name);
        Ok(())
    }

    fn stop(&mut self) -> Result<(), BoxError> {
        info!("{}: stopping", self.name);
        thread::sleep(self.time_scale.of(STEP_SECONDS));
        let what = format!("a bug in {}'s stop", self.name);
        self.fault.fire(Fault::ServiceStop, &what);
        info!("{}: stopped", self.name);
        Ok(())
    }
}
