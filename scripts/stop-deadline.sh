#!/usr/bin/env bash
# Gives the stop less time than it needs, to see the deadline hit.
set -euo pipefail

usage() {
    cat <<'USAGE'
Usage: scripts/stop-deadline.sh [--bin simple|complex] [--stop-timeout SECS] [-- PROGRAM FLAGS...]
(--bin names the program to run; default: simple.)

Builds the release binaries, starts the program with --stop-timeout SECS
(default 0.5; each service takes 1 s to stop), and presses Ctrl+C once the
run stage is waiting.

What to look at: "stop: deadline of 0.500 s exceeded while stopping
service-2; giving up on a graceful shutdown", and no main: end line after
it (the stop was not graceful); "exit code 5"; and still "no process of the
run is left": with complex, the ERROR says it is "killing the 4 worker
process(es) still alive".

Ctrl+C typed at the script is passed on to the program, as the terminal
would have done, and the script waits for the program's graceful stop.
USAGE
}

timeout=0.5
own_flag() {
    case "$1" in
        --stop-timeout) timeout=$2 ;;
        *) return 1 ;;
    esac
}

source "$(dirname "$0")/common.sh"
parse_args "simple complex" "$@"
build
start_program "$bin_dir/$bin" --stop-timeout "$timeout" "${program_args[@]}"
wait_for_log "run: waiting"
send INT "-$pid" "Ctrl+C (SIGINT to process group $pid)"
finish 1
