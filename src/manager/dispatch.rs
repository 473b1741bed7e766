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
    /// Dropped when `stop` begins, waking an `update` that waits.
    pub(super) stop_trigger: Option<Trigger>,
}

/// The parent's view of one worker.
struct Slot<W> {
    /// `None` once the worker was told to stop, or died: it takes no work.
    stdin: Option<W>,
    /// The call this worker is working on.
    call: Option<u64>,
    /// An update has been sent and not yet answered.
    updating: bool,
}

impl<W: Write> State<W> {
    pub(super) fn new(stop_trigger: Trigger) -> State<W> {
        let (workers, waiting, queue) = (Vec::new(), HashMap::new(), VecDeque::new());
        State {
            phase: Phase::NotStarted,
            workers,
            waiting,
            queue,
            stop_trigger: Some(stop_trigger),
        }
    }

    /// Adds the next worker (ids are given in order: 1, 2, ...); returns its id.
    pub(super) fn add_worker(&mut self, stdin: W) -> usize {
        self.workers.push(Slot { stdin: Some(stdin), call: None, updating: false });
        self.workers.len()
    }

    /// Sends call `id` to a free worker, or queues it; the reply will go to
    /// `reply_to`. Returns whether it was queued. With no worker left alive,
    /// the call fails at once: queued, it would wait for a worker that
    /// cannot come.
    pub(super) fn submit(&mut self, id: u64, request: Request, reply_to: ReplyTo) -> bool {
        if self.no_worker_left() {
            let _ = reply_to.send(Err(ManagerError::NoWorkerLeft));
            return false;
        }
        self.waiting.insert(id, reply_to);
        let free = self.workers.iter().position(|slot| slot.stdin.is_some() && slot.is_free());
        match free {
            Some(index) => self.workers[index].send_call(id, request),
            None => self.queue.push_back((id, request)),
        }
        free.is_none()
    }

    /// Forgets call `id` (its caller gave up waiting).
    pub(super) fn withdraw(&mut self, id: u64) {
        self.waiting.remove(&id);
        self.queue.retain(|(queued, _)| *queued != id);
    }

    /// Worker `worker` answered call `id`: frees it, gives it the next
    /// queued call, and returns whoever waits for the reply.
    pub(super) fn replied(&mut self, worker: usize, id: u64) -> Option<ReplyTo> {
        let slot = &mut self.workers[worker - 1];
        slot.call = slot.call.filter(|call| *call != id);
        self.feed(worker);
        self.waiting.remove(&id)
    }

    /// Worker `worker` finished its update: it is free for calls again.
    pub(super) fn updated(&mut self, worker: usize) {
        self.workers[worker - 1].updating = false;
        self.feed(worker);
    }

    /// Worker `worker` exited: returns the call it had in hand, with its
    /// caller, if any. If it was the last one alive, the queued calls fail
    /// now, since no worker is left to take them.
    pub(super) fn exited(&mut self, worker: usize) -> Option<(u64, ReplyTo)> {
        let slot = &mut self.workers[worker - 1];
        slot.stdin = None;
        let lost = slot.call.take();
        if self.no_worker_left() {
            self.fail_queued_calls(|_| ManagerError::NoWorkerLeft);
        }
        let lost = lost?;
        self.waiting.remove(&lost).map(|caller| (lost, caller))
    }

    /// Whether every worker has died (or been told to stop).
    fn no_worker_left(&self) -> bool {
        self.workers.iter().all(|slot| slot.stdin.is_none())
    }

    /// If worker `worker` is free, gives it the oldest queued call.
    fn feed(&mut self, worker: usize) {
        let slot = &mut self.workers[worker - 1];
        if slot.is_free() {
            if let Some((id, request)) = self.queue.pop_front() {
                slot.send_call(id, request);
            }
        }
    }

    /// Sends `Update` to every worker that takes work; returns which ones.
    pub(super) fn send_update(&mut self, round: u64) -> HashSet<usize> {
        let mut sent = HashSet::new();
        for (index, slot) in self.workers.iter_mut().enumerate() {
            let Some(stdin) = slot.stdin.as_mut() else { continue };
            if protocol::send(stdin, &Command::Update { round }).is_ok() {
                slot.updating = true;
                sent.insert(index + 1);
            }
        }
        sent
    }

