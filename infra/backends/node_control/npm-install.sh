#!/usr/bin/env bash
# Installs a bundled Node backend's node_modules from its committed package-lock.json
# (npm ci, npm registry only), shared by infra/backends/{webtorrent,webtorrent2,peerflix}/install.sh.
# Idempotent: a stamp holds the sha256 of everything npm ci reads (manifest, lockfile,
# .npmrc and the files of local `file:` packages such as the WebRTC/uTP stubs), and a warm
# run returns at once without touching npm.
#   bash npm-install.sh DIR NAME 'node -e "<check that it loads>"' [extra npm ci options]
#   SWARMSPEC_NPM_TIMEOUT   seconds for npm ci (default 600)
set -euo pipefail
dir=$1 name=$2 check=$3
shift 3
cd "$dir"
tag=backend-$name
say() { printf '[%s] %s\n' "$tag" "$*"; }
die() { printf '[%s] ERROR: %s\n' "$tag" "$*" >&2; exit 2; }

command -v node >/dev/null 2>&1 || die "node is missing: install the Debian package 'nodejs' (apt-get install nodejs)"
command -v npm >/dev/null 2>&1 || die "npm is missing: install the Debian package 'npm' (apt-get install npm)"
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$major" -ge 18 ] || die "Node.js >= 18 is needed, found $(node -v 2>&1) (Debian bookworm's 'nodejs' package is 18.x)"

# the local packages the manifest names (file:...), whose files npm ci copies in
mapfile -t locals < <(node -p "Object.values(require('./package.json').dependencies || {})
  .filter(s => s.startsWith('file:')).map(s => s.slice(5)).join('\n')" | sed '/^$/d')
want=$({ sha256sum package.json package-lock.json .npmrc
         [ ${#locals[@]} -eq 0 ] || find "${locals[@]}" -type f -print0 | sort -z | xargs -0 sha256sum; } | sha256sum | cut -d' ' -f1)
stamp=node_modules/.lock.sha256
if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi

say "installing $name from package-lock.json (npm ci)"
started=$(date +%s)
# --ignore-scripts: no install script is needed (see each backend's README.md)
timeout "${SWARMSPEC_NPM_TIMEOUT:-600}" npm ci --no-audit --no-fund --loglevel=error --ignore-scripts "$@" \
  || die "npm ci failed or took over ${SWARMSPEC_NPM_TIMEOUT:-600} s (it needs the npm registry)"
bash -c "$check" || die "$name does not load after npm ci"
echo "$want" > "$stamp"
say "installed in $(( $(date +%s) - started )) s ($(du -sh node_modules | cut -f1))"
