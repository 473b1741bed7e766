//! The idea: dropping a channel's only sender wakes every thread that waits
//! on it at once, so it cancels every loop, even in the middle of a pause.
//!
//! Run it with `cargo run --example 02_cancel_every_loop`. Three threads
//! loop and pause; after two seconds `main` drops the one sender, and every
//! thread wakes at once, finishes its round and returns. `main` joins them
//! all: no thread is left behind.
//!
//! Why a *dropped* sender and not a sent message: a message wakes one
//! receiver, once. A disconnected channel is ready for every receiver, now
//! and forever after, so it cannot be missed by a thread that looks late.
//! (The library's `cancel` module is this, with a name.)

use std::thread;
use std::time::Duration;

use crossbeam::channel::{self, Receiver};
use crossbeam::select;

fn main() {
    // Nothing is ever sent on this channel; only its disconnection matters.
    let (stop, stopped) = channel::bounded::<()>(0);
    let loops: Vec<_> = (1..=3)
        .map(|id| {
            let stopped = stopped.clone();
            thread::spawn(move || work_until_cancelled(id, &stopped))
        })
        .collect();

    thread::sleep(Duration::from_secs(2));
    eprintln!("main: cancelling the loops");
    drop(stop);
    for handle in loops {
        match handle.join() {
            Ok(rounds) => eprintln!("main: a loop ended after {rounds} rounds"),
            Err(_) => eprintln!("main: a loop panicked"),
        }
    }
    eprintln!("main: every loop has ended");
}

fn work_until_cancelled(id: u32, stopped: &Receiver<()>) -> u32 {
    let mut rounds = 0;
    loop {
        // One round of real work would go here. Then a pause that
        // cancellation cuts short: no polling, no CPU spent.
        rounds += 1;
        select! {
            recv(stopped) -> _ => {
                eprintln!("loop {id}: cancelled after {rounds} rounds");
                return rounds;
            }
            default(Duration::from_millis(300 * u64::from(id))) => {}
        }
    }
}
