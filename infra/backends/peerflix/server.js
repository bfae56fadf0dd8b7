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
// GET /streams/<infoHash>, DELETE /streams/<infoHash>. See README.md.
const fs = require('fs')
const http = require('http')
const net = require('net')
const os = require('os')
const path = require('path')

const VIDEO_EXT = new Set(['.mp4', '.m4v', '.mkv', '.webm', '.mov', '.avi', '.ts', '.m2ts', '.mpg', '.mpeg', '.ogv', '.flv', '.wmv'])
const MAX_BODY = 64 * 1024

function parseArgs (argv, env) {
  const opts = {
    host: env.BACKEND_HOST || '127.0.0.1',
    port: env.BACKEND_PORT || '0',
    streamPort: env.BACKEND_STREAM_PORT || '0',
    trackers: env.BACKEND_TRACKER ? env.BACKEND_TRACKER.split(',').filter(Boolean) : [],
    runId: env.BACKEND_RUN_ID || '',
    metadataTimeout: env.BACKEND_METADATA_TIMEOUT || '30',
    dataDir: env.BACKEND_DATA_DIR || ''
  }
  const names = { '--host': 'host', '--port': 'port', '--stream-port': 'streamPort', '--tracker': 'trackers', '--run-id': 'runId', '--metadata-timeout': 'metadataTimeout', '--data-dir': 'dataDir' }
  let trackersFromArgs = false
  for (let i = 0; i < argv.length; i++) {
    let [flag, value] = argv[i].split(/=(.*)/s)
    if (flag === '-h' || flag === '--help') {
      console.log('usage: node server.js --host H --port P [--stream-port S (ignored)] [--tracker URL]... [--run-id X] [--metadata-timeout SECONDS] [--data-dir DIR]')
      process.exit(0)
    }
    const key = names[flag]
    if (!key) throw new Error(`unknown argument ${flag}`)
    if (value === undefined) {
      value = argv[++i]
      if (value === undefined) throw new Error(`${flag} needs a value`)
    }
    if (key === 'trackers') {
      if (!trackersFromArgs) opts.trackers = []
      trackersFromArgs = true
      opts.trackers.push(...value.split(',').filter(Boolean))
    } else {
      opts[key] = value
    }
  }
  for (const key of ['port', 'streamPort']) {
    const n = Number(opts[key])
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`bad ${key}: ${opts[key]}`)
    opts[key] = n
  }
  opts.metadataTimeout = Number(opts.metadataTimeout)
  if (!(opts.metadataTimeout > 0)) throw new Error('bad --metadata-timeout')
  return opts
}

let opts
try {
  opts = parseArgs(process.argv.slice(2), process.env)
} catch (err) {
  console.error(`peerflix-backend: ${err.message}`)
  process.exit(2)
}

function log (msg) {
  process.stdout.write(`${new Date().toISOString()} peerflix${opts.runId ? ` [${opts.runId}]` : ''} ${msg}\n`)
}

// "Bind only to --host": torrent-stream's peer-wire TCP server (and its port probe)
// call listen(port) with no address, i.e. on every interface. Give such listen() calls
// --host; calls that name an address (ours, peerflix's with `hostname`) are untouched.
// No HTTP answer passes through here.
const originalListen = net.Server.prototype.listen
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0]))) {
    if (typeof args[1] !== 'string') args.splice(1, 0, opts.host)
  } else if (args.length === 0 || typeof args[0] === 'function') {
    args.unshift(0, opts.host)
  } else if (args[0] && typeof args[0] === 'object' && args[0].path === undefined && args[0].host === undefined && !(args[0] instanceof net.Server) && args[0]._handle === undefined && args[0].fd === undefined) {
    args[0] = { ...args[0], host: opts.host }
  }
  return originalListen.apply(this, args)
}

const peerflix = require('peerflix')
const parseTorrent = require('parse-torrent') // the parser peerflix's CLI uses (parsetorrent.remote)
const PEERFLIX_VERSION = require('peerflix/package.json').version

let dataDir = opts.dataDir
const ownDataDir = !dataDir
if (ownDataDir) dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `swarmspec-peerflix-${opts.runId || process.pid}-`))
else fs.mkdirSync(dataDir, { recursive: true })

const urlHost = (opts.host === '0.0.0.0' || opts.host === '::') ? '127.0.0.1' : opts.host
const urlHostPort = port => `${urlHost.includes(':') ? `[${urlHost}]` : urlHost}:${port}`

/** infoHash -> { infoHash, engine, ready: Promise, state, error, addedAt, metadataMs } */
const streams = new Map()

function parseMagnet (uri) {
  if (typeof uri !== 'string' || !uri.startsWith('magnet:?')) return null
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
      if (video && !VIDEO_EXT.has(path.extname(f.name).toLowerCase())) return
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

function addStream (parsed) {
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

function send (res, status, body) {
  if (status === 204) {
    res.writeHead(204)
    return res.end()
  }
  const text = JSON.stringify(body)
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) })
  res.end(text)
}