    /// Tells every worker to stop, and closes its stdin: even a worker that
    /// missed the `Stop` line sees end-of-file and leaves.
    pub(super) fn tell_workers_to_stop(&mut self) {
        for mut stdin in self.workers.iter_mut().filter_map(|slot| slot.stdin.take()) {
            let _ = protocol::send(&mut stdin, &Command::Stop);
        }
    }

    /// Closes every worker's stdin without a word (after they were killed).
    pub(super) fn close_all_stdin(&mut self) {
        self.workers.iter_mut().for_each(|slot| slot.stdin = None);
    }

    /// Fails the calls no worker has taken yet, so no caller waits for a
    /// reply that will never come; returns how many. A stop does that first
    /// (with `StoppedWhileWaiting`); so does the last worker's death (with
    /// `NoWorkerLeft`).
    pub(super) fn fail_queued_calls(&mut self, error: impl Fn(u64) -> ManagerError) -> usize {
        let ids = self.queue.drain(..).map(|(id, _)| id).collect();
        self.fail(ids, error)
    }

    /// Fails every call still waiting for a reply (once every worker has
    /// exited, none will come); returns how many.
    pub(super) fn fail_unanswered_calls(&mut self) -> usize {
        let ids = self.waiting.keys().copied().collect();
        self.fail(ids, |id| ManagerError::StoppedWhileWaiting { id })
    }

    fn fail(&mut self, ids: Vec<u64>, error: impl Fn(u64) -> ManagerError) -> usize {
        for id in &ids {
            if let Some(caller) = self.waiting.remove(id) {
                let _ = caller.send(Err(error(*id)));
            }
        }
        ids.len()
    }
}

impl<W: Write> Slot<W> {
    fn is_free(&self) -> bool {
        self.call.is_none() && !self.updating
    }

    fn send_call(&mut self, id: u64, request: Request) {
        self.call = Some(id);
        // A failed write means the worker is dying: its collector is about
        // to see the end of its output and fail this call with the status.
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = protocol::send(stdin, &Command::Call { id, request });
        }
    }
}

/// `worker-N`, the name of worker `id` (1-based) in every log line.
pub(crate) fn worker_name(id: usize) -> String {
    format!("worker-{id}")
}

