#!/usr/bin/env python3
"""Runs a command (`docker run -it ...`) on a pseudo-terminal of its own, as
a person at a terminal would, and types Ctrl+C into it: once `--after` TEXT
has appeared, then again each time `--then` TEXT appears (one `--then` per
extra press). Writes everything the terminal showed to `--transcript` and
exits with the command's exit status (128 + N if a signal N ended it).
Gives up after `--within` seconds: kills the command and exits 124."""
import argparse, os, pty, select, signal, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--after", required=True)
ap.add_argument("--then", action="append", default=[])
ap.add_argument("--transcript", required=True)
ap.add_argument("--within", type=float, default=60)
ap.add_argument("command", nargs=argparse.REMAINDER)
a = ap.parse_args()
if a.command[:1] == ["--"]:
    a.command = a.command[1:]

pid, fd = pty.fork()
if pid == 0:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execvp(a.command[0], a.command)

waits = [a.after] + a.then
seen, shown, deadline = b"", b"", time.monotonic() + a.within
while True:
    left = deadline - time.monotonic()
    if left <= 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        open(a.transcript, "wb").write(shown)
        sys.exit(124)
    ready, _, _ = select.select([fd], [], [], min(left, 0.5))
    if not ready:
        continue
    try:
        data = os.read(fd, 65536)
    except OSError:
        break
    if not data:
        break
    shown += data
    seen += data
    if waits and waits[0].encode() in seen:
        waits.pop(0)
        seen = b""
        os.write(fd, b"\x03")
_, status = os.waitpid(pid, 0)
open(a.transcript, "wb").write(shown)
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
