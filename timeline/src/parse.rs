//! Reading a log: its lines, their times, and what they say about the run
//! (its stages, its signals, its workers' lives, which worker took which
//! call). Lines that are not log lines (cut in the middle, or anything
//! else) are kept apart, to be listed, never dropped in silence.

use std::collections::{HashMap, HashSet};

use log::Level;

use super::NothingToDraw;

pub use graceful::log_line::LogLine;

/// A log line as the picture knows it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its line number in the input, from 1.
    pub number: usize,
    /// Milliseconds since the earliest line.
    pub at: f64,
    /// Its lane in [`Run::lanes`].
    pub lane: usize,
    /// How loud it is (`log`'s order: ERROR is the smallest).
    pub level: Level,
    /// The whole line, without colour.
    pub text: String,
    /// Where its message column begins in `text`.
    message_at: usize,
}

impl Entry {
    /// The line's message column.
    pub fn message(&self) -> &str {
        &self.text[self.message_at..]
    }
}

/// A process and one of its threads: one lane of the picture.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lane {
    /// `main` or `worker-N`.
    pub process: String,
    /// The thread's name.
    pub thread: String,
}

/// A stage of the run, from the main process's own lines.
#[derive(Debug, Clone, PartialEq)]
pub struct StageSpan {
    /// `start`, `run` or `stop`.
    pub name: &'static str,
    /// Milliseconds since the earliest line.
    pub from: f64,
    /// Milliseconds since the earliest line.
    pub to: f64,
}

/// A signal the main process received, or its forced exit.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    /// Milliseconds since the earliest line.
    pub at: f64,
    /// `signal #1: Ctrl+C (SIGINT)`, or what forced the exit.
    pub label: String,
    /// What it did: `interrupting`, `delayed until start is over`...
    pub what: String,
    /// The entry that says so.
    pub entry: usize,
}

/// A worker process's life, as far as the log shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Life {
    /// `worker-N`.
    pub worker: String,
    /// Milliseconds since the earliest line: its spawn, or its first line.
    pub from: f64,
    /// Its exit as its collector saw it, or its last line.
    pub to: f64,
    /// Killed by a signal, as its collector said: `signal: 9 (SIGKILL)`.
    pub killed: Option<String>,
}

/// Everything the picture is drawn from.
#[derive(Debug, Default)]
pub struct Run {
    /// Every log line, in the order of the input.
    pub entries: Vec<Entry>,
    /// The lanes, the main process's first, then the workers' in order.
    pub lanes: Vec<Lane>,
    /// Lines that are not log lines: their line numbers and text.
    pub unreadable: Vec<(usize, String)>,
    /// From the earliest line to the latest, in milliseconds.
    pub span: f64,
    /// Start, run and stop, as far as the log shows them.
    pub stages: Vec<StageSpan>,
    /// The main process's signals and forced exits.
    pub marks: Vec<Mark>,
    /// Each worker's life.
    pub lives: Vec<Life>,
    /// For each call: the caller's entry and the entry of the worker that
    /// took it.
    pub calls: Vec<(usize, usize)>,
    /// The log has `main: end`: the run ended gracefully.
    pub complete: bool,
}

