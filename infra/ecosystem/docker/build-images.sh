#!/usr/bin/env bash
# Build the swarmspec runtime image (infra/ecosystem/docker/Dockerfile.runtime) without
# registry or PyPI access from inside the build:
#
#   1. make sure an engine runs (ensure-engine.sh; exit 3 = no engine, skip)
#   2. pick the base image: debian:bookworm-slim if present locally, else the
#      local swarmspec/debian-base:bookworm if present, else try to pull
#      debian:bookworm-slim (short deadline), else build the local base with
#      build-base.sh (debootstrap, no registry)
#   3. wheelhouse (host side): `pip download` the runtime deps pinned in
#      requirements.txt (only those the services need inside containers) for
#      the CONTAINER's Python (cp311, manylinux, this arch) into
#      .run/wheelhouse/<tag>/ (git-ignored, cached by a stamp), then check
#      every wheel's tags against what CPython 3.11 on glibc 2.36 accepts
#   4. image tag = content hash of Dockerfile + requirements + wheels + base
#      image id; if swarmspec/runtime:<hash> exists nothing is built.
#      Also tagged swarmspec/runtime:latest.
#
# stdout: the image reference (swarmspec/runtime:<hash>), nothing else;
# progress goes to stderr. The reference is also written to
# .run/docker/runtime-image.txt for the provider / per-service builds.
#
# Env:
#   SWARMSPEC_RUNTIME_PKGS   names taken from requirements.txt
#                            (default: libtorrent aiohttp PyJWT tenacity locust psutil;
#                            locust and psutil: the capacity tool's worker containers)
#   SWARMSPEC_BASE_IMAGE     force a base image (skips detection)
#   SWARMSPEC_FORCE=1        rebuild the image (wheels stay cached)
#   SWARMSPEC_BUILD_DEADLINE_S  default 1800
set -euo pipefail
SCRIPT_NAME=build-images
# shellcheck source=infra/ecosystem/docker/_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

RUNTIME_REPO=swarmspec/runtime
LOCAL_BASE=swarmspec/debian-base:bookworm
SLIM_BASE=debian:bookworm-slim
# Debian bookworm ships CPython 3.11 and glibc 2.36; the wheels are resolved
# for exactly that (checked again inside the Dockerfile).
PY_VERSION=3.11
GLIBC_MINOR=36
ARCH="$(uname -m)"          # x86_64 / aarch64: same as the containers'
RUNTIME_PKGS="${SWARMSPEC_RUNTIME_PKGS:-libtorrent aiohttp PyJWT tenacity locust psutil}"
BUILD_DEADLINE_S="${SWARMSPEC_BUILD_DEADLINE_S:-1800}"
PULL_DEADLINE_S="${SWARMSPEC_PULL_DEADLINE_S:-20}"
DOCKERFILE="$SWARMSPEC_DOCKER_DIR/Dockerfile.runtime"
REQUIREMENTS="${SWARMSPEC_REQUIREMENTS:-$SWARMSPEC_ROOT/requirements.txt}"   # the installed command ships it in swarmspec_suite/

mkdir -p "$SWARMSPEC_RUN_DIR/logs" "$SWARMSPEC_RUN_DIR/docker"
LOGFILE="$SWARMSPEC_RUN_DIR/logs/build-images.log"
: >"$LOGFILE"

TMPS=()
cleanup() {
    local rc=$? d
    for d in "${TMPS[@]}"; do rm -rf --one-file-system "$d"; done
    exit "$rc"
}
trap cleanup EXIT   # INT/TERM traps (in _common.sh) exit, which lands here

# host Python for pip/packaging: the project venv if there, else python3
HOST_PY="$SWARMSPEC_ROOT/.venv/bin/python"
[[ -x "$HOST_PY" ]] || HOST_PY="$(command -v python3)"

# ---------------------------------------------------------------- 1. engine
rc=0
"$SWARMSPEC_DOCKER_DIR/ensure-engine.sh" >&2 || rc=$?
(( rc == 0 )) || exit "$rc"     # 3 = no engine and cannot start one: caller skips

