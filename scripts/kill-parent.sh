#!/usr/bin/env bash
# Kills `complex` itself with SIGKILL (no handler can run, no stop happens)
# and watches its workers notice and leave by themselves: no orphans.
set -euo pipefail

usage() {
    cat <<'USAGE'
Usage: scripts/kill-parent.sh [-- PROGRAM FLAGS...]
(Always complex: only complex has workers.)

Builds the release binaries, starts complex, and once the run stage is
waiting sends SIGKILL to the main process. Then it waits for the workers.

What to look at: every worker says "the parent is gone; exiting" (idle
ones because their stdin closed, busy ones because a reply could not be
written; one still in the middle of an update a second later is ended by
its parent-watch backstop, which says so), and "no process of the run is
left". "exit code 137 = 128 + 9: the program died of SIGKILL" is the
parent's, which the script killed.

Ctrl+C typed at the script is passed on to the program, as the terminal
would have done, and the script waits for the program's graceful stop.
USAGE
}

source "$(dirname "$0")/common.sh"
parse_args complex "$@"
build
start_program "$bin_dir/complex" "${program_args[@]}"
wait_for_log "run: waiting"
pause 1
send KILL "$pid" "SIGKILL to the parent $pid (kill -KILL $pid)"
# The workers were the parent's children; they go on by themselves now, so
# give them a moment (each is at most one call or update away from noticing).
finish 2
