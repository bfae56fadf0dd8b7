# shellcheck shell=bash
# Helpers shared by the infra/ecosystem/docker/*.sh scripts. Source it; do not run it.
#
#   SCRIPT_NAME   set by the caller before sourcing (used as a log prefix)
#
# Everything is printed on stderr so that stdout stays free for values a
# caller may want to capture (e.g. the runtime image tag).

SWARMSPEC_DOCKER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SWARMSPEC_ROOT="$(cd "$SWARMSPEC_DOCKER_DIR/../../.." && pwd)"
SWARMSPEC_RUN_DIR="${SWARMSPEC_RUN_DIR:-$SWARMSPEC_ROOT/.run}"
: "${SCRIPT_NAME:=$(basename "$0")}"

_t0_ms() { date +%s%3N; }
_SCRIPT_START_MS="$(_t0_ms)"

# seconds (one decimal) elapsed since a start timestamp in ms
secs_since() {
    local start_ms="$1" now_ms
    now_ms="$(_t0_ms)"
    awk -v a="$start_ms" -v b="$now_ms" 'BEGIN { printf "%.1f", (b - a) / 1000 }'
}

# fd 9 = the script's original stderr, so messages reach the user even when
# printed (e.g. from a signal trap) while a command's output is redirected
# to a log file. Long-lived children (dockerd) must get `9>&-`.
exec 9>&2
log() { printf '[%s +%ss] %s\n' "$SCRIPT_NAME" "$(secs_since "$_SCRIPT_START_MS")" "$*" >&9; }

# show the last lines of a log file (if it exists), framed, on stderr
show_tail() {
    local file="$1" lines="${2:-40}"
    if [[ -s "$file" ]]; then
        printf -- '----- last %s lines of %s -----\n' "$lines" "$file" >&2
        tail -n "$lines" "$file" >&2 || true
        printf -- '----- end of %s -----\n' "$file" >&2
    fi
}

# die MESSAGE [LOGFILE [EXIT_CODE]]
die() {
    local msg="$1" logfile="${2:-}" code="${3:-1}"
    printf '[%s] ERROR: %s\n' "$SCRIPT_NAME" "$msg" >&9
    [[ -n "$logfile" ]] && show_tail "$logfile" >&9 2>&9
    exit "$code"
}

# bounded DEADLINE_S CMD... : run CMD under `timeout` (SIGTERM at the
# deadline, SIGKILL 10 s later); exit 124 means the deadline passed.
# `timeout` moves itself and CMD into a process group of their own, so a
# Ctrl-C in the terminal would not reach CMD; hence CMD runs in the
# background and the INT/TERM traps below forward the signal to it
# (timeout passes it on to CMD's whole group).
_BOUNDED_PID=""
bounded() {
    local deadline_s="$1" rc=0; shift
    timeout --kill-after=10 "$deadline_s" "$@" &
    _BOUNDED_PID=$!
    wait "$_BOUNDED_PID" || rc=$?
    _BOUNDED_PID=""
    return "$rc"
}

_on_signal() {
    local sig="$1" code="$2"
    log "$sig received: stopping"
    if [[ -n "$_BOUNDED_PID" ]]; then
        kill -TERM "$_BOUNDED_PID" 2>/dev/null || true
        wait "$_BOUNDED_PID" 2>/dev/null || true   # bounded: timeout sends KILL after 10 s
    fi
    exit "$code"   # runs the script's EXIT trap (temp dir cleanup)
}
trap '_on_signal INT 130' INT
trap '_on_signal TERM 143' TERM

# run_logged LOGFILE DESCRIPTION DEADLINE_S CMD... : run a bounded command
# with its output in a log file; on failure say what failed, show the tail.
run_logged() {
    local logfile="$1" desc="$2" deadline_s="$3"; shift 3
    local start rc=0
    start="$(_t0_ms)"
    log "$desc (log: $logfile)"
    bounded "$deadline_s" "$@" >>"$logfile" 2>&1 || rc=$?
    if (( rc == 124 || rc == 137 )); then
        die "$desc: no result within its deadline of ${deadline_s}s: $*" "$logfile"
    elif (( rc != 0 )); then
        die "$desc failed (exit $rc): $*" "$logfile"
    fi
    log "$desc: done in $(secs_since "$start")s"
}

# wait_for DEADLINE_S DESCRIPTION CMD... : poll CMD (every 0.5 s, each try
# itself bounded by 10 s) until it succeeds or the deadline passes.
wait_for() {
    local deadline_s="$1" desc="$2"; shift 2
    local end=$(( $(date +%s) + deadline_s ))
    while :; do
        if timeout 10 "$@" >/dev/null 2>&1; then
            return 0
        fi
        if (( $(date +%s) >= end )); then
            log "timed out after ${deadline_s}s waiting for: $desc"
            return 1
        fi
        sleep 0.5
    done
}

# docker_ok: is an engine reachable (bounded in time)?
docker_ok() { timeout "${1:-15}" docker info >/dev/null 2>&1; }

# image_label IMAGE LABEL : print a label of a local image ('' if absent)
image_label() {
    docker image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true
}