# ------------------------------------------------------------ 2. base image
# (sets BASE_IMAGE; not run in $(...) so that the INT/TERM traps can reach
# a running `docker pull`)
BASE_IMAGE=""
pick_base() {
    if [[ -n "${SWARMSPEC_BASE_IMAGE:-}" ]]; then
        BASE_IMAGE="$SWARMSPEC_BASE_IMAGE"; return
    fi
    if docker image inspect "$SLIM_BASE" >/dev/null 2>&1; then
        BASE_IMAGE="$SLIM_BASE"; return
    fi
    # A local base built earlier wins over a pull attempt: keeps warm runs
    # fast and offline, and the result is the same Debian suite.
    if docker image inspect "$LOCAL_BASE" >/dev/null 2>&1; then
        # no-op unless its content version changed (SWARMSPEC_FORCE is for
        # the runtime image only, not passed on)
        SWARMSPEC_FORCE=0 "$SWARMSPEC_DOCKER_DIR/build-base.sh" >&2
        BASE_IMAGE="$LOCAL_BASE"; return
    fi
    log "trying: docker pull $SLIM_BASE (deadline ${PULL_DEADLINE_S}s)"
    if bounded "$PULL_DEADLINE_S" docker pull "$SLIM_BASE" >>"$LOGFILE" 2>&1; then
        BASE_IMAGE="$SLIM_BASE"; return
    fi
    log "cannot pull $SLIM_BASE ($(tail -n 1 "$LOGFILE")); building $LOCAL_BASE with debootstrap"
    SWARMSPEC_FORCE=0 "$SWARMSPEC_DOCKER_DIR/build-base.sh" >&2
    BASE_IMAGE="$LOCAL_BASE"
}
pick_base
BASE_ID="$(docker image inspect --format '{{.Id}}' "$BASE_IMAGE")" \
    || die "base image $BASE_IMAGE is not available"
log "base image: $BASE_IMAGE (${BASE_ID:7:12})"

# ------------------------------------------------------------- 3. wheelhouse
PY_TAG="cp${PY_VERSION/./}"
WHEELHOUSE="$SWARMSPEC_RUN_DIR/wheelhouse/${PY_TAG}-manylinux_2_${GLIBC_MINOR}_${ARCH}"
mkdir -p "$WHEELHOUSE"

# requirements-runtime.txt: the chosen names' pins, copied from requirements.txt
REQ_RUNTIME_NEW="$(mktemp)"; TMPS+=("$REQ_RUNTIME_NEW")
{
    echo "# generated by infra/ecosystem/docker/build-images.sh from requirements.txt"
    for pkg in $RUNTIME_PKGS; do
        line="$(grep -iE "^[[:space:]]*${pkg}[[:space:]]*(\[|==|>=|<=|~=|!=|<|>|;|$)" "$REQUIREMENTS" | head -n 1 || true)"
        [[ -n "$line" ]] || die "runtime package '$pkg' is not in $REQUIREMENTS"
        echo "$line"
    done
} >"$REQ_RUNTIME_NEW"
cmp -s "$REQ_RUNTIME_NEW" "$WHEELHOUSE/requirements-runtime.txt" \
    || cp "$REQ_RUNTIME_NEW" "$WHEELHOUSE/requirements-runtime.txt"

# pip accepts a manylinux_2_Y platform only literally, so list every glibc
# level the container can load (2.5 .. 2.36) plus the legacy aliases.
PLATFORMS=()
for ((m = GLIBC_MINOR; m >= 5; m--)); do PLATFORMS+=("manylinux_2_${m}_${ARCH}"); done
PLATFORMS+=("manylinux2014_${ARCH}" "manylinux2010_${ARCH}" "manylinux1_${ARCH}")
PIP_ARGS=(--only-binary=:all: --python-version "$PY_VERSION" --implementation cp --abi "$PY_TAG")
for p in "${PLATFORMS[@]}"; do PIP_ARGS+=(--platform "$p"); done

STAMP_WANT="$( { cat "$WHEELHOUSE/requirements-runtime.txt"; echo "${PIP_ARGS[*]}"; } | sha256sum | cut -c1-16)"
if [[ "$(cat "$WHEELHOUSE/.stamp" 2>/dev/null)" == "$STAMP_WANT" ]] \
    && compgen -G "$WHEELHOUSE/wheels/*.whl" >/dev/null; then
    log "wheelhouse up to date: $WHEELHOUSE ($(find "$WHEELHOUSE/wheels" -name "*.whl" | wc -l) wheels)"
else
    t="$(_t0_ms)"
    NEW_WHEELS="$(mktemp -d "$WHEELHOUSE/.wheels.XXXXXX")"; TMPS+=("$NEW_WHEELS")
    run_logged "$LOGFILE" "pip download ($RUNTIME_PKGS) for $PY_TAG/$ARCH" 600 \
        "$HOST_PY" -m pip download --disable-pip-version-check \
        --dest "$NEW_WHEELS" "${PIP_ARGS[@]}" -r "$WHEELHOUSE/requirements-runtime.txt"
    rm -rf "$WHEELHOUSE/wheels"
    mv "$NEW_WHEELS" "$WHEELHOUSE/wheels"
    echo "$STAMP_WANT" >"$WHEELHOUSE/.stamp"
    log "wheelhouse filled in $(secs_since "$t")s: $(du -sh "$WHEELHOUSE/wheels" | cut -f1)"
fi

# Every wheel must be installable by the container's CPython: check its tags
# against the tag set of cp311 on manylinux <= 2.36 (not the host's Python).
"$HOST_PY" - "$WHEELHOUSE/wheels" "$PY_VERSION" "${PLATFORMS[@]}" <<'PY' >>"$LOGFILE" 2>&1 \
    || die "wheelhouse does not match the container's Python $PY_VERSION (delete $WHEELHOUSE and retry)" "$LOGFILE"
import os, sys
try:
    from packaging import tags
    from packaging.utils import parse_wheel_filename
except ImportError:  # pip vendors it
    from pip._vendor.packaging import tags
    from pip._vendor.packaging.utils import parse_wheel_filename
wheel_dir, pyver, platforms = sys.argv[1], sys.argv[2], sys.argv[3:]
ver = tuple(int(x) for x in pyver.split("."))
interp = "cp%d%d" % ver
ok_tags = set(tags.cpython_tags(ver, abis=[interp], platforms=platforms))
ok_tags |= set(tags.compatible_tags(ver, interpreter=interp, platforms=platforms))
bad = []
for name in sorted(os.listdir(wheel_dir)):
    if not name.endswith(".whl"):
        bad.append(name + " (not a wheel)")
        continue
    _, _, _, wtags = parse_wheel_filename(name)
    if not set(wtags) & ok_tags:
        bad.append(name)
if bad:
    print("not installable on CPython %s / %s:" % (pyver, platforms[0]), *bad, sep="\n  ")
    sys.exit(1)
print("wheel tags OK for CPython %s: %d wheels" % (pyver, len(os.listdir(wheel_dir))))
PY

# ------------------------------------------------------------- 4. the image
CONTENT_HASH="$(
    {
        echo "base=$BASE_ID py=$PY_VERSION"
        sha256sum "$DOCKERFILE" | cut -d' ' -f1
        sha256sum "$WHEELHOUSE/requirements-runtime.txt" | cut -d' ' -f1
        (cd "$WHEELHOUSE/wheels" && sha256sum -- *.whl | sort -k2)
    } | sha256sum | cut -c1-12
)"
IMAGE="$RUNTIME_REPO:$CONTENT_HASH"

