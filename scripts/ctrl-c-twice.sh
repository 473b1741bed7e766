#!/usr/bin/env bash
# Presses "Ctrl+C" twice: once during the run stage, and again while the
# program is stopping. The second one must not cut the stop short.
set -euo pipefail

usage() {
    cat <<'USAGE'
Usage: scripts/ctrl-c-twice.sh [--bin simple|complex] [-- PROGRAM FLAGS...]
(--bin names the program to run; default: simple.)

Builds the release binaries, starts the program, sends SIGINT to its process
group once the run stage is waiting, and again once the stop has begun.

What to look at: after the second Ctrl+C, "signal #2: Ctrl+C (SIGINT)
during the stop, which runs to its end; one more forces the exit" and the
stop going on to the end; "1 signal(s) arrived during stop; the stop still
ran to the end"; then "exit code 130 = 128 + 2: the program died of
SIGINT", so a calling shell knows.

Ctrl+C typed at the script is passed on to the program, as the terminal
would have done, and the script waits for the program's graceful stop.
USAGE
}

source "$(dirname "$0")/common.sh"
parse_args "simple complex" "$@"
build
start_program "$bin_dir/$bin" "${program_args[@]}"
wait_for_log "run: waiting"
send INT "-$pid" "first Ctrl+C (SIGINT to process group $pid)"
wait_for_log "stop: begin"
pause 0.3
send INT "-$pid" "second Ctrl+C, during the stop"
finish
