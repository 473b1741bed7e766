//! The Python demo's `simple.py` is an asyncio program; this is its lesson
//! in tokio, the runtime most Rust services use.
//!
//! Run it with `cargo run --example tokio_services` and press Ctrl+C during
//! start (the first two seconds) or once it waits. Three things to see:
//!
//! 1. **Start is shielded.** Ctrl+C is *listened for* from the first line,
//!    so it cannot kill the process, but start does not *look* until both
//!    services have started; then the program goes straight to the stop.
//! 2. **The stop order is the program's.** `main` stops service-2, then
//!    service-1, explicitly. Do not leave it to the runtime: dropping a
//!    runtime cancels every task still running at its next `.await`, in no
//!    order you can choose (asyncio's `asyncio.run()` does the same to its
//!    tasks, which is what the Python demo warns about).
//! 3. **Blocking jobs are the pool pitfall again.** A `spawn_blocking` job
//!    cannot be cancelled at an `.await`: dropping the runtime waits for it
//!    to finish, however long it takes. `shutdown_timeout` bounds that wait.
//!
//! Everything is printed to stderr, a line per step, like the programs' log.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use tokio::time::{sleep, timeout};

/// How long each service takes to start and to stop.
const STEP: Duration = Duration::from_secs(1);
/// How long a blocking job left behind would run, and how long the runtime
/// is given to shut down.
const BLOCKING_JOB: Duration = Duration::from_secs(3);
const SHUTDOWN_BOUND: Duration = Duration::from_millis(500);

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(cause) => {
            eprintln!("tokio_services: cannot start the runtime: {cause}");
            return ExitCode::FAILURE;
        }
    };
    let interrupted = runtime.block_on(run());

    // The runtime still runs things of the program's: two tasks in a loop
    // and a blocking job. A plain `drop(runtime)` would cancel the tasks at
    // their next `.await` and then wait the blocking job's full three
    // seconds; `shutdown_timeout` cancels the tasks the same way and waits
    // for the blocking job only so long.
    let began = Instant::now();
    eprintln!("main: shutting the runtime down, waiting at most {SHUTDOWN_BOUND:?}");
    runtime.shutdown_timeout(SHUTDOWN_BOUND);
    eprintln!(
        "main: runtime shut down after {:?}; the blocking job was left behind",
        began.elapsed()
    );
    eprintln!("main: end");
    // A shell running us learns of the Ctrl+C (the library's programs die
    // of SIGINT instead; see `src/ending.rs`).
    if interrupted {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    }
}

/// Start, run, stop; returns whether Ctrl+C ended the run.
async fn run() -> bool {
    // Listening starts here, before anything else: from now on Ctrl+C is a
    // message the program reads when it chooses, not the end of the process.
    let mut ctrl_c = match CtrlC::listen() {
        Ok(ctrl_c) => ctrl_c,
        Err(cause) => {
            eprintln!("main: cannot listen for Ctrl+C: {cause}");
            return false;
        }
    };
    eprintln!("start: begin (Ctrl+C is delayed until start is over)");
    // Awaited one after the other, and not raced against Ctrl+C: that is
    // the shield. (A `select!` against `ctrl_c` here would drop a
    // half-started service at its next `.await`.)
    start("service-1").await;
    start("service-2").await;
    let interrupted = if ctrl_c.came_already().await {
        eprintln!("start: end; got the interrupt during start, so skipping the run stage");
        true
    } else {
        eprintln!("start: end");
        eprintln!("run: waiting for Ctrl+C (or 60 s)");
        let came = timeout(Duration::from_secs(60), ctrl_c.next()).await.is_ok();
        eprintln!("run: end; {}", if came { "interrupted" } else { "time is over" });
        came
    };

    // Things the runtime will be left with, to show what its shutdown does:
    // two tasks that say when they are dropped (in an order nobody chose),
    for name in ["task-a", "task-b"] {
        tokio::spawn(async move {
            let _said_when_dropped = Dropped(name);
            loop {
                sleep(Duration::from_millis(100)).await; // cancelled here, at an `.await`
            }
        });
    }
    // and a blocking job.
    tokio::task::spawn_blocking(|| {
        // No `.await` to be cancelled at: only its end ends it.
        std::thread::sleep(BLOCKING_JOB);
        eprintln!("blocking job: done (only if the runtime waited for it)");
    });

    // The stop, in the reverse order of start, chosen here, not by drops.
    eprintln!("stop: begin");
    stop("service-2").await;
    stop("service-1").await;
    eprintln!("stop: end");
    interrupted
}

/// Says when the task that owns it is dropped.
struct Dropped(&'static str);

impl Drop for Dropped {
    fn drop(&mut self) {
        eprintln!("{}: cancelled at its .await by the runtime's shutdown", self.0);
    }
}

async fn start(name: &str) {
    eprintln!("{name}: starting");
    sleep(STEP).await;
    eprintln!("{name}: started");
}

async fn stop(name: &str) {
    eprintln!("{name}: stopping");
    sleep(STEP).await;
    eprintln!("{name}: stopped");
}

/// Ctrl+C as a stream of messages: SIGINT on Unix, the console event on
/// Windows. Listening begins when it is made.
struct CtrlC {
    #[cfg(unix)]
    signal: tokio::signal::unix::Signal,
    #[cfg(windows)]
    signal: tokio::signal::windows::CtrlC,
}

impl CtrlC {
    fn listen() -> std::io::Result<CtrlC> {
        #[cfg(unix)]
        let signal = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
        #[cfg(windows)]
        let signal = tokio::signal::windows::ctrl_c()?;
        Ok(CtrlC { signal })
    }

    /// Waits for the next Ctrl+C.
    async fn next(&mut self) {
        let _ = self.signal.recv().await;
    }

    /// Whether a Ctrl+C has come and not been read yet, without waiting
    /// (`timeout` polls the future once before it looks at the clock).
    async fn came_already(&mut self) -> bool {
        let came = timeout(Duration::ZERO, self.next()).await.is_ok();
        if came {
            eprintln!("signal: Ctrl+C came during start; acting on it now");
        }
        came
    }
}
