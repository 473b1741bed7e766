//! Colour in the log: on a terminal, levels and the process column are
//! coloured; through a pipe or with `NO_COLOR`, not one escape byte; and
//! the two ways colour comes back, `CLICOLOR_FORCE` and a CI terminal.

use std::process::{Command, Stdio};

use crate::util::{run_in_terminal_window, run_to_end, without_callers_colour};

const SIMPLE: &str = env!("CARGO_BIN_EXE_simple");
const COMPLEX: &str = env!("CARGO_BIN_EXE_complex");

/// A short `complex` run: the parent's and the workers' lines, INFO and
/// DEBUG (the default filter shows `complex`'s DEBUG lines).
const SHORT_RUN: &[&str] = &["--time-scale", "0", "--run-for", "0.2"];

const ESCAPE: u8 = 0x1b;

#[test]
fn a_pipe_gets_no_escape_codes() {
    for exe in [SIMPLE, COMPLEX] {
        let (code, output) = run_to_end(exe, SHORT_RUN);
        assert_eq!(code, Some(0), "{output}");
        assert!(output.contains("main: end"), "{output}");
        assert!(
            !output.as_bytes().contains(&ESCAPE),
            "an escape code in piped output:\n{output:?}"
        );
    }
}

#[test]
fn a_terminal_gets_coloured_levels_and_processes() {
    let (code, received) = run_in_terminal_window(COMPLEX, SHORT_RUN, &[]);
    let text = String::from_utf8_lossy(&received);
    assert_eq!(code, Some(0), "{text}");
    for (what, styled) in [
        ("INFO in green", "\x1b[32mINFO "),
        ("DEBUG dimmed", "\x1b[2mDEBUG"),
        ("the parent in bold cyan", "\x1b[1m\x1b[36mmain\x1b[0m"),
        ("a worker in magenta", "\x1b[35mworker-1\x1b[0m"),
    ] {
        assert!(text.contains(styled), "no {what} on a terminal:\n{text:?}");
    }
}

#[test]
fn no_color_and_a_dumb_terminal_turn_colour_off() {
    for env in [("NO_COLOR", "1"), ("RUST_LOG_STYLE", "never"), ("TERM", "dumb")] {
        let (code, received) = run_in_terminal_window(COMPLEX, SHORT_RUN, &[env]);
        let text = String::from_utf8_lossy(&received);
        assert_eq!(code, Some(0), "{text}");
        assert!(text.contains("main: end"), "{text}");
        assert!(!received.contains(&ESCAPE), "an escape code with {env:?}:\n{text:?}");
    }
}

/// The two ways colour comes back, as the README says: `CLICOLOR_FORCE`
/// colours even a pipe, and on a CI machine (`CI` set) `anstream` takes the
/// terminal to render colour whatever `TERM` says.
#[test]
fn clicolor_force_colours_a_pipe_and_ci_colours_a_dumb_terminal() {
    let mut command = Command::new(SIMPLE);
    command.args(SHORT_RUN).env("CLICOLOR_FORCE", "1").stdin(Stdio::null());
    without_callers_colour(&mut command);
    let output = command.output().expect("run simple");
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(output.stderr.contains(&ESCAPE), "no colour with CLICOLOR_FORCE in a pipe:\n{text}");

    let (code, received) =
        run_in_terminal_window(COMPLEX, SHORT_RUN, &[("TERM", "dumb"), ("CI", "true")]);
    let text = String::from_utf8_lossy(&received);
    assert_eq!(code, Some(0), "{text}");
    assert!(received.contains(&ESCAPE), "no colour with CI and TERM=dumb:\n{text:?}");
}
