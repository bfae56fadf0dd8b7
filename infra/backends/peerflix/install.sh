#!/usr/bin/env bash
# Installs peerflix's node_modules here from the committed package-lock.json (npm ci, npm
# registry only, pure JavaScript). Idempotent: a stamp holds the sha256 of what npm ci
# reads, and a warm run returns at once without touching npm.
#   SWARMSPEC_NPM_TIMEOUT   seconds for npm ci (default 600)
set -euo pipefail
cd "$(dirname "$0")"
tag=backend-peerflix
say() { printf '[%s] %s\n' "$tag" "$*"; }
die() { printf '[%s] ERROR: %s\n' "$tag" "$*" >&2; exit 2; }

command -v node >/dev/null 2>&1 || die "node is missing: install the Debian package 'nodejs' (apt-get install nodejs)"
command -v npm >/dev/null 2>&1 || die "npm is missing: install the Debian package 'npm' (apt-get install npm)"
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$major" -ge 18 ] || die "Node.js >= 18 is needed, found $(node -v 2>&1) (Debian bookworm's 'nodejs' package is 18.x)"

# everything npm ci installs from: the lockfile, the manifest and .npmrc
want=$(sha256sum package.json package-lock.json .npmrc | sha256sum | cut -d' ' -f1)
stamp=node_modules/.lock.sha256
if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi

say "installing peerflix from package-lock.json (npm ci)"
started=$(date +%s)
# --ignore-scripts: nothing in this tree has an install script; it stays that way.
timeout "${SWARMSPEC_NPM_TIMEOUT:-600}" npm ci --no-audit --no-fund --loglevel=error --ignore-scripts \
  || die "npm ci failed or took over ${SWARMSPEC_NPM_TIMEOUT:-600} s (it needs the npm registry)"
node -e "require('peerflix'); require('parse-torrent')" || die "peerflix does not load after npm ci"
echo "$want" > "$stamp"
say "installed in $(( $(date +%s) - started )) s ($(du -sh node_modules | cut -f1))"
