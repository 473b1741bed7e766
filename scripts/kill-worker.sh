#!/usr/bin/env bash
# Kills one worker of `complex` with SIGKILL, as the kernel's OOM killer or
# a crash would, and watches the application fail fast and stop gracefully.
set -euo pipefail

usage() {
    cat <<'USAGE'
Usage: scripts/kill-worker.sh [--worker N] [-- PROGRAM FLAGS...]
(Always complex: only complex has workers.)

Builds the release binaries, starts complex, and once the run stage is
waiting sends SIGKILL to worker N (default 1, the one that takes most calls).

What to look at: "run: end; worker-1 died: signal: 9 (SIGKILL)" at once
(with --worker 1); if the worker had a call in hand, its collector says it
exited while processing that call, and the busy loop that made the call
gets the error at once (no 30 s timeout); then the usual stop of
everything else, and "exit code 4".

Ctrl+C typed at the script is passed on to the program, as the terminal
would have done, and the script waits for the program's graceful stop.
USAGE
}

worker=1
own_flag() {
    case "$1" in
        --worker)
            [[ $2 =~ ^[1-9][0-9]*$ ]] || { say "--worker takes a worker's number, such as 2, not \"$2\""; exit 2; }
            worker=$2 ;;
        *) return 1 ;;
    esac
}

source "$(dirname "$0")/common.sh"
parse_args complex "$@"
workers=$(flag_value --workers 4 "${program_args[@]}")
if [ "$worker" -gt "$workers" ]; then
    say "--worker $worker: the program runs $workers worker(s); pick one from 1 to $workers"
    exit 2
fi
build
start_program "$bin_dir/complex" "${program_args[@]}"
worker_pid "worker-$worker"
victim=$found_pid
wait_for_log "run: waiting"
pause 1
send KILL "$victim" "SIGKILL to worker-$worker (kill -KILL $victim)"
finish
