#!/usr/bin/env bash
# Shared by the try-it scripts (sourced, not run): build the release
# binaries, start a program as a job of its own, watch its log, pass on a
# Ctrl+C typed at the script, and check afterwards that nothing of the run
# is left running.
#
# Every process is handled by pid or by the process group id of the job we
# started, never by name.
#
# GRACEFUL_BIN_DIR=DIR: use the binaries in DIR instead of building the
# release ones (the tests run the scripts on the binaries they just built).
# GRACEFUL_TRY_IT_DIR=DIR: keep the logs and pictures there instead of
# target/try-it (the tests keep theirs apart from a learner's).

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    # Run rather than sourced: say what this file is instead of doing nothing.
    cat <<'USAGE'
Usage: source scripts/common.sh (from another script)

The helpers the try-it scripts share; it does nothing by itself. Run one of
the scripts next to it instead, for example scripts/ctrl-c.sh --help.
USAGE
    exit 0
fi

# Work from the repository root, whatever the caller's current directory.
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Never fails: the terminal may be gone (closed under the script), and
# under `set -e` a failed write would end the script before it has passed
# anything on to the program.
say() { echo ">>> $*" >&2 || true; }

# How long past its own --stop-timeout the program may take before the
# script gives up on it and uses SIGKILL: room for a start still under way
# (a Ctrl+C during start is acted on when start is over) and for the exit.
MARGIN_SECONDS=10

build() {
    if [ -n "${GRACEFUL_BIN_DIR:-}" ]; then
        bin_dir=$GRACEFUL_BIN_DIR
        return
    fi
    say "building the release binaries (cargo build --release)"
    cargo build --release --quiet --bins
    bin_dir=target/release
}

# start_program EXE ARGS...: starts the program in a process group of its
# own (job control makes the group id equal to its pid: the shape of a
# terminal's foreground job), with its log shown live and kept in $log
# (under target/try-it/, where it stays after the run, with its picture).
# Sets $pid and $log.
start_program() {
    # The tests run the scripts with a folder of their own, so that a
    # learner's folder holds only the learner's runs.
    local folder=${GRACEFUL_TRY_IT_DIR:-target/try-it}
    mkdir -p "$folder"
    log=$folder/$(basename "$0" .sh)-$(date +%Y%m%d-%H%M%S)-$$.log
    : >"$log" # there before `tail` looks for it
    stop_timeout=$(flag_value --stop-timeout 30 "$@")
    set -m
    # SIGINT's default action for the program, explicitly: a script started
    # in the background of another (or by a test runner) inherits SIGINT
    # ignored, and the program keeps an inherited ignore, as shells do.
    env --default-signal=INT "$@" 2>"$log" &
    pid=$!
    set +m
    # Shows the log as it grows, workers' lines included, until `finish`.
    tail -n +1 -s 0.1 -f "$log" >&2 &
    tail_pid=$!
    trap cleanup EXIT
    # The program is not in the terminal's foreground group, the script
    # is: a Ctrl+C typed now reaches only the script. Without these traps
    # the script would die and leave the program running (or, worse, kill
    # it outright on the way out). Instead, do what the terminal would have
    # done: pass the signal on to the program's group, and wait for its stop.
    trap 'pass_on INT' INT
    trap 'pass_on TERM' TERM
    trap 'pass_on HUP' HUP
    say "started $1 as process group $pid"
}

# flag_value FLAG DEFAULT ARGS...: the value FLAG is given in ARGS (as
# `FLAG V` or `FLAG=V`; the last one counts), or DEFAULT.
flag_value() {
    local flag=$1 value=$2 previous=""
    shift 2
    for argument in "$@"; do
        case "$argument" in
            "$flag"=*) value=${argument#"$flag"=} ;;
            *) [ "$previous" = "$flag" ] && value=$argument ;;
        esac
        previous=$argument
    done
    echo "$value"
}

