//! Faults you can inject (`--inject-fault WHERE`), to watch the program
//! handle a failure it would otherwise rarely show: a start that fails, a
//! stop that panics, a worker that dies.
//!
//! One type for both programs; each binary accepts the values that make
//! sense for it ([`Fault::parser`]) and passes the fault on to the parts
//! that can act it out. Each of those parts acts it out in one line,
//! through [`Armed::fire`], so the code a reader is learning from is not
//! threaded with test branches. Only the *first* loop, worker or service of
//! a kind is hit, so the others show the rest of the program carrying on
//! around the broken one until the graceful stop.

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
        self.to_possible_value()
            .map_or_else(String::new, |value| value.get_name().to_owned())
    }

    /// Is this a fault a worker process acts out?
    pub fn is_in_worker(self) -> bool {
        matches!(
            self,
            Fault::WorkerStart | Fault::WorkerCall | Fault::WorkerHang
        )
    }
}

/// An injected fault waiting for its moment: it goes off once, at the one
/// place that names it, and never anywhere else.
#[derive(Clone, Copy, Debug, Default)]
pub struct Armed(Option<Fault>);

impl Armed {
    /// Armed with `fault` (or with nothing).
    pub fn new(fault: Option<Fault>) -> Armed {
        Armed(fault)
    }

    /// Armed only for the first of a kind (`busy-1`, `worker-1`).
    pub fn for_first(fault: Option<Fault>, index: usize) -> Armed {
        Armed(fault.filter(|_| index == 1))
    }

    /// Is it armed with `fault`? (Does not disarm.)
    pub fn is(&self, fault: Fault) -> bool {
        self.0 == Some(fault)
    }

    /// If armed with `fault`, disarms and panics with a message naming the
    /// fault and `what`: a simulated bug, handled as a real one would be.
    /// The panic names the caller's line, where the fault acts.
    #[track_caller]
    pub fn fire(&mut self, fault: Fault, what: &str) {
        if self.0 == Some(fault) {
            self.0 = None;
            panic!("injected fault ({}): {what}", fault.name());
        }
    }

    /// Moves `fault`, if armed, into an `Armed` of its own (to fire inside a
    /// job that runs elsewhere); this one is disarmed for it.
    pub fn split(&mut self, fault: Fault) -> Armed {
        Armed(self.take(fault).then_some(fault))
    }

    /// If armed with `fault`, disarms and returns true: for faults that are
    /// not panics (an error, a hang).
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
        let mut armed = Armed::new(Some(Fault::BusyLoop));
        armed.fire(Fault::Update, "not here");
        let caught = crate::failure::catch(|| armed.fire(Fault::BusyLoop, "here"));
        assert_eq!(
            caught.map_err(|panicked| panicked.message),
            Err("injected fault (busy-loop): here".to_owned())
        );
    }

    #[test]
    fn only_the_first_of_a_kind_is_armed() {
        assert!(Armed::for_first(Some(Fault::WorkerCall), 1).is(Fault::WorkerCall));
        assert!(!Armed::for_first(Some(Fault::WorkerCall), 2).is(Fault::WorkerCall));
    }

    #[test]
    fn names_round_trip_through_the_parser() {
        for fault in Fault::value_variants() {
            assert_eq!(Fault::from_str(&fault.name(), false), Ok(*fault));
        }
    }
}
