//! The README and its chapters under `docs/` cannot go stale: their code
//! excerpts must still be in the source, and their log excerpts must still
//! be what the programs print. (`docs/contributing.md` says how to write
//! one.)
//!
//! * A ```` ```rust ```` block follows a line naming its file
//!   (``From `src/lifecycle.rs`:``); the block must appear in that file,
//!   whitespace aside.
//! * A ```` ```text ```` block that follows a `<!-- check: ... -->` comment
//!   is a log excerpt. The comment says how to reproduce it quickly:
//!
//!   ```text
//!   <!-- check: [RUST_LOG=FILTER] PROGRAM FLAGS...; ACTION after "LOG TEXT"; exit CODE -->
//!
//!   (CODE is a number, or `SIGINT` for a program that died of it)
//!   ```
//!
//!   with ACTION one of `ctrl-c` (typed on a pseudo-terminal), `sigterm`,
//!   `kill-parent`, `kill worker-N`. The test runs that, then checks the
//!   excerpt against the log: lines next to each other in the excerpt are
//!   next to each other in the log, and a line that is just `...` stands
//!   for lines left out (so an excerpt never drops a line silently).
//!   Timestamps (the first column) and incidental numbers (pids, call ids,
//!   durations, thread numbers) are ignored; service and worker numbers and
//!   exit codes count. `...` within a line matches anything.

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use nix::sys::signal::kill;

use crate::util::{pid_in, Finished, Program, SIGINT, SIGKILL, SIGTERM};

fn readme() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    std::fs::read_to_string(path).expect("README.md is readable")
}

