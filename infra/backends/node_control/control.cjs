'use strict'
// The control wrapper every bundled Node backend shares (WebTorrent 3, WebTorrent 2.8,
// peerflix): the command line, the log line, binding the engine's own listeners to --host,
// the data directory, and the small JSON control API that hands an engine a magnet and
// answers with its stream URL (README.md of infra/backends/webtorrent, "Control protocol").
// Each backend supplies only its engine: addStream / removeStream / describe / close.
// Nothing here touches a streaming request or response: the suite judges the engines'
// HTTP answers as they are. CommonJS so that peerflix (CommonJS) requires it and the
// WebTorrent engines (ES modules) import it.
const fs = require('fs')
const http = require('http')
const net = require('net')
const os = require('os')
const path = require('path')

const VIDEO_EXT = new Set(['.mp4', '.m4v', '.mkv', '.webm', '.mov', '.avi', '.ts', '.m2ts', '.mpg', '.mpeg', '.ogv', '.flv', '.wmv'])
const MAX_BODY = 64 * 1024

/** The options of `node server.js`, from argv with BACKEND_* environment fallbacks.
 *  `publicUrl`: whether --public-url is accepted (a server whose stream URLs can name another address). */
function parseArgs (argv, env, { usage, publicUrl = false }) {
  const opts = {
    host: env.BACKEND_HOST || '127.0.0.1',
    port: env.BACKEND_PORT || '0',
    streamPort: env.BACKEND_STREAM_PORT || '0',
    trackers: env.BACKEND_TRACKER ? env.BACKEND_TRACKER.split(',').filter(Boolean) : [],
    runId: env.BACKEND_RUN_ID || '',
    metadataTimeout: env.BACKEND_METADATA_TIMEOUT || '30',
    dataDir: env.BACKEND_DATA_DIR || '',
    publicUrl: publicUrl ? env.BACKEND_PUBLIC_URL || '' : ''
  }
  const names = { '--host': 'host', '--port': 'port', '--stream-port': 'streamPort', '--tracker': 'trackers', '--run-id': 'runId', '--metadata-timeout': 'metadataTimeout', '--data-dir': 'dataDir' }
  if (publicUrl) names['--public-url'] = 'publicUrl'
  let trackersFromArgs = false
  for (let i = 0; i < argv.length; i++) {
    let [flag, value] = argv[i].split(/=(.*)/s)
    if (flag === '-h' || flag === '--help') {
      console.log(usage)
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

/** The options, or exit 2 with the reason (before anything is started). */
function optionsOrExit (name, spec) {
  try {
    return parseArgs(process.argv.slice(2), process.env, spec)
  } catch (err) {
    console.error(`${name}-backend: ${err.message}`)
    process.exit(2)
  }
}

function makeLog (name, runId) {
  return msg => process.stdout.write(`${new Date().toISOString()} ${name}${runId ? ` [${runId}]` : ''} ${msg}\n`)
}

// "Bind only to --host": the engines' peer-wire TCP servers (and torrent-stream's port
// probe) call listen(port) with no address, i.e. on every interface. Give such listen()
// calls --host; calls that name an address (ours, peerflix's with `hostname`) are
// untouched. No HTTP answer passes through here. Call it before the engine is loaded.
function bindListenersTo (host) {
  const originalListen = net.Server.prototype.listen
  net.Server.prototype.listen = function (...args) {
    if (typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0]))) {
      if (typeof args[1] !== 'string') args.splice(1, 0, host)
    } else if (args.length === 0 || typeof args[0] === 'function') {
      args.unshift(0, host)
    } else if (args[0] && typeof args[0] === 'object' && args[0].path === undefined && args[0].host === undefined && !(args[0] instanceof net.Server) && args[0]._handle === undefined && args[0].fd === undefined) {
      args[0] = { ...args[0], host }
    }
    return originalListen.apply(this, args)
  }
}

/** --data-dir, or a fresh temporary folder (own: removed on exit). */
function dataDirOf (opts, name) {
  if (opts.dataDir) {
    fs.mkdirSync(opts.dataDir, { recursive: true })
    return { dataDir: opts.dataDir, own: false }
  }
  return { dataDir: fs.mkdtempSync(path.join(os.tmpdir(), `swarmspec-${name}-${opts.runId || process.pid}-`)), own: true }
}