impl Run {
    /// Reads a log; an error if there is nothing in it to draw.
    pub fn read(text: &str) -> Result<Run, NothingToDraw> {
        if text.trim().is_empty() {
            return Err(NothingToDraw::Empty);
        }
        let mut run = Run::default();
        let mut read = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            // A log copied from a terminal keeps its colours: drop them.
            let line = anstream::adapter::strip_str(raw).to_string();
            let parsed = LogLine::parse(&line).and_then(|log| {
                let time: jiff::Timestamp = log.time.parse().ok()?;
                let lane = Lane { process: log.process.to_owned(), thread: log.thread.to_owned() };
                let level = log.level.parse::<Level>().ok()?;
                Some((time, lane, level, line.len() - log.message.len()))
            });
            match parsed {
                Some((time, lane, level, message_at)) => {
                    read.push((index + 1, time, lane, level, message_at, line))
                }
                None if line.trim().is_empty() => {}
                None => run.unreadable.push((index + 1, line)),
            }
        }
        let Some(first) = read.iter().map(|line| line.1).min() else {
            return Err(NothingToDraw::NotALog { lines: text.lines().count() });
        };
        // The main process first, then the workers by number; in each, the
        // threads in one fixed order (see `thread_rank`), so that two
        // pictures of two runs can be compared lane by lane.
        let lanes: HashSet<&Lane> = read.iter().map(|line| &line.2).collect();
        let mut lanes: Vec<Lane> = lanes.into_iter().cloned().collect();
        lanes.sort_by(|a, b| {
            (process_rank(&a.process), thread_rank(&a.thread))
                .cmp(&(process_rank(&b.process), thread_rank(&b.thread)))
        });
        let lane_of: HashMap<&Lane, usize> =
            lanes.iter().enumerate().map(|(i, l)| (l, i)).collect();
        for (number, time, lane, level, message_at, text) in &read {
            let at = time.duration_since(first).as_secs_f64() * 1000.0;
            let lane = lane_of[lane];
            run.entries.push(Entry {
                number: *number,
                at,
                lane,
                level: *level,
                text: text.clone(),
                message_at: *message_at,
            });
        }
        run.lanes = lanes;
        run.span = run.entries.iter().map(|entry| entry.at).fold(0.0, f64::max);
        run.read_meaning();
        Ok(run)
    }

    /// What the lines say about the run: stages, signals, lives, calls.
    fn read_meaning(&mut self) {
        let mut stages: HashMap<&'static str, (Option<f64>, Option<f64>)> = HashMap::new();
        let mut lives: HashMap<String, (f64, f64)> = HashMap::new();
        let mut killed: HashMap<String, String> = HashMap::new();
        let mut calls: HashMap<&str, (Option<usize>, Option<usize>)> = HashMap::new();
        for (index, entry) in self.entries.iter().enumerate() {
            let process = self.lanes[entry.lane].process.as_str();
            let message = entry.message();
            let in_main = process == "main";
            if in_main {
                self.complete |= message == "main: end";
                for (name, begins, ends) in STAGES {
                    let stage = stages.entry(name).or_default();
                    if message.starts_with(begins) {
                        stage.0.get_or_insert(entry.at);
                    } else if message.starts_with(ends) {
                        stage.1.get_or_insert(entry.at);
                    }
                }
                if let Some((label, what)) = signal_or_forced_exit(message) {
                    self.marks.push(Mark { at: entry.at, label, what, entry: index });
                }
            }
            // A worker lives from its spawn (the manager says so) or its first
            // line, to its exit (its collector says so) or its last line.
            let worker = match message.strip_prefix("manager: spawned ") {
                Some(rest) if in_main => rest.split(' ').next(),
                _ if process.starts_with("worker-") => Some(process),
                _ => message.split_once(": exited (").map(|(worker, _)| worker).filter(|_| in_main),
            };
            // The first time the parent says a worker was killed is (about)
            // when it died: its life ends there.
            let killed_now = match killed_worker(message).filter(|_| in_main) {
                Some((worker, status)) if !killed.contains_key(worker) => {
                    killed.insert(worker.to_owned(), status.to_owned());
                    Some(worker)
                }
                _ => None,
            };
            if let Some(worker) =
                killed_now.or(worker).filter(|worker| worker.starts_with("worker-"))
            {
                let life = lives.entry(worker.to_owned()).or_insert((entry.at, entry.at));
                life.0 = life.0.min(entry.at);
                life.1 = life.1.max(entry.at);
            }
            // "call 7: process_number(3)": said by the caller, then by the
            // worker that took it.
            if let Some(id) = call_id(message) {
                let call = calls.entry(id).or_default();
                let side = if in_main { &mut call.0 } else { &mut call.1 };
                side.get_or_insert(index);
            }
        }
        let last = self.span;
        for (name, _, _) in STAGES {
            if let Some((Some(from), to)) = stages.get(name) {
                self.stages.push(StageSpan { name, from: *from, to: to.unwrap_or(last) });
            }
        }
        let mut lives: Vec<Life> = lives
            .into_iter()
            .map(|(worker, (from, to))| {
                let killed = killed.remove(&worker);
                Life { worker, from, to, killed }
            })
            .collect();
        lives.sort_by_key(|life| worker_number(&life.worker));
        self.lives = lives;
        let mut calls: Vec<(usize, usize)> =
            calls.into_values().filter_map(|(a, b)| Some((a?, b?))).collect();
        calls.sort_unstable();
        self.calls = calls;
    }
}

