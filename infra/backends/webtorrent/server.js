// WebTorrent 3 as a system under test: its own streaming server (client.createServer(),
// /webtorrent/<infoHash>/<file path>, Range support) on --stream-port, plus the smallest
// control API the suite needs to hand it a magnet and get a stream URL back.
// This file never touches a streaming request or response: the suite judges
// WebTorrent's HTTP answers as they are.
//
//   node server.js --host 127.0.0.1 --port <control> --stream-port <stream>
//                  [--tracker <announce url>]... [--run-id X] [--metadata-timeout 30]
//                  [--data-dir DIR] [--public-url URL]
// --public-url: the base of the stream URLs it answers (default http://<host>:<stream port>),
// for a server reached through another address (a container's published port).
// Control API (JSON): GET /health, POST /streams {"magnetUri"}, GET /streams,
// GET /streams/<infoHash>, DELETE /streams/<infoHash>. See README.md.
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

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
    dataDir: env.BACKEND_DATA_DIR || '',
    publicUrl: env.BACKEND_PUBLIC_URL || ''
  }
  const names = { '--host': 'host', '--port': 'port', '--stream-port': 'streamPort', '--tracker': 'trackers', '--run-id': 'runId', '--metadata-timeout': 'metadataTimeout', '--data-dir': 'dataDir', '--public-url': 'publicUrl' }
  let trackersFromArgs = false
  for (let i = 0; i < argv.length; i++) {
    let [flag, value] = argv[i].split(/=(.*)/s)
    if (flag === '-h' || flag === '--help') {
      console.log('usage: node server.js --host H --port P --stream-port S [--tracker URL]... [--run-id X] [--metadata-timeout SECONDS] [--data-dir DIR] [--public-url URL]')
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
  if (opts.publicUrl) {
    let url
    try { url = new URL(opts.publicUrl) } catch (_) { url = null }
    if (!url || !/^https?:$/.test(url.protocol) || url.search || url.hash) throw new Error(`bad --public-url ${opts.publicUrl}: an http(s) URL without query or fragment`)
    opts.publicUrl = opts.publicUrl.replace(/\/+$/, '')
  }
  return opts
}

let opts
try {
  opts = parseArgs(process.argv.slice(2), process.env)
} catch (err) {
  console.error(`webtorrent-backend: ${err.message}`)
  process.exit(2)
}

function log (msg) {
  process.stdout.write(`${new Date().toISOString()} webtorrent${opts.runId ? ` [${opts.runId}]` : ''} ${msg}\n`)
}

// "Bind only to --host": WebTorrent's peer-wire TCP server calls listen(port) with no
// address, i.e. on every interface. Give such listen() calls --host; calls that name an
// address (ours) are untouched. No HTTP answer passes through here.
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

// The stubbed WebRTC/uTP packages only export nothing; load WebTorrent after the shim.
const { default: WebTorrent } = await import('webtorrent')

let dataDir = opts.dataDir
const ownDataDir = !dataDir
if (ownDataDir) dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `swarmspec-webtorrent-${opts.runId || process.pid}-`))
else fs.mkdirSync(dataDir, { recursive: true })

const client = new WebTorrent({
  dht: false, // no DHT: peers come from the magnet's tr= / --tracker only
  lsd: false, // no local service discovery (multicast)
  natUpnp: false, // no UPnP / NAT-PMP (multicast, gateway)
  natPmp: false,
  utp: false, // TCP only (utp-native is stubbed out)
  tracker: { wrtc: false } // no WebRTC: websocket trackers get no offers
})
client.on('error', err => log(`client error: ${err && err.message}`))
client.on('warning', err => log(`client warning: ${err && err.message}`))

const streamServer = client.createServer() // WebTorrent's defaults: /webtorrent, origin '*'
const urlHost = (opts.host === '0.0.0.0' || opts.host === '::') ? '127.0.0.1' : opts.host
const urlHostPort = port => `${urlHost.includes(':') ? `[${urlHost}]` : urlHost}:${port}`

/** infoHash -> { infoHash, magnetUri, torrent, ready: Promise, state, error, addedAt, metadataMs } */
const streams = new Map()

function parseMagnet (uri) {
  if (typeof uri !== 'string' || !uri.startsWith('magnet:?')) return null
  const params = new URLSearchParams(uri.slice('magnet:?'.length))
  for (const xt of params.getAll('xt')) {
    const m = /^urn:btih:([0-9a-fA-F]{40}|[A-Za-z2-7]{32})$/.exec(xt)
    if (!m) continue
    let hash = m[1]
    if (hash.length === 32) hash = base32ToHex(hash.toUpperCase())
    return { infoHash: hash.toLowerCase() }
  }
  return null
}

