//! Faults you can inject with `--inject-fault WHERE`, to watch the program
//! handle a failure it would otherwise rarely show: a start that fails, a
//! stop that panics, a worker that dies (a learning tool: skip it on a first reading).
//!
//! One type for both programs; each binary accepts the values that make
//! sense for it ([`Fault::parser`]) and passes the fault on to the parts
//! that can act it out. On the parent's stop path (the services, the loops)
//! a part keeps it as an `Option<Fault>` and compares in place, so that
//! with no fault armed the stop never enters this file; the worker, off
//! that path, acts its faults out through [`Armed`]. Only the *first* loop,
//! worker or service of a kind is hit, so the others show the rest of the
//! program carrying on around the broken one until the graceful stop.

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::ValueEnum;

/// Where to inject a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Fault {
    /// service-2's start fails: service-1 is stopped again; exit code 3.
    ServiceStart,
    /// service-2's stop panics: service-1 still stops; exit code 6.
    ServiceStop,
    /// busy-1 panics after its first round: everything stops; exit code 7.
    BusyLoop,
    /// The update loop panics when its first update is due: exit code 7.
    Update,
    /// busy-1's first call panics inside the pool: busy-1 gets an error,
    /// everything stops; exit code 7.
    PoolJob,
    /// worker-1 fails during its initialisation: start fails, exit code 3.
    WorkerStart,
    /// worker-1 panics in its first call: the call fails with the panic
    /// message, everything stops; exit code 4.
    WorkerCall,
    /// worker-1 never bootstraps: start fails after 5 s, exit code 3.
    #[value(hide = true)]
    WorkerHang,
}

impl Fault {
    /// The faults a program without workers can act out.
    pub const OF_SERVICES: &'static [Fault] = &[Fault::ServiceStart, Fault::ServiceStop];

    /// A command-line parser that accepts only the faults in `allowed`.
    pub fn parser(allowed: &'static [Fault]) -> impl TypedValueParser<Value = Fault> {
        PossibleValuesParser::new(allowed.iter().filter_map(Fault::to_possible_value))
            .try_map(|name| Fault::from_str(&name, false))
    }

    /// The flag's value, to pass the fault on to a worker process.
    pub fn name(self) -> String {
        self.to_possible_value().map_or_else(String::new, |value| value.get_name().to_owned())
    }
}

/// An injected fault waiting for its moment: it goes off once, at the one
/// place that names it, and never anywhere else.
#[derive(Clone, Copy, Debug, Default)]
pub struct Armed(pub Option<Fault>);

impl Armed {
    /// If armed with `fault`, disarms and panics with a message naming the
    /// fault and `what`: a simulated bug, handled as a real one would be.
    /// The panic names the caller's line, where the fault acts.
    #[track_caller]
    pub fn fire(&mut self, fault: Fault, what: &str) {
        if self.take(fault) {
            panic!("injected fault ({}): {what}", fault.name());
        }
    }

    /// If armed with `fault`, disarms and returns true: for faults that are
    /// not panics (an error, a hang), or that act elsewhere (in a pool job).
    pub fn take(&mut self, fault: Fault) -> bool {
        let armed = self.0 == Some(fault);
        if armed {
            self.0 = None;
        }
        armed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_once_and_only_at_its_place() {
        let mut armed = Armed(Some(Fault::BusyLoop));
        armed.fire(Fault::Update, "not here");
        let caught = crate::failure::catch(|| armed.fire(Fault::BusyLoop, "here"));
        assert_eq!(caught, Err("injected fault (busy-loop): here".to_owned()));
        // Fired, it is disarmed: the same place, reached again, goes on.
        assert_eq!(crate::failure::catch(|| armed.fire(Fault::BusyLoop, "again")), Ok(()));
    }

    #[test]
    fn take_disarms_only_its_own_fault() {
        let mut armed = Armed(Some(Fault::WorkerCall));
        assert!(!armed.take(Fault::WorkerStart));
        assert!(armed.take(Fault::WorkerCall));
        assert!(!armed.take(Fault::WorkerCall), "taken once, it is gone");
    }

    #[test]
    fn names_round_trip_through_the_parser() {
        for fault in Fault::value_variants() {
            assert_eq!(Fault::from_str(&fault.name(), false), Ok(*fault));
        }
    }
}