/// The stages, and the main process's lines that begin and end each.
const STAGES: [(&str, &str, &str); 3] = [
    ("start", "start: begin", "start: end"),
    ("run", "run: waiting", "run: end"),
    ("stop", "stop: begin", "stop: end"),
];

/// `signal #2: Ctrl+C (SIGINT) during ...; what` or a forced exit: its label
/// and what it did.
fn signal_or_forced_exit(message: &str) -> Option<(String, String)> {
    if let Some((cause, rest)) = message.split_once(" forced the exit") {
        let cause = cause.trim_start_matches("signal ").replacen(" (", ": ", 1);
        let cause = cause.strip_suffix(')').unwrap_or(&cause).to_owned();
        return Some((
            format!("signal {cause}"),
            format!("forced the exit{}", rest.split(';').next()?),
        ));
    }
    if let Some((deadline, _)) = message.split_once(" exceeded while ") {
        return Some((deadline.to_owned(), "forced the exit".to_owned()));
    }
    let rest = message.strip_prefix("signal #")?;
    let (label, what) = rest.split_once(';').unwrap_or((rest, ""));
    let (label, during) = match label.split_once(" during ") {
        Some((label, during)) => (label, format!("during {during}")),
        None => (label, String::new()),
    };
    let what = [during.as_str(), what.trim()]
        .iter()
        .filter(|part| !part.is_empty())
        .copied()
        .collect::<Vec<_>>();
    Some((format!("signal #{label}"), what.join("; ")))
}

/// `("worker-1", "signal: 9 (SIGKILL)")` in what the parent says of a
/// worker killed by a signal: its collector's `worker-1: exited (signal: 9
/// (SIGKILL)) while processing call 7`, or the failure `worker-1 died:
/// signal: 9 (SIGKILL)` (in `run: end; ...` or `... during start`).
fn killed_worker(message: &str) -> Option<(&str, &str)> {
    message.match_indices("worker-").find_map(|(at, _)| {
        let rest = &message[at..];
        let name_ends = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))?;
        let (worker, after) = rest.split_at(name_ends);
        let status = after.strip_prefix(": exited (").or_else(|| after.strip_prefix(" died: "))?;
        let status = &status[..=status.find(')')?];
        status.starts_with("signal: ").then_some((worker, status))
    })
}

/// `7` in `call 7: process_number(3)`.
fn call_id(message: &str) -> Option<&str> {
    let (id, rest) = message.strip_prefix("call ")?.split_once(": ")?;
    (id.bytes().all(|b| b.is_ascii_digit()) && rest.starts_with("process_")).then_some(id)
}

/// Within a process: `main` (the stages, or a worker's work), the signal
/// threads, the loops that make calls, the pool that runs them, the
/// collectors that read the replies, then the rest; numbered threads by
/// number (`pool-2` before `pool-10`), unknown ones by name.
fn thread_rank(thread: &str) -> (usize, usize, &str) {
    const ORDER: [&str; 9] = [
        "main",
        "ctrl-c",
        "signals",
        "busy-",
        "updater",
        "pool-",
        "collector-",
        "stop-deadline",
        "parent-watch",
    ];
    let place = ORDER.iter().position(|known| match known.strip_suffix('-') {
        Some(family) => thread.strip_prefix(family).is_some_and(|n| n.starts_with('-')),
        None => thread == *known,
    });
    let number = thread.rsplit('-').next().and_then(|n| n.parse().ok()).unwrap_or(0);
    match place {
        Some(place) => (place, number, ""),
        None => (ORDER.len(), 0, thread),
    }
}

