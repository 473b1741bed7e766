//! The chaos test: interrupt both programs at random moments, many times,
//! and check every run ends cleanly.
//!
//! "Press Ctrl+C at any moment and it always shuts down cleanly" is a claim
//! about *every* moment: the first milliseconds, the middle of start, an
//! update in flight, the stop itself. Hand-picked moments in the other tests
//! cover the stages; this covers the moments between them. Each run picks a
//! moment uniformly across the program's whole life (measured by one
//! uninterrupted run first) and interrupts it in one of four ways:
//!
//! * `ctrl-c`: Ctrl+C typed on a real pseudo-terminal, so the terminal
//!   driver signals the whole foreground group, workers included;
//! * `ctrl-c-twice`: the same, and again a random moment later;
//! * `sigterm`: SIGTERM to the main process only (`kill`, systemd, docker);
//! * `kill-parent` (`complex`): SIGKILL to the main process; its workers
//!   must be gone within 2 s.
//!
//! Every run of the first three must end with `main: end` as its last line
//! and the status its cause calls for (death by SIGINT after a Ctrl+C, 0
//! after SIGTERM or `--run-for`), with no panic, no ERROR, every line once,
//! and nothing left running.
//!
//! One exception, which no program can avoid: a signal that arrives before
//! the program's first instruction has run (the loader and Rust's runtime
//! take well under a millisecond) meets no handler and ends the process the
//! default way. Nothing had started, nothing is lost; such runs are counted
//! and shown apart in the summary, not hidden among the clean ones.
//!
//! It prints a summary, and a line with its seed for each run that failed
//! (for every run with `--each`). To replay a run:
//!
//! ```text
//! cargo test --test chaos -- --seed SEED --runs 1 complex-ctrl-c
//! ```
//!
//! Flags: `--runs N` (runs per Ctrl+C scenario; the others get a third),
//! `--each` (a line for every run),
//! `--seed S` (the first run's seed; the next runs use S+1, S+2...), and
//! scenario names to run only those. Other arguments (from `cargo test`'s
//! own filters and flags) are ignored.
#![cfg(unix)]

#[path = "integration/util.rs"]
#[allow(dead_code, unused_imports)] // uses a part of the shared harness
mod util;

use std::os::unix::process::ExitStatusExt;
use std::panic::{self, AssertUnwindSafe};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use util::{Finished, Program, SIGINT, SIGKILL, SIGTERM};

const SIMPLE: &str = env!("CARGO_BIN_EXE_simple");
const COMPLEX: &str = env!("CARGO_BIN_EXE_complex");

/// Fast enough for many runs, slow enough that every stage lasts a while:
/// `simple` lives about 0.3 s, `complex` about 0.5 s.
const ARGS: &[&str] = &["--time-scale", "0.02", "--run-for", "0.2"];

/// No run may take longer than this to end after its interrupt.
const DEADLINE: Duration = Duration::from_secs(20);
/// After SIGKILL to the parent, its workers must be gone within this.
const ORPHAN_DEADLINE: Duration = Duration::from_secs(2);

/// At least 30 runs of each program with Ctrl+C, as the CI requires.
const DEFAULT_RUNS: u64 = 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Interrupt {
    CtrlC,
    CtrlCTwice,
    Sigterm,
    KillParent,
}

#[derive(Clone, Copy)]
struct Scenario {
    name: &'static str,
    exe: &'static str,
    interrupt: Interrupt,
}

const SCENARIOS: &[Scenario] = &[
    Scenario { name: "simple-ctrl-c", exe: SIMPLE, interrupt: Interrupt::CtrlC },
    Scenario { name: "complex-ctrl-c", exe: COMPLEX, interrupt: Interrupt::CtrlC },
    Scenario { name: "simple-ctrl-c-twice", exe: SIMPLE, interrupt: Interrupt::CtrlCTwice },
    Scenario { name: "complex-ctrl-c-twice", exe: COMPLEX, interrupt: Interrupt::CtrlCTwice },
    Scenario { name: "simple-sigterm", exe: SIMPLE, interrupt: Interrupt::Sigterm },
    Scenario { name: "complex-sigterm", exe: COMPLEX, interrupt: Interrupt::Sigterm },
    Scenario { name: "complex-kill-parent", exe: COMPLEX, interrupt: Interrupt::KillParent },
];

struct Options {
    runs: u64,
    /// Print a line for every run, not only the failed ones.
    each: bool,
    seed: u64,
    only: Vec<String>,
    /// A `cargo test FILTER` meant for other tests: run nothing.
    filtered_out: bool,
}

