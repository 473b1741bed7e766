//! The `timeline` tool on logs made by hand: nothing to draw, a cut and
//! disordered log, a hostile one, one too long. (Runs of the programs drawn
//! for real are in the workspace's integration tests.)

use std::io::Write;
use std::process::{Command, Stdio};

use timeline::LogLine;

const TIMELINE: &str = env!("CARGO_BIN_EXE_timeline");

/// Runs `timeline ARGS` with `input` on stdin; its exit code, stdout and
/// stderr.
fn timeline(args: &[&str], input: &str) -> (Option<i32>, String, String) {
    timeline_bytes(args, input.as_bytes())
}

/// [`timeline`], for input that need not be UTF-8.
fn timeline_bytes(args: &[&str], input: &[u8]) -> (Option<i32>, String, String) {
    let mut child = Command::new(TIMELINE)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start timeline");
    let mut stdin = child.stdin.take().expect("piped");
    stdin.write_all(input).expect("feed timeline");
    drop(stdin);
    let output = child.wait_with_output().expect("timeline's output");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (output.status.code(), text(&output.stdout), text(&output.stderr))
}

#[test]
fn nothing_to_draw_gets_one_line_and_exit_2() {
    for (input, says) in
        [("", "the log is empty"), ("hello\nworld\n", "none of its 2 line(s) is a log line")]
    {
        let (code, out, said) = timeline(&["-", "-o", "/dev/null"], input);
        assert_eq!(code, Some(2), "{input:?}");
        assert!(out.is_empty());
        assert_eq!(said.lines().count(), 1, "{said}");
        assert!(said.contains(says), "{said}");
    }
    let (code, _, said) = timeline(&["/no/such/log"], "");
    assert_eq!(code, Some(2));
    assert!(said.starts_with("timeline: cannot read /no/such/log"), "{said}");
}

#[test]
fn a_cut_disordered_killed_log_still_draws_and_says_so() {
    let log = "\
2026-11-25T10:00:01.000Z | main | main | complex | INFO  | main: begin
2026-11-25T10:00:00.500Z | worker-1 | main | graceful::worker | INFO  | bootstrapped (pid 7)
2026-11-25T10:00:01.2";
    let (code, out, said) = timeline(&["-", "-o", "/dev/stdout"], log);
    assert_eq!(code, Some(0), "{said}");
    assert!(out.contains("has no main: end line"), "killed runs are said to be");
    assert!(out.contains("1 line(s) are not log lines"), "cut lines are said to be");
    assert!(out.contains(">worker-1 / main</text>") && out.contains(">main / main</text>"));
    let _ = LogLine::parse(log.lines().next().unwrap_or("")).expect("a log line");
}

#[test]
fn a_hostile_log_reaches_the_page_only_as_text() {
    // Logs are shared: one may be written to attack whoever draws it. Every
    // piece of it is escaped, in text and in attributes; characters XML
    // forbids leave the SVG well-formed; a worker number too large for any
    // count panics nothing; bytes that are not UTF-8 are read, from stdin as
    // from a file.
    let mut log =
        b"2026-11-25T10:00:00.000Z | main | main | complex | INFO  | main: begin\n".to_vec();
    for line in [
        "2026-11-25T10:00:00.100Z | worker-<script>document.title='PWNED'</script> | main | graceful::worker | INFO  | bootstrapped (pid 7)\n",
        "2026-11-25T10:00:00.200Z | worker-18446744073709551615 | main\"><img src=x onerror=alert(1)> | graceful::worker | INFO  | started\n",
        "2026-11-25T10:00:00.300Z | main | main | graceful::signals | INFO  | signal #1: Ctrl+C (SIGINT)\x0c<svg onload=alert(2)>; interrupting\n",
        "2026-11-25T10:00:00.400Z | main | main | simple | INFO  | main: end \x01\x1b[31m\n",
    ] {
        log.extend_from_slice(line.as_bytes());
    }
    log.extend_from_slice(
        b"2026-11-25T10:00:00.500Z | main | main | simple | INFO  | bytes \xff\xfe here\n",
    );
    for args in [&["-", "-o", "/dev/stdout"][..], &["-", "--svg", "-o", "/dev/stdout"]] {
        let (code, page, said) = timeline_bytes(args, &log);
        assert_eq!(code, Some(0), "{args:?}: {said}");
        for raw in ["<script", "<img", "<svg onload"] {
            assert!(!page.contains(raw), "{args:?}: {raw:?} reached the page unescaped");
        }
        assert!(page.contains("worker-&lt;script&gt;"), "{args:?}: the process is shown as text");
        let forbidden = page.chars().find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'));
        assert_eq!(forbidden, None, "{args:?}: a character XML forbids");
        assert!(page.contains("bytes \u{FFFD}\u{FFFD} here"), "{args:?}: lossy UTF-8 from stdin");
    }
}

#[test]
fn a_log_too_long_is_drawn_up_to_its_bound_and_says_so() {
    let line = "2026-11-25T10:00:00.000Z | main | main | complex | DEBUG | a line of a long log\n";
    let log = line.repeat((33 << 20) / line.len());
    let (code, _, said) = timeline(&["-", "-o", "/dev/null"], &log);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("drawing its first 32 MiB"), "{said}");
}
