//! The knobs every binary has: `--time-scale`, `--stop-timeout`, `--run-for`.
//! (Infrastructure: skip it on a first reading.)
//!
//! They are a `clap` argument group that each binary flattens into its own
//! command line, so the flags, their checks and their help text are the same
//! everywhere. A bad value is rejected by clap with a message naming the flag
//! and the usage exit code (2), before anything has started.
//!
//! Every value is bounded ([`MAX_TIME_SCALE`], [`MAX_SECONDS`]), so that no
//! combination of accepted values can overflow a `Duration` or an `Instant`
//! later: a value the parser accepts is a value the program can run with.

use std::io::{self, Write};
use std::ops::RangeInclusive;
use std::time::Duration;

use clap::Args;

use crate::exit::Exit;

/// The largest `--time-scale`.
pub const MAX_TIME_SCALE: f64 = 1000.0;
/// The largest number of seconds any flag takes (about 11.6 days). Times
/// [`MAX_TIME_SCALE`], it stays far inside what a `Duration` and an
/// `Instant` can hold.
pub const MAX_SECONDS: f64 = 1_000_000.0;

/// Flags shared by `simple` and `complex`.
#[derive(Args, Clone, Debug)]
pub struct Knobs {
    /// Multiply every designed delay and work duration by F, from 0 to 1000
    /// (0.1 runs ten times faster; 0 removes them, leaving only the
    /// machinery's overhead).
    #[arg(long, value_name = "F", default_value = "1.0", value_parser = parse_time_scale, allow_negative_numbers = true)]
    pub time_scale: TimeScale,

    /// Give the stop stage this long to finish (more than 0, at most
    /// 1000000); past it the program logs which step is stuck, ends what is
    /// left and exits with code 5.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_positive_seconds, allow_negative_numbers = true)]
    pub stop_timeout: Duration,

    /// End the run stage by itself after SECS (0 to 1000000), as if
    /// interrupted (for tests, benchmarks and demos without a keyboard).
    #[arg(long, value_name = "SECS", value_parser = parse_seconds, allow_negative_numbers = true)]
    pub run_for: Option<Duration>,
}

/// How much of each designed delay to keep: 1.0 keeps all of it. Values
/// from the command line are from 0 to [`MAX_TIME_SCALE`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeScale(pub f64);

impl TimeScale {
    /// The scaled length of a delay designed to last `seconds`. Saturates
    /// instead of panicking (bounded knobs never get near that).
    pub fn of(self, seconds: f64) -> Duration {
        let saturated = if seconds > 0.0 { Duration::MAX } else { Duration::ZERO };
        Duration::try_from_secs_f64(seconds * self.0).unwrap_or(saturated)
    }
}

/// Reads the command line as clap's `parse` does (a bad flag: clap's
/// message and [`Exit::Usage`]; `--help`: the text and [`Exit::Clean`]),
/// except that a help or version text that cannot be written (`--help >
/// /dev/full`) is an error too, where clap would exit 0 without a word.
pub fn read_command_line<T: clap::Parser>() -> Result<T, Exit> {
    T::try_parse().map_err(|asked| {
        let status = if asked.use_stderr() { Exit::Usage } else { Exit::Clean };
        match asked.print().and_then(|()| io::stdout().flush()) {
            Ok(()) => status,
            Err(cause) => {
                let _ = writeln!(io::stderr(), "cannot write the text asked for: {cause}");
                Exit::Usage
            }
        }
    })
}

fn parse_time_scale(text: &str) -> Result<TimeScale, String> {
    number_in(text, "a number", 0.0..=MAX_TIME_SCALE).map(TimeScale)
}

/// Seconds as a decimal number (`0.5`, `30`), from 0 to [`MAX_SECONDS`].
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    number_in(text, "a number of seconds", 0.0..=MAX_SECONDS).map(Duration::from_secs_f64)
}

/// Seconds as a decimal number, more than zero.
pub fn parse_positive_seconds(text: &str) -> Result<Duration, String> {
    match parse_seconds(text)? {
        zero if zero.is_zero() => Err(format!("must be more than 0 seconds, got `{text}`")),
        duration => Ok(duration),
    }
}

/// `text` as a number within `range` (which leaves out NaN and infinity).
fn number_in(text: &str, what: &str, range: RangeInclusive<f64>) -> Result<f64, String> {
    let number: f64 = text.parse().map_err(|_| format!("`{text}` is not {what}"))?;
    if !range.contains(&number) {
        let (low, high) = range.into_inner();
        return Err(format!("must be {what} from {low} to {high}, got `{text}`"));
    }
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_scale_accepts_zero_and_fractions_only_when_finite() {
        assert_eq!(parse_time_scale("0"), Ok(TimeScale(0.0)));
        assert_eq!(parse_time_scale("0.25"), Ok(TimeScale(0.25)));
        assert!(parse_time_scale("-1").is_err());
        assert!(parse_time_scale("1000.5").is_err());
        assert!(parse_time_scale("2e18").is_err());
        assert!(parse_time_scale("inf").is_err());
        assert!(parse_time_scale("NaN").is_err());
        assert!(parse_time_scale("fast").is_err());
    }

    #[test]
    fn time_scale_multiplies_designed_delays() {
        assert_eq!(TimeScale(0.5).of(1.0), Duration::from_millis(500));
        assert_eq!(TimeScale(0.0).of(5.0), Duration::ZERO);
        assert_eq!(TimeScale(1e300).of(1e300), Duration::MAX, "saturates");
    }

    #[test]
    fn seconds_must_be_finite_and_not_negative() {
        assert_eq!(parse_seconds("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_seconds("0"), Ok(Duration::ZERO));
        assert!(parse_seconds("-2").is_err());
        assert!(parse_seconds("1e400").is_err());
        assert!(parse_seconds("1e19").is_err());
        assert_eq!(parse_seconds("1e6"), Ok(Duration::from_secs(1_000_000)));
        assert!(parse_positive_seconds("0").is_err());
        assert_eq!(parse_positive_seconds("30"), Ok(Duration::from_secs(30)));
    }
}