fn main() {
    let options = parse_options();
    if options.filtered_out {
        return;
    }
    let chosen: Vec<Scenario> = SCENARIOS
        .iter()
        .copied()
        .filter(|scenario| {
            options.only.is_empty() || options.only.iter().any(|name| name == scenario.name)
        })
        .collect();
    if chosen.is_empty() {
        println!("chaos: no scenario matches {:?}; nothing to run", options.only);
        return;
    }
    let lifetimes = [SIMPLE, COMPLEX].map(|exe| (exe, measure_life(exe)));
    let lives: Vec<String> = lifetimes
        .iter()
        .map(|(exe, life)| format!("{} runs for {:.0} ms", short(exe), life.as_secs_f64() * 1000.0))
        .collect();

    let mut passed = 0;
    let mut before_main = 0;
    let mut too_late = 0;
    let mut failed = Vec::new();
    let mut seed = options.seed;
    for scenario in chosen {
        let runs = match scenario.interrupt {
            Interrupt::CtrlC => options.runs,
            _ => options.runs.div_ceil(3),
        };
        let life = lifetimes
            .iter()
            .find(|(exe, _)| *exe == scenario.exe)
            .map_or(Duration::from_secs(1), |(_, life)| *life);
        for run in 1..=runs {
            let plan = Plan::new(seed, life);
            // A failed check panics with the program's whole log; the
            // default hook prints it, and we count it and go on.
            let result = panic::catch_unwind(AssertUnwindSafe(|| run_once(scenario, &plan)));
            let verdict = match result {
                Ok(Verdict::Clean) => "ok",
                Ok(Verdict::BeforeMain) => "ok, interrupted before main ran",
                Ok(Verdict::TooLate) => "ok, the Ctrl+C came after the exit",
                Err(_) => "FAILED",
            };
            // One line a run with --each; otherwise only the failed ones,
            // so that `cargo test` shows the summary and what went wrong.
            if options.each || result.is_err() {
                println!(
                    "chaos: {:<20} run {run:>2}/{runs} seed {seed:<20} {} -> {verdict}",
                    scenario.name,
                    plan.describe(scenario.interrupt)
                );
            }
            match result {
                Ok(Verdict::Clean) => passed += 1,
                Ok(Verdict::BeforeMain) => before_main += 1,
                Ok(Verdict::TooLate) => too_late += 1,
                Err(_) => failed.push(format!("{} --seed {seed}", scenario.name)),
            }
            seed = seed.wrapping_add(1);
        }
    }
    println!(
        "chaos: of the runs that passed, {before_main} were interrupted before main ran and \
         {too_late} got their Ctrl+C only after the program had ended. Uninterrupted, {}. \
         First seed {} (--each prints a line a run).",
        lives.join(", "),
        options.seed
    );
    println!("chaos: {} passed, {} failed", passed + before_main + too_late, failed.len());
    if !failed.is_empty() {
        for replay in &failed {
            println!("chaos: replay with: cargo test --test chaos -- --runs 1 {replay}");
        }
        std::process::exit(1);
    }
}

fn parse_options() -> Options {
    let mut options = Options {
        runs: DEFAULT_RUNS,
        each: false,
        // Different moments on every CI run; printed, so any run can be replayed.
        seed: SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(1, |since| since.as_nanos() as u64),
        only: Vec::new(),
        filtered_out: false,
    };
    let mut other_filters = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let number = |value: Option<String>| {
            value
                .and_then(|value| value.parse::<u64>().ok())
                .unwrap_or_else(|| panic!("{arg} needs a whole number"))
        };
        match arg.as_str() {
            "--runs" => options.runs = number(args.next()),
            "--seed" => options.seed = number(args.next()),
            "--each" => options.each = true,
            name if SCENARIOS.iter().any(|scenario| scenario.name == name) => {
                options.only.push(name.to_owned())
            }
            // The standard harness's flags that take a value.
            "--test-threads" | "--skip" | "--format" | "--color" | "--logfile" | "-Z" => {
                args.next();
            }
            flag if flag.starts_with('-') => {}
            filter => other_filters.push(filter.to_owned()),
        }
    }
    // `cargo test some_name` passes `some_name` to every test binary; unless
    // it names us, it is meant for other tests.
    options.filtered_out = options.only.is_empty()
        && !other_filters.is_empty()
        && !other_filters.iter().any(|filter| "chaos".contains(filter.as_str()));
    options
}

/// How long the program lives when nothing interrupts it.
fn measure_life(exe: &str) -> Duration {
    let began = Instant::now();
    let run = Program::start(exe, ARGS).finish_within(DEADLINE);
    run.assert_exit_code(0);
    began.elapsed()
}

/// When to interrupt one run, drawn from its seed.
struct Plan {
    first: Duration,
    second: Duration,
}

impl Plan {
    fn new(seed: u64, life: Duration) -> Plan {
        let mut random = StdRng::seed_from_u64(seed);
        let first = life.mul_f64(random.random_range(0.0..1.0));
        // The second Ctrl+C (if any) lands up to half a life later:
        // during the stop, or after the end.
        let second = first + life.mul_f64(random.random_range(0.0..0.5));
        Plan { first, second }
    }
}

