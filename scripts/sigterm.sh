#!/usr/bin/env bash
# Sends SIGTERM to the main process only: what `kill PID`, systemd, docker
# and Kubernetes send first. Unlike a terminal's Ctrl+C, it does not reach
# the workers: the parent has to stop them itself.
set -euo pipefail

usage() {
    cat <<'USAGE'
Usage: scripts/sigterm.sh [--bin simple|complex] [-- PROGRAM FLAGS...]
(--bin names the program to run; default: complex.)

Builds the release binaries, starts the program, and once the run stage is
waiting sends SIGTERM to the main process only (not to its group).

What to look at: "signal #1: SIGTERM; interrupting: the graceful stop
begins", then the same graceful stop as for Ctrl+C. With complex, no
worker logs a signal line (SIGTERM never reached them), yet each one logs
"stopped" after "manager: stopping the workers", because its parent tells
it to; "exit code 0" and "no process of the run is left".

Ctrl+C typed at the script is passed on to the program, as the terminal
would have done, and the script waits for the program's graceful stop.
USAGE
}

source "$(dirname "$0")/common.sh"
parse_args "complex simple" "$@"
build
start_program "$bin_dir/$bin" "${program_args[@]}"
wait_for_log "run: waiting"
pause 1
send TERM "$pid" "SIGTERM to the main process $pid only (kill -TERM $pid)"
finish
