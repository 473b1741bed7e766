//! Placing the run on the page: a lane per process and thread, a time axis
//! in milliseconds, the stages as bands, the signals as lines across every
//! lane, the workers' lives as bars, and a mark for every line.
//!
//! A long log has more lines than a lane has pixels: the lines of a lane
//! that fall in the same pixel column share one mark, which says how many
//! it stands for and leads to the first of them. So a log of any length
//! draws in about the same time and the same size.

use std::collections::BTreeMap;

use log::Level;

use super::parse::Run;

/// Pixels left of the time axis, for the lanes' names.
pub const NAMES: f64 = 190.0;
/// Pixels of the time axis.
pub const PLOT: f64 = 1100.0;
/// Pixels above the first lane: the axis, and the signals' labels.
pub const TOP: f64 = 64.0;
/// Pixels a lane is high.
pub const LANE: f64 = 16.0;
/// Pixels between the last lane and the bottom: room for the milestones,
/// the main thread's own INFO lines, written at a slant.
pub const BOTTOM: f64 = 130.0;
/// At most this many milestones are written out.
pub const MILESTONES: usize = 60;

/// One mark: one line, or all the lines of a lane in one pixel column.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    /// Its left edge.
    pub x: f64,
    /// Its lane.
    pub lane: usize,
    /// The loudest of its lines (the smallest, in `log`'s order).
    pub level: Level,
    /// Its first line (an index into the run's entries).
    pub first: usize,
    /// How many lines it stands for.
    pub lines: usize,
}

/// Where everything goes.
#[derive(Debug)]
pub struct Picture {
    /// The whole picture's width and height, in pixels.
    pub width: f64,
    /// See `width`.
    pub height: f64,
    /// Milliseconds per pixel of the time axis.
    pub scale: f64,
    /// The marks, lane by lane, left to right.
    pub ticks: Vec<Tick>,
    /// The time axis: a label (milliseconds) every so many pixels.
    pub axis: Vec<(f64, f64)>,
    /// The milestones: the main thread's INFO lines (entries), which tell
    /// the run's story: what started and stopped, in what order.
    pub milestones: Vec<usize>,
}

impl Picture {
    /// Lays out `run`.
    pub fn of(run: &Run) -> Picture {
        let scale = (run.span / PLOT).max(0.001);
        let mut columns: BTreeMap<(usize, i64, bool), Tick> = BTreeMap::new();
        for (index, entry) in run.entries.iter().enumerate() {
            let column = (entry.at / scale).floor() as i64;
            // WARN and ERROR keep marks of their own: they must stand out.
            let loud = entry.level <= Level::Warn;
            let tick = columns.entry((entry.lane, column, loud)).or_insert(Tick {
                x: NAMES + column as f64,
                lane: entry.lane,
                level: entry.level,
                first: index,
                lines: 0,
            });
            tick.lines += 1;
            tick.level = tick.level.min(entry.level);
        }
        let step = nice_step(run.span / 8.0);
        let axis = (0..)
            .map(|n| n as f64 * step)
            .take_while(|at| *at <= run.span)
            .map(|at| (x(at, scale), at))
            .collect();
        let milestones = run
            .entries
            .iter()
            .enumerate()
            .filter(|(_, entry)| entry.lane == 0 && entry.level <= Level::Info)
            .map(|(index, _)| index)
            .take(MILESTONES)
            .collect();
        Picture {
            milestones,
            width: NAMES + PLOT + 20.0,
            height: TOP + LANE * run.lanes.len() as f64 + BOTTOM,
            scale,
            ticks: columns.into_values().collect(),
            axis,
        }
    }

    /// The x of `at` milliseconds.
    pub fn x(&self, at: f64) -> f64 {
        x(at, self.scale)
    }

    /// The top of lane `lane`.
    pub fn y(&self, lane: usize) -> f64 {
        TOP + LANE * lane as f64
    }
}

fn x(at: f64, scale: f64) -> f64 {
    NAMES + (at / scale).floor()
}

/// A round step of at least `at_least` milliseconds: 1, 2 or 5 times a
/// power of ten.
fn nice_step(at_least: f64) -> f64 {
    let power = 10f64.powf(at_least.max(1.0).log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|step| *step >= at_least)
        .unwrap_or(power * 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(lines: usize, lanes: usize) -> String {
        (0..lines)
            .map(|n| {
                let ms = n * 10;
                let lane = n % lanes;
                format!(
                    "2026-11-25T10:00:{:02}.{:03}Z | main | t{lane} | m | INFO  | line {n}\n",
                    ms / 1000,
                    ms % 1000
                )
            })
            .collect()
    }

    #[test]
    fn a_short_log_gets_a_mark_a_line() {
        let run = Run::read(&log(20, 2)).unwrap();
        let picture = Picture::of(&run);
        assert_eq!(picture.ticks.len(), 20);
        assert!(picture.ticks.iter().all(|tick| tick.lines == 1));
        assert_eq!(picture.x(run.span), NAMES + PLOT);
        assert_eq!(picture.height, TOP + 2.0 * LANE + BOTTOM);
    }

    #[test]
    fn a_long_log_shares_marks_per_pixel_and_loses_no_line() {
        let run = Run::read(&log(5000, 3)).unwrap();
        let picture = Picture::of(&run);
        assert!(picture.ticks.len() <= 3 * (PLOT as usize + 1), "{}", picture.ticks.len());
        assert_eq!(picture.ticks.iter().map(|tick| tick.lines).sum::<usize>(), 5000);
    }

    #[test]
    fn the_axis_steps_are_round() {
        assert_eq!(nice_step(130.0), 200.0);
        assert_eq!(nice_step(7.0), 10.0);
        assert_eq!(nice_step(2500.0), 5000.0);
        let run = Run::read(&log(101, 1)).unwrap();
        let labels: Vec<f64> = Picture::of(&run).axis.iter().map(|(_, at)| *at).collect();
        assert_eq!(labels, [0.0, 200.0, 400.0, 600.0, 800.0, 1000.0]);
    }
}
