#!/usr/bin/env bash
# Make sure a Docker engine answers `docker info`. Idempotent:
#
#   * engine reachable (within ${SWARMSPEC_DOCKER_INFO_TIMEOUT_S:-10}s)  -> exit 0, nothing done
#   * root, no engine   -> apt-get install Debian's docker.io (+ debootstrap
#                          for build-base.sh, tini) when missing, start
#                          dockerd in the background (log: $DOCKERD_LOG),
#                          wait for `docker info` (deadline
#                          ${SWARMSPEC_DOCKERD_DEADLINE_S:-60}s); on timeout
#                          show the log's tail and exit 1
#   * not root, no engine -> say how to get one, exit 3 (EXIT_NO_ENGINE), so
#                          callers can skip docker runs with that reason
#
# Exit codes: 0 engine up; 1 failed to install/start; 3 no engine and cannot
# start one here.
#
# What this sandbox (Debian 12, kernel 6.18, root, no systemd) turned out to
# need: nothing special. dockerd 20.10 with its defaults works: overlay2 on
# the ext4 root, iptables via the nf_tables backend, bridge devices, cgroup
# v1 (hybrid) with the cgroupfs driver; user-defined bridge networks resolve
# container names and -p 127.0.0.1:PORT:PORT answers from the host. The
# probes below keep it working where one of those is missing.
#
# dockerd flags and why (each chosen by a probe below, so the script also
# works on a normal host, and each decision is logged):
#   --storage-driver   overlay2 when the kernel mounts overlayfs on the disk
#                      of /var/lib/docker (it does in this sandbox: ext4 on
#                      /dev/vda, kernel 6.18); else fuse-overlayfs when
#                      /dev/fuse works; else vfs (always works, but copies
#                      every layer in full: slow and big).
#   --iptables / --ip-masq
#                      kept ON when `iptables -t nat` works (here: iptables-nft
#                      does). They give containers outbound NAT (apt inside
#                      `docker build` needs deb.debian.org) and the DNAT for
#                      published ports. If only iptables-legacy works, dockerd
#                      is given a PATH whose `iptables` is the legacy one (no
#                      system-wide alternatives change). If neither works:
#                      --iptables=false --ip-masq=false, a degraded last
#                      resort (tried here with SWARMSPEC_DOCKERD_EXTRA_ARGS):
#                      -p 127.0.0.1:P:P still answers (docker-proxy, the
#                      userland proxy) and names still resolve (embedded DNS),
#                      but containers get no way out (no apt in builds), and
#                      if an earlier dockerd left the FORWARD policy at DROP
#                      while br_netfilter is on (bridge-nf-call-iptables=1),
#                      container-to-container traffic on a bridge is dropped
#                      too -- seen here after switching a running setup.
#   --bridge=none      only if the kernel cannot create a bridge device; then
#                      user-defined bridge networks cannot work at all.
#   --mtu N            when the default route's device has an MTU < 1500
#                      (here eth0 is 1400). A precaution, not a need here:
#                      where path-MTU discovery is filtered, 1500-byte packets
#                      from containers on docker0 are dropped by the uplink and
#                      apt downloads in builds stall. Measured in this sandbox:
#                      an 11.6 MB download from a container at MTU 1500 (on a
#                      user-defined network) works, so PMTUD is fine here.
#                      Only docker0 gets it (daemon --mtu does not apply to
#                      user-defined networks; pass
#                      -o com.docker.network.driver.mtu=N when creating one
#                      if ever needed).
#   --log-opt max-size/max-file
#                      bound the json-file logs of long-running swarm containers.
#   (cgroups: nothing needed here -- hybrid v1 with the cgroupfs driver works;
#    dockerd has no systemd to talk to, and cgroupfs is its default.)
#
# Env: SWARMSPEC_DOCKERD_LOG (default /var/log/swarmspec-dockerd.log),
#      SWARMSPEC_DOCKERD_DEADLINE_S (60), SWARMSPEC_DOCKER_INFO_TIMEOUT_S (10),
#      SWARMSPEC_DOCKER_STORAGE_DRIVER (skip the probe),
#      SWARMSPEC_DOCKERD_EXTRA_ARGS (appended verbatim).
set -euo pipefail
SCRIPT_NAME=ensure-engine
# shellcheck source=infra/ecosystem/docker/_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

EXIT_NO_ENGINE=3
INFO_TIMEOUT_S="${SWARMSPEC_DOCKER_INFO_TIMEOUT_S:-10}"
DEADLINE_S="${SWARMSPEC_DOCKERD_DEADLINE_S:-60}"
DOCKERD_LOG="${SWARMSPEC_DOCKERD_LOG:-/var/log/swarmspec-dockerd.log}"
DATA_ROOT=/var/lib/docker
PIDFILE=/var/run/docker.pid