/// `main` first, then `worker-1`, `worker-2`...
fn process_rank(process: &str) -> usize {
    if process == "main" {
        0
    } else {
        worker_number(process).saturating_add(1)
    }
}

fn worker_number(process: &str) -> usize {
    process.trim_start_matches("worker-").parse().unwrap_or(usize::MAX - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
2026-11-25T10:00:00.000Z | main | main | simple | INFO  | main: begin
2026-11-25T10:00:00.001Z | main | main | graceful::lifecycle | INFO  | start: begin (Ctrl+C is delayed until start is over)
2026-11-25T10:00:00.100Z | main | pool-1 | graceful::manager::start | DEBUG | manager: spawned worker-1 (pid 7)
2026-11-25T10:00:00.105Z | worker-1 | main | graceful::worker | INFO  | bootstrapped (pid 7)
2026-11-25T10:00:00.200Z | main | ctrl-c | graceful::signals | WARN  | signal #1: Ctrl+C (SIGINT) during start; delayed until start is over
2026-11-25T10:00:00.300Z | main | main | graceful::lifecycle | WARN  | start: end; got the interrupt during start, so skipping the run stage
2026-11-25T10:00:00.301Z | main | main | graceful::lifecycle | INFO  | stop: begin (interrupted during start; ...)
2026-11-25T10:00:00.400Z | main | busy-1 | graceful::manager | DEBUG | call 3: process_number(1000)
2026-11-25T10:00:00.401Z | worker-1 | main | graceful::worker | DEBUG | call 3: process_number(1000)
2026-11-25T10:00:00.500Z | main | collector-1 | graceful::manager::collector | DEBUG | worker-1: exited (exit status: 0)
2026-11-25T10:00:00.600Z | main | main | graceful::lifecycle | INFO  | stop: end
2026-11-25T10:00:00.600Z | main | main | simple | INFO  | main: end
";

    /// `process / thread` for each lane, in the picture's order.
    fn lane_names(run: &Run) -> Vec<String> {
        run.lanes.iter().map(|lane| format!("{} / {}", lane.process, lane.thread)).collect()
    }

    #[test]
    fn a_log_line_has_six_columns_and_a_known_level() {
        let line = LogLine::parse("t | main | pool-1 | m | WARN  | a | b").unwrap();
        assert_eq!(
            (line.process, line.thread, line.level, line.message),
            ("main", "pool-1", "WARN", "a | b")
        );
        assert_eq!(LogLine::parse("t | main | pool-1 | m | LOUD | a"), None);
        assert_eq!(LogLine::parse("t | main | pool-1"), None);
    }

    #[test]
    fn a_run_has_its_lanes_stages_signals_lives_and_calls() {
        let run = Run::read(LOG).unwrap();
        assert_eq!(
            lane_names(&run),
            [
                "main / main",
                "main / ctrl-c",
                "main / busy-1",
                "main / pool-1",
                "main / collector-1",
                "worker-1 / main"
            ]
        );
        let stages: Vec<(&str, f64, f64)> =
            run.stages.iter().map(|s| (s.name, s.from, s.to)).collect();
        assert_eq!(stages, [("start", 1.0, 300.0), ("stop", 301.0, 600.0)]);
        assert_eq!(run.marks.len(), 1);
        assert_eq!(run.marks[0].label, "signal #1: Ctrl+C (SIGINT)");
        assert_eq!(run.marks[0].what, "during start; delayed until start is over");
        assert_eq!(
            run.lives,
            [Life { worker: "worker-1".into(), from: 100.0, to: 500.0, killed: None }]
        );
        assert_eq!(run.calls, [(7, 8)]);
        assert!(run.complete);
        assert_eq!(run.span, 600.0);
    }

    #[test]
    fn cut_lines_colour_and_disorder_are_read_or_kept_apart() {
        let mut log = String::from("\u{1b}[2m2026-11-25T10:00:01.000Z\u{1b}[0m | main | main | simple | \u{1b}[32mINFO \u{1b}[0m | main: begin\n");
        log += "2026-11-25T10:00:00.500Z | worker-2 | main | graceful::worker | INFO  | started\n";
        log += "2026-11-25T10:00:00.7";
        let run = Run::read(&log).unwrap();
        assert_eq!(run.entries.len(), 2);
        assert_eq!(run.entries[0].at, 500.0, "time counts from the earliest line");
        assert_eq!(run.entries[0].message(), "main: begin");
        assert_eq!(run.unreadable, [(3, "2026-11-25T10:00:00.7".to_owned())]);
        assert!(!run.complete);
    }

    #[test]
    fn nothing_to_draw_is_an_error() {
        assert_eq!(Run::read("\n \n").unwrap_err(), NothingToDraw::Empty);
        assert_eq!(Run::read("hello\nworld\n").unwrap_err(), NothingToDraw::NotALog { lines: 2 });
    }

    #[test]
    fn lanes_come_in_one_fixed_order_whatever_logged_first() {
        let log = [
            "pool-10",
            "collector-2",
            "pool-2",
            "stop-deadline",
            "busy-1",
            "odd",
            "signals",
            "updater",
            "main",
        ]
        .iter()
        .map(|thread| format!("2026-11-25T10:00:00.000Z | main | {thread} | m | INFO  | x\n"))
        .collect::<String>()
            + "2026-11-25T10:00:00.000Z | worker-10 | main | m | INFO  | x\n"
            + "2026-11-25T10:00:00.000Z | worker-2 | parent-watch | m | INFO  | x\n"
            + "2026-11-25T10:00:00.000Z | worker-2 | main | m | INFO  | x\n";
        let run = Run::read(&log).unwrap();
        assert_eq!(
            lane_names(&run),
            [
                "main / main",
                "main / signals",
                "main / busy-1",
                "main / updater",
                "main / pool-2",
                "main / pool-10",
                "main / collector-2",
                "main / stop-deadline",
                "main / odd",
                "worker-2 / main",
                "worker-2 / parent-watch",
                "worker-10 / main",
            ]
        );
    }

    #[test]
    fn a_worker_killed_by_a_signal_is_known_by_what_its_parent_said() {
        for said in [
            "worker-1: exited (signal: 9 (SIGKILL)) while processing call 3",
            "run: end; worker-1 died: signal: 9 (SIGKILL)",
            "worker-1 died: signal: 9 (SIGKILL) during start; start runs to its end",
        ] {
            let run = Run::read(&LOG.replace("worker-1: exited (exit status: 0)", said)).unwrap();
            assert_eq!(run.lives[0].killed.as_deref(), Some("signal: 9 (SIGKILL)"), "{said}");
            assert_eq!(run.lives[0].to, 500.0, "{said}");
        }
        assert_eq!(Run::read(LOG).unwrap().lives[0].killed, None, "an exit is not a kill");
        assert_eq!(killed_worker("worker-2 died: panicked: x; exit status: 7"), None);
    }

    #[test]
    fn a_forced_exit_is_a_mark_too() {
        let (label, what) = signal_or_forced_exit(
            "signal #3 (Ctrl+C (SIGINT)) forced the exit while stopping service-2; giving up",
        )
        .unwrap();
        assert_eq!(
            (label.as_str(), what.as_str()),
            ("signal #3: Ctrl+C (SIGINT)", "forced the exit while stopping service-2")
        );
    }
}