if [[ "${SWARMSPEC_FORCE:-0}" != 1 ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
    log "$IMAGE exists: nothing to build"
else
    t="$(_t0_ms)"
    log "building $IMAGE from $BASE_IMAGE (log: $LOGFILE)"
    # Classic builder (the docker.io engine has no buildx): DOCKER_BUILDKIT=0
    # avoids "BuildKit is enabled but the buildx component is missing".
    if ! DOCKER_BUILDKIT=0 bounded "$BUILD_DEADLINE_S" docker build \
            --file "$DOCKERFILE" \
            --build-arg "BASE_IMAGE=$BASE_IMAGE" \
            --build-arg "PY_VERSION=$PY_VERSION" \
            --label "org.swarmspec.runtime.content-hash=$CONTENT_HASH" \
            --label "org.swarmspec.runtime.base=$BASE_IMAGE" \
            --label "org.swarmspec.checkout=$SWARMSPEC_ROOT" \
            --tag "$IMAGE" \
            "$WHEELHOUSE" >>"$LOGFILE" 2>&1; then
        die "docker build of $IMAGE failed (or exceeded ${BUILD_DEADLINE_S}s)" "$LOGFILE"
    fi
    log "built $IMAGE in $(secs_since "$t")s"
    # smoke test the fresh image (the Dockerfile checks this too)
    bounded 120 docker run --rm "$IMAGE" sh -c \
        'python -c "import libtorrent, aiohttp, jwt, tenacity; print(\"libtorrent\", libtorrent.__version__)" && opentracker -h >/dev/null && echo opentracker OK' \
        >>"$LOGFILE" 2>&1 || die "smoke run of $IMAGE failed" "$LOGFILE"
fi
docker tag "$IMAGE" "$RUNTIME_REPO:latest"
# drop superseded content-hash tags this checkout built (kept if a container still uses
# them): another checkout on the same engine may be between building its runtime image
# and building its role images from it, as the role images' clean-up knows too
# (infra/ecosystem/docker/images.py, LABEL_CHECKOUT)
docker image ls --format '{{.Repository}}:{{.Tag}}' "$RUNTIME_REPO" | while read -r old; do
    case "$old" in "$IMAGE" | "$RUNTIME_REPO:latest" | *"<none>"*) continue ;; esac
    owner="$(docker image inspect --format '{{index .Config.Labels "org.swarmspec.checkout"}}' "$old" 2>/dev/null || true)"
    [[ "$owner" == "$SWARMSPEC_ROOT" ]] || continue
    if docker rmi "$old" >>"$LOGFILE" 2>&1; then log "removed superseded $old"; fi
done
echo "$IMAGE" >"$SWARMSPEC_RUN_DIR/docker/runtime-image.txt"
SIZE="$(docker image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"
log "runtime image: $IMAGE ($SIZE) = $RUNTIME_REPO:latest; total $(secs_since "$_SCRIPT_START_MS")s"
echo "$IMAGE"