/** "127.0.0.1:8080" (an IPv6 host in brackets; a wildcard host as loopback), for URLs and logs. */
function hostPortOf (host) {
  const urlHost = (host === '0.0.0.0' || host === '::') ? '127.0.0.1' : host
  return port => `${urlHost.includes(':') ? `[${urlHost}]` : urlHost}:${port}`
}

function isVideo (name) {
  return VIDEO_EXT.has(path.extname(name).toLowerCase())
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

/**
 * The control API over one engine, plus the process's signal and crash handling.
 * engine: { streams: Map(infoHash -> entry), parseMagnet(uri) -> {infoHash, ...} | null,
 *           addStream(magnetUri, parsed) -> entry (entry.ready: Promise), removeStream(entry) -> Promise,
 *           describe(entry) -> JSON, close() -> Promise (everything the engine holds) }
 * Returns the (not yet listening) http.Server.
 */
function controlServer ({ opts, log, engine, dataDir, ownDataDir }) {
  const { streams } = engine
  async function handle (req) {
    const url = new URL(req.url, 'http://control')
    const parts = url.pathname.split('/').filter(Boolean)
    if (url.pathname === '/health') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return [405, { error: 'method not allowed' }]
      return [200, { status: 'healthy' }]
    }
    if (parts[0] !== 'streams' || parts.length > 2) return [404, { error: 'not found' }]
    if (parts.length === 1) {
      if (req.method === 'GET') return [200, [...streams.values()].map(engine.describe)]
      if (req.method !== 'POST') return [405, { error: 'method not allowed' }]
      let body
      try {
        body = JSON.parse(await readBody(req))
      } catch (err) {
        if (err.status) return [err.status, { error: err.message }]
        return [400, { error: 'invalid JSON body' }]
      }
      const magnetUri = body && typeof body === 'object' ? body.magnetUri : undefined
      const parsed = typeof magnetUri === 'string' && magnetUri.startsWith('magnet:?') ? engine.parseMagnet(magnetUri) : null
      if (!parsed) return [400, { error: 'magnetUri must be a magnet:?xt=urn:btih:<info hash> URI' }]
      let entry = streams.get(parsed.infoHash)
      const existed = Boolean(entry)
      if (entry && entry.state === 'error') {
        await engine.removeStream(entry)
        entry = null
      }
      if (!entry) entry = engine.addStream(magnetUri, parsed)
      try {
        await withDeadline(entry.ready, opts.metadataTimeout * 1000)
      } catch (err) {
        if (err.timeout) return [504, { error: `no metadata within ${opts.metadataTimeout} s`, infoHash: parsed.infoHash }]
        if (entry.removed) return [409, { error: 'removed while waiting for metadata', infoHash: parsed.infoHash }]
        return [502, { error: `torrent failed: ${err.message}`, infoHash: parsed.infoHash }]
      }
      if (!streams.has(parsed.infoHash)) return [409, { error: 'removed while waiting for metadata', infoHash: parsed.infoHash }]
      return [existed ? 200 : 201, engine.describe(entry)]
    }
    const infoHash = parts[1].toLowerCase()
    const entry = streams.get(infoHash)
    if (req.method === 'GET') return entry ? [200, engine.describe(entry)] : [404, { error: 'unknown info hash' }]
    if (req.method === 'DELETE') {
      if (!entry) return [404, { error: 'unknown info hash' }]
      await engine.removeStream(entry)
      log(`torrent ${infoHash} removed`)
      return [204, null]
    }
    return [405, { error: 'method not allowed' }]
  }

  const control = http.createServer((req, res) => {
    const started = Date.now()
    handle(req).then(([status, body]) => {
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
    engine.close().then(() => {
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
  return control
}

/** Listen on host:port, or reject naming what could not listen and why. */
function listen (server, port, host, what) {
  return new Promise((resolve, reject) => {
    const emitter = server.server || server // WebTorrent's NodeServer wraps an http.Server
    emitter.once('error', err => reject(new Error(`${what} cannot listen on ${host}:${port}: ${err.message}`)))
    server.listen(port, host, resolve)
  })
}

module.exports = { parseArgs, optionsOrExit, makeLog, bindListenersTo, dataDirOf, hostPortOf, isVideo, controlServer, listen }
