//! `DummyManager`: a stand-in for a real CPU-heavy component.
//! (Infrastructure: skip it on a first reading.)
//!
//! Think of a rules engine: `process_*` matches input against the rules and
//! `update` reloads them. The work here is real: a hash chain, sized at
//! start-up by measuring how fast this machine runs it, so a call keeps a
//! core busy for about its designed time (`process_string` 0.5 s,
//! `process_number` 0.3 s, `update` 5 s, times `--time-scale`). It is not a
//! sleep, because a sleeping worker would hide what matters: a busy worker
//! cannot look at its mailbox until the job in hand is done.

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::knobs::TimeScale;
use crate::protocol::{Output, Request};

/// Designed durations, in seconds, before `--time-scale`.
const PROCESS_STRING_SECONDS: f64 = 0.5;
const PROCESS_NUMBER_SECONDS: f64 = 0.3;
const UPDATE_SECONDS: f64 = 5.0;

/// How long the calibration measures; long enough to average out a timer
/// tick, short enough not to slow start noticeably.
const CALIBRATION_TIME: Duration = Duration::from_millis(20);

/// The "rules engine": real CPU work per call, a version bumped per update.
///
/// One lives in each worker process; `complex`'s parent never runs one.
#[derive(Debug)]
pub struct DummyManager {
    /// Bumped by every `update`; results carry it, so callers can see which
    /// "rules" produced them.
    version: u64,
    rounds_per_second: f64,
    time_scale: TimeScale,
}

impl DummyManager {
    /// Measures this machine's speed (skipped at `--time-scale 0`, where all
    /// work sizes are zero anyway).
    pub fn new(time_scale: TimeScale) -> DummyManager {
        let rounds_per_second = if time_scale.0 > 0.0 { calibrate() } else { 0.0 };
        DummyManager { version: 0, rounds_per_second, time_scale }
    }

    /// The version of the rules: 0 after start, one more after each update.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Runs one call: about its designed time of hashing, seeded by the
    /// request and the version, so the digest proves the work was done.
    pub fn process(&self, request: &Request) -> Output {
        let (seed, seconds) = match request {
            Request::ProcessString(text) => (hash_bytes(text.as_bytes()), PROCESS_STRING_SECONDS),
            Request::ProcessNumber(number) => (*number as u64, PROCESS_NUMBER_SECONDS),
        };
        let rounds = self.rounds_for(seconds);
        Output {
            request: request.clone(),
            version: self.version,
            rounds,
            digest: hash_chain(seed ^ self.version, rounds),
        }
    }

    /// Reloads the "rules": five designed seconds of work, then a new version.
    pub fn update(&mut self) -> u64 {
        black_box(hash_chain(self.version, self.rounds_for(UPDATE_SECONDS)));
        self.version += 1;
        self.version
    }

    fn rounds_for(&self, designed_seconds: f64) -> u64 {
        (self.rounds_per_second * self.time_scale.of(designed_seconds).as_secs_f64()) as u64
    }
}

/// The unit of work: one step of splitmix64, chained `rounds` times. Each
/// step depends on the last, so the compiler cannot skip or batch them.
pub fn hash_chain(seed: u64, rounds: u64) -> u64 {
    let mut x = seed;
    for _ in 0..rounds {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x = z ^ (z >> 31);
    }
    x
}

fn hash_bytes(bytes: &[u8]) -> u64 {
    // FNV-1a: enough to turn a string into a seed.
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Rounds of `hash_chain` per second of this thread's own CPU time. Not of
/// wall time: the workers calibrate all at once, often more of them than
/// there are cores, and time spent waiting for a core is no work done (on
/// two cores, four workers would measure half the speed, and each call would
/// then do half its work).
fn calibrate() -> f64 {
    let start = cpu_time();
    let mut rounds: u64 = 10_000;
    let mut total: u64 = 0;
    while cpu_time() - start < CALIBRATION_TIME {
        black_box(hash_chain(black_box(total), rounds));
        total += rounds;
        rounds *= 2;
    }
    total as f64 / (cpu_time() - start).as_secs_f64()
}

/// The CPU time this thread has used; wall time where the system has no
/// such clock (Windows, through std alone).
fn cpu_time() -> Duration {
    #[cfg(unix)]
    if let Ok(used) = nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID) {
        return used.into();
    }
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_carry_version_parameter_and_proof_of_work() {
        let mut manager = DummyManager::new(TimeScale(0.01));
        let first = manager.process(&Request::ProcessNumber(7));
        assert_eq!(first.request, Request::ProcessNumber(7));
        assert_eq!(first.version, 0);
        assert!(first.rounds > 0, "no work done");
        assert_eq!(first.digest, hash_chain(7, first.rounds), "digest is the work's result");

        assert_eq!(manager.update(), 1);
        let second = manager.process(&Request::ProcessString("string-7".into()));
        assert_eq!(second.version, 1);
        assert_eq!(second.digest, hash_chain(hash_bytes(b"string-7") ^ 1, second.rounds));
    }

    #[test]
    fn work_is_sized_in_proportion_to_its_designed_time() {
        // No clock in the assertion (a loaded machine must not fail it): the
        // work is sized from one calibration, so the designed 0.5 s of
        // process_string is 5/3 of the 0.3 s of process_number.
        let manager = DummyManager::new(TimeScale(0.2));
        let string = manager.process(&Request::ProcessString("x".into())).rounds as f64;
        let number = manager.process(&Request::ProcessNumber(1)).rounds as f64;
        assert!(number > 0.0, "no work done");
        assert!((string / number - 5.0 / 3.0).abs() < 0.01, "{string} / {number}");
    }

    #[test]
    fn time_scale_zero_means_no_work() {
        let manager = DummyManager::new(TimeScale(0.0));
        assert_eq!(manager.process(&Request::ProcessNumber(1)).rounds, 0);
    }
}
