//! The manager's bookkeeping: which worker has which call, which calls wait
//! in the queue, who is waiting for which reply.
//!
//! It is plain data behind the manager's one lock, and knows nothing of
//! processes: a worker is a writer for its commands (its stdin pipe in the
//! program, a `Vec<u8>` in the tests below). Workers are numbered from 1,
//! as in their names (`worker-1`) and their `--worker-id`.
//!
//! Commands are written while the lock is held. That cannot block: a
//! worker gets its next piece of work only when the previous one is done,
//! so at most a call or an update, plus a stop, are ever unread in its pipe,
//! far below the 64 KiB a pipe holds.

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Write;

use crossbeam::channel::Sender;

use super::ManagerError;
use crate::cancel::Trigger;
use crate::protocol::{self, Command, Output, Request};

/// Where the manager is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    NotStarted,
    Starting,
    Running,
    Stopping,
    Stopped,
}

/// Where a caller's reply goes.
pub(super) type ReplyTo = Sender<Result<Output, ManagerError>>;

/// Everything behind the manager's lock.
pub(super) struct State<W> {
    pub(super) phase: Phase,
    workers: Vec<Slot<W>>,
    /// Callers waiting for a reply, by call id.
    waiting: HashMap<u64, ReplyTo>,
    /// Calls no worker was free for yet, oldest first.
    queue: VecDeque<(u64, Request)>,
    /// Pulled when `stop` begins, waking an `update` that waits.
    pub(super) stop_trigger: Option<Trigger>,
}

/// The parent's view of one worker.
struct Slot<W> {
    /// `None` once the worker was told to stop, or died.
    stdin: Option<W>,
    /// The call this worker is working on.
    call: Option<u64>,
    /// An update has been sent and not yet answered.
    updating: bool,
    alive: bool,
}

impl<W: Write> State<W> {
    pub(super) fn new(stop_trigger: Trigger) -> State<W> {
        State {
            phase: Phase::NotStarted,
            workers: Vec::new(),
            waiting: HashMap::new(),
            queue: VecDeque::new(),
            stop_trigger: Some(stop_trigger),
        }
    }

    /// Adds the next worker (ids are given in order: 1, 2, ...); returns its id.
    pub(super) fn add_worker(&mut self, stdin: W) -> usize {
        self.workers.push(Slot {
            stdin: Some(stdin),
            call: None,
            updating: false,
            alive: true,
        });
        self.workers.len()
    }

    fn slot(&mut self, worker: usize) -> &mut Slot<W> {
        &mut self.workers[worker - 1]
    }

    /// Sends call `id` to a free worker, or queues it; the reply will go to
    /// `reply_to`. Returns whether it was queued.
    pub(super) fn submit(&mut self, id: u64, request: Request, reply_to: ReplyTo) -> bool {
        self.waiting.insert(id, reply_to);
        match self.free_worker() {
            Some(worker) => {
                self.send_call(worker, id, request);
                false
            }
            None => {
                self.queue.push_back((id, request));
                true
            }
        }
    }

    /// Forgets call `id` (its caller gave up waiting).
    pub(super) fn withdraw(&mut self, id: u64) {
        self.waiting.remove(&id);
        self.queue.retain(|(queued, _)| *queued != id);
    }

    /// Worker `worker` answered call `id`: frees it, gives it the next
    /// queued call, and returns whoever waits for the reply.
    pub(super) fn replied(&mut self, worker: usize, id: u64) -> Option<ReplyTo> {
        let slot = self.slot(worker);
        if slot.call == Some(id) {
            slot.call = None;
        }
        let caller = self.waiting.remove(&id);
        self.feed(worker);
        caller
    }

    /// Worker `worker` finished its update: it is free for calls again.
    pub(super) fn updated(&mut self, worker: usize) {
        self.slot(worker).updating = false;
        self.feed(worker);
    }

    /// Worker `worker` exited: returns the call it had in hand, with its
    /// caller, if any.
    pub(super) fn exited(&mut self, worker: usize) -> Option<(u64, ReplyTo)> {
        let slot = self.slot(worker);
        slot.alive = false;
        slot.stdin = None;
        let lost = slot.call.take()?;
        self.waiting.remove(&lost).map(|caller| (lost, caller))
    }

    /// A worker that is alive and has nothing in hand.
    fn free_worker(&self) -> Option<usize> {
        self.workers
            .iter()
            .position(|slot| slot.alive && slot.call.is_none() && !slot.updating)
            .map(|index| index + 1)
    }

    fn send_call(&mut self, worker: usize, id: u64, request: Request) {
        let slot = self.slot(worker);
        slot.call = Some(id);
        // A failed write means the worker is dying: its collector is about
        // to see the end of its output and fail this call with the exit
        // status.
        if let Some(stdin) = slot.stdin.as_mut() {
            let _ = protocol::send(stdin, &Command::Call { id, request });
        }
    }

    /// If worker `worker` is free, gives it the oldest queued call.
    fn feed(&mut self, worker: usize) {
        let slot = self.slot(worker);
        if !slot.alive || slot.call.is_some() || slot.updating {
            return;
        }
        if let Some((id, request)) = self.queue.pop_front() {
            self.send_call(worker, id, request);
        }
    }

    /// Sends `Update` to every live worker; returns which ones.
    pub(super) fn send_update(&mut self, round: u64) -> HashSet<usize> {
        let mut sent = HashSet::new();
        for (index, slot) in self.workers.iter_mut().enumerate() {
            if let (true, Some(stdin)) = (slot.alive, slot.stdin.as_mut()) {
                if protocol::send(stdin, &Command::Update { round }).is_ok() {
                    slot.updating = true;
                    sent.insert(index + 1);
                }
            }
        }
        sent
    }

