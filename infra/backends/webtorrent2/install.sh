#!/usr/bin/env bash
# Installs WebTorrent 2.8's node_modules here from the committed package-lock.json (npm ci,
# npm registry only; WebRTC and uTP come from ../webtorrent/stubs), through the shared installer.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec bash "$here/../node_control/npm-install.sh" "$here" webtorrent2 "node --input-type=module -e \"
  const { default: WebTorrent } = await import('webtorrent')
  if (!WebTorrent.VERSION.startsWith('2.8.')) throw new Error('webtorrent ' + WebTorrent.VERSION + ', not 2.8')
  if (WebTorrent.WEBRTC_SUPPORT || WebTorrent.UTP_SUPPORT) throw new Error('the WebRTC/uTP stubs are not in place')
\""
