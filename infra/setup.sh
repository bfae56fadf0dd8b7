#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: system packages (as root), the Python venv,
# the Allure command line and the test videos. Warm, it checks stamps and returns.
#   SWARMSPEC_SKIP_APT=1   never call apt-get (report what is missing instead)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
started=$(date +%s%N)

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 2; }

# -- system packages -------------------------------------------------------------------
# command -> Debian package that provides it
declare -A needs=([opentracker]=opentracker [ffmpeg]=ffmpeg [java]=default-jre-headless [npm]=npm [node]=nodejs)
missing=()
for cmd in "${!needs[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${needs[$cmd]}")
done
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
can_apt=""
[ "$(id -u)" = 0 ] && [ -z "${SWARMSPEC_SKIP_APT:-}" ] && command -v apt-get >/dev/null && can_apt=1
# Optional: the @browser scenarios need Chromium; without it they are skipped with the reason.
if ! command -v chromium >/dev/null 2>&1; then
  if [ -n "$can_apt" ]; then missing+=(chromium)
  else say "no Chromium: the @browser scenarios will be skipped (install it with: sudo apt-get install chromium)"; fi
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ -n "$can_apt" ]; then
    say "installing Debian packages: ${missing[*]}"
    timeout 600 apt-get update -q >/dev/null || die "apt-get update failed (or took over 10 min)"
    DEBIAN_FRONTEND=noninteractive timeout 1200 apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
      || die "apt-get install ${missing[*]} failed"
  else
    die "missing programs; install them with: sudo apt-get install ${missing[*]}"
  fi
fi

# Optional: network conditions on extra peers (features/network_conditions.feature) need
# tc, ip (iproute2) and iptables; without them (or without root) those scenarios are skipped
# with the reason, so only root installs them and nobody else is stopped for them.
declare -A optional=([tc]=iproute2 [ip]=iproute2 [iptables]=iptables [nsenter]=util-linux [unshare]=util-linux [sysctl]=procps)
wanted=()
for cmd in "${!optional[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || wanted+=("${optional[$cmd]}")
done
if [ ${#wanted[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && [ -z "${SWARMSPEC_SKIP_APT:-}" ] && command -v apt-get >/dev/null; then
  wanted=($(printf '%s\n' "${wanted[@]}" | sort -u))
  say "installing Debian packages for network conditions: ${wanted[*]}"
  timeout 600 apt-get update -q >/dev/null || die "apt-get update failed (or took over 10 min)"
  DEBIAN_FRONTEND=noninteractive timeout 1200 apt-get install -y -q --no-install-recommends "${wanted[@]}" >/dev/null \
    || die "apt-get install ${wanted[*]} failed"
fi

# -- Python venv ----------------------------------------------------------------------
py=${SWARMSPEC_PYTHON:-python3}
"$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "Python 3.11+ is needed ($py is $("$py" -V 2>&1))"
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "creating the venv from requirements.txt"
  [ -x .venv/bin/python ] || "$py" -m venv .venv
  timeout 900 .venv/bin/python -m pip install -q -r requirements.txt || die "pip install -r requirements.txt failed"
  echo "$want" > "$stamp"
fi

# -- Allure command line (npm) ------------------------------------------------------
allure=infra/report/node_modules/.bin/allure
lock=infra/report/node_modules/.package-lock.sha256
want=$(sha256sum infra/report/package-lock.json | cut -d' ' -f1)
if [ ! -x "$allure" ] || [ "$(cat "$lock" 2>/dev/null)" != "$want" ]; then
  say "installing the Allure command line from npm"
  (cd infra/report && timeout 600 npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in infra/report failed"
  echo "$want" > "$lock"
fi

# -- bundled third-party backends (npm, from their committed lockfiles) -------------------
for install in infra/backends/*/install.sh; do
  [ -f "$install" ] && { bash "$install" || die "$install failed"; }
done

# -- test videos ----------------------------------------------------------------------
timeout 1200 .venv/bin/python -m videos.generate --quiet || die "generating the test videos failed"

elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
say "ready in $((elapsed_ms / 1000)).$(printf '%03d' $((elapsed_ms % 1000)))s"
