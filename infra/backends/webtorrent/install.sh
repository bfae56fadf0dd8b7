#!/usr/bin/env bash
# Installs WebTorrent 3's node_modules here from the committed package-lock.json (npm ci,
# npm registry only; WebRTC and uTP come from ./stubs), through the shared installer.
# --engine-strict=false: webtorrent 3 declares node >= 22 but runs on 18 and 20 (see README.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec bash "$here/../node_control/npm-install.sh" "$here" webtorrent "node --input-type=module -e \"
  const { default: WebTorrent } = await import('webtorrent')
  if (WebTorrent.WEBRTC_SUPPORT || WebTorrent.UTP_SUPPORT) throw new Error('the WebRTC/uTP stubs are not in place')
\"" --engine-strict=false
