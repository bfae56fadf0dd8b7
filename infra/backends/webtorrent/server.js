// WebTorrent 3 as a system under test: its own streaming server behind the shared control
// API (the engine: ./engine.mjs; the API: ../node_control/control.cjs; README.md).
//
//   node server.js --host 127.0.0.1 --port <control> --stream-port <stream>
//                  [--tracker <announce url>]... [--run-id X] [--metadata-timeout 30]
//                  [--data-dir DIR] [--public-url URL]
// --public-url: the base of the stream URLs it answers (default http://<host>:<stream port>),
// for a server reached through another address (a container's published port).
// Control API (JSON): GET /health, POST /streams {"magnetUri"}, GET /streams,
// GET /streams/<infoHash>, DELETE /streams/<infoHash>. See README.md.
import { main } from './engine.mjs'

await main('webtorrent', () => import('webtorrent')) // webtorrent 3, from ./node_modules
