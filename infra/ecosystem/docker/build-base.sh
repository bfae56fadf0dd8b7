#!/usr/bin/env bash
# Build a local Debian bookworm base image WITHOUT any container registry:
# debootstrap (variant minbase) into a temp dir, trim it like the official
# "-slim" images, and `docker import` it as swarmspec/debian-base:bookworm.
#
# Cached: the image carries the label org.swarmspec.base.content-version; if
# an image with the expected value exists, nothing is done (~0.1 s).
# Bump BASE_CONTENT_VERSION whenever what goes into the rootfs changes.
#
# Needs root (debootstrap) and a reachable engine (run ensure-engine.sh).
#
# Env:
#   SWARMSPEC_DEBIAN_MIRROR   default http://deb.debian.org/debian
#   SWARMSPEC_BASE_IMAGE      default swarmspec/debian-base:bookworm
#   SWARMSPEC_FORCE=1         rebuild even if the image exists
set -euo pipefail
SCRIPT_NAME=build-base
# shellcheck source=infra/ecosystem/docker/_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

SUITE=bookworm
MIRROR="${SWARMSPEC_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${SWARMSPEC_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
IMAGE="${SWARMSPEC_BASE_IMAGE:-swarmspec/debian-base:bookworm}"
LABEL=org.swarmspec.base.content-version
# content version: suite + variant + the trimming recipe below
BASE_CONTENT_VERSION="bookworm-minbase-slim-1"
DEBOOTSTRAP_DEADLINE_S="${SWARMSPEC_DEBOOTSTRAP_DEADLINE_S:-900}"
IMPORT_DEADLINE_S="${SWARMSPEC_IMPORT_DEADLINE_S:-300}"

docker_ok 15 || die "no docker engine reachable; run infra/ecosystem/docker/ensure-engine.sh first"

if [[ "${SWARMSPEC_FORCE:-0}" != 1 && "$(image_label "$IMAGE" "$LABEL")" == "$BASE_CONTENT_VERSION" ]]; then
    log "$IMAGE ($LABEL=$BASE_CONTENT_VERSION) exists: nothing to do ($(secs_since "$_SCRIPT_START_MS")s)"
    exit 0
fi

(( EUID == 0 )) || die "debootstrap needs root (run as root, or get $IMAGE from elsewhere)" "" 3
command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap, or run ensure-engine.sh as root)"

mkdir -p "$SWARMSPEC_RUN_DIR/logs"
LOGFILE="$SWARMSPEC_RUN_DIR/logs/build-base.log"
: >"$LOGFILE"

# The rootfs lives in a temp dir on the same disk as /var/lib/docker (not a
# tmpfs: it is ~100 MB and we have no guarantee /tmp is big). Removed on any
# exit, including Ctrl-C / SIGTERM. debootstrap leaves /proc, /sys mounted in
# the target if it is interrupted, so unmount anything below it first;
# `rm --one-file-system` refuses to cross into a still-mounted fs.
ROOTFS=""
cleanup() {
    local rc=$?
    if [[ -n "$ROOTFS" && -d "$ROOTFS" ]]; then
        # unmount deepest first
        awk -v r="$ROOTFS" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do
            umount -l "$m" 2>/dev/null || true
        done
        rm -rf --one-file-system "$ROOTFS" || log "warning: could not remove $ROOTFS"
    fi
    exit "$rc"
}
trap cleanup EXIT   # INT/TERM traps (in _common.sh) exit, which lands here

ROOTFS="$(mktemp -d "${TMPDIR:-/var/tmp}/swarmspec-rootfs.XXXXXX")"
chmod 755 "$ROOTFS"

t="$(_t0_ms)"
run_logged "$LOGFILE" "debootstrap --variant=minbase $SUITE from $MIRROR" "$DEBOOTSTRAP_DEADLINE_S" \
    debootstrap --variant=minbase --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
    "$SUITE" "$ROOTFS" "$MIRROR"
DEBOOTSTRAP_S="$(secs_since "$t")"

# --- trim / configure like debian:bookworm-slim (docker-debian-artifacts) ---
t="$(_t0_ms)"
cat >"$ROOTFS/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
# future dpkg installs skip docs/man/locales (what "-slim" does)
cat >"$ROOTFS/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
# apt: no recommends/suggests, no translations, clean .debs after install
cat >"$ROOTFS/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
echo 'Acquire::Languages "none";' >"$ROOTFS/etc/apt/apt.conf.d/docker-no-languages"
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
    >"$ROOTFS/etc/apt/apt.conf.d/docker-no-recommends"
# what is already there
find "$ROOTFS/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
find "$ROOTFS/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf "$ROOTFS"/usr/share/{man,info,groff,lintian,linda}/* \
       "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/cache/apt/*.bin \
       "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/log/* "$ROOTFS"/tmp/* "$ROOTFS"/var/tmp/*
find "$ROOTFS/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
# the engine bind-mounts these at run time; do not bake the host's values in
: >"$ROOTFS/etc/resolv.conf"
echo localhost >"$ROOTFS/etc/hostname"
rm -f "$ROOTFS/etc/machine-id"; : >"$ROOTFS/etc/machine-id"
log "trimmed rootfs in $(secs_since "$t")s: $(du -sh --one-file-system "$ROOTFS" | cut -f1)"

# --- import ---
t="$(_t0_ms)"
log "docker import -> $IMAGE"
# /dev is mounted by the engine; keep the (empty) dir only, no device nodes.
if ! tar -C "$ROOTFS" --numeric-owner --xattrs --one-file-system \
        --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -cf - . \
    | timeout "$IMPORT_DEADLINE_S" docker import \
        --change "LABEL $LABEL=$BASE_CONTENT_VERSION" \
        --change "LABEL org.opencontainers.image.description=\"Debian $SUITE minbase (debootstrap), built locally by infra/ecosystem/docker/build-base.sh\"" \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["bash"]' \
        --message "swarmspec base $BASE_CONTENT_VERSION" \
        - "$IMAGE" >>"$LOGFILE" 2>&1; then
    die "docker import of the rootfs failed" "$LOGFILE"
fi
IMPORT_S="$(secs_since "$t")"

# shellcheck disable=SC2016  # expanded inside the container
bounded 60 docker run --rm "$IMAGE" sh -c '. /etc/os-release && echo "$PRETTY_NAME"' >>"$LOGFILE" 2>&1 \
    || die "smoke run of $IMAGE failed" "$LOGFILE"
SIZE="$(docker image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.1f MB", $1/1e6}')"
log "built $IMAGE ($SIZE): debootstrap ${DEBOOTSTRAP_S}s, import ${IMPORT_S}s, total $(secs_since "$_SCRIPT_START_MS")s"
