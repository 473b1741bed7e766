//! The benchmark: prints the figures quoted in `docs/performance.md`
//! (the performance chapter). Not a test: it asserts nothing, it measures.
//!
//!     cargo bench --bench figures
//!     cargo bench --bench figures -- --manager-only   # the first rows, 1 minute
//!
//! Every figure is the median (and a tail percentile where it matters) of
//! repeated runs; the table says how many. Logs of the programs under test
//! go to a temporary file, not the terminal, so the terminal's speed does
//! not enter the figures.

#[cfg(target_os = "linux")]
fn main() {
    // The benchmark starts itself again as the far end of the pipe
    // ping-pong that measures the machine's floor.
    if std::env::var_os(linux::ECHO).is_some() {
        linux::echo();
    } else {
        linux::main();
    }
}

/// The tests' harness: start a program on a pseudo-terminal, press Ctrl+C,
/// read its log, check nothing is left. The shutdown figures reuse it, so
/// they are measured exactly the way the tests check.
#[cfg(target_os = "linux")]
#[path = "../tests/integration/util.rs"]
#[allow(dead_code, unused_imports)] // uses a part of the shared harness
mod util;

#[cfg(not(target_os = "linux"))]
fn main() {
    println!("the benchmark reads /proc and is Linux-only");
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    use std::sync::Arc;
    use std::thread;
    use std::time::{Duration, Instant};

    use std::panic::{self, AssertUnwindSafe};

    use graceful::manager::{ManagerSettings, MultiProcessManager};
    use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
    use nix::unistd::Pid;

    use crate::util::Program;

    const SIMPLE: &str = env!("CARGO_BIN_EXE_simple");
    const COMPLEX: &str = env!("CARGO_BIN_EXE_complex");

    pub fn main() {
        let manager_only = std::env::args().any(|arg| arg == "--manager-only");
        let log_file =
            std::env::temp_dir().join(format!("graceful-bench-{}.log", std::process::id()));
        redirect_stderr(&log_file);
        graceful::logging::init("complex", "main");

        let cores = thread::available_parallelism().map_or(0, |n| n.get());
        println!(
            "graceful-shutdown benchmark, {cores} cores, program logs in {}",
            log_file.display()
        );
        println!();
        println!("| figure | value | runs |");
        println!("|---|---|---|");

        let floor = pinning_floor();
        for (label, logging) in [("DEBUG logging", true), ("logging off", false)] {
            let lines_before = line_count(&log_file);
            let (median, p99) = call_round_trip(logging, 3000);
            let lines_per_call = (line_count(&log_file) - lines_before) as f64 / 3200.0;
            row(
                &format!("manager call round trip, 1 caller, {label}"),
                &format!("median {median:.0} µs, p99 {p99:.0} µs ({lines_per_call:.1} log lines per call)"),
                "3000 calls",
            );
            if let Some(floor) = &floor {
                floor.round_trips_pinned(label, logging);
            }
            let rates: Vec<f64> =
                (0..3).map(|_| calls_per_second(logging, 4, Duration::from_secs(2))).collect();
            row(
                &format!("manager calls/s, 4 callers, {label}"),
                &format!("{:.0}", median_of(rates)),
                "3 runs of 2 s",
            );
        }
        let start_floor = start_floor(4, 10);
        row(
            "floor: 4 copies of `complex` started at once, each ending as its `main` begins (`--version`)",
            &format!("{start_floor:.1} ms"),
            "10 runs",
        );
        let (start, stop) = manager_start_stop(4, 10);
        row(
            "manager start, 4 workers",
            &format!("{start:.1} ms = {:.1} × the floor", start / start_floor),
            "10 runs",
        );
        row("manager stop, 4 workers", &format!("{stop:.1} ms"), "10 runs");
        if manager_only {
            let _ = std::fs::remove_file(&log_file);
            return;
        }

        let memory: Vec<(f64, f64, usize)> = (0..3).map(|_| complex_memory()).collect();
        let rss = median_of(memory.iter().map(|m| m.0).collect());
        let pss = median_of(memory.iter().map(|m| m.1).collect());
        row(
            "`complex` tree memory, 4 workers",
            &format!("{rss:.1} MB RSS, {pss:.1} MB PSS ({} processes)", memory[0].2),
            "3 runs",
        );
        let idle: Vec<f64> = (0..3).map(|_| simple_idle_cpu(Duration::from_secs(10))).collect();
        row(
            "`simple` CPU while idle in the wait loop",
            &format!("{:.2} ms per 10 s", median_of(idle)),
            "3 runs of 10 s",
        );

        for (name, exe) in [("simple", SIMPLE), ("complex", COMPLEX)] {
            let mut times: Vec<f64> = (0..20).map(|_| signal_to_exit(exe)).collect();
            times.sort_by(f64::total_cmp);
            row(
                &format!("`{name}` Ctrl+C to exit, --time-scale 0"),
                &format!(
                    "median {:.1} ms, p95 {:.1} ms",
                    percentile(&times, 0.5),
                    percentile(&times, 0.95)
                ),
                "20 runs",
            );
        }
        shutdown_at_random_moments();
        let drawn: Vec<f64> = (0..3).map(|_| timeline_draw(100_000)).collect();
        row(
            "`timeline`: a 100,000-line log drawn as a page",
            &format!("{:.0} ms", median_of(drawn)),
            "median of 3 runs",
        );
        let _ = std::fs::remove_file(&log_file);
    }

    /// Milliseconds to draw a log of `lines` lines in the programs' format:
    /// five processes, twenty threads, calls going back and forth.
    fn timeline_draw(lines: usize) -> f64 {
        let mut log = String::with_capacity(lines * 120);
        for n in 0..lines {
            let ms = n as u64 * 3;
            let (process, thread) = match n % 5 {
                0 => ("main".to_owned(), format!("pool-{}", n % 4 + 1)),
                _ => (format!("worker-{}", n % 5), "main".to_owned()),
            };
            log += &format!(
                "2026-11-25T10:{:02}:{:02}.{:03}Z | {process} | {thread} | graceful::manager | DEBUG | call {}: process_number({n})\n",
                ms / 60_000 % 60,
                ms / 1000 % 60,
                ms % 1000,
                n / 5
            );
        }
        let began = Instant::now();
        let page = timeline::draw(&log, "benchmark").expect("a page");
        assert!(page.len() > lines, "a page of {} bytes", page.len());
        began.elapsed().as_secs_f64() * 1e3
    }

    /// Set in the environment of the copy of the benchmark that echoes.
    pub const ECHO: &str = "GRACEFUL_BENCH_ECHO";

    /// The far end of the ping-pong: send back every byte, until EOF.
    pub fn echo() {
        use std::io::{Read, Write};
        let (mut input, mut output) = (std::io::stdin().lock(), std::io::stdout().lock());
        let mut byte = [0u8; 1];
        while matches!(input.read(&mut byte), Ok(1)) {
            if output.write_all(&byte).and_then(|()| output.flush()).is_err() {
                return;
            }
        }
    }

    /// Where the threads of a measurement run.
    #[derive(Clone, Copy)]
    enum Placement {
        /// Every thread of both processes on one core: a wake-up is a
        /// context switch, no other core has to be woken.
        SameCore,
        /// The benchmark on one core, the other process(es) on another:
        /// every hop between them wakes a core (an inter-processor
        /// interrupt, and the other core leaving its idle state).
        CrossCore,
    }

    impl Placement {
        fn label(self) -> &'static str {
            match self {
                Placement::SameCore => "same core",
                Placement::CrossCore => "across cores",
            }
        }
    }

    /// The machine's floor for a round trip between two processes, and the
    /// two cores it was measured on.
    struct Floor {
        here: usize,
        there: usize,
        same_core: f64,
        cross_core: f64,
        /// The same ping-pong with the reply read by a thread of its own
        /// that hands it to the waiting thread over a channel: the hop a
        /// manager call makes through its worker's collector.
        relayed_same_core: f64,
        relayed_cross_core: f64,
    }

    /// A one-byte ping-pong between this process and a copy of it over two
    /// pipes: the cheapest round trip two processes can make, so no manager
    /// call can beat it. Measured pinned both ways; `None` (and a row that
    /// says why) on a machine with a single usable core.
    fn pinning_floor() -> Option<Floor> {
        let allowed = sched_getaffinity(Pid::from_raw(0)).expect("read this thread's cores");
        let mut cores = (0..CpuSet::count()).filter(|&cpu| allowed.is_set(cpu).unwrap_or(false));
        let (Some(here), Some(there)) = (cores.next(), cores.next()) else {
            row("pipe ping-pong floor", "needs two usable cores", "");
            return None;
        };
        let mut floor = Floor {
            here,
            there,
            same_core: 0.0,
            cross_core: 0.0,
            relayed_same_core: 0.0,
            relayed_cross_core: 0.0,
        };
        for relayed in [false, true] {
            for placement in [Placement::SameCore, Placement::CrossCore] {
                let (median, p99) = floor.ping_pong(placement, relayed, 20_000);
                let how = if relayed { ", the reply through a reader thread" } else { "" };
                row(
                    &format!(
                        "floor: pipe ping-pong between two processes{how}, {}",
                        placement.label()
                    ),
                    &format!("median {median:.1} µs, p99 {p99:.1} µs"),
                    "20000 round trips",
                );
                *match (relayed, placement) {
                    (false, Placement::SameCore) => &mut floor.same_core,
                    (false, Placement::CrossCore) => &mut floor.cross_core,
                    (true, Placement::SameCore) => &mut floor.relayed_same_core,
                    (true, Placement::CrossCore) => &mut floor.relayed_cross_core,
                } = median;
            }
        }
        Some(floor)
    }

    impl Floor {
        fn ping_pong(&self, placement: Placement, relayed: bool, rounds: usize) -> (f64, f64) {
            use std::io::{Read, Write};
            let mut echo = Command::new(std::env::current_exe().expect("the benchmark's path"))
                .env(ECHO, "1")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("start the echo process");
            let (Some(mut to_echo), Some(from_echo)) = (echo.stdin.take(), echo.stdout.take())
            else {
                unreachable!("both ends were asked for as pipes");
            };
            // The reader thread, when relayed: reads each pong and sends it
            // on, as a collector sends a reply to its caller.
            let (pongs, relayed_pong) = crossbeam::channel::bounded(1);
            let mut from_echo = Some(from_echo);
            let reader = relayed.then(|| {
                let mut from = from_echo.take().expect("the pipe, not yet taken");
                thread::spawn(move || {
                    let mut byte = [0u8; 1];
                    while from.read_exact(&mut byte).is_ok() && pongs.send(byte[0]).is_ok() {}
                })
            });
            let saved = self.pin_all(std::process::id(), self.here);
            self.pin_all(echo.id(), self.core_for(placement));
            let mut byte = [7u8; 1];
            let mut times: Vec<f64> = (0..rounds + 1000)
                .map(|_| {
                    let began = Instant::now();
                    to_echo.write_all(&byte).expect("ping");
                    match &mut from_echo {
                        Some(from) => from.read_exact(&mut byte).expect("pong"),
                        None => byte[0] = relayed_pong.recv().expect("pong"),
                    }
                    began.elapsed().as_secs_f64() * 1e6
                })
                .skip(1000) // warm-up
                .collect();
            drop(to_echo);
            echo.wait().expect("wait for the echo process");
            if let Some(reader) = reader {
                reader.join().expect("the reader thread");
            }
            restore(&saved);
            times.sort_by(f64::total_cmp);
            (percentile(&times, 0.5), percentile(&times, 0.99))
        }

        fn core_for(&self, placement: Placement) -> usize {
            match placement {
                Placement::SameCore => self.here,
                Placement::CrossCore => self.there,
            }
        }

        /// Pins every thread of `pid` to `core`; returns what each had.
        fn pin_all(&self, pid: u32, core: usize) -> Vec<(Pid, CpuSet)> {
            let mut only = CpuSet::new();
            only.set(core).expect("a core of this machine");
            threads_of(pid)
                .into_iter()
                .filter_map(|thread| {
                    let before = sched_getaffinity(thread).ok()?;
                    sched_setaffinity(thread, &only).ok()?;
                    Some((thread, before))
                })
                .collect()
        }

        /// The manager's call round trip with the benchmark's threads on one
        /// core and the workers on the same core or on another, as a
        /// multiple of the floor measured the same way.
        fn round_trips_pinned(&self, label: &str, logging: bool) {
            for placement in [Placement::SameCore, Placement::CrossCore] {
                let manager = manager(4, logging);
                let saved = self.pin_all(std::process::id(), self.here);
                for worker in children_of(std::process::id()) {
                    self.pin_all(worker, self.core_for(placement));
                }
                let (median, p99) = round_trips(&manager, 3000);
                manager.stop();
                restore(&saved);
                let (floor, relayed) = match placement {
                    Placement::SameCore => (self.same_core, self.relayed_same_core),
                    Placement::CrossCore => (self.cross_core, self.relayed_cross_core),
                };
                row(
                    &format!(
                        "manager call round trip, 1 caller, {label}, pinned {}",
                        placement.label()
                    ),
                    &format!(
                        "median {median:.1} µs = {:.1} × the floor ({:.1} × the floor through a reader thread), p99 {p99:.1} µs",
                        median / floor,
                        median / relayed
                    ),
                    "3000 calls",
                );
            }
        }
    }

    fn restore(saved: &[(Pid, CpuSet)]) {
        for (thread, cores) in saved {
            let _ = sched_setaffinity(*thread, cores);
        }
    }

    /// The thread ids of process `pid` (each can be pinned on its own).
    fn threads_of(pid: u32) -> Vec<Pid> {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return Vec::new();
        };
        tasks
            .flatten()
            .filter_map(|task| task.file_name().to_string_lossy().parse::<i32>().ok())
            .map(Pid::from_raw)
            .collect()
    }

    /// The reference's shutdown figures, measured the same way: real speed
    /// (`--time-scale 1`), a uniformly random moment, Ctrl+C typed on a
    /// pseudo-terminal, SIGTERM to the main process, SIGKILL to the parent.
    fn shutdown_at_random_moments() {
        let mut most_lines = (0, 0);
        for (name, exe, window, runs) in
            [("simple", SIMPLE, 4.0, 20), ("complex", COMPLEX, 12.0, 20)]
        {
            let mut clean = 0;
            let mut times = Vec::new();
            for _ in 0..runs {
                let at = Duration::from_secs_f64(rand::random_range(0.0..window));
                let mut program = Program::start_on_terminal(exe, &[]);
                thread::sleep(at);
                program.press_ctrl_c();
                let pressed = Instant::now();
                let (is_clean, lines, duplicates) = judge(program, true);
                times.push(pressed.elapsed().as_secs_f64());
                clean += usize::from(is_clean);
                if name == "complex" && lines > most_lines.0 {
                    most_lines = (lines, duplicates);
                }
            }
            times.sort_by(f64::total_cmp);
            row(
                &format!("`{name}` Ctrl+C at a random moment in the first {window:.0} s (pty), real speed"),
                &format!(
                    "{clean}/{runs} clean; median {:.2} s, p95 {:.2} s to exit",
                    percentile(&times, 0.5),
                    percentile(&times, 0.95)
                ),
                &format!("{runs} runs"),
            );
        }
        row(
            "duplicated log records in the longest `complex` run",
            &format!("{} of {} lines", most_lines.1, most_lines.0),
            "1 run",
        );
        for (name, exe) in [("simple", SIMPLE), ("complex", COMPLEX)] {
            let runs = 10;
            let mut clean = 0;
            for _ in 0..runs {
                let at = Duration::from_secs_f64(rand::random_range(0.0..4.0));
                let program = Program::start(exe, &[]);
                thread::sleep(at);
                let _ = nix::sys::signal::kill(program.pid(), nix::sys::signal::SIGTERM);
                clean += usize::from(judge(program, false).0);
            }
            row(
                &format!(
                    "`{name}` SIGTERM to the main process at a random moment in the first 4 s"
                ),
                &format!("{clean}/{runs} clean"),
                &format!("{runs} runs"),
            );
        }
        let runs = 10;
        let mut orphans = 0;
        for _ in 0..runs {
            let at = Duration::from_secs_f64(rand::random_range(1.0..4.0));
            let program = Program::start(COMPLEX, &[]);
            thread::sleep(at);
            let _ = nix::sys::signal::kill(program.pid(), nix::sys::signal::SIGKILL);
            // Workers still running 2 s after their parent died.
            let leftover = panic::catch_unwind(AssertUnwindSafe(|| {
                program.finish_within(Duration::from_secs(2));
            }));
            orphans += usize::from(leftover.is_err());
        }
        row(
            "`complex` SIGKILL to the parent: runs with a worker left after 2 s",
            &format!("{orphans} of {runs}"),
            &format!("{runs} runs"),
        );
    }

    /// Was it a clean end (`main: end` last, no ERROR, nothing left running,
    /// and the exit status the cause calls for: death by SIGINT after
    /// Ctrl+C, else 0)? Also returns the number of lines and of duplicated
    /// lines.
    fn judge(program: Program, after_ctrl_c: bool) -> (bool, usize, usize) {
        // `finish` itself fails if a process of the run is left.
        let Ok(run) = panic::catch_unwind(AssertUnwindSafe(|| program.finish())) else {
            return (false, 0, 0);
        };
        let lines = run.log.len();
        let unique: std::collections::HashSet<&String> = run.log.iter().collect();
        let clean = panic::catch_unwind(AssertUnwindSafe(|| {
            if after_ctrl_c {
                run.assert_graceful_end_after_ctrl_c(&["main: begin", "main: end"]);
            } else {
                run.assert_graceful_end(&["main: begin", "main: end"]);
            }
            run.assert_absent("| ERROR |");
        }))
        .is_ok();
        (clean, lines, lines - unique.len())
    }

    fn line_count(path: &std::path::Path) -> usize {
        std::fs::read(path).map_or(0, |bytes| bytes.iter().filter(|&&b| b == b'\n').count())
    }

    fn row(figure: &str, value: &str, runs: &str) {
        println!("| {figure} | {value} | {runs} |");
    }

    /// Logs of the bench itself and of every child go to `path`.
    fn redirect_stderr(path: &std::path::Path) {
        let file = std::fs::File::create(path).expect("create the log file");
        nix::unistd::dup2_stderr(&file).expect("redirect stderr");
    }

    fn manager(workers: usize, logging: bool) -> Arc<MultiProcessManager> {
        // Workers read RUST_LOG when they start; the bench's own logger is
        // switched with the global level.
        let filter =
            if logging { graceful::logging::default_filter("complex") } else { "off".to_owned() };
        log::set_max_level(if logging { log::LevelFilter::Debug } else { log::LevelFilter::Off });
        let config = ManagerSettings {
            workers,
            program: COMPLEX.into(),
            args: vec!["--time-scale".into(), "0".into()],
        };
        // SAFETY-free in edition 2021; no other thread reads the environment now.
        std::env::set_var("RUST_LOG", filter);
        let manager = Arc::new(MultiProcessManager::new(config, None));
        manager.start().expect("manager start");
        manager
    }

    /// One caller, back-to-back calls: microseconds per round trip.
    fn call_round_trip(logging: bool, calls: usize) -> (f64, f64) {
        let manager = manager(4, logging);
        let figures = round_trips(&manager, calls);
        manager.stop();
        figures
    }

    /// Median and p99 of `calls` back-to-back calls, after a warm-up.
    fn round_trips(manager: &MultiProcessManager, calls: usize) -> (f64, f64) {
        for n in 0..200 {
            manager.process_number(n).expect("warm-up call");
        }
        let mut times: Vec<f64> = (0..calls)
            .map(|n| {
                let began = Instant::now();
                manager.process_number(n as i64).expect("call");
                began.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        times.sort_by(f64::total_cmp);
        (percentile(&times, 0.5), percentile(&times, 0.99))
    }

    fn calls_per_second(logging: bool, callers: usize, period: Duration) -> f64 {
        let manager = manager(4, logging);
        let began = Instant::now();
        let threads: Vec<_> = (0..callers)
            .map(|_| {
                let manager = manager.clone();
                thread::spawn(move || {
                    let mut calls = 0u64;
                    while began.elapsed() < period {
                        manager.process_number(calls as i64).expect("call");
                        calls += 1;
                    }
                    calls
                })
            })
            .collect();
        let calls: u64 = threads.into_iter().map(|t| t.join().expect("caller")).sum();
        let rate = calls as f64 / began.elapsed().as_secs_f64();
        manager.stop();
        rate
    }

    /// Milliseconds to start `copies` processes of `complex` at once and
    /// see every one of them end, where each ends as soon as its `main` has
    /// read the command line: what starting the workers costs before any
    /// of their own work.
    fn start_floor(copies: usize, runs: usize) -> f64 {
        let times = (0..runs)
            .map(|_| {
                let began = Instant::now();
                let children: Vec<_> = (0..copies)
                    .map(|_| {
                        Command::new(COMPLEX)
                            .arg("--version")
                            .stdin(Stdio::null())
                            .stdout(Stdio::null())
                            .spawn()
                            .expect("start a copy")
                    })
                    .collect();
                for mut child in children {
                    child.wait().expect("wait for a copy");
                }
                began.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        median_of(times)
    }

    fn manager_start_stop(workers: usize, runs: usize) -> (f64, f64) {
        let mut starts = Vec::new();
        let mut stops = Vec::new();
        for _ in 0..runs {
            let config = ManagerSettings {
                workers,
                program: COMPLEX.into(),
                args: vec!["--time-scale".into(), "0".into()],
            };
            let manager = MultiProcessManager::new(config, None);
            let began = Instant::now();
            manager.start().expect("start");
            starts.push(began.elapsed().as_secs_f64() * 1e3);
            let began = Instant::now();
            manager.stop();
            stops.push(began.elapsed().as_secs_f64() * 1e3);
        }
        (median_of(starts), median_of(stops))
    }

    /// Starts a program in its own process group with its log piped to us;
    /// returns it once `needle` has appeared, with the rest of the log
    /// drained in the background.
    fn start_until(exe: &str, args: &[&str], needle: &str) -> std::process::Child {
        let mut command = Command::new(exe);
        command.args(args).env("RUST_LOG", graceful::logging::default_filter("complex"));
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).process_group(0);
        // This program is sent Ctrl+C: it must not inherit SIGINT ignored.
        crate::util::give_sigint_its_default(&mut command);
        let mut child = command.spawn().expect("start the program");
        let mut lines = BufReader::new(child.stderr.take().expect("piped")).lines();
        for line in lines.by_ref() {
            if line.expect("read the log").contains(needle) {
                break;
            }
        }
        thread::spawn(move || for _ in lines {});
        child
    }

    fn signal_to_exit(exe: &str) -> f64 {
        let mut child = start_until(exe, &["--time-scale", "0"], "run: waiting");
        let began = Instant::now();
        // SIGINT to the process group we created, like a terminal.
        let group = nix::unistd::Pid::from_raw(child.id() as i32);
        nix::sys::signal::killpg(group, nix::sys::signal::SIGINT).expect("Ctrl+C");
        child.wait().expect("wait");
        began.elapsed().as_secs_f64() * 1e3
    }

    /// RSS and PSS in MB of `complex` and its workers, in the run stage.
    fn complex_memory() -> (f64, f64, usize) {
        let mut child = start_until(COMPLEX, &["--run-for", "2"], "run: waiting");
        thread::sleep(Duration::from_millis(500));
        let mut pids = vec![child.id()];
        pids.extend(children_of(child.id()));
        let (mut rss, mut pss) = (0.0, 0.0);
        for pid in &pids {
            let rollup =
                std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
            rss += kilobytes(&rollup, "Rss:") / 1024.0;
            pss += kilobytes(&rollup, "Pss:") / 1024.0;
        }
        child.wait().expect("wait");
        (rss, pss, pids.len())
    }

    /// CPU time of every thread of `simple` while it waits, in ms per `period`.
    fn simple_idle_cpu(period: Duration) -> f64 {
        let run_for = format!("{}", period.as_secs_f64() + 1.0);
        let mut child =
            start_until(SIMPLE, &["--time-scale", "0", "--run-for", &run_for], "run: waiting");
        let before = cpu_nanoseconds(child.id());
        thread::sleep(period);
        let after = cpu_nanoseconds(child.id());
        child.wait().expect("wait");
        (after - before) as f64 / 1e6
    }

    /// Nanoseconds on CPU of all threads of `pid` (from schedstat, which is
    /// exact, unlike the 10 ms ticks of /proc/PID/stat).
    fn cpu_nanoseconds(pid: u32) -> u64 {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return 0;
        };
        tasks
            .flatten()
            .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
            .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
            .sum()
    }

    fn children_of(parent: u32) -> Vec<u32> {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|entry| entry.file_name().to_string_lossy().parse::<u32>().ok())
            .filter(|pid| {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                let after = stat.rfind(')').map_or("", |end| &stat[end + 2..]);
                after.split(' ').nth(1) == Some(&parent.to_string())
            })
            .collect()
    }

    fn kilobytes(rollup: &str, field: &str) -> f64 {
        rollup
            .lines()
            .find(|line| line.starts_with(field))
            .and_then(|line| line.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0.0)
    }

    fn median_of(mut values: Vec<f64>) -> f64 {
        values.sort_by(f64::total_cmp);
        percentile(&values, 0.5)
    }

    fn percentile(sorted: &[f64], fraction: f64) -> f64 {
        if sorted.is_empty() {
            return f64::NAN;
        }
        let index = ((sorted.len() - 1) as f64 * fraction).round() as usize;
        sorted[index]
    }
}
