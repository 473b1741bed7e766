//! `timeline`: any log of either program, drawn as one self-contained HTML
//! page, a lane per process and thread on a time axis. A crate of its own,
//! off the lesson's path: neither program uses it. It reads the log with
//! `graceful::log_line::LogLine`, the format's one definition, beside the
//! code that writes it.
//!
//! A learner who pressed Ctrl+C at a random moment gets hundreds of lines
//! from five processes and twenty threads. What happened (which thread was
//! doing what when the signal came, which stage delayed it, in what order
//! things stopped, which worker took which call) is all in the log; the
//! picture makes it visible at a glance, and every mark leads back to its
//! line.
//!
//! Three steps, one module each: [`parse`] reads the lines, [`layout`]
//! places lanes, bands and marks on the page, [`page`] writes the HTML
//! (inline SVG and CSS, no script, nothing fetched).

pub mod layout;
pub mod page;
pub mod parse;

pub use parse::LogLine;

/// Why a log cannot be drawn.
#[derive(Debug, PartialEq, Eq)]
pub enum NothingToDraw {
    /// The input has no lines at all.
    Empty,
    /// None of the input's lines is a log line.
    NotALog {
        /// How many lines were read.
        lines: usize,
    },
}

impl std::fmt::Display for NothingToDraw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NothingToDraw::Empty => f.write_str("the log is empty: nothing to draw"),
            NothingToDraw::NotALog { lines } => write!(
                f,
                "none of its {lines} line(s) is a log line \
                 (TIMESTAMP | PROCESS | THREAD | TARGET | LEVEL | MESSAGE): nothing to draw"
            ),
        }
    }
}

impl std::error::Error for NothingToDraw {}

/// The whole page for the log `text`, titled `title`.
pub fn draw(text: &str, title: &str) -> Result<String, NothingToDraw> {
    let run = parse::Run::read(text)?;
    Ok(page::html(&layout::Picture::of(&run), &run, title))
}

/// Only the picture, as a standalone SVG file (for a README).
pub fn draw_svg(text: &str) -> Result<String, NothingToDraw> {
    let run = parse::Run::read(text)?;
    Ok(page::svg(&layout::Picture::of(&run), &run, true))
}
