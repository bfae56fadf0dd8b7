'use strict'
// peerflix as a system under test: for every torrent, what `peerflix <magnet>` does
// (require('peerflix')(parsedTorrent, opts): a torrent-stream engine plus peerflix's own
// HTTP server, which serves the largest file at / and files by index at /<index>),
// behind the smallest control API the suite needs to hand it a magnet and get a stream
// URL back. This file never touches a streaming request or response.
//
// One engine and one HTTP server per torrent is how peerflix works, so each torrent's
// server listens on its own port chosen by the OS; --stream-port is accepted for a
// uniform command line and ignored.
//
//   node server.js --host 127.0.0.1 --port <control> [--stream-port N (ignored)]
//                  [--tracker <announce url>]... [--run-id X] [--metadata-timeout 30]
//                  [--data-dir DIR]
// Control API (JSON): GET /health, POST /streams {"magnetUri"}, GET /streams,
// GET /streams/<infoHash>, DELETE /streams/<infoHash>, shared with the WebTorrent targets
// (../node_control/control.cjs). See README.md.
const fs = require('fs')
const net = require('net')
const os = require('os')
const path = require('path')
const control = require('../node_control/control.cjs')

const USAGE = 'usage: node server.js --host H --port P [--stream-port S (ignored)] [--tracker URL]... [--run-id X] [--metadata-timeout SECONDS] [--data-dir DIR]'
const opts = control.optionsOrExit('peerflix', { usage: USAGE })
const log = control.makeLog('peerflix', opts.runId)
control.bindListenersTo(opts.host) // torrent-stream's peer server and port probe listen without an address

const peerflix = require('peerflix')
const parseTorrent = require('parse-torrent') // the parser peerflix's CLI uses (parsetorrent.remote)
const PEERFLIX_VERSION = require('peerflix/package.json').version

const { dataDir, own: ownDataDir } = control.dataDirOf(opts, 'peerflix')
const urlHostPort = control.hostPortOf(opts.host)

/** infoHash -> { infoHash, engine, ready: Promise, state, error, addedAt, metadataMs } */
const streams = new Map()

function parseMagnet (uri) {
  if (!/(^|&)xt=urn:btih:([0-9a-fA-F]{40}|[A-Za-z2-7]{32})(&|$)/.test(uri.slice('magnet:?'.length))) return null
  try {
    const parsed = parseTorrent(uri)
    return parsed && /^[0-9a-f]{40}$/.test(parsed.infoHash) ? parsed : null
  } catch (err) {
    return null
  }
}

function freePort () { // a peer port from the OS (torrent-stream would otherwise probe 6881)
  return new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.once('error', reject)
    probe.listen(0, opts.host, () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })
}

function mainFileIndex (files) {
  let best = -1
  for (const video of [true, false]) {
    files.forEach((f, i) => {
      if (video && !control.isVideo(f.name)) return
      if (best < 0 || f.length > files[best].length) best = i
    })
    if (best >= 0) return best
  }
  return best
}

function describe (entry) {
  const out = { infoHash: entry.infoHash, state: entry.state }
  const engine = entry.engine
  if (entry.state === 'ready') {
    const base = `http://${urlHostPort(engine.server.address().port)}`
    const files = engine.files
    const main = mainFileIndex(files)
    // peerflix's own player URL is "/" (its largest file); "/<index>" when that is not the main video
    const streamUrl = files[main] === engine.server.index ? `${base}/` : `${base}/${main}`
    Object.assign(out, {
      name: engine.torrent.name,
      length: files.reduce((n, f) => n + f.length, 0),
      streamUrl,
      serverUrl: base, // peerflix serves every file at <serverUrl>/<index>
      file: files[main].path,
      files: files.map((f, index) => ({ index, path: f.path, length: f.length, streamUrl: `${base}/${index}` })),
      metadataMs: entry.metadataMs
    })
  }
  if (engine && engine.swarm) Object.assign(out, { numPeers: engine.swarm.wires.length, downloaded: engine.swarm.downloaded })
  if (entry.error) out.error = entry.error
  return out
}