no_engine() {
    cat >&2 <<EOF
[$SCRIPT_NAME] no Docker engine reachable: $1
[$SCRIPT_NAME] To get one, any of:
    - run this script as root: it installs Debian's docker.io and starts dockerd
      (sudo infra/ecosystem/docker/ensure-engine.sh)
    - start your Docker daemon (e.g. 'sudo systemctl start docker') and make
      sure your user may use it ('sudo usermod -aG docker \$USER', re-login)
    - point DOCKER_HOST at a reachable engine
[$SCRIPT_NAME] Docker-based runs are skipped (exit $EXIT_NO_ENGINE).
EOF
    exit "$EXIT_NO_ENGINE"
}

# ------------------------------------------------------------ already up?
if command -v docker >/dev/null && docker_ok "$INFO_TIMEOUT_S"; then
    log "engine reachable: $(docker version --format 'server {{.Server.Version}}, API {{.Server.APIVersion}}' 2>/dev/null || echo '?')"
    exit 0
fi
why="$(timeout "$INFO_TIMEOUT_S" docker info 2>&1 >/dev/null | grep -v '^\s*$' | tail -n 1 || true)"
[[ -n "$why" ]] || why="'docker info' did not answer within ${INFO_TIMEOUT_S}s"
command -v docker >/dev/null || why="no docker CLI installed"

