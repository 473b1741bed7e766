//! `timeline`: draws a log of `simple` or `complex` as one self-contained
//! HTML page (see `graceful::timeline`). Not part of the lesson.
//!
//! ```text
//! cargo run --release --bin timeline -- LOG -o LOG.html
//! complex 2>&1 | cargo run --release --bin timeline -- - -o run.html
//! ```

use std::io::{self, Read};
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

fn main() -> ExitCode {
    let args = match graceful::knobs::read_command_line::<Args>() {
        Ok(args) => args,
        Err(code) => return code,
    };
    let from_stdin = args.log.as_os_str() == "-";
    let mut text = String::new();
    let read = if from_stdin {
        io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read(&args.log).map(|bytes| text = String::from_utf8_lossy(&bytes).into_owned())
    };
    let name = if from_stdin { "stdin".into() } else { args.log.display().to_string() };
    if let Err(cause) = read {
        eprintln!("timeline: cannot read {name}: {cause}");
        return ExitCode::from(2);
    }
    let drawn = if args.svg {
        graceful::timeline::draw_svg(&text)
    } else {
        graceful::timeline::draw(&text, &format!("Time line of {name}"))
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
