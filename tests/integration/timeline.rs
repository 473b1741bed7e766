//! The `timeline` tool on real runs: a run's log drawn as a page that names
//! every process, thread and signal in it, and a Ctrl+C at a pipe into it.
//! (Its own tests, on logs made by hand, are in its crate, `timeline/`.)

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::util::Program;

const COMPLEX: &str = env!("CARGO_BIN_EXE_complex");

/// The `timeline` binary, built beside ours: `cargo test` builds the whole
/// workspace before it runs a test.
fn timeline_binary() -> PathBuf {
    let binary = std::path::Path::new(COMPLEX).with_file_name("timeline");
    assert!(binary.exists(), "no {}: run `cargo test` for the whole workspace", binary.display());
    binary
}

/// Runs `timeline ARGS` with `input` on stdin; its exit code, stdout and
/// stderr. (The tool's own tests, with input of any bytes, are in its crate.)
fn timeline(args: &[&str], input: &str) -> (Option<i32>, String, String) {
    let mut child = Command::new(timeline_binary())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start timeline");
    let mut stdin = child.stdin.take().expect("piped");
    stdin.write_all(input.as_bytes()).expect("feed timeline");
    drop(stdin);
    let output = child.wait_with_output().expect("timeline's output");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.code(), text(&output.stdout), text(&output.stderr))
}

#[test]
fn a_real_runs_page_names_every_process_thread_and_signal() {
    let mut program = Program::start_on_terminal(COMPLEX, &["--time-scale", "0.05"]);
    program.wait_for("run: waiting");
    program.press_ctrl_c();
    let run = program.finish();
    let log = run.log.join("\n") + "\n";
    let folder = std::env::temp_dir().join(format!("graceful-timeline-{}", std::process::id()));
    std::fs::create_dir_all(&folder).expect("a folder");
    let page_path = folder.join("run.html");
    let page_arg = page_path.to_string_lossy().into_owned();
    let (code, _, said) = timeline(&["-", "-o", &page_arg], &log);
    assert_eq!(code, Some(0), "{said}");
    let page = std::fs::read_to_string(&page_path).expect("the page");
    let lanes: BTreeSet<String> =
        run.lines().iter().map(|l| format!("{} / {}", l.process, l.thread)).collect();
    assert!(lanes.len() > 15, "{lanes:?}");
    for lane in &lanes {
        assert!(page.contains(&format!(">{lane}</text>")), "no lane {lane:?} in the page");
    }
    let signals: Vec<&str> = run
        .lines()
        .into_iter()
        .filter(|line| line.process == "main" && line.message.starts_with("signal #"))
        .map(|line| line.message.split(';').next().unwrap_or(""))
        .collect();
    assert!(!signals.is_empty());
    for signal in signals {
        assert!(page.contains(&format!(">{signal}")), "no mark for {signal:?}");
    }
    // Every line is reachable: listed with its number, and linked from a mark.
    assert_eq!(page.matches("<li value=").count(), run.log.len());
    assert!(!page.contains("<script"));
    let _ = std::fs::remove_dir_all(folder);
}

#[test]
fn a_ctrl_c_at_a_pipe_into_timeline_still_draws_what_arrived() {
    // `complex 2>&1 | timeline - -o PAGE` at a terminal: Ctrl+C reaches
    // both. The program stops gracefully and closes the pipe; timeline must
    // outlive that Ctrl+C and draw the run.
    let folder = std::env::temp_dir().join(format!("graceful-pipe-{}", std::process::id()));
    std::fs::create_dir_all(&folder).expect("a folder");
    let page = folder.join("run.html");
    let pipeline = format!(
        "'{COMPLEX}' --time-scale 0.05 2>&1 | '{}' - -o '{}'",
        timeline_binary().display(),
        page.display()
    );
    let mut command = Command::new("bash");
    command.args(["-c", &pipeline]);
    let mut shell = Program::start_command_on_terminal(command);
    // The log goes into the pipe, not to us: give the run stage time to come.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    shell.press_ctrl_c();
    let _ = shell.finish();
    let drawn = std::fs::read_to_string(&page).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&folder);
    assert!(drawn.contains("signal #1: Ctrl+C (SIGINT)"), "no page, or no Ctrl+C on it");
    assert!(drawn.contains("main: end"), "the page has the run to its end");
}