function addStream (magnetUri, parsed) {
  const infoHash = parsed.infoHash
  const entry = { infoHash, state: 'pending', addedAt: Date.now(), error: null, engine: null }
  entry.ready = (async () => {
    const peerPort = await freePort()
    if (entry.removed) throw new Error('removed')
    const engine = peerflix(parsed, {
      connections: os.cpus().length > 1 ? 100 : 30, // peerflix CLI default
      tmp: dataDir, // pieces under <data dir>/torrent-stream/<infoHash>
      dht: false, // no DHT: peers come from the magnet's tr= / --tracker only
      tracker: true,
      trackers: opts.trackers,
      hostname: opts.host,
      port: 0, // one HTTP server per torrent, on a port from the OS
      peerPort
    })
    entry.engine = engine
    // what `peerflix --peer ip:port` does, for the magnet's x.pe= peers
    for (const addr of parsed.peerAddresses || []) engine.connect(addr)
    engine.on('error', err => log(`torrent ${infoHash} engine error: ${err && err.message}`))
    engine.server.once('error', err => { // peerflix's CLI does the same
      log(`torrent ${infoHash} server error: ${err.message}; retrying on a free port`)
      engine.server.listen(0, opts.host)
    })
    await new Promise((resolve, reject) => {
      engine.server.once('listening', resolve)
      entry.abort = () => reject(new Error('removed'))
    })
    entry.state = 'ready'
    entry.metadataMs = Date.now() - entry.addedAt
    log(`torrent ${infoHash} ready: "${engine.torrent.name}", ${engine.files.length} file(s), served at http://${urlHostPort(engine.server.address().port)}/ (file ${engine.files.indexOf(engine.server.index)}), peer port ${peerPort}, metadata in ${entry.metadataMs} ms`)
    return entry
  })()
  entry.ready.catch(err => {
    if (entry.removed) return
    entry.state = 'error'
    entry.error = String(err && err.message)
    log(`torrent ${infoHash} error: ${entry.error}`)
  })
  streams.set(infoHash, entry)
  log(`torrent ${infoHash} added (trackers: ${[...opts.trackers, ...(parsed.announce || [])].join(',') || 'none'})`)
  return entry
}

function removeStream (entry) {
  streams.delete(entry.infoHash)
  entry.removed = true
  if (entry.abort) entry.abort()
  const engine = entry.engine
  if (!engine) return Promise.resolve()
  return new Promise(resolve => {
    if (engine.server.listening) {
      engine.server.close()
      engine.server.closeAllConnections?.()
    } else {
      engine.server.removeAllListeners('listening')
      engine.removeAllListeners('ready') // metadata not in yet: never start its server
    }
    engine.destroy(() => {
      fs.rm(engine.path, { recursive: true, force: true }, () => {
        fs.rm(path.join(dataDir, 'torrent-stream', `${entry.infoHash}.torrent`), { force: true }, () => resolve())
      })
    })
  })
}

const engine = {
  streams,
  parseMagnet,
  addStream,
  removeStream,
  describe,
  close: () => Promise.all([...streams.values()].map(removeStream))
}
const server = control.controlServer({ opts, log, engine, dataDir, ownDataDir })
control.listen(server, opts.port, opts.host, 'control API').then(() => {
  log(`peerflix ${PEERFLIX_VERSION} on node ${process.version}: control http://${urlHostPort(server.address().port)} ; streaming: one server per torrent on a port from the OS${opts.streamPort ? ` (--stream-port ${opts.streamPort} ignored)` : ''}; data ${dataDir}; trackers ${opts.trackers.join(',') || '(from magnets)'}; metadata timeout ${opts.metadataTimeout} s`)
}, err => {
  log(`error: ${err.message}`)
  process.exit(1)
})
