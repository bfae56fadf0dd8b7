// WebTorrent 2.8 (the engine Miauflix streams with) as a system under test: the same engine
// wrapper and control API as WebTorrent 3 (../webtorrent/engine.mjs, README.md there), with
// WebTorrent loaded from this directory's node_modules (webtorrent 2.8.5, package-lock.json).
//
//   node server.js --host 127.0.0.1 --port <control> --stream-port <stream> [--tracker URL]...
//                  [--run-id X] [--metadata-timeout 30] [--data-dir DIR] [--public-url URL]
import { main } from '../webtorrent/engine.mjs'

await main('webtorrent2', () => import('webtorrent')) // resolved from this file: webtorrent 2.8
