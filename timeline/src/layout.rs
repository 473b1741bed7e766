//! Placing the run on the page: a lane per process and thread, a time axis
//! in milliseconds, the stages as bands, the signals as lines across every
//! lane, the workers' lives as bars, a mark for every line, and the main
//! thread's own steps as numbers under the lanes, listed in full below.
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
/// Pixels under the last lane for the milestones' numbers.
pub const NUMBERS: f64 = 24.0;
/// Pixels a line of the milestones' list is high.
pub const LIST_LINE: f64 = 14.0;
/// Milestones closer than this many pixels share a number (a number is
/// about this wide, so numbers never overlap).
pub const NUMBER_WIDTH: f64 = 18.0;
/// At most this many of the main thread's lines become milestones.
pub const MILESTONES: usize = 60;
/// Past this many milestones, the list has two columns.
pub const ONE_COLUMN: usize = 10;

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
    /// The milestones: the main thread's INFO lines, which tell the run's
    /// story (what started and stopped, in what order), numbered in order.
    pub milestones: Vec<Milestone>,
    /// Where the lanes end and the milestones' numbers begin.
    pub lanes_bottom: f64,
    /// How many columns the milestones' list has.
    pub list_columns: usize,
}

/// A number under the lanes, and a line of the list below them: one of the
/// main thread's own INFO lines, with those that came too soon after it to
/// have a number of their own.
#[derive(Debug, Clone, PartialEq)]
pub struct Milestone {
    /// Where its number stands.
    pub x: f64,
    /// Its lines (indices into the run's entries), the first one first.
    pub entries: Vec<usize>,
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
        let mut milestones: Vec<Milestone> = Vec::new();
        let steps = run.entries.iter().enumerate().filter(|(_, entry)| {
            let lane = &run.lanes[entry.lane];
            lane.process == "main" && lane.thread == "main" && entry.level <= Level::Info
        });
        for (index, entry) in steps.take(MILESTONES) {
            let x = x(entry.at, scale);
            match milestones.last_mut() {
                Some(last) if x - last.x < NUMBER_WIDTH => last.entries.push(index),
                _ => milestones.push(Milestone { x, entries: vec![index] }),
            }
        }
        let list_columns = if milestones.len() > ONE_COLUMN { 2 } else { 1 };
        let list_lines = milestones.len().div_ceil(list_columns);
        let lanes_bottom = TOP + LANE * run.lanes.len() as f64;
        Picture {
            milestones,
            lanes_bottom,
            list_columns,
            width: NAMES + PLOT + 20.0,
            height: lanes_bottom + NUMBERS + LIST_LINE * list_lines as f64 + 10.0,
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
        assert_eq!(picture.lanes_bottom, TOP + 2.0 * LANE);
    }

    #[test]
    fn a_long_log_shares_marks_per_pixel_and_loses_no_line() {
        let run = Run::read(&log(5000, 3)).unwrap();
        let picture = Picture::of(&run);
        assert!(picture.ticks.len() <= 3 * (PLOT as usize + 1), "{}", picture.ticks.len());
        assert_eq!(picture.ticks.iter().map(|tick| tick.lines).sum::<usize>(), 5000);
    }

    #[test]
    fn close_milestones_share_a_number_and_numbers_never_overlap() {
        // The main thread's lines: three at once, then one far later.
        let log = [0, 0, 1, 900]
            .iter()
            .map(|ms| format!("2026-11-25T10:00:00.{ms:03}Z | main | main | m | INFO  | at {ms}\n"))
            .collect::<String>();
        let run = Run::read(&log).unwrap();
        let picture = Picture::of(&run);
        let shared: Vec<Vec<usize>> =
            picture.milestones.iter().map(|m| m.entries.clone()).collect();
        assert_eq!(shared, [vec![0, 1, 2], vec![3]]);
        assert!(picture.milestones.windows(2).all(|w| w[1].x - w[0].x >= NUMBER_WIDTH));
        assert_eq!(picture.height, picture.lanes_bottom + NUMBERS + 2.0 * LIST_LINE + 10.0);
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
