//! A log line read back into its columns: the format [`crate::logging`]
//! writes, beside it, for whoever reads logs (the tests, the `timeline`
//! tool). Neither program reads its own log: this is not on their path.
//! (Infrastructure: skip it on a first reading.)

use log::Level;

use crate::logging::SEPARATOR;

/// One line of the log, split into its six columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLine<'a> {
    /// `2026-11-25T10:00:00.123Z`.
    pub time: &'a str,
    /// `main`, `worker-1`...
    pub process: &'a str,
    /// The thread's name: `main`, `pool-2`, `ctrl-c`...
    pub thread: &'a str,
    /// The module that logged it: `graceful::lifecycle`.
    pub target: &'a str,
    /// `ERROR`, `WARN`, `INFO`, `DEBUG` or `TRACE`, without padding.
    pub level: &'a str,
    /// The rest of the line.
    pub message: &'a str,
}

impl<'a> LogLine<'a> {
    /// Splits `line` (without colour); `None` if it is not a whole log line.
    pub fn parse(line: &'a str) -> Option<LogLine<'a>> {
        let columns: Vec<&str> = line.splitn(6, SEPARATOR).collect();
        let [time, process, thread, target, level, message] = columns[..] else {
            return None;
        };
        let level = level.trim_end();
        level.parse::<Level>().ok()?;
        Some(LogLine { time, process, thread, target, level, message })
    }
}
