#!/usr/bin/env bash
# Runs both programs in a real Docker container under the supervisors' own
# signals, as CI does: the cases of docs/deploying.md, one line each.
set -uo pipefail

usage() {
    cat <<'USAGE'
Usage: scripts/in-docker.sh

Builds the release binaries and an image FROM scratch that holds them (no
registry needed), then runs each case of docs/deploying.md in a container:
docker stop during start and in the run stage, docker kill -s INT, TERM
and HUP with and without --init, docker run -it with Ctrl+C typed into its
terminal (once, and three times), a grace period shorter than the stop
against the program's own --stop-timeout, docker restart, and a
--pids-limit too small for the workers. One line a case, then a verdict;
about a minute.

What it needs and what it changes: Docker. If a Docker daemon answers
(you are root or in the docker group), it uses that daemon: it builds the
image graceful-shutdown:ci there, runs its containers with --network none,
and removes both at the end. If none answers and you are root, it starts
a daemon of its own instead (no bridge network, no iptables rules, its
files in a temporary folder), and ends it by its pid at the end; it
installs Debian's docker.io first if dockerd is missing.

What to look at: each case's exit status (0 after docker stop, 130 after
Ctrl+C: as a container's PID 1 the program cannot die of its own SIGINT;
137 when docker's SIGKILL came first; 5 when the program's own deadline
did) and, for a failed case, the end of its log.

Ctrl+C typed at the script ends it; it removes its containers (and its
daemon, if it started one) on the way out.
USAGE
}

case "${1:-}" in
    -h | --help) usage; exit 0 ;;
    "") ;;
    *) echo ">>> unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
if docker info >/dev/null 2>&1; then
    export GRACEFUL_DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}
    echo ">>> using the Docker daemon at $GRACEFUL_DOCKER_HOST" >&2
elif [ "$(id -u)" != 0 ]; then
    echo ">>> no Docker daemon answers, and only root can start one: run as root, or join the docker group" >&2
    exit 1
fi
exec .ci/in-a-real-container
