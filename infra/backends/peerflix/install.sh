#!/usr/bin/env bash
# Installs peerflix's node_modules here from the committed package-lock.json (npm ci, npm
# registry only, pure JavaScript), through the shared installer.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec bash "$here/../node_control/npm-install.sh" "$here" peerflix "node -e \"require('peerflix'); require('parse-torrent')\""