# pass_on SIGNAL: a signal sent to the script goes to the program's group.
# The first one also ends the script's own plan: `pause` and `wait_for_log`
# return at once and `send` sends nothing, so the script goes straight to
# `finish` and waits for the program. (The handler itself stays short: bash
# runs it again if another signal comes while it runs.) A second and third
# go on too, so the program's escape hatch (a third Ctrl+C forces the
# exit) works through the script as well.
pass_on() {
    # Passed on first, said after: the terminal may be gone.
    kill -"$1" -- "-$pid" 2>/dev/null || true
    if [ -n "${passed_on:-}" ]; then
        say "SIG$1 at the script: passed on to process group $pid"
    else
        passed_on=$1
        say "SIG$1 at the script: passed on to process group $pid; the script now only waits for the program to stop"
    fi
}

# pause SECONDS: sleeps, unless a signal at the script has ended its plan
# (then, or when one comes during the sleep, it returns at once).
pause() {
    [ -z "${passed_on:-}" ] || return 0
    sleep "$1" &
    local sleeper=$!
    wait "$sleeper" 2>/dev/null || true
    kill "$sleeper" 2>/dev/null || true
}

# send SIGNAL TARGET WHAT: the script's own signal (TARGET is a pid, or
# -PGID for a whole group), announced as WHAT. Skipped once a signal at the
# script has been passed on: the program is stopping already.
send() {
    [ -z "${passed_on:-}" ] || return 0
    say "$3"
    kill -"$1" -- "$2" 2>/dev/null || say "the program had already ended"
}

# Whatever happens to the script, nothing it started outlives it. After
# `finish` there is nothing left to do here; this is for a script that
# failed on the way.
cleanup() {
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL -- "-$pid" 2>/dev/null || true
        say "the script is ending early: SIGKILL to process group $pid"
    fi
    kill "$tail_pid" 2>/dev/null || true
    stop_watchdog
}

# wait_for_log TEXT [SECONDS]: waits until a log line contains TEXT, and
# keeps that line in $found. Fails after SECONDS (default 60). The wait runs
# in the script itself, not in a $(...) subshell: a subshell drops the
# traps, and a Ctrl+C during the wait would end it instead of passing on.
wait_for_log() {
    local text=$1 patience=${2:-60} waited=0
    until found=$(grep -F -m1 -- "$text" "$log"); do
        [ -z "${passed_on:-}" ] || return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            say "the program ended before logging \"$text\""
            return 1
        fi
        if [ "$waited" -ge $((patience * 20)) ]; then
            say "no \"$text\" in the log after ${patience} s"
            return 1
        fi
        pause 0.05
        waited=$((waited + 1))
    done
}

# worker_pid NAME: the pid worker NAME logged in its "bootstrapped (pid N)"
# line, in $found_pid.
worker_pid() {
    wait_for_log "| $1 | main | graceful::worker | INFO  | bootstrapped (pid " || return
    found_pid=${found##*(pid }
    found_pid=${found_pid%%)*}
}

# Processes of our job's group that are still running (zombies excluded: an
# orphan that has exited waits for whoever adopted it to reap it).
live_processes() {
    ps -e -o pid=,pgid=,stat=,args= | awk -v group="$pid" '$2 == group && $3 !~ /^Z/'
}

# Starts the watchdog: SIGKILL to the program's group only if it is still
# running MARGIN_SECONDS after its own stop deadline could have passed.
start_watchdog() {
    # In a process group of its own, so that one kill ends it and its
    # sleep together, however early it comes.
    set -m
    (
        sleep "$stop_timeout"
        sleep "$MARGIN_SECONDS"
        say "still running ${MARGIN_SECONDS} s past its --stop-timeout of ${stop_timeout} s: SIGKILL to process group $pid"
        kill -KILL -- "-$pid" 2>/dev/null
    ) &
    watchdog=$!
    set +m
}

# stop_watchdog: ends the watchdog and its sleep, if it runs.
stop_watchdog() {
    [ -z "${watchdog:-}" ] || kill -- "-$watchdog" 2>/dev/null || true
}

# draw: the run's log as a picture, a time line of every process and thread
# (see the `timeline` tool), beside the log; says where both are.
draw() {
    if "$bin_dir/timeline" "$log" -o "$log.html" >/dev/null 2>&1; then
        say "the run as a picture: $log.html (its log: $log)"
    else
        say "the run's log: $log; draw it with: cargo run --release --bin timeline -- $log"
    fi
}

