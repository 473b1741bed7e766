# Shared by the try-it scripts (sourced, not run): build the release
# binaries, start a program as a job of its own, watch its log, and check
# afterwards that nothing of it is left running.
#
# Every process is handled by pid or by the process group id of the job we
# started, never by name.

# Work from the repository root, whatever the caller's current directory.
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { echo ">>> $*" >&2; }

build() {
    say "building the release binaries (cargo build --release)"
    cargo build --release --quiet --bins
}

# start_program EXE ARGS...: starts the program in a process group of its
# own (job control makes the group id equal to its pid: the shape of a
# terminal's foreground job), with its log shown live and kept in $log.
# Sets $pid and $log.
start_program() {
    log=$(mktemp)
    set -m
    "$@" 2>"$log" &
    pid=$!
    set +m
    # Shows the log as it grows, workers' lines included, until `finish`.
    tail -n +1 -s 0.1 -f "$log" >&2 &
    tail_pid=$!
    trap cleanup EXIT
    say "started $1 as process group $pid"
}

# Whatever happens to the script, nothing it started outlives it.
cleanup() {
    kill -KILL -- "-$pid" 2>/dev/null || true
    kill "$tail_pid" 2>/dev/null || true
    rm -f "$log"
}

# wait_for_log TEXT [SECONDS]: waits until a log line contains TEXT and
# prints that line. Fails after SECONDS (default 60).
wait_for_log() {
    local text=$1 patience=${2:-60} waited=0
    until grep -F -m1 -- "$text" "$log"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            say "the program ended before logging \"$text\""
            return 1
        fi
        if [ "$waited" -ge $((patience * 20)) ]; then
            say "no \"$text\" in the log after ${patience} s"
            return 1
        fi
        sleep 0.05
        waited=$((waited + 1))
    done
}

# The pid a worker logged in its "bootstrapped (pid N)" line.
worker_pid() {
    wait_for_log "| $1 | main | graceful::worker | INFO  | bootstrapped (pid " |
        sed -e 's/.*(pid \([0-9]*\)).*/\1/'
}

# Processes of our job's group that are still running (zombies excluded: an
# orphan that has exited waits for whoever adopted it to reap it).
live_processes() {
    ps -e -o pid=,pgid=,stat=,args= | awk -v group="$pid" '$2 == group && $3 !~ /^Z/'
}

# finish: waits for the program, reports its exit code, checks that no
# process of the run is left (after SECONDS of grace, default 0.2), and
# exits the script with the program's exit code.
finish() {
    local grace=${1:-0.2} status=0
    wait "$pid" 2>/dev/null || status=$?
    # Time for the last lines to show, and for workers that outlive a
    # killed parent to leave.
    sleep "$grace"
    kill "$tail_pid" 2>/dev/null || true
    wait "$tail_pid" 2>/dev/null || true
    say "exit code $status"
    local left
    left=$(live_processes)
    if [ -n "$left" ]; then
        say "processes of the run are still running:"
        echo "$left" >&2
        exit 1
    fi
    say "no process of the run is left"
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
