#!/usr/bin/env bash
# Runs a demo and presses "Ctrl+C" for you at a chosen or random moment:
# SIGINT to the program's whole process group, as a terminal does.
set -euo pipefail

usage() {
    cat <<'USAGE'
Usage: scripts/ctrl-c.sh [--bin simple|complex] [--at SECONDS] [-- PROGRAM FLAGS...]

Builds the release binaries, starts the program, sends SIGINT to its whole
process group at SECONDS after launch (default: a random moment in the
first 4 s), then shows the exit code and checks that no process is left.

Examples:
  scripts/ctrl-c.sh --at 0.5                 # during start of service-1
  scripts/ctrl-c.sh --bin complex --at 3     # during the run stage
  scripts/ctrl-c.sh --bin complex -- --unshielded --busy-loops 4
USAGE
}

bin=simple
at=""
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) bin="${2:?--bin needs simple or complex}"; shift 2 ;;
        --at) at="${2:?--at needs a number of seconds}"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        --) shift; break ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$bin" in simple|complex) ;; *) echo "--bin must be simple or complex" >&2; exit 2 ;; esac
if [ -z "$at" ]; then
    at=$(printf '%d.%03d' $((RANDOM % 4)) $((RANDOM % 1000)))
fi

cd "$(dirname "$0")/.."
cargo build --release --quiet --bins
exe="target/release/$bin"

# Job control gives the background job a process group of its own, whose id
# is its pid: the same shape as a terminal's foreground job.
set -m
"$exe" "$@" &
pid=$!
cleanup() { kill -KILL -- "-$pid" 2>/dev/null || true; }
trap cleanup EXIT

sleep "$at"
echo ">>> Ctrl+C (SIGINT to process group $pid) at ${at} s" >&2
kill -INT -- "-$pid" 2>/dev/null || echo ">>> the program had already ended" >&2
status=0
wait "$pid" || status=$?
trap - EXIT
echo ">>> exit code $status" >&2

sleep 0.2
if kill -0 -- "-$pid" 2>/dev/null; then
    echo ">>> processes of group $pid are still running:" >&2
    ps -o pid,stat,args -g "$pid" >&2 || true
    cleanup
    exit 1
fi
echo ">>> no process of the run is left" >&2
exit "$status"