# What an exit status means, in a line: the meaning is the program's own,
# read from the "Exit status:" table of its --help (made from src/exit.rs).
explain_status() {
    local status=$1 code=$1 how meaning
    how="exit code $status"
    if [ "$status" -gt 128 ]; then
        local signal=$((status - 128))
        how="exit code $status = 128 + $signal: the program died of SIG$(kill -l "$signal")"
        code=SIG$(kill -l "$signal")
    fi
    meaning=$("$bin_dir/$bin" --help 2>/dev/null | awk -v code="$code" '
        /^Exit status:/ { table = 1; next }
        table && $1 == code { $1 = ""; sub(/^ +/, ""); print; exit }')
    echo "$how${meaning:+: $meaning}"
}

# finish [SECONDS]: waits for the program, reports its exit code, checks
# that no process of the run is left (after SECONDS of grace, default 0.2),
# and exits the script with the program's exit code.
finish() {
    local grace=${1:-0.2} status=0
    [ -n "${watchdog:-}" ] || start_watchdog
    # Bash's own report of a job killed by a signal ("line 31: 5415
    # Killed ...") would read as the script failing: the status is
    # explained below instead.
    {
        while :; do
            status=0
            wait "$pid" || status=$?
            # `wait` also returns when a signal reaches the script (its trap
            # has run by then); the program has ended only once it is reaped.
            kill -0 "$pid" || break
        done
    } 2>/dev/null
    stop_watchdog
    # Time for the last lines to show, and for workers that outlive a
    # killed parent to leave. A signal at the script ends the wait early,
    # never the script: the report below still comes.
    sleep "$grace" &
    wait $! 2>/dev/null || true
    kill "$tail_pid" 2>/dev/null || true
    wait "$tail_pid" 2>/dev/null || true
    say "$(explain_status "$status")"
    # A worker whose parent is gone leaves by itself, within its parent
    # watch's grace (1 s, README section 8) if it is busy: a Ctrl+C at the
    # script that cut the wait above short must not make it call one left
    # over before then. So look again, for up to 1.5 s, until none is left.
    local left tries=15
    left=$(live_processes)
    while [ -n "$left" ] && [ "$tries" -gt 0 ]; do
        sleep 0.1 &
        wait $! 2>/dev/null || true
        tries=$((tries - 1))
        left=$(live_processes)
    done
    if [ -n "$left" ]; then
        say "processes of the run are still running:"
        echo "$left" >&2
        exit 1
    fi
    say "no process of the run is left"
    draw
    if [ "${passed_on:-}" = INT ] && [ "$status" -eq 130 ]; then
        # Ctrl+C was typed at the script and the program died of it: die
        # of it too, so that a shell loop around the script stops as well
        # (an exit code of 130 would not tell bash that Ctrl+C was pressed).
        trap - INT EXIT
        kill -INT $$
    fi
    exit "$status"
}

# parse_args PROGRAMS ARGS...: the flags every script shares. PROGRAMS is
# what `--bin` may name ("simple complex", or just "complex"). The script
# defines `usage`, and may define `own_flag FLAG VALUE`, which takes one of
# its own flags and returns 1 for a flag it does not know. Sets $bin
# (default: the first of PROGRAMS, unless the script set it) and
# $program_args (what follows `--`, passed on to the program).
parse_args() {
    local programs=$1
    shift
    bin=${bin:-${programs%% *}}
    program_args=()
    while [ $# -gt 0 ]; do
        case "$1" in
            -h | --help) usage; exit 0 ;;
            --) shift; program_args=("$@"); return ;;
            --bin)
                case " $programs " in
                    *" ${2:-none} "*) bin=$2 ;;
                    *) say "--bin must be one of: $programs"; exit 2 ;;
                esac
                shift 2 ;;
            *)
                if declare -F own_flag >/dev/null && [ $# -ge 2 ] && own_flag "$1" "$2"; then
                    shift 2
                else
                    say "unknown argument: $1 (see --help)"
                    exit 2
                fi ;;
        esac
    done
}
