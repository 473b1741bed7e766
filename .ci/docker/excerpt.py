#!/usr/bin/env python3
"""Checks a container run's log against its excerpt in docs/deploying.md.

    excerpt.py CASE LOG

The excerpt is the ```text block after a `<!-- container-check: CASE -->`
line. As for the README's excerpts (tests/integration/readme.rs): lines next
to each other in the excerpt must be next to each other in the log, a line
that is just `...` stands for lines left out, and timestamps, pids, call
numbers and durations are ignored. Exits 0 when it matches or CASE has no
excerpt, 1 with the first line not found otherwise."""
import re, sys

case, log_path = sys.argv[1], sys.argv[2]
page = open("docs/deploying.md", encoding="utf-8").read()
marker = f"<!-- container-check: {case} -->"
if marker not in page:
    sys.exit(0)
block = page.split(marker, 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
MEANINGFUL = ("service-", "worker-", "exit code ", "exit status: ", "signal #", "signal: ")

def normalize(line):
    # A terminal's transcript: colour, carriage returns, the echoed ^C.
    line = re.sub(r"\x1b\[[0-9;]*m", "", line).replace("\r", "").replace("^C", "")
    line = line.split(" | ", 1)[1] if re.match(r"^\d{4}-\d\d-\d\dT", line) else line
    out, i = "", 0
    while i < len(line):
        m = re.match(r"\d+(\.\d+)?", line[i:])
        if m:
            keep = out.endswith(MEANINGFUL) or re.search(r"\.rs:\d*$", out)
            out += m.group(0) if keep else "N"
            i += len(m.group(0))
        else:
            out += line[i]
            i += 1
    return out.rstrip()

log = [normalize(l) for l in open(log_path, encoding="utf-8", errors="replace").read().splitlines()]
wanted = [normalize(l) for l in block.splitlines()]
at = 0
groups, current = [], []
for line in wanted:
    if line == "...":
        groups.append(current)
        current = []
    else:
        current.append(line)
groups.append(current)
for group in groups:
    if not group:
        continue
    found = next((i for i in range(at, len(log) - len(group) + 1) if log[i:i + len(group)] == group), None)
    if found is None:
        print(f"docs/deploying.md, {case}: not in the run's log, in this order:\n  " + "\n  ".join(group))
        sys.exit(1)
    at = found + len(group)