    /// Tells every worker to stop, and closes its stdin.
    pub(super) fn tell_workers_to_stop(&mut self) {
        for slot in &mut self.workers {
            if let Some(mut stdin) = slot.stdin.take() {
                let _ = protocol::send(&mut stdin, &Command::Stop);
                // Dropping stdin closes the pipe: even a worker that missed
                // the `Stop` line sees end-of-file and leaves.
            }
        }
    }

    /// Closes every worker's stdin without a word (after they were killed).
    pub(super) fn close_all_stdin(&mut self) {
        for slot in &mut self.workers {
            slot.stdin = None;
        }
    }

    /// Fails the calls that never reached a worker; returns how many.
    pub(super) fn fail_queued_calls(&mut self) -> usize {
        let queued: Vec<u64> = self.queue.drain(..).map(|(id, _)| id).collect();
        for id in &queued {
            if let Some(caller) = self.waiting.remove(id) {
                let _ = caller.send(Err(ManagerError::StoppedWhileWaiting { id: *id }));
            }
        }
        queued.len()
    }

    /// Fails the calls whose worker exited without answering.
    pub(super) fn fail_waiting_calls(&mut self) -> usize {
        let waiting: Vec<_> = self.waiting.drain().collect();
        for (id, caller) in &waiting {
            let _ = caller.send(Err(ManagerError::StoppedWhileWaiting { id: *id }));
        }
        waiting.len()
    }
}

/// `worker-N`, the name of worker `id` (1-based) in every log line.
pub(crate) fn worker_name(id: usize) -> String {
    format!("worker-{id}")
}

/// `worker-1, worker-3`: the workers in `ids`, in order.
pub(super) fn names(ids: &HashSet<usize>) -> String {
    let mut sorted: Vec<usize> = ids.iter().copied().collect();
    sorted.sort_unstable();
    let names: Vec<String> = sorted.into_iter().map(worker_name).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use crossbeam::channel::{self, Receiver};

    use super::*;
    use crate::cancel;

    /// Two workers whose "pipes" are in-memory buffers.
    fn two_workers() -> State<Vec<u8>> {
        let (trigger, _) = cancel::pair();
        let mut state = State::new(trigger);
        assert_eq!(state.add_worker(Vec::new()), 1);
        assert_eq!(state.add_worker(Vec::new()), 2);
        state
    }

    fn commands(state: &State<Vec<u8>>, worker: usize) -> Vec<Command> {
        let bytes = state.workers[worker - 1].stdin.as_ref().unwrap();
        String::from_utf8_lossy(bytes)
            .lines()
            .map(|line| protocol::parse(line).unwrap())
            .collect()
    }

    fn submit(
        state: &mut State<Vec<u8>>,
        id: u64,
    ) -> (bool, Receiver<Result<Output, ManagerError>>) {
        let (reply_to, reply) = channel::bounded(1);
        (
            state.submit(id, Request::ProcessNumber(id as i64), reply_to),
            reply,
        )
    }

    #[test]
    fn calls_go_to_free_workers_first_then_queue() {
        let mut state = two_workers();
        assert!(!submit(&mut state, 1).0);
        assert!(!submit(&mut state, 2).0);
        assert!(submit(&mut state, 3).0, "both busy: queued");
        assert_eq!(commands(&state, 1).len(), 1);
        assert_eq!(commands(&state, 2).len(), 1);
        // Worker 2 answers first: it takes the queued call (shared queue).
        assert!(state.replied(2, 2).is_some());
        let sent = commands(&state, 2);
        assert!(matches!(sent[1], Command::Call { id: 3, .. }), "{sent:?}");
    }

    #[test]
    fn an_updating_worker_gets_no_call_until_it_has_updated() {
        let mut state = two_workers();
        assert_eq!(state.send_update(1), HashSet::from([1, 2]));
        assert!(submit(&mut state, 7).0, "every worker is updating");
        state.updated(1);
        assert!(matches!(
            commands(&state, 1)[1],
            Command::Call { id: 7, .. }
        ));
    }

    #[test]
    fn a_dead_worker_gives_back_its_caller_and_gets_no_more_calls() {
        let mut state = two_workers();
        let (_, reply) = submit(&mut state, 1);
        let (lost, caller) = state.exited(1).unwrap();
        assert_eq!(lost, 1);
        let _ = caller.send(Err(ManagerError::StoppedWhileWaiting { id: 1 }));
        assert!(reply.recv().unwrap().is_err());
        assert!(!submit(&mut state, 2).0, "worker 2 is free");
        assert!(submit(&mut state, 3).0, "worker 1 is dead, worker 2 busy");
    }

    #[test]
    fn stopping_fails_every_waiting_caller() {
        let mut state = two_workers();
        let replies: Vec<_> = (1..=4).map(|id| submit(&mut state, id).1).collect();
        assert_eq!(state.fail_queued_calls(), 2);
        state.tell_workers_to_stop();
        assert_eq!(state.fail_waiting_calls(), 2);
        for reply in replies {
            assert!(matches!(
                reply.recv().unwrap(),
                Err(ManagerError::StoppedWhileWaiting { .. })
            ));
        }
    }

    #[test]
    fn names_are_one_based_and_sorted() {
        assert_eq!(names(&HashSet::from([3, 1])), "worker-1, worker-3");
    }
}