/// `worker-1, worker-3`: the workers in `ids`, in order.
pub(super) fn names(ids: &HashSet<usize>) -> String {
    let sorted: std::collections::BTreeSet<usize> = ids.iter().copied().collect();
    sorted.into_iter().map(worker_name).collect::<Vec<_>>().join(", ")
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
        String::from_utf8_lossy(bytes).lines().map(|line| protocol::parse(line).unwrap()).collect()
    }

    fn submit(
        state: &mut State<Vec<u8>>,
        id: u64,
    ) -> (bool, Receiver<Result<Output, ManagerError>>) {
        let (reply_to, reply) = channel::bounded(1);
        (state.submit(id, Request::ProcessNumber(id as i64), reply_to), reply)
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
        assert!(matches!(commands(&state, 1)[1], Command::Call { id: 7, .. }));
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
    fn when_the_last_worker_dies_queued_and_new_calls_fail_at_once() {
        let mut state = two_workers();
        let (_, first) = submit(&mut state, 1);
        let (_, second) = submit(&mut state, 2);
        let (queued, third) = submit(&mut state, 3);
        assert!(queued);
        state.exited(1);
        assert!(third.try_recv().is_err(), "worker 2 still lives: call 3 waits for it");
        state.exited(2);
        assert!(matches!(third.try_recv(), Ok(Err(ManagerError::NoWorkerLeft))));
        let (queued, fourth) = submit(&mut state, 4);
        assert!(!queued, "queued with no worker left");
        assert!(matches!(fourth.try_recv(), Ok(Err(ManagerError::NoWorkerLeft))));
        drop((first, second));
    }

    #[test]
    fn stopping_fails_every_waiting_caller() {
        let mut state = two_workers();
        let replies: Vec<_> = (1..=4).map(|id| submit(&mut state, id).1).collect();
        assert_eq!(state.fail_queued_calls(|id| ManagerError::StoppedWhileWaiting { id }), 2);
        state.tell_workers_to_stop();
        assert_eq!(state.fail_unanswered_calls(), 2);
        for reply in replies {
            assert!(matches!(reply.recv().unwrap(), Err(ManagerError::StoppedWhileWaiting { .. })));
        }
    }

    #[test]
    fn names_are_one_based_and_sorted() {
        assert_eq!(names(&HashSet::from([3, 1])), "worker-1, worker-3");
    }

    /// One thing that can happen to the dispatch, in any order.
    #[derive(Debug, Clone)]
    enum Step {
        Call,
        /// Worker (1-based, wrapped to the workers there are) answers its call.
        Reply(usize),
        Exit(usize),
        Update,
        Updated(usize),
        /// The caller of the oldest call still waiting gives up on it.
        GiveUp,
    }

    fn step() -> impl proptest::strategy::Strategy<Value = Step> {
        use proptest::prelude::*;
        prop_oneof![
            4 => Just(Step::Call),
            3 => (1..=4usize).prop_map(Step::Reply),
            1 => (1..=4usize).prop_map(Step::Exit),
            1 => Just(Step::Update),
            2 => (1..=4usize).prop_map(Step::Updated),
            1 => Just(Step::GiveUp),
        ]
    }

    proptest::proptest! {
        /// Whatever happens, in whatever order: no worker is free while a
        /// call waits in the queue; calls are handed out in the order they
        /// came; every call ends with exactly one answer once its worker
        /// answers or dies, or the stop comes; and with no worker left,
        /// nothing waits and a new call fails at once.
        #[test]
        fn no_call_is_lost_delayed_or_answered_twice(
            workers in 1..=4usize,
            steps in proptest::collection::vec(step(), 0..80),
        ) {
            let (trigger, _) = cancel::pair();
            let mut state = State::new(trigger);
            for _ in 0..workers {
                state.add_worker(Vec::new());
            }
            let mut replies = Vec::new();
            let mut dispatched = Vec::new();
            let mut given_up = Vec::new();
            for step in steps {
                match step {
                    Step::Call => {
                        let id = replies.len() as u64 + 1;
                        replies.push(submit(&mut state, id).1);
                    }
                    Step::Reply(worker) => {
                        let worker = (worker - 1) % workers + 1;
                        if let Some(id) = state.workers[worker - 1].call {
                            if let Some(caller) = state.replied(worker, id) {
                                let _ = caller.send(Err(ManagerError::TimedOut("answered".into())));
                            }
                        }
                    }
                    Step::Exit(worker) => {
                        let worker = (worker - 1) % workers + 1;
                        if let Some((id, caller)) = state.exited(worker) {
                            let status = "killed".to_owned();
                            let worker = worker_name(worker);
                            let _ = caller.send(Err(ManagerError::WorkerDied { worker, status }));
                            proptest::prop_assert!(id > 0);
                        }
                    }
                    Step::Update => {
                        state.send_update(1);
                    }
                    Step::Updated(worker) => {
                        let worker = (worker - 1) % workers + 1;
                        state.updated(worker);
                    }
                    Step::GiveUp => {
                        if let Some(&id) = state.waiting.keys().min() {
                            state.withdraw(id);
                            given_up.push(id);
                            proptest::prop_assert!(state.queue.iter().all(|(queued, _)| *queued != id));
                        }
                    }
                }
                for slot in &state.workers {
                    if let Some(id) = slot.call.filter(|id| !dispatched.contains(id)) {
                        proptest::prop_assert!(!given_up.contains(&id), "call {} handed out after its caller gave up", id);
                        dispatched.push(id);
                    }
                }
                let free = state.workers.iter().any(|slot| slot.stdin.is_some() && slot.is_free());
                proptest::prop_assert!(!free || state.queue.is_empty(), "a free worker, and calls queued");
                if state.no_worker_left() {
                    proptest::prop_assert!(state.queue.is_empty(), "calls queued with no worker left");
                }
            }
            let mut sorted = dispatched.clone();
            sorted.sort_unstable();
            proptest::prop_assert_eq!(&dispatched, &sorted, "calls handed out out of order");
            // The stop: every worker is told, whatever is still queued or in
            // hand gets its answer, but a call whose caller gave up.
            state.fail_queued_calls(|id| ManagerError::StoppedWhileWaiting { id });
            state.tell_workers_to_stop();
            proptest::prop_assert!(state.workers.iter().all(|slot| slot.stdin.is_none()));
            state.fail_unanswered_calls();
            for (index, reply) in replies.iter().enumerate() {
                let id = index as u64 + 1;
                let answers = reply.try_iter().count();
                let wanted = usize::from(!given_up.contains(&id));
                proptest::prop_assert_eq!(answers, wanted, "call {} got {} answer(s)", id, answers);
            }
        }
    }
}
