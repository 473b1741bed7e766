#!/usr/bin/env bash
# Runs a demo and presses "Ctrl+C" for you: SIGINT to the program's whole
# process group, as a terminal does, at a chosen or random moment.
set -euo pipefail

usage() {
    cat <<'USAGE'
Usage: scripts/ctrl-c.sh [--bin simple|complex] [--at SECONDS | --during start|run|stop]
                         [-- PROGRAM FLAGS...]
(--bin names the program to run; default: simple.)

Builds the release binaries, starts the program, and sends SIGINT to its
whole process group (a terminal's Ctrl+C reaches the workers too):
  --at SECONDS    that long after launch;
  --during start  as soon as service-1 is starting;
  --during run    as soon as the run stage is waiting;
  --during stop   as soon as the stop has begun (the run ends by itself
                  after 2 s, via --run-for);
  (neither)       at a random moment in the first 4 s.
Then it shows the exit code and checks that no process is left.

What to look at: with --during start, "during start; delayed until start
is over", start finishing anyway, "got the interrupt during start, so
skipping the run stage", then the stop in reverse order ("service-2:
stopping" first) and "main: end" last (with --during stop, a warning that
the signal came during the stop, which runs to its end). Then "exit code
130 = 128 + 2: the program died of SIGINT", which is how a shell learns of
a Ctrl+C.

Examples:
  scripts/ctrl-c.sh --during start
  scripts/ctrl-c.sh --bin complex --during run
  scripts/ctrl-c.sh --bin complex --at 3 -- --leave-jobs-running --busy-loops 8

Ctrl+C typed at the script is passed on to the program, as the terminal
would have done, and the script waits for the program's graceful stop.
USAGE
}

at=""
during=""
own_flag() {
    case "$1" in
        --at)
            [[ $2 =~ ^[0-9]+(\.[0-9]+)?$ ]] || { say "--at takes seconds, such as 2.5, not \"$2\""; exit 2; }
            at=$2 ;;
        --during) during=$2 ;;
        *) return 1 ;;
    esac
}

source "$(dirname "$0")/common.sh"
parse_args "simple complex" "$@"
extra=()
case "$during" in
    "") [ -n "$at" ] || at=$(printf '%d.%03d' $((RANDOM % 4)) $((RANDOM % 1000))) ;;
    start) marker="service-1: starting" ;;
    run) marker="run: waiting" ;;
    stop) marker="stop: begin"; extra=(--run-for 2) ;;
    *) say "--during must be start, run or stop"; exit 2 ;;
esac

build
start_program "$bin_dir/$bin" "${extra[@]}" "${program_args[@]}"
if [ -n "$during" ]; then
    wait_for_log "$marker"
    send INT "-$pid" "Ctrl+C (SIGINT to process group $pid) during $during"
else
    pause "$at"
    send INT "-$pid" "Ctrl+C (SIGINT to process group $pid) at $at s"
fi
finish
