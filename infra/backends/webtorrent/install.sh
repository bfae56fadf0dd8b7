#!/usr/bin/env bash
# Installs WebTorrent's node_modules here from the committed package-lock.json (npm ci,
# npm registry only; WebRTC and uTP come from ./stubs). Idempotent: a stamp holds the
# sha256 of what npm ci reads, and a warm run returns at once without touching npm.
#   SWARMSPEC_NPM_TIMEOUT   seconds for npm ci (default 600)
set -euo pipefail
cd "$(dirname "$0")"
tag=backend-webtorrent
say() { printf '[%s] %s\n' "$tag" "$*"; }
die() { printf '[%s] ERROR: %s\n' "$tag" "$*" >&2; exit 2; }

command -v node >/dev/null 2>&1 || die "node is missing: install the Debian package 'nodejs' (apt-get install nodejs)"
command -v npm >/dev/null 2>&1 || die "npm is missing: install the Debian package 'npm' (apt-get install npm)"
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$major" -ge 18 ] || die "Node.js >= 18 is needed, found $(node -v 2>&1) (Debian bookworm's 'nodejs' package is 18.x)"

# everything npm ci installs from: the lockfile, the manifest, .npmrc and the stub packages
want=$({ sha256sum package.json package-lock.json .npmrc; find stubs -type f -print0 | sort -z | xargs -0 sha256sum; } | sha256sum | cut -d' ' -f1)
stamp=node_modules/.lock.sha256
if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi

say "installing webtorrent from package-lock.json (npm ci)"
started=$(date +%s)
# --ignore-scripts: no install script is needed (the native add-ons are stubbed or optional
# with bundled prebuilds; ip-set's preinstall only runs 'npx only-allow pnpm').
# --engine-strict=false: webtorrent 3 declares node >= 22 but runs on 18 and 20 (see README.md).
timeout "${SWARMSPEC_NPM_TIMEOUT:-600}" npm ci --no-audit --no-fund --loglevel=error --ignore-scripts --engine-strict=false \
  || die "npm ci failed or took over ${SWARMSPEC_NPM_TIMEOUT:-600} s (it needs the npm registry)"
node --input-type=module -e "
  const { default: WebTorrent } = await import('webtorrent')
  if (WebTorrent.WEBRTC_SUPPORT || WebTorrent.UTP_SUPPORT) throw new Error('the WebRTC/uTP stubs are not in place')
" || die "webtorrent does not load after npm ci"
echo "$want" > "$stamp"
say "installed in $(( $(date +%s) - started )) s ($(du -sh node_modules | cut -f1))"