function readBody (req) {
  return new Promise((resolve, reject) => {
    const chunks = []
    let size = 0
    req.on('data', c => {
      size += c.length
      if (size > MAX_BODY) {
        reject(Object.assign(new Error('request body too large'), { status: 413 }))
        req.destroy()
      } else chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

function withDeadline (promise, ms) {
  let timer
  return Promise.race([
    promise,
    new Promise((resolve, reject) => { timer = setTimeout(() => reject(Object.assign(new Error('metadata timeout'), { timeout: true })), ms) })
  ]).finally(() => clearTimeout(timer))
}

async function handleControl (req, res) {
  const url = new URL(req.url, 'http://control')
  const parts = url.pathname.split('/').filter(Boolean)
  if (url.pathname === '/health') {
    if (req.method !== 'GET' && req.method !== 'HEAD') return [405, { error: 'method not allowed' }]
    return [200, { status: 'healthy' }]
  }
  if (parts[0] !== 'streams' || parts.length > 2) return [404, { error: 'not found' }]
  if (parts.length === 1) {
    if (req.method === 'GET') return [200, [...streams.values()].map(describe)]
    if (req.method !== 'POST') return [405, { error: 'method not allowed' }]
    let body
    try {
      body = JSON.parse(await readBody(req))
    } catch (err) {
      if (err.status) return [err.status, { error: err.message }]
      return [400, { error: 'invalid JSON body' }]
    }
    const magnetUri = body && typeof body === 'object' ? body.magnetUri : undefined
    const parsed = parseMagnet(magnetUri)
    if (!parsed) return [400, { error: 'magnetUri must be a magnet:?xt=urn:btih:<info hash> URI' }]
    let entry = streams.get(parsed.infoHash)
    const existed = Boolean(entry)
    if (entry && entry.state === 'error') {
      await removeStream(entry)
      entry = null
    }
    if (!entry) entry = addStream(parsed)
    try {
      await withDeadline(entry.ready, opts.metadataTimeout * 1000)
    } catch (err) {
      if (err.timeout) return [504, { error: `no metadata within ${opts.metadataTimeout} s`, infoHash: parsed.infoHash }]
      if (entry.removed) return [409, { error: 'removed while waiting for metadata', infoHash: parsed.infoHash }]
      return [502, { error: `torrent failed: ${err.message}`, infoHash: parsed.infoHash }]
    }
    if (!streams.has(parsed.infoHash)) return [409, { error: 'removed while waiting for metadata', infoHash: parsed.infoHash }]
    return [existed ? 200 : 201, describe(entry)]
  }
  const infoHash = parts[1].toLowerCase()
  const entry = streams.get(infoHash)
  if (req.method === 'GET') return entry ? [200, describe(entry)] : [404, { error: 'unknown info hash' }]
  if (req.method === 'DELETE') {
    if (!entry) return [404, { error: 'unknown info hash' }]
    await removeStream(entry)
    log(`torrent ${infoHash} removed`)
    return [204, null]
  }
  return [405, { error: 'method not allowed' }]
}

const control = http.createServer((req, res) => {
  const started = Date.now()
  handleControl(req, res).then(([status, body]) => {
    send(res, status, body)
    log(`${req.method} ${req.url} -> ${status} (${Date.now() - started} ms)${body && body.error ? `: ${body.error}` : ''}`)
  }, err => {
    log(`${req.method} ${req.url} -> 500: ${err && err.stack}`)
    if (!res.headersSent) send(res, 500, { error: String(err && err.message) })
    else res.destroy()
  })
})

let stopping = false
function stop (signal) {
  if (stopping) return
  stopping = true
  log(`${signal}: stopping`)
  setTimeout(() => { log('stop took too long; exiting'); process.exit(0) }, 1500).unref()
  control.close()
  control.closeAllConnections?.()
  Promise.all([...streams.values()].map(removeStream)).then(() => {
    if (ownDataDir) fs.rmSync(dataDir, { recursive: true, force: true })
    log('stopped')
    process.exit(0)
  })
}
// An exception thrown inside the third-party server (e.g. peerflix's setHeader of an
// undefined Origin) ends the process as it would end the real program; it is logged
// to stdout (the service log) first and the temporary data is removed.
process.on('uncaughtException', err => {
  log(`fatal: uncaught exception, exiting: ${err && err.stack}`)
  try { if (ownDataDir) fs.rmSync(dataDir, { recursive: true, force: true }) } catch (_) {}
  process.exit(1)
})
process.on('SIGTERM', () => stop('SIGTERM'))
process.on('SIGINT', () => stop('SIGINT'))

control.once('error', err => {
  log(`error: control API cannot listen on ${opts.host}:${opts.port}: ${err.message}`)
  process.exit(1)
})
control.listen(opts.port, opts.host, () => {
  log(`peerflix ${PEERFLIX_VERSION} on node ${process.version}: control http://${urlHostPort(control.address().port)} ; streaming: one server per torrent on a port from the OS${opts.streamPort ? ` (--stream-port ${opts.streamPort} ignored)` : ''}; data ${dataDir}; trackers ${opts.trackers.join(',') || '(from magnets)'}; metadata timeout ${opts.metadataTimeout} s`)
})
