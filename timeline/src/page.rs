//! Writing the page: inline SVG for the picture, the log itself below it,
//! and CSS; no script and nothing fetched, so it opens anywhere, offline.
//! Every mark is a link to its line in the log below, and shows the line
//! when the pointer rests on it.

use std::collections::BTreeSet;
use std::fmt::Write;

use super::layout::{Picture, LANE, LIST_LINE, NAMES, NUMBERS, PLOT, TOP};
use log::Level;

use super::parse::Run;

/// Past this many lines, the page lists only the lines the picture leads
/// to, the warnings and the errors, and says how many it left out.
pub const MAX_LISTED: usize = 20_000;
/// Past this many, calls are not linked to the worker that took them.
pub const MAX_CALL_LINKS: usize = 2_000;

const STYLE: &str = "
svg.timeline { font: 11px sans-serif; background: #fff; }
.band-start, .band-stop { fill: #fde9c8; } .band-run { fill: #e2f0d9; }
.band-label { font-weight: bold; fill: #555; }
.lane-name { text-anchor: end; fill: #333; } .process-line { stroke: #bbb; }
.stripe { fill: #f5f5f5; }
.life { fill: #b8c7e0; }
.call { stroke: #1f5fd1; stroke-width: 1; stroke-opacity: 0.7; }
.killed { stroke: #d0021b; stroke-width: 2; } .killed-label { fill: #d0021b; font-weight: bold; }
.tick { fill: #9a9a9a; } .tick.info { fill: #3b8a3b; }
.tick.warn { fill: #e09b00; } .tick.error { fill: #d0021b; }
.signal { stroke: #7a1fa2; stroke-width: 1.5; } .signal-label { fill: #7a1fa2; font-weight: bold; }
.axis { stroke: #999; } .axis-label { fill: #666; text-anchor: middle; }
.milestone-tick { stroke: #2f6b2f; } .milestone-number { fill: #2f6b2f; font-weight: bold; text-anchor: middle; }
.milestone { fill: #2f6b2f; } .milestone tspan { font-weight: bold; }
";

const PAGE_STYLE: &str = "
body { font: 14px sans-serif; margin: 1em; color: #222; }
ol.log { font: 12px monospace; white-space: pre; padding-left: 5em; }
ol.log li.warn { color: #a36b00; } ol.log li.error { color: #b00018; font-weight: bold; }
ol.log li:target { background: #ffef9c; }
.legend span { margin-right: 1.5em; }
";

/// The whole page.
pub fn html(picture: &Picture, run: &Run, title: &str) -> String {
    let mut page = String::with_capacity(256 * run.entries.len() + 4096);
    let title = escape(title);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{title}</title><style>{STYLE}{PAGE_STYLE}</style></head><body>\n<h1>{title}</h1>\n"
    );
    let processes: BTreeSet<&str> = run.lanes.iter().map(|lane| lane.process.as_str()).collect();
    let _ = writeln!(
        page,
        "<p>{} lines from {} process(es) and {} thread(s) over {:.0} ms; {} signal(s) or forced exit(s). \
         Rest the pointer on a mark to read its line; click it to find the line in the log below.</p>",
        run.entries.len(),
        processes.len(),
        run.lanes.len(),
        run.span,
        run.marks.len()
    );
    for note in notes(picture, run) {
        let _ = writeln!(page, "<p><strong>Note:</strong> {}</p>", escape(&note));
    }
    page += "<p class=\"legend\"><span>shaded: the stages (start and stop are shielded)</span>\
             <span style=\"color:#7a1fa2\">purple: a signal</span><span style=\"color:#3b8a3b\">green: INFO</span>\
             <span style=\"color:#9a9a9a\">grey: DEBUG</span><span style=\"color:#e09b00\">amber: WARN</span>\
             <span style=\"color:#d0021b\">red: ERROR; a red cross: a worker killed by a signal</span>\
             <span style=\"color:#1f5fd1\">blue bar: a worker's life; blue line: a call, from its caller to the worker \
             that took it</span><span style=\"color:#2f6b2f\">numbers: the main thread's steps, listed under the \
             picture</span></p>\n";
    page += &svg(picture, run, false);
    page += "\n<h2>The log</h2>\n<ol class=\"log\">\n";
    let listed = listed(picture, run);
    for (index, entry) in run.entries.iter().enumerate() {
        if listed.as_ref().is_some_and(|listed| !listed.contains(&index)) {
            continue;
        }
        let class = level_class(entry.level);
        let _ = writeln!(
            page,
            "<li value=\"{n}\" id=\"L{n}\" class=\"{class}\">{}</li>",
            escape(&entry.text),
            n = entry.number
        );
    }
    page += "</ol>\n";
    if !run.unreadable.is_empty() {
        page += "<h2>Lines that are not log lines</h2>\n<ol class=\"log\">\n";
        for (number, text) in &run.unreadable {
            let _ = writeln!(page, "<li value=\"{number}\" id=\"L{number}\">{}</li>", escape(text));
        }
        page += "</ol>\n";
    }
    page + "</body></html>\n"
}

/// The picture. `standalone`: a file of its own (its own style, and no
/// links, since the log is not beside it).
pub fn svg(picture: &Picture, run: &Run, standalone: bool) -> String {
    let mut svg = String::with_capacity(160 * picture.ticks.len() + 8192);
    let (width, height) = (picture.width, picture.height);
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\">"
    );
    if standalone {
        let _ = write!(
            svg,
            "<style>{STYLE}</style><rect width=\"{width}\" height=\"{height}\" fill=\"#fff\"/>"
        );
    }
    let bottom = picture.lanes_bottom;
    // The stages, behind everything.
    for stage in &run.stages {
        let (x0, x1) =
            (picture.x(stage.from), picture.x(stage.to).max(picture.x(stage.from) + 1.0));
        let shielded = if stage.name == "run" { "" } else { " (shielded)" };
        // A label longer than its band would run into the next one's: the
        // long one if it fits (about 7 pixels a character), else the name,
        // else none (the band still says what it is under the pointer).
        let full = format!("{}{shielded}", stage.name);
        let label = [full.as_str(), stage.name, ""]
            .into_iter()
            .find(|label| label.len() as f64 * 7.0 + 6.0 <= x1 - x0)
            .unwrap_or("");
        let _ = write!(
            svg,
            "<rect class=\"band-{name}\" x=\"{x0}\" y=\"{y}\" width=\"{w}\" height=\"{h}\"><title>{full}</title></rect>\
             <text class=\"band-label\" x=\"{tx}\" y=\"{ty}\">{label}</text>",
            name = stage.name,
            y = TOP - 6.0,
            w = x1 - x0,
            h = bottom - TOP + 6.0,
            tx = x0 + 3.0,
            ty = TOP - 9.0
        );
    }
    // The lanes: a stripe for every other process, a line between them.
    let mut previous = None;
    let mut stripe = false;
    for (index, lane) in run.lanes.iter().enumerate() {
        let y = picture.y(index);
        if previous != Some(&lane.process) {
            stripe = !stripe;
            let _ = write!(
                svg,
                "<line class=\"process-line\" x1=\"0\" x2=\"{width}\" y1=\"{y}\" y2=\"{y}\"/>"
            );
            previous = Some(&lane.process);
        }
        if stripe {
            let _ = write!(svg, "<rect class=\"stripe\" x=\"0\" y=\"{y}\" width=\"{}\" height=\"{LANE}\" opacity=\"0.6\"/>", NAMES - 4.0);
        }
        let name = escape(&format!("{} / {}", lane.process, lane.thread));
        let _ = write!(
            svg,
            "<text class=\"lane-name\" x=\"{}\" y=\"{}\">{name}</text>",
            NAMES - 8.0,
            y + LANE - 4.0
        );
    }
    // Each worker's life, along its first lane.
    for life in &run.lives {
        if let Some(lane) = run.lanes.iter().position(|lane| lane.process == life.worker) {
            let (x0, x1) = (picture.x(life.from), picture.x(life.to));
            let _ = write!(
                svg,
                "<rect class=\"life\" x=\"{x0}\" y=\"{}\" width=\"{}\" height=\"4\"><title>{} lives from {:.0} ms to {:.0} ms</title></rect>",
                picture.y(lane) + LANE - 5.0,
                (x1 - x0).max(1.0),
                escape(&life.worker),
                life.from,
                life.to
            );
        }
    }
    // Which worker took which call.
    for &(caller, worker) in run.calls.iter().take(MAX_CALL_LINKS) {
        let (a, b) = (&run.entries[caller], &run.entries[worker]);
        let _ = write!(
            svg,
            "<line class=\"call\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>",
            picture.x(a.at) + 1.0,
            picture.y(a.lane) + LANE / 2.0,
            picture.x(b.at) + 1.0,
            picture.y(b.lane) + LANE / 2.0
        );
    }
    // A mark for every line, or for every pixel column of a lane's lines.
    for tick in &picture.ticks {
        let entry = &run.entries[tick.first];
        let title = match tick.lines {
            1 => escape(&entry.text),
            lines => format!(
                "{lines} lines from {:.0} ms on; the first:\n{}",
                entry.at,
                escape(&entry.text)
            ),
        };
        let (w, h) = if tick.level <= Level::Warn { (3.0, LANE - 2.0) } else { (2.0, LANE - 6.0) };
        let y = picture.y(tick.lane) + (LANE - h) / 2.0;
        let class = level_class(tick.level);
        let rect = format!("<rect class=\"tick {class}\" x=\"{}\" y=\"{y}\" width=\"{w}\" height=\"{h}\"><title>{title}</title></rect>", tick.x);
        link(&mut svg, standalone, entry.number, &rect);
    }
    // The signals, across every lane, with their labels on two rows.
    for (index, mark) in run.marks.iter().enumerate() {
        let x = picture.x(mark.at) + 1.0;
        let label_y = 14.0 + 12.0 * (index % 2) as f64;
        let line = &run.entries[mark.entry];
        let title = escape(&line.text);
        let what = if mark.what.is_empty() { String::new() } else { format!(": {}", mark.what) };
        let text = escape(&format!("{}{what}", mark.label));
        let anchor = if x > NAMES + 700.0 { "end" } else { "start" };
        let drawn = format!(
            "<g><title>{title}</title><line class=\"signal\" x1=\"{x}\" x2=\"{x}\" y1=\"{}\" y2=\"{bottom}\"/>\
             <text class=\"signal-label\" x=\"{x}\" y=\"{label_y}\" text-anchor=\"{anchor}\">{text}</text></g>",
            label_y + 2.0
        );
        link(&mut svg, standalone, line.number, &drawn);
    }
    // The milestones: a number under the lanes where each happened, and
    // the list of what they are below, so that no label ever covers another.
    let per_column = picture.milestones.len().div_ceil(picture.list_columns);
    // A list line is cut to what its column holds, at about 6.5 pixels a
    // character; its whole text is in the log, a click away.
    let (column_width, column_chars) = match picture.list_columns {
        1 => (width, 190),
        _ => (width / 2.0, 100),
    };
    for (index, milestone) in picture.milestones.iter().enumerate() {
        let number = index + 1;
        let first = &run.entries[milestone.entries[0]];
        let x = milestone.x + 1.0;
        let drawn = format!(
            "<g><title>{}</title><line class=\"milestone-tick\" x1=\"{x}\" x2=\"{x}\" y1=\"{bottom}\" y2=\"{}\"/>\
             <text class=\"milestone-number\" x=\"{x}\" y=\"{}\">{number}</text></g>",
            escape(first.message()),
            bottom + 5.0,
            bottom + 16.0
        );
        link(&mut svg, standalone, first.number, &drawn);
        let said: Vec<&str> =
            milestone.entries.iter().map(|&entry| run.entries[entry].message()).collect();
        let mut line = said.join("; ");
        if line.chars().count() > column_chars {
            line = line.chars().take(column_chars - 1).collect::<String>() + "\u{2026}";
        }
        let (column, row) = (index / per_column, index % per_column);
        let drawn = format!(
            "<text class=\"milestone\" x=\"{}\" y=\"{}\"><tspan>{number}.</tspan> {:.0} ms: {}</text>",
            10.0 + column as f64 * column_width,
            bottom + NUMBERS + LIST_LINE * (row + 1) as f64 - 3.0,
            first.at,
            escape(&line)
        );
        link(&mut svg, standalone, first.number, &drawn);
    }
    // A worker killed by a signal: a cross where its life ended, and the
    // cause its parent logged.
    for life in run.lives.iter().filter(|life| life.killed.is_some()) {
        let (Some(lane), Some(cause)) =
            (run.lanes.iter().position(|lane| lane.process == life.worker), &life.killed)
        else {
            continue;
        };
        let (x, y) = (picture.x(life.to) + 1.0, picture.y(lane) + LANE / 2.0);
        // After its death the lane is empty: the label goes there, unless
        // the edge is too near.
        let (label_x, anchor) =
            if x > NAMES + PLOT - 200.0 { (x - 8.0, "end") } else { (x + 8.0, "start") };
        let _ = write!(
            svg,
            "<g><title>{worker} was killed: {cause}</title>\
             <line class=\"killed\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>\
             <line class=\"killed\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>\
             <text class=\"killed-label\" x=\"{label_x}\" y=\"{}\" text-anchor=\"{anchor}\">killed: {cause}</text></g>",
            x - 5.0,
            y - 5.0,
            x + 5.0,
            y + 5.0,
            x - 5.0,
            y + 5.0,
            x + 5.0,
            y - 5.0,
            y + 4.0,
            worker = escape(&life.worker),
            cause = escape(cause),
        );
    }
    // The time axis, in milliseconds from the earliest line.
    let axis_y = TOP - 22.0;
    for (x, at) in &picture.axis {
        let _ = write!(
            svg,
            "<line class=\"axis\" x1=\"{x}\" x2=\"{x}\" y1=\"{}\" y2=\"{}\"/><text class=\"axis-label\" x=\"{x}\" y=\"{}\">{at:.0} ms</text>",
            axis_y + 2.0,
            axis_y + 6.0,
            axis_y
        );
    }
    svg + "</svg>"
}

/// What a reader should know about what the picture does not show.
fn notes(picture: &Picture, run: &Run) -> Vec<String> {
    let mut notes = Vec::new();
    if !run.complete {
        notes.push("the log has no main: end line: the run was killed, its stop was forced, or the log is cut short.".into());
    }
    if !run.unreadable.is_empty() {
        notes.push(format!(
            "{} line(s) are not log lines (cut in the middle?); they are listed at the end.",
            run.unreadable.len()
        ));
    }
    let shared: usize =
        picture.ticks.iter().filter(|tick| tick.lines > 1).map(|tick| tick.lines).sum();
    if shared > 0 {
        notes.push(format!("{shared} lines share marks with their neighbours (one mark per lane and pixel); each such mark leads to its first line."));
    }
    if run.calls.len() > MAX_CALL_LINKS {
        notes.push(format!(
            "only the first {MAX_CALL_LINKS} of {} calls are linked to the worker that took them.",
            run.calls.len()
        ));
    }
    if run.entries.len() > MAX_LISTED {
        let listed = listed(picture, run).map_or(0, |listed| listed.len());
        notes.push(format!(
            "the log below lists {listed} of its {} lines: those the picture leads to, the warnings and the errors; \
             the others are in the log file.",
            run.entries.len()
        ));
    }
    notes
}

/// For a long log, the lines to list (what the picture links to, and the
/// loud ones); `None` to list them all.
fn listed(picture: &Picture, run: &Run) -> Option<BTreeSet<usize>> {
    if run.entries.len() <= MAX_LISTED {
        return None;
    }
    let mut listed: BTreeSet<usize> = picture.ticks.iter().map(|tick| tick.first).collect();
    listed.extend(run.marks.iter().map(|mark| mark.entry));
    listed.extend(
        run.entries.iter().enumerate().filter(|(_, e)| e.level <= Level::Warn).map(|(i, _)| i),
    );
    Some(listed)
}

fn link(svg: &mut String, standalone: bool, line: usize, drawn: &str) {
    if standalone {
        svg.push_str(drawn);
    } else {
        let _ = write!(svg, "<a href=\"#L{line}\">{drawn}</a>");
    }
}

fn level_class(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warn => "warn",
        Level::Info => "info",
        Level::Debug | Level::Trace => "debug",
    }
}

/// `text`, safe inside HTML and SVG, in text and in a quoted attribute
/// alike. A log is untrusted input (people share them): every piece of one
/// that reaches the page goes through here. Characters XML forbids (most
/// control characters) become U+FFFD, so the SVG stays well-formed.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
2026-11-25T10:00:00.000Z | main | main | simple | INFO  | main: begin
2026-11-25T10:00:00.010Z | main | main | graceful::lifecycle | INFO  | run: waiting for Ctrl+C (SIGINT)
2026-11-25T10:00:00.020Z | main | ctrl-c | graceful::signals | INFO  | signal #1: Ctrl+C (SIGINT); interrupting: the graceful stop begins
2026-11-25T10:00:00.030Z | main | main | x | ERROR | a <bad> & \"odd\" line
";

    #[test]
    fn the_page_names_every_lane_and_signal_and_links_every_line() {
        let run = Run::read(LOG).unwrap();
        let page = html(&Picture::of(&run), &run, "a run");
        for needle in [
            "main / main",
            "main / ctrl-c",
            "signal #1: Ctrl+C (SIGINT): interrupting",
            "id=\"L4\"",
            "href=\"#L3\"",
        ] {
            assert!(page.contains(needle), "no {needle:?}");
        }
        assert!(page.contains("a &lt;bad&gt; &amp; &quot;odd&quot; line"), "escaped");
        assert!(!page.contains("<script"), "no script");
        assert!(page.contains("has no main: end line"), "an incomplete run is said so");
    }

    #[test]
    fn a_standalone_picture_has_its_style_and_no_links() {
        let run = Run::read(LOG).unwrap();
        let svg = svg(&Picture::of(&run), &run, true);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("<style>") && !svg.contains("href="));
    }
}
