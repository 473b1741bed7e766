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

use crossbeam::channel;

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

        if threads > 1 {
            // A thread is free: the stop runs while the long job still does.
            let _ = stop_ran.recv();
            eprintln!("stop job: ran at once, beside the long job");
            drop(release);
        } else {
            // The only thread is busy: half a second later, still nothing.
            if stop_ran.recv_timeout(Duration::from_millis(500)).is_err() {
                eprintln!("stop job: still queued after 500 ms: every thread is busy");
            }
            drop(release);
            let _ = stop_ran.recv();
            eprintln!("stop job: ran only after the long job was done");
        }
        // Closes the queue and joins every thread: none is left behind.
        drop(jobs);
        pool.into_iter().for_each(|thread| drop(thread.join()));
    }
}
