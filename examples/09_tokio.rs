//! The idea, in tokio: Ctrl+C is a stream the program reads when it
//! chooses, so start is shielded by not racing it, the stop order is the
//! program's, and the runtime's shutdown is bounded, because dropping it
//! waits for every `spawn_blocking` job (section 5's pitfall again).
//!
//! Run it with `cargo run --example 09_tokio` and press Ctrl+C during start
//! (the first two seconds) or once it waits. A second Ctrl+C during the
//! stop is said and changes nothing; a third ends the process at once, with
//! exit code 5. After a complete stop it dies of SIGINT, as the programs
//! do. The mapping of every piece to tokio: `docs/tokio.md`.

use std::time::Duration;

use tokio::time::{sleep, timeout};

fn main() -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run())?;
    // Dropping the runtime would cancel the two tasks at their next `.await`
    // (in no order anyone chose) and then wait for the blocking job to its
    // end; `shutdown_timeout` cancels them the same way and bounds the wait.
    eprintln!("main: shutting the runtime down, waiting at most 500 ms");
    runtime.shutdown_timeout(Duration::from_millis(500));
    eprintln!("main: end; the blocking job was left behind; dying of SIGINT");
    #[cfg(unix)]
    let _ = signal_hook::low_level::emulate_default_handler(signal_hook::consts::SIGINT);
    if cfg!(windows) {
        std::process::exit(0xC000_013A_u32 as i32); // what Ctrl+C's death is there
    }
    Ok(())
}

async fn run() -> std::io::Result<()> {
    // Listening starts first: from here on Ctrl+C is a message to read, and
    // one that comes while nobody reads waits for the next `recv`.
    #[cfg(unix)]
    let mut ctrl_c = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    #[cfg(windows)]
    let mut ctrl_c = tokio::signal::windows::ctrl_c()?;
    eprintln!("start: begin (Ctrl+C is delayed until start is over)");
    // Awaited in turn, not raced against Ctrl+C: that is the shield.
    step("service-1", "starting", "started").await;
    step("service-2", "starting", "started").await;
    if timeout(Duration::ZERO, ctrl_c.recv()).await.is_ok() {
        eprintln!("start: end; got the interrupt during start, so skipping the run stage");
    } else {
        eprintln!("start: end");
        eprintln!("run: waiting for Ctrl+C");
        ctrl_c.recv().await;
        eprintln!("run: end; interrupted");
    }
    // What the runtime is left with: two tasks in a loop, and a blocking job.
    for name in ["task-a", "task-b"] {
        tokio::spawn(async move {
            let _said_when_dropped = Dropped(name);
            loop {
                sleep(Duration::from_millis(100)).await; // cancelled here
            }
        });
    }
    tokio::task::spawn_blocking(|| {
        std::thread::sleep(Duration::from_secs(3)); // no `.await` to cancel it at
        eprintln!("blocking job: done (only if the runtime waited for it)");
    });
    // The stop, in reverse, while a task counts any further Ctrl+C.
    eprintln!("stop: begin (the stop runs to its end, a third Ctrl+C forces the exit)");
    let counting = tokio::spawn(async move {
        for number in 2.. {
            ctrl_c.recv().await;
            if number >= 3 {
                eprintln!("signal #{number}: Ctrl+C forced the exit; exit code 5");
                std::process::exit(5);
            }
            eprintln!("signal #{number}: Ctrl+C during the stop, which runs to its end");
        }
    });
    step("service-2", "stopping", "stopped").await;
    step("service-1", "stopping", "stopped").await;
    counting.abort();
    eprintln!("stop: end");
    Ok(())
}

async fn step(service: &str, doing: &str, done: &str) {
    eprintln!("{service}: {doing}");
    sleep(Duration::from_secs(1)).await;
    eprintln!("{service}: {done}");
}

struct Dropped(&'static str);

impl Drop for Dropped {
    fn drop(&mut self) {
        eprintln!("{}: cancelled at its .await by the runtime's shutdown", self.0);
    }
}
