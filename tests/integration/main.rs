//! The integration tests: the built binaries, started for real, sent real
//! signals at chosen moments, and judged by their exit status, the order of
//! their log lines, and what they leave running (nothing).
//!
//! One test crate with a module per area, as ripgrep does: the harness in
//! [`util`] is compiled once, and the areas run in parallel in one process.
#![cfg(unix)]

mod util;

mod colour;
mod complex;
mod edges;
mod examples;
mod faults;
mod hostile;
mod manager;
mod places;
mod readme;
mod scripts;
mod signals;
mod simple;
mod timeline;