impl Plan {
    fn describe(&self, interrupt: Interrupt) -> String {
        match interrupt {
            Interrupt::CtrlCTwice => {
                format!("at {:>5.1} ms and {:>5.1} ms", ms(self.first), ms(self.second))
            }
            _ => format!("at {:>5.1} ms", ms(self.first)),
        }
    }
}

/// How a run that passed ended.
enum Verdict {
    Clean,
    /// Killed by the signal before any code of ours ran: nothing started.
    BeforeMain,
    /// The Ctrl+C came after the program had exited, or after `main: end`
    /// too late to be heard: a clean run, exit 0.
    TooLate,
}

/// One run: start, interrupt as planned, check the end. Panics on a failed
/// check (caught by `main`).
fn run_once(scenario: Scenario, plan: &Plan) -> Verdict {
    let began = Instant::now();
    let mut program = match scenario.interrupt {
        Interrupt::CtrlC | Interrupt::CtrlCTwice => Program::start_on_terminal(scenario.exe, ARGS),
        Interrupt::Sigterm | Interrupt::KillParent => Program::start(scenario.exe, ARGS),
    };
    sleep_until(began + plan.first);
    // Whether the program was there to hear the (first) Ctrl+C, and when it
    // was sent, on the log's clock: a Ctrl+C sent to a running program must
    // be answered, or the run fails.
    let sent = (running(program.pid()), jiff::Timestamp::now());
    match scenario.interrupt {
        Interrupt::CtrlC => program.press_ctrl_c(),
        Interrupt::CtrlCTwice => {
            program.press_ctrl_c();
            sleep_until(began + plan.second);
            program.press_ctrl_c();
        }
        // The program may have ended already; a signal then finds nobody.
        Interrupt::Sigterm => drop(nix::sys::signal::kill(program.pid(), SIGTERM)),
        Interrupt::KillParent => drop(nix::sys::signal::kill(program.pid(), SIGKILL)),
    }
    if scenario.interrupt == Interrupt::KillParent {
        // `finish_within` also checks that no worker is left running.
        let run = program.finish_within(ORPHAN_DEADLINE);
        run.assert_no_duplicate_lines();
        run.assert_well_formed();
        run.assert_absent("panicked");
        return Verdict::Clean;
    }
    let run = program.finish_within(DEADLINE);
    let default_death = [SIGINT, SIGTERM].map(|signal| Some(signal as i32));
    if default_death.contains(&run.status.signal()) && run.log.is_empty() {
        return Verdict::BeforeMain;
    }
    let ctrl_c = scenario.interrupt != Interrupt::Sigterm;
    let answered = run
        .lines()
        .iter()
        .any(|line| line.process == "main" && line.message.starts_with("signal #"));
    if ctrl_c && run.code() == Some(0) && !answered {
        // No line of the main process says a signal came. That is right
        // only if it came too late for anyone to hear it: after the exit,
        // or in the last moments after `main: end` (a Ctrl+C even then
        // still makes the program die of SIGINT, if it comes before the
        // program asks). Sent to a program still running, it was ignored.
        let (was_running, at) = sent;
        let main_end = run
            .lines()
            .iter()
            .rev()
            .find(|line| line.message == "main: end")
            .map(|line| line.time.to_owned());
        let before_the_end = main_end.as_deref().is_none_or(|end| {
            end.parse::<jiff::Timestamp>()
                .is_ok_and(|end| at + jiff::SignedDuration::from_millis(2) < end)
        });
        assert!(
            !(was_running && before_the_end),
            "a Ctrl+C sent at {at:.3} to the running program (main: end at {}) went unanswered; log:\n{}",
            main_end.as_deref().unwrap_or("never"),
            run.log.join("\n")
        );
        assert_clean(&run, false);
        return Verdict::TooLate;
    }
    assert_clean(&run, ctrl_c);
    Verdict::Clean
}

/// What every interrupted run must look like: after Ctrl+C, death by
/// SIGINT once `main: end` is written (the caller must learn of it);
/// after SIGTERM, exit 0.
fn assert_clean(run: &Finished, ctrl_c: bool) {
    let steps = ["main: begin", "main: end"];
    if ctrl_c {
        run.assert_graceful_end_after_ctrl_c(&steps);
    } else {
        run.assert_graceful_end(&steps);
    }
    run.assert_absent("| ERROR |");
}

/// Whether process `pid` is running: it exists and has not exited (a
/// process that has exited stays a zombie until its parent reaps it).
fn running(pid: nix::unistd::Pid) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next());
    state.is_some_and(|state| state != "Z" && state != "X")
}

fn sleep_until(moment: Instant) {
    thread::sleep(moment.saturating_duration_since(Instant::now()));
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn short(exe: &str) -> &str {
    exe.rsplit('/').next().unwrap_or(exe)
}
