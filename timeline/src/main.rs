//! `timeline`: draws a log of `simple` or `complex` as one self-contained
//! HTML page (see the `timeline` library). Not part of the lesson.
//!
//! ```text
//! cargo run --release --bin timeline -- LOG -o LOG.html
//! complex 2>&1 | cargo run --release --bin timeline -- - -o run.html
//! ```

use std::io::{self, IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Draws a log of simple or complex as a time line: a lane per process and
/// thread, the stages shaded, every signal marked, every line reachable.
#[derive(Parser, Debug)]
#[command(
    name = "timeline",
    version,
    after_help = "Exit status: 0 drawn; 2 nothing to draw (an empty file, not a log), \
                  bad usage, or the log cannot be read; 1 the page cannot be written."
)]
struct Args {
    /// The log to draw: a file, or - for stdin.
    log: PathBuf,

    /// Where to write the page [default: the log's path with .html added].
    #[arg(short, long, value_name = "PAGE")]
    output: Option<PathBuf>,

    /// Write only the picture, as an SVG file (for a README).
    #[arg(long)]
    svg: bool,
}

/// The most of a log that is drawn: memory stays bounded however long the
/// log (a picture of more would show nothing more anyway).
const MAX_LOG_MIB: u64 = 32;

/// Reads the log, of which at most [`MAX_LOG_MIB`] (the rest is read to its
/// end and counted, so a program writing into the pipe is never blocked).
/// Bytes that are not UTF-8 become U+FFFD, from a file and stdin alike.
fn read_bounded(path: &std::path::Path, from_stdin: bool) -> io::Result<(String, u64)> {
    let mut input: Box<dyn Read> = if from_stdin {
        Box::new(io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(path)?)
    };
    let mut bytes = Vec::new();
    input.by_ref().take(MAX_LOG_MIB << 20).read_to_end(&mut bytes)?;
    let cut = io::copy(&mut input, &mut io::sink())?;
    Ok((String::from_utf8_lossy(&bytes).into_owned(), cut))
}

fn main() -> ExitCode {
    let args = match graceful::knobs::read_command_line::<Args>() {
        Ok(args) => args,
        Err(status) => return ExitCode::from(status as u8),
    };
    let from_stdin = args.log.as_os_str() == "-";
    if from_stdin && !io::stdin().is_terminal() {
        // `complex 2>&1 | timeline -`: a Ctrl+C reaches the whole pipeline.
        // The program then stops gracefully and closes the pipe, and what
        // arrived until then is what there is to draw: so Ctrl+C must not
        // end us first.
        let _ = ctrlc::set_handler(|| {});
    }
    let name = if from_stdin { "stdin".into() } else { args.log.display().to_string() };
    let (text, cut) = match read_bounded(&args.log, from_stdin) {
        Ok(read) => read,
        Err(cause) => {
            eprintln!("timeline: cannot read {name}: {cause}");
            return ExitCode::from(2);
        }
    };
    if cut > 0 {
        eprintln!("timeline: {name}: drawing its first {MAX_LOG_MIB} MiB; {cut} byte(s) after them were left out");
    }
    let drawn = if args.svg {
        timeline::draw_svg(&text)
    } else {
        timeline::draw(&text, &format!("Time line of {name}"))
    };
    let page = match drawn {
        Ok(page) => page,
        Err(nothing) => {
            eprintln!("timeline: {name}: {nothing}");
            return ExitCode::from(2);
        }
    };
    let extension = if args.svg { "svg" } else { "html" };
    let output = args.output.unwrap_or_else(|| {
        let base = if from_stdin { PathBuf::from("timeline") } else { args.log.clone() };
        PathBuf::from(format!("{}.{extension}", base.display()))
    });
    if let Err(cause) = std::fs::write(&output, page) {
        eprintln!("timeline: cannot write {}: {cause}", output.display());
        return ExitCode::FAILURE;
    }
    println!("{}", output.display());
    ExitCode::SUCCESS
}
