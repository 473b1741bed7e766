//! A fixed-size thread pool: the counterpart of Python's `ThreadPoolExecutor`.
//!
//! Jobs wait in one shared queue and run on the first free thread; each job's
//! result comes back through its own channel. The lesson this pool teaches
//! is the one the Python demo warns about: a job runs to completion once it
//! has started, whatever happens to whoever was waiting for it. If every
//! thread is busy, a job queued later (such as "stop the manager") waits
//! until one is free.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use crossbeam::channel::{self, Receiver, Sender};
use log::debug;

use crate::lock;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Why a job gave no result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolError {
    /// The job panicked; the pool thread survived and logged it.
    JobPanicked,
    /// The pool was shut down before the job was submitted.
    ShutDown,
}

impl std::fmt::Display for PoolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PoolError::JobPanicked => "the pool job panicked",
            PoolError::ShutDown => "the thread pool is shut down",
        })
    }
}

impl std::error::Error for PoolError {}

/// A pool of named threads (`pool-1`, `pool-2`, ...). Share it with `Arc`.
#[derive(Debug)]
pub struct ThreadPool {
    /// `None` once shut down: dropping the sender is what tells the threads
    /// to finish the queued jobs and exit.
    jobs: Mutex<Option<Sender<Job>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// Jobs running now: when it equals the threads, a new job waits.
    busy: Arc<AtomicUsize>,
}

/// The pending result of one job.
#[derive(Debug)]
pub struct JobHandle<T> {
    result: Receiver<T>,
    /// False if the pool was already shut down, so the job never ran.
    queued: bool,
}

impl ThreadPool {
    /// Starts `size` threads named `pool-1` .. `pool-N`, all waiting on one
    /// queue. Fails only if the OS refuses a thread.
    pub fn new(size: usize) -> std::io::Result<ThreadPool> {
        let (sender, queue) = channel::unbounded::<Job>();
        let (jobs, threads, busy) = (Mutex::new(Some(sender)), Mutex::default(), Arc::default());
        let pool = ThreadPool { jobs, threads, busy };
        for index in 1..=size {
            let (queue, busy, name) = (queue.clone(), pool.busy.clone(), format!("pool-{index}"));
            let run = move || {
                // Ends when the queue is closed and drained.
                for job in queue {
                    busy.fetch_add(1, Ordering::SeqCst);
                    // A panicking job must not take its thread with it: the
                    // pool would shrink silently, one panic at a time. The
                    // hook has logged and reported it (the application stops,
                    // as for any other panic), and its caller gets `JobPanicked`.
                    let _ = catch_unwind(AssertUnwindSafe(job));
                    busy.fetch_sub(1, Ordering::SeqCst);
                }
            };
            // On an error `pool` is dropped, which joins the threads so far.
            lock(&pool.threads).push(thread::Builder::new().name(name).spawn(run)?);
        }
        debug!("thread pool of {size} started");
        Ok(pool)
    }

    /// Queues `job`; it runs on the first free pool thread.
    pub fn submit<T, F>(&self, job: F) -> JobHandle<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (sender, result) = channel::bounded(1);
        // The caller may have stopped waiting (a loop that was cancelled and
        // left its job running): then nobody wants the result, and that is
        // fine.
        let job: Job = Box::new(move || drop(sender.send(job())));
        // If the pool is shut down, `job` (and its sender) is dropped here,
        // so the handle reports `ShutDown` instead of waiting forever.
        let queued = lock(&self.jobs).as_ref().is_some_and(|jobs| jobs.send(job).is_ok());
        JobHandle { result, queued }
    }

    /// Whether every thread is running a job now: a job submitted now waits
    /// in the queue until one of them is done (README, section 5).
    pub fn all_busy(&self) -> bool {
        self.busy.load(Ordering::SeqCst) >= lock(&self.threads).len()
    }

    /// Closes the queue, lets the queued jobs finish, and joins every thread.
    pub fn shutdown(&self) {
        lock(&self.jobs).take();
        let threads = std::mem::take(&mut *lock(&self.threads));
        let count = threads.len();
        for handle in threads {
            let _ = handle.join();
        }
        if count > 0 {
            debug!("thread pool shut down; {count} threads joined");
        }
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl<T> JobHandle<T> {
    /// Blocks until the job has run.
    pub fn wait(self) -> Result<T, PoolError> {
        self.result.recv().map_err(|_| self.no_result())
    }

    /// The channel the result arrives on, to wait for it in `select!`
    /// together with something else (a cancellation, say).
    pub fn result(&self) -> &Receiver<T> {
        &self.result
    }

    /// Why the result channel disconnected without a result.
    pub fn no_result(&self) -> PoolError {
        if self.queued {
            PoolError::JobPanicked
        } else {
            PoolError::ShutDown
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn jobs_return_their_results() {
        let pool = ThreadPool::new(2).unwrap();
        let handles: Vec<_> = (0..10).map(|n| pool.submit(move || n * n)).collect();
        let results: Vec<i32> = handles.into_iter().map(|h| h.wait().unwrap()).collect();
        assert_eq!(results, (0..10).map(|n| n * n).collect::<Vec<_>>());
    }

    #[test]
    fn jobs_run_on_pool_threads() {
        let pool = ThreadPool::new(1).unwrap();
        let name = pool.submit(|| thread::current().name().map(str::to_owned)).wait().unwrap();
        assert_eq!(name.as_deref(), Some("pool-1"));
    }

    #[test]
    fn shutdown_runs_queued_jobs_then_joins() {
        let pool = ThreadPool::new(2).unwrap();
        let done = Arc::new(AtomicUsize::new(0));
        for _ in 0..20 {
            let done = done.clone();
            let _ = pool.submit(move || {
                thread::sleep(std::time::Duration::from_millis(1));
                done.fetch_add(1, Ordering::SeqCst);
            });
        }
        pool.shutdown();
        assert_eq!(done.load(Ordering::SeqCst), 20);
    }

    #[test]
    fn a_panicking_job_gives_an_error_and_the_thread_survives() {
        let pool = ThreadPool::new(1).unwrap();
        let failed = pool.submit(|| -> u32 { panic!("injected") }).wait();
        assert_eq!(failed, Err(PoolError::JobPanicked));
        assert_eq!(pool.submit(|| 7).wait(), Ok(7));
    }

    #[test]
    fn a_job_submitted_after_shutdown_fails_instead_of_hanging() {
        let pool = ThreadPool::new(1).unwrap();
        pool.shutdown();
        assert_eq!(pool.submit(|| 1).wait(), Err(PoolError::ShutDown));
    }
}
