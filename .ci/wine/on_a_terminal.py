#!/usr/bin/env python3
"""Runs a command on a pseudo-terminal of its own, as in a terminal window,
types Ctrl+C once the file LOG has a line containing TEXT, waits for the
command to end, and prints `status N` (its exit status, or 128 + the signal
that killed it).

Usage: on_a_terminal.py LOG TEXT COMMAND [ARGS...]

The command's output on the terminal is read and dropped (a terminal that
nobody reads would stop the command); its log goes to LOG.
"""
import os
import pty
import select
import sys
import time


def log_has(path, text):
    try:
        with open(path, encoding="utf-8", errors="replace") as log:
            return text in log.read()
    except OSError:
        return False


def main():
    log, text, command = sys.argv[1], sys.argv[2], sys.argv[3:]
    pid, terminal = pty.fork()
    if pid == 0:
        os.execvp(command[0], command)
    typed, give_up = False, time.monotonic() + 120
    while time.monotonic() < give_up:
        if not typed and log_has(log, text):
            os.write(terminal, b"\x03")
            typed = True
        ready, _, _ = select.select([terminal], [], [], 0.1)
        if ready:
            try:
                if not os.read(terminal, 4096):
                    break
            except OSError:  # the other side is closed: the command ended
                break
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    print(f"status {code if code >= 0 else 128 - code}")


main()