(( EUID == 0 )) || no_engine "$why"
if [[ -n "${DOCKER_HOST:-}" && "$DOCKER_HOST" != unix:///var/run/docker.sock && "$DOCKER_HOST" != unix:///run/docker.sock ]]; then
    no_engine "DOCKER_HOST=$DOCKER_HOST does not answer ($why); not starting a local dockerd for it"
fi
log "no engine ($why); starting one (root)"

# --------------------------------------------------------------- packages
mkdir -p "$SWARMSPEC_RUN_DIR/logs"
APT_LOG="$SWARMSPEC_RUN_DIR/logs/ensure-engine-apt.log"
missing=()
command -v dockerd >/dev/null     || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v tini >/dev/null        || missing+=(tini)
if ((${#missing[@]})); then
    : >"$APT_LOG"
    export DEBIAN_FRONTEND=noninteractive
    apt_install() { bounded 600 apt-get install -y --no-install-recommends "${missing[@]}"; }
    t="$(_t0_ms)"
    log "apt-get install ${missing[*]} (log: $APT_LOG)"
    if ! apt_install >>"$APT_LOG" 2>&1; then
        log "install failed; running apt-get update once and retrying"
        bounded 300 apt-get update >>"$APT_LOG" 2>&1 || die "apt-get update failed" "$APT_LOG"
        apt_install >>"$APT_LOG" 2>&1 || die "apt-get install ${missing[*]} failed" "$APT_LOG"
    fi
    log "installed ${missing[*]} in $(secs_since "$t")s"
fi
# The package's postinst may have started the daemon where systemd runs.
if docker_ok "$INFO_TIMEOUT_S"; then
    log "engine reachable after install"; exit 0
fi

# ---------------------------------------- a dockerd already (still) starting?
# (pid file alone is not proof: after an unclean stop the pid may be reused)
if [[ -s "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null \
    && [[ "$(cat "/proc/$(cat "$PIDFILE")/comm" 2>/dev/null)" == dockerd ]]; then
    pid="$(cat "$PIDFILE")"
    log "dockerd already running (pid $pid) but not answering; waiting up to ${DEADLINE_S}s"
    wait_for "$DEADLINE_S" "docker info (existing dockerd $pid)" docker info \
        || die "existing dockerd (pid $pid, $PIDFILE) does not answer 'docker info'; stop it (kill $pid) and rerun" "$DOCKERD_LOG"
    log "engine reachable"; exit 0
fi

# ----------------------------------------------------------------- probes
ARGS=()
PROBE_DIR="$(mktemp -d "${TMPDIR:-/var/tmp}/swarmspec-probe.XXXXXX")"
mkdir -p "$DATA_ROOT"
cleanup() {
    local rc=$?
    if [[ -n "${PROBE_DIR:-}" && -d "$PROBE_DIR" ]]; then
        umount "$PROBE_DIR/m" 2>/dev/null || true
        rm -rf --one-file-system "$PROBE_DIR"
    fi
    ip link del ssprobe0 2>/dev/null || true
    exit "$rc"
}
trap cleanup EXIT   # INT/TERM traps (in _common.sh) exit, which lands here

# storage driver: overlayfs must mount on the fs that holds /var/lib/docker
probe_overlay() {
    local d
    d="$(mktemp -d "$DATA_ROOT/.swarmspec-overlay-probe.XXXXXX")" || return 1
    mkdir -p "$d"/{l,u,w,m}
    echo x >"$d/l/f"
    local ok=1
    if mount -t overlay overlay -o "lowerdir=$d/l,upperdir=$d/u,workdir=$d/w" "$d/m" 2>/dev/null; then
        [[ "$(cat "$d/m/f" 2>/dev/null)" == x ]] && echo y >"$d/m/g" 2>/dev/null && ok=0
        umount "$d/m" 2>/dev/null || true
    fi
    rm -rf --one-file-system "$d"
    return "$ok"
}
DRIVER="${SWARMSPEC_DOCKER_STORAGE_DRIVER:-}"
if [[ -z "$DRIVER" ]]; then
    if probe_overlay; then
        DRIVER=overlay2
    elif [[ -c /dev/fuse ]] && { command -v fuse-overlayfs >/dev/null \
            || bounded 300 apt-get install -y --no-install-recommends fuse-overlayfs >>"$APT_LOG" 2>&1; }; then
        DRIVER=fuse-overlayfs
    else
        DRIVER=vfs
    fi
fi
log "storage driver: $DRIVER$([[ $DRIVER == vfs ]] && echo ' (overlayfs and fuse unavailable: every layer is a full copy, expect slow builds)')"
ARGS+=(--storage-driver "$DRIVER")

# iptables: nft backend first, then legacy (via a private PATH), else off
DOCKERD_PATH="$PATH"
if timeout 10 iptables -t nat -S >/dev/null 2>&1 && timeout 10 iptables -t filter -S >/dev/null 2>&1; then
    log "iptables: $(iptables --version 2>/dev/null) works; NAT and port publishing via iptables"
elif command -v iptables-legacy >/dev/null && timeout 10 iptables-legacy -t nat -S >/dev/null 2>&1; then
    mkdir -p "$SWARMSPEC_RUN_DIR/dockerd-bin"
    for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
        command -v "$t-legacy" >/dev/null && ln -sf "$(command -v "$t-legacy")" "$SWARMSPEC_RUN_DIR/dockerd-bin/$t"
    done
    DOCKERD_PATH="$SWARMSPEC_RUN_DIR/dockerd-bin:$PATH"
    log "iptables: nft backend unusable, legacy works: dockerd gets iptables-legacy first in its PATH"
else
    ARGS+=(--iptables=false --ip-masq=false)
    log "iptables: unusable ($(iptables -t nat -S 2>&1 | tail -n 1)); --iptables=false: published ports via docker-proxy only, containers get NO outbound access (apt in builds fails)"
fi

# bridge devices (docker0 and user-defined bridge networks need them)
# (name <= 15 chars: IFNAMSIZ)
if bridge_err="$(ip link add ssprobe0 type bridge 2>&1)"; then
    ip link del ssprobe0 2>/dev/null || true
else
    ARGS+=(--bridge=none)
    log "bridge: the kernel cannot create bridge devices ($bridge_err): --bridge=none (no default bridge; user-defined bridge networks will NOT work)"
fi

# MTU of the uplink
UPLINK="$(ip -o route show default 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "dev") {print $(i+1); exit}}')"
if [[ -n "$UPLINK" ]]; then
    MTU="$(cat "/sys/class/net/$UPLINK/mtu" 2>/dev/null || echo 1500)"
    if (( MTU < 1500 )); then
        ARGS+=(--mtu "$MTU")
        log "uplink $UPLINK has MTU $MTU: --mtu $MTU for docker0"
    fi
fi

ARGS+=(--log-opt max-size=20m --log-opt max-file=2)
# shellcheck disable=SC2206  # deliberate word splitting of a user-supplied flag string
[[ -n "${SWARMSPEC_DOCKERD_EXTRA_ARGS:-}" ]] && ARGS+=(${SWARMSPEC_DOCKERD_EXTRA_ARGS})

# ----------------------------------------------------------------- start
mkdir -p "$(dirname "$DOCKERD_LOG")"
printf '\n===== %s ensure-engine.sh: dockerd %s\n' "$(date -Is)" "${ARGS[*]}" >>"$DOCKERD_LOG"
t="$(_t0_ms)"
log "starting: dockerd ${ARGS[*]} (log: $DOCKERD_LOG)"
# setsid + nohup: own session, so neither our exit nor a Ctrl-C in the
# caller's terminal takes the daemon down; it is meant to outlive us.
# 9>&- : do not keep our caller's stderr pipe open for the daemon's lifetime.
PATH="$DOCKERD_PATH" setsid nohup dockerd "${ARGS[@]}" </dev/null >>"$DOCKERD_LOG" 2>&1 9>&- &
DOCKERD_PID=$!
alive() { kill -0 "$DOCKERD_PID" 2>/dev/null; }
end=$(( $(date +%s) + DEADLINE_S ))
until docker_ok 5; do
    if ! alive; then
        rc=0; wait "$DOCKERD_PID" || rc=$?
        die "dockerd exited during startup (exit $rc)" "$DOCKERD_LOG"
    fi
    if (( $(date +%s) >= end )); then
        kill "$DOCKERD_PID" 2>/dev/null || true
        die "dockerd (pid $DOCKERD_PID) did not answer 'docker info' within ${DEADLINE_S}s; stopped it" "$DOCKERD_LOG"
    fi
    sleep 0.5
done
log "engine up in $(secs_since "$t")s: $(docker version --format 'server {{.Server.Version}}, API {{.Server.APIVersion}}' 2>/dev/null), pid $DOCKERD_PID; total $(secs_since "$_SCRIPT_START_MS")s"