/// The pages whose excerpts are checked: the README, then every chapter
/// under `docs/`, each as its name (`docs/hardening.md`) and its text.
fn pages() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ is readable")
        .map(|entry| entry.expect("a docs/ entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    names.sort();
    names.insert(0, "README.md".to_owned());
    names
        .into_iter()
        .map(|name| {
            let text = std::fs::read_to_string(root.join(&name))
                .unwrap_or_else(|error| panic!("{name}: {error}"));
            (name, text)
        })
        .collect()
}

/// Every fenced block of every page.
fn all_blocks() -> Vec<Block> {
    pages().iter().flat_map(|(name, text)| blocks(name, text)).collect()
}

/// A fenced block of a page: its language, its lines, the non-empty line
/// just before it, and where it is (`docs/hardening.md line 12`).
struct Block {
    language: String,
    lines: Vec<String>,
    before: String,
    line_number: usize,
    at: String,
}

fn blocks(page: &str, text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut lines = text.lines().enumerate();
    let mut before = String::new();
    while let Some((number, line)) = lines.next() {
        if let Some(language) = line.strip_prefix("```") {
            let body: Vec<String> = lines
                .by_ref()
                .map(|(_, line)| line)
                .take_while(|line| !line.starts_with("```"))
                .map(str::to_owned)
                .collect();
            blocks.push(Block {
                language: language.trim().to_owned(),
                lines: body,
                before: before.clone(),
                line_number: number + 1,
                at: format!("{page} line {}", number + 1),
            });
        } else if !line.trim().is_empty() {
            before = line.to_owned();
        }
    }
    blocks
}

fn squeeze(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn every_rust_excerpt_is_still_in_its_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    let mut stale = Vec::new();
    for block in all_blocks().into_iter().filter(|b| b.language == "rust") {
        let file = block
            .before
            .strip_prefix("From `")
            .and_then(|rest| rest.split('`').next())
            .unwrap_or_else(|| {
                panic!(
                    "{}: a rust block must follow \"From `FILE`:\", not {:?}",
                    block.at, block.before
                )
            });
        let source = std::fs::read_to_string(root.join(file))
            .unwrap_or_else(|error| panic!("{}: {file}: {error}", block.at));
        let excerpt = squeeze(&block.lines.join("\n"));
        if !squeeze(&source).contains(&excerpt) {
            stale.push(format!(
                "{}: this excerpt is no longer in {file}:\n{}",
                block.at,
                block.lines.join("\n")
            ));
        }
        checked += 1;
    }
    // Every stale excerpt at once: fixing the README is one pass, not one
    // run per excerpt.
    assert!(stale.is_empty(), "{}", stale.join("\n\n"));
    assert!(checked >= 10, "only {checked} rust excerpts found");
}

/// `ctrl-c after "run: waiting"`, or with a pause first:
/// `ctrl-c 1 s after "run: waiting"` (for a scenario that needs the program
/// to have settled, as a person would wait before pressing).
#[derive(Debug)]
struct Action {
    what: String,
    pause: Duration,
    after: String,
}

/// How to reproduce one log excerpt.
#[derive(Debug)]
struct Check {
    /// `NAME=VALUE` words before the program (only RUST_LOG is used).
    env: Vec<(String, String)>,
    program: String,
    args: Vec<String>,
    actions: Vec<Action>,
    /// `0`...`7`, or `SIGINT` for a program that died of it.
    exit: Option<String>,
}

fn parse_check(comment: &str) -> Check {
    let body = comment
        .trim()
        .strip_prefix("<!-- check:")
        .and_then(|rest| rest.strip_suffix("-->"))
        .unwrap_or_else(|| panic!("not a check comment: {comment:?}"));
    let mut parts = body.split(';').map(str::trim);
    let mut command = parts.next().unwrap_or("").split_whitespace().map(str::to_owned);
    let mut env = Vec::new();
    let mut program = command.next().expect("a program to run");
    while let Some((name, value)) = program.split_once('=') {
        env.push((name.to_owned(), value.to_owned()));
        program = command.next().expect("a program to run");
    }
    let mut check =
        Check { env, program, args: command.collect(), actions: Vec::new(), exit: None };
    for part in parts {
        if let Some(code) = part.strip_prefix("exit ") {
            check.exit = Some(code.to_owned());
        } else if let Some((action, text)) = part.split_once(" after ") {
            let after = text.trim().trim_matches('"').to_owned();
            let (what, pause) = split_pause(action.trim());
            check.actions.push(Action { what: what.to_owned(), pause, after });
        } else {
            panic!("unknown part {part:?} in {comment:?}");
        }
    }
    check
}

/// `"ctrl-c 1 s"` is `("ctrl-c", 1 s)`; `"ctrl-c"` is `("ctrl-c", 0)`.
fn split_pause(action: &str) -> (&str, Duration) {
    let with_pause = action
        .strip_suffix(" s")
        .and_then(|rest| rest.rsplit_once(' '))
        .and_then(|(what, seconds)| Some((what, seconds.parse::<f64>().ok()?)));
    match with_pause {
        Some((what, seconds)) => (what, Duration::from_secs_f64(seconds)),
        None => (action, Duration::ZERO),
    }
}

fn run_check(check: &Check) -> Finished {
    let exe = match check.program.as_str() {
        "simple" => env!("CARGO_BIN_EXE_simple"),
        "complex" => env!("CARGO_BIN_EXE_complex"),
        other => panic!("unknown program {other}"),
    };
    let args: Vec<&str> = check.args.iter().map(String::as_str).collect();
    let on_terminal = check.actions.iter().any(|action| action.what == "ctrl-c");
    let mut command = Command::new(exe);
    command.args(&args).envs(check.env.iter().map(|(n, v)| (n, v)));
    let mut program = if on_terminal {
        Program::start_command_on_terminal(command)
    } else {
        command.stdin(Stdio::null()).process_group(0);
        Program::spawn(command, None)
    };
    for action in &check.actions {
        program.wait_for(&action.after);
        thread::sleep(action.pause);
        match action.what.as_str() {
            "ctrl-c" => program.press_ctrl_c(),
            "sigterm" => program.signal_leader(SIGTERM),
            "kill-parent" => program.signal_leader(SIGKILL),
            worker if worker.starts_with("kill worker-") => {
                let name = worker.trim_start_matches("kill ");
                let line = program.wait_for(&format!(
                    "| {name} | main | graceful::worker | INFO  | bootstrapped (pid "
                ));
                kill(pid_in(&line), SIGKILL).expect("kill the worker");
            }
            other => panic!("unknown action {other}"),
        }
    }
    program.finish()
}

/// Numbers that carry the story, kept by [`normalize`]: which service,
/// which worker, which exit code.
const MEANINGFUL: [&str; 4] = ["service-", "worker-", "exit code ", "exit status: "];

/// A log line without its timestamp, with every other number (pids, call
/// ids, durations, thread numbers) replaced by `N`. Places in the source
/// (`src/worker/mod.rs:238:19`) are kept whole: an excerpt that quotes one
/// must say where the program really panics.
fn normalize(line: &str) -> String {
    let without_time = line.split_once(" | ").map_or(line, |(_, rest)| rest);
    let mut out = String::with_capacity(without_time.len());
    let mut keeping = false;
    let mut in_number = false;
    for character in without_time.chars() {
        if character.is_ascii_digit() {
            if !in_number {
                keeping = MEANINGFUL.iter().any(|prefix| out.ends_with(prefix))
                    || in_source_location(&out);
                if !keeping {
                    out.push('N');
                }
            }
            if keeping {
                out.push(character);
            }
            in_number = true;
        } else {
            out.push(character);
            in_number = false;
        }
    }
    out.trim_end().to_owned()
}

/// Does `text` end inside a place in the source, `FILE.rs:` or
/// `FILE.rs:LINE:`, where the next number is the line or the column?
fn in_source_location(text: &str) -> bool {
    let Some(before) = text.strip_suffix(':') else { return false };
    let before = before.trim_end_matches(|c: char| c.is_ascii_digit());
    before.ends_with(".rs") || before.ends_with(".rs:")
}

/// Does `line` match `pattern`, where `...` in the pattern matches anything?
fn matches(pattern: &str, line: &str) -> bool {
    let pieces: Vec<&str> = pattern.split("...").collect();
    if pieces.len() == 1 {
        return pattern == line;
    }
    let (first, last) = (pieces[0], pieces[pieces.len() - 1]);
    if !line.starts_with(first) || !line[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &line[first.len()..line.len() - last.len()];
    for piece in &pieces[1..pieces.len() - 1] {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    true
}

/// An excerpt's lines, normalized, in runs: the lines of a run stand
/// next to each other in the log; a line that is just `...` ends a run
/// (lines were left out there).
fn runs(excerpt: &[String]) -> Vec<Vec<String>> {
    let mut runs = vec![Vec::new()];
    for line in excerpt {
        if line.trim() == "..." {
            runs.push(Vec::new());
        } else if let Some(run) = runs.last_mut() {
            run.push(normalize(line));
        }
    }
    runs.retain(|run| !run.is_empty());
    runs
}

/// The earliest place at or after `from` where `run` matches consecutive
/// lines of `log`; returns the index just past it. (The earliest is always
/// the right choice: it leaves the most room for the runs after it.)
fn find_run(log: &[String], from: usize, run: &[String]) -> Option<usize> {
    (from..log.len()).find_map(|start| {
        let window = log.get(start..start + run.len())?;
        let all_match = window.iter().zip(run).all(|(line, pattern)| matches(pattern, line));
        all_match.then_some(start + run.len())
    })
}

#[test]
fn every_log_excerpt_matches_a_fresh_run() {
    let mut checked = 0;
    let mut stale = Vec::new();
    for block in all_blocks().into_iter().filter(|b| b.language == "text") {
        if !block.before.starts_with("<!-- check:") {
            continue;
        }
        let check = parse_check(&block.before);
        let run = run_check(&check);
        let status_ok = match check.exit.as_deref() {
            None => true,
            Some("SIGINT") => run.status.signal() == Some(SIGINT as i32),
            Some(number) => run.code() == number.parse().ok(),
        };
        if !status_ok {
            stale.push(format!(
                "{}: {check:?}\nexit status {:?}; log:\n{}",
                block.at,
                run.status,
                run.log.join("\n")
            ));
        }
        let log: Vec<String> = run.log.iter().map(|line| normalize(line)).collect();
        let mut from = 0;
        for run_of_lines in runs(&block.lines) {
            match find_run(&log, from, &run_of_lines) {
                Some(end) => from = end,
                None => {
                    stale.push(format!(
                        "{}: {check:?}\nthese lines are not consecutive in the log, \
                         or not in this order (put a `...` line where lines are left out):\n{}\nlog:\n{}",
                        block.at,
                        run_of_lines.join("\n"),
                        run.log.join("\n")
                    ));
                    break;
                }
            }
        }
        checked += 1;
    }
    assert!(stale.is_empty(), "{}", stale.join("\n\n"));
    assert!(checked >= 10, "only {checked} log excerpts found");
}

/// Rewrites every log excerpt from a fresh run at real speed (each check's
/// `--time-scale` left out), so the README shows what a person sees:
///
/// ```text
/// cargo test --release --test integration -- --ignored regenerate_log_excerpts
/// ```
///
/// Each run of consecutive excerpt lines is found again in the new log by
/// process, level and message (the target column may have moved with the
/// code), and replaced by the lines found; a line with a `...` wildcard
/// keeps its wildcards and takes only the new timestamp and target. A run
/// that is not found any more is reported and left for a person to edit.
#[test]
#[ignore = "rewrites the README and its chapters; run it by hand after changing what the programs log"]
fn regenerate_log_excerpts() {
    let mut not_found = Vec::new();
    for (name, text) in pages() {
        regenerate_the_excerpts_of(&name, &text, &mut not_found);
    }
    assert!(not_found.is_empty(), "{}", not_found.join("\n\n"));
}

fn regenerate_the_excerpts_of(name: &str, text: &str, not_found: &mut Vec<String>) {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for block in blocks(name, text).into_iter().filter(|b| b.language == "text") {
        if !block.before.starts_with("<!-- check:") {
            continue;
        }
        let mut check = parse_check(&block.before);
        if let Some(at) = check.args.iter().position(|arg| arg == "--time-scale") {
            check.args.drain(at..at + 2);
        }
        let run = run_check(&check);
        let log: Vec<String> = run.log.iter().map(|line| relaxed(line)).collect();
        let mut from = 0;
        let mut index = 0;
        while index < block.lines.len() {
            if block.lines[index].trim() == "..." {
                index += 1;
                continue;
            }
            let length = block.lines[index..]
                .iter()
                .position(|line| line.trim() == "...")
                .unwrap_or(block.lines.len() - index);
            let run_of_lines: Vec<String> =
                block.lines[index..index + length].iter().map(|line| relaxed(line)).collect();
            match find_run(&log, from, &run_of_lines) {
                Some(end) => {
                    for (offset, fresh) in run.log[end - length..end].iter().enumerate() {
                        let old = &block.lines[index + offset];
                        lines[block.line_number + index + offset] =
                            if old.contains("...") { retimed(old, fresh) } else { fresh.clone() };
                    }
                    from = end;
                }
                None => not_found.push(format!(
                    "{name} line {}: not found in a real-speed run:\n{}\nlog:\n{}",
                    block.line_number + index + 1,
                    block.lines[index..index + length].join("\n"),
                    run.log.join("\n")
                )),
            }
            index += length;
        }
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::write(&path, lines.join("\n") + "\n").expect("the page is writable");
}

/// A line as the regeneration compares it: normalized, without its target
/// column, and with every place in the source made `N:N`, since the module
/// or the source may have moved since the excerpt was taken.
fn relaxed(line: &str) -> String {
    let mut out = String::new();
    for (index, piece) in without_target(&normalize(line)).split(".rs:").enumerate() {
        if index > 0 {
            out.push_str(".rs:N:N");
            out.push_str(piece.trim_start_matches(|c: char| c.is_ascii_digit() || c == ':'));
        } else {
            out.push_str(piece);
        }
    }
    out
}

/// A normalized line without its target column (the third of five).
fn without_target(line: &str) -> String {
    let mut columns: Vec<&str> = line.splitn(5, " | ").collect();
    if columns.len() == 5 {
        columns.remove(2);
    }
    columns.join(" | ")
}

/// `pattern` (an excerpt line with wildcards) with the timestamp and target
/// of `fresh`.
fn retimed(pattern: &str, fresh: &str) -> String {
    let fresh: Vec<&str> = fresh.splitn(6, " | ").collect();
    let mut columns: Vec<&str> = pattern.splitn(6, " | ").collect();
    if let ([time, _, _, target, ..], [old_time, _, _, old_target, ..]) =
        (&fresh[..], &mut columns[..])
    {
        *old_time = *time;
        *old_target = *target;
    }
    columns.join(" | ")
}

#[test]
fn the_matcher_ignores_times_and_numbers_and_honours_wildcards() {
    let line = "2026-11-25T02:57:29.039Z | worker-4 | main | graceful::worker | INFO  | bootstrapped (pid 4242)";
    assert_eq!(
        normalize(line),
        "worker-4 | main | graceful::worker | INFO  | bootstrapped (pid N)"
    );
    assert_eq!(
        normalize("t | main | pool-3 | m | INFO  | service-2: stopped after call 17"),
        "main | pool-N | m | INFO  | service-2: stopped after call N"
    );
    assert_eq!(
        normalize(
            "t | main | busy-1 | m | ERROR | thread 'busy-1' panicked at src/a.rs:213:15: x 3"
        ),
        "main | busy-N | m | ERROR | thread 'busy-N' panicked at src/a.rs:213:15: x N"
    );
    assert!(matches("a ... c", "a b c"));
    assert!(matches("a ... c ... e", "a b c d e"));
    assert!(!matches("a ... c", "a b d"));
    assert!(!matches("a b", "a b c"));
}

#[test]
fn a_check_action_may_pause_before_it_acts() {
    assert_eq!(split_pause("ctrl-c 1 s"), ("ctrl-c", Duration::from_secs(1)));
    assert_eq!(split_pause("ctrl-c 0.5 s"), ("ctrl-c", Duration::from_millis(500)));
    assert_eq!(split_pause("ctrl-c"), ("ctrl-c", Duration::ZERO));
    assert_eq!(split_pause("kill worker-1"), ("kill worker-1", Duration::ZERO));
    let check =
        parse_check(r#"<!-- check: simple; ctrl-c 2 s after "run: waiting"; exit SIGINT -->"#);
    assert_eq!(check.actions[0].what, "ctrl-c");
    assert_eq!(check.actions[0].pause, Duration::from_secs(2));
    assert_eq!(check.actions[0].after, "run: waiting");
}

#[test]
fn excerpt_lines_are_consecutive_unless_a_gap_is_marked() {
    let log: Vec<String> = ["a", "b", "x", "c", "d"].map(String::from).to_vec();
    let excerpt = |lines: &[&str]| -> Vec<String> { lines.iter().map(|l| l.to_string()).collect() };
    let found = |lines: &[&str]| {
        let mut from = 0;
        runs(&excerpt(lines)).iter().all(|run| match find_run(&log, from, run) {
            Some(end) => {
                from = end;
                true
            }
            None => false,
        })
    };
    assert!(found(&["a", "b"]));
    assert!(found(&["a", "b", "...", "c", "d"]));
    assert!(!found(&["a", "b", "c"]), "x was left out without a `...`");
    assert!(!found(&["c", "...", "a"]), "out of order");
    assert!(found(&["b", "x", "c"]));
}

/// The README's table of exit statuses, as Markdown, from the one list.
fn exit_status_table() -> String {
    use graceful::exit::{Exit, MEANINGS};
    let mut table = String::from("| status | meaning |\n| --- | --- |\n");
    for (status, meaning) in MEANINGS {
        let (shown, only) = match status {
            Exit::DiedOfSigint => ("130 (died of SIGINT)".to_owned(), ""),
            Exit::WorkerDied => ((status as u8).to_string(), " (`complex` only)"),
            Exit::Abandoned => (
                (status as u8).to_string(),
                " (`complex`: worker processes still running are killed first)",
            ),
            status => ((status as u8).to_string(), ""),
        };
        table += &format!("| {shown} | {meaning}{only} |\n");
    }
    table
}

#[test]
fn the_exit_status_table_is_the_one_in_exit_rs() {
    let table = exit_status_table();
    assert!(readme().contains(&table), "regenerate the README's table from STATUSES:\n{table}");
}

/// The README's picture: a Ctrl+C during a `complex` run at real speed, as
/// the `timeline` tool draws it, and beside it the log it was drawn from.
const PICTURE: &str = "docs/ctrl-c-during-complex.svg";
const PICTURES_LOG: &str = "docs/ctrl-c-during-complex.log";

/// Draws the README's picture again from a fresh run:
///
/// ```text
/// cargo test --release --test integration -- --ignored regenerate_the_picture
/// ```
#[test]
#[ignore = "rewrites the README's picture; run it by hand after changing what the programs log"]
fn regenerate_the_picture() {
    let mut program = Program::start_on_terminal(env!("CARGO_BIN_EXE_complex"), &[]);
    program.wait_for("run: waiting");
    thread::sleep(Duration::from_millis(1500));
    program.press_ctrl_c();
    let run = program.finish();
    let log = run.log.join("\n") + "\n";
    let svg = timeline::draw_svg(&log).expect("a picture");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::write(root.join(PICTURES_LOG), log).expect("the log is writable");
    std::fs::write(root.join(PICTURE), svg).expect("the picture is writable");
}

#[test]
fn the_picture_is_the_timeline_of_a_ctrl_c_during_complex() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let svg = std::fs::read_to_string(root.join(PICTURE)).expect("the README's picture");
    // Drawn by today's `timeline` from its log: a change to the drawing
    // that was not regenerated fails here.
    let log = std::fs::read_to_string(root.join(PICTURES_LOG)).expect("the picture's log");
    let drawn = timeline::draw_svg(&log).expect("a picture");
    assert!(drawn == svg, "{PICTURE} is stale: regenerate it (see regenerate_the_picture)");

    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\""));
    for needle in [
        "signal #1: Ctrl+C (SIGINT): interrupting",
        "start (shielded)",
        "stop (shielded)",
        ">worker-4 / main<",
    ] {
        assert!(svg.contains(needle), "no {needle:?} in {PICTURE}");
    }
    assert!(readme().contains(&format!("]({PICTURE})")), "the README shows {PICTURE}");
}

/// The README is the lesson a learner reads in one sitting; depth goes into
/// the chapters under `docs/`, each of which the README links, and each
/// link of a page to a page of the project leads somewhere.
#[test]
fn the_readme_stays_a_lesson_and_links_every_chapter() {
    let readme = readme();
    let lines = readme.lines().count();
    assert!(lines <= 700, "README.md has {lines} lines; move depth into a chapter under docs/");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (name, text) in pages() {
        if name != "README.md" {
            assert!(readme.contains(&format!("]({name})")), "the README does not link {name}");
        }
        let folder = root.join(&name).parent().expect("a page is in a folder").to_owned();
        for target in text.split("](").skip(1).filter_map(|rest| rest.split(')').next()) {
            if target.starts_with("http") {
                continue;
            }
            let file = target.split('#').next().unwrap_or_default();
            if !file.is_empty() {
                assert!(folder.join(file).exists(), "{name} links {target}, which does not exist");
            }
        }
    }
}