function base32ToHex (s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = ''
  for (const c of s) bits += alphabet.indexOf(c).toString(2).padStart(5, '0')
  let hex = ''
  for (let i = 0; i + 4 <= bits.length; i += 4) hex += parseInt(bits.slice(i, i + 4), 2).toString(16)
  return hex
}

function mainFile (torrent) {
  const files = torrent.files
  const videos = files.filter(f => VIDEO_EXT.has(path.extname(f.name).toLowerCase()))
  const pool = videos.length ? videos : files
  return pool.reduce((a, b) => (b.length > a.length ? b : a))
}

function serverUrl () {
  return opts.publicUrl || `http://${urlHostPort(streamServer.address().port)}`
}

function streamUrlOf (file) {
  return `${serverUrl()}${file.streamURL}`
}

function describe (entry) {
  const out = { infoHash: entry.infoHash, state: entry.state }
  const t = entry.torrent
  if (entry.state === 'ready') {
    const main = mainFile(t)
    Object.assign(out, {
      name: t.name,
      length: t.length,
      streamUrl: streamUrlOf(main),
      serverUrl: serverUrl(), // WebTorrent serves every file at <serverUrl>/webtorrent/<infoHash>/<path>
      file: main.path,
      files: t.files.map((f, index) => ({ index, path: f.path, length: f.length, streamUrl: streamUrlOf(f) })),
      metadataMs: entry.metadataMs
    })
  }
  if (t && !t.destroyed) Object.assign(out, { numPeers: t.numPeers, downloaded: t.downloaded, progress: t.progress })
  if (entry.error) out.error = entry.error
  return out
}

function addStream (magnetUri, infoHash) {
  const entry = { infoHash, magnetUri, state: 'pending', addedAt: Date.now(), error: null }
  const torrentOpts = { path: dataDir }
  if (opts.trackers.length) torrentOpts.announce = opts.trackers
  entry.ready = new Promise((resolve, reject) => {
    const torrent = client.add(magnetUri, torrentOpts)
    entry.torrent = torrent
    torrent.once('ready', () => {
      entry.state = 'ready'
      entry.metadataMs = Date.now() - entry.addedAt
      log(`torrent ${infoHash} ready: "${torrent.name}", ${torrent.files.length} file(s), ${torrent.length} bytes, metadata in ${entry.metadataMs} ms`)
      resolve(entry)
    })
    torrent.on('error', err => {
      if (entry.removed) return
      entry.state = 'error'
      entry.error = String(err && err.message)
      log(`torrent ${infoHash} error: ${entry.error}`)
      reject(err)
    })
    torrent.once('close', () => reject(new Error('removed')))
    torrent.on('warning', err => log(`torrent ${infoHash} warning: ${err && err.message}`))
  })
  entry.ready.catch(() => {})
  streams.set(infoHash, entry)
  log(`torrent ${infoHash} added (trackers: ${opts.trackers.join(',') || 'from magnet'})`)
  return entry
}

function removeStream (entry) {
  streams.delete(entry.infoHash)
  entry.removed = true
  return new Promise(resolve => {
    if (!entry.torrent || entry.torrent.destroyed) return resolve()
    entry.torrent.destroy({ destroyStore: true }, err => {
      if (err) log(`torrent ${entry.infoHash} remove error: ${err.message}`)
      resolve()
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
    if (!entry) entry = addStream(magnetUri, parsed.infoHash)
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
  client.destroy(err => { // also destroys the streaming server and its sockets
    if (err) log(`destroy error: ${err.message}`)
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

function listen (server, port, what) {
  return new Promise((resolve, reject) => {
    const emitter = server.server || server // WebTorrent's NodeServer wraps an http.Server
    emitter.once('error', err => reject(new Error(`${what} cannot listen on ${opts.host}:${port}: ${err.message}`)))
    server.listen(port, opts.host, resolve)
  })
}

try {
  await listen(streamServer, opts.streamPort, 'streaming server')
  await listen(control, opts.port, 'control API')
} catch (err) {
  log(`error: ${err.message}`)
  process.exit(1)
}
log(`webtorrent ${WebTorrent.VERSION} on node ${process.version}: control http://${urlHostPort(control.address().port)} streaming http://${urlHostPort(streamServer.address().port)}/webtorrent/${opts.publicUrl ? ` (stream URLs name ${opts.publicUrl})` : ''} ; data ${dataDir}; trackers ${opts.trackers.join(',') || '(from magnets)'}; metadata timeout ${opts.metadataTimeout} s`)
