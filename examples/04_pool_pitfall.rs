//! The idea: a job on a thread pool runs to its end once it has started, so
//! a stop queued behind busy threads waits for them; keep a thread free for
//! it, or bound the wait.
//!
//! Run it with `cargo run --example 04_pool_pitfall`. A pool of one thread,
//! then of two, each with one long job running (it ends only when `main`
//! lets it, standing for an update that takes minutes). With one thread,
//! the stop job waits in the queue until the long job is over; with two, it
//! runs at once. (The README's section 5 shows the same in `complex`, where
//! the stop deadline names the wait.)

use std::thread;
use std::time::Duration;

use crossbeam::channel::{self, RecvTimeoutError};

type Job = Box<dyn FnOnce() + Send>;

fn main() {
    for threads in [1, 2] {
        eprintln!("pool of {threads} thread(s): a long job starts");
        let (jobs, queue) = channel::unbounded::<Job>();
        let pool: Vec<_> = (0..threads)
            .map(|_| {
                let queue = queue.clone();
                thread::spawn(move || queue.iter().for_each(|job| job()))
            })
            .collect();

        // The long job: it ends when `main` drops `release`.
        let (release, released) = channel::bounded::<()>(0);
        let _ = jobs.send(Box::new(move || {
            let _ = released.recv();
            eprintln!("long job: done");
        }));
        // The stop, queued like any other job: it says when it runs.
        let (ran, stop_ran) = channel::bounded(1);
        let _ = jobs.send(Box::new(move || {
            let _ = ran.send(());
        }));

        let waited = stop_ran.recv_timeout(Duration::from_millis(500));
        if let Err(RecvTimeoutError::Timeout) = waited {
            eprintln!("stop job: still queued after 500 ms: every thread is busy");
        }
        // Lets the long job end.
        drop(release);
        match waited {
            Ok(()) => eprintln!("stop job: ran at once, beside the long job"),
            Err(_) if stop_ran.recv().is_ok() => {
                eprintln!("stop job: ran only after the long job was done")
            }
            Err(_) => eprintln!("stop job: lost"),
        }
        // Closes the queue and joins every thread: none is left behind.
        drop(jobs);
        pool.into_iter().for_each(|thread| drop(thread.join()));
    }
}
