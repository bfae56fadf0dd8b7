// A WebTorrent client as a system under test: its own streaming server
// (client.createServer(), /webtorrent/<infoHash>/<file path>, Range support) on
// --stream-port, behind the shared control API (../node_control/control.cjs). Shared by
// WebTorrent 3 (./server.js) and WebTorrent 2.8 (../webtorrent2/server.js): each server.js
// hands in the WebTorrent class its own node_modules resolves, so one file serves both
// versions and neither is patched. Nothing here touches a streaming request or response.
import control from '../node_control/control.cjs'

const USAGE = 'usage: node server.js --host H --port P --stream-port S [--tracker URL]... [--run-id X] [--metadata-timeout SECONDS] [--data-dir DIR] [--public-url URL]'

/** name: the log's and temp dir's name; load: () => import('webtorrent') from the caller's directory. */
export async function main (name, load) {
  const opts = control.optionsOrExit(name, { usage: USAGE, publicUrl: true })
  const log = control.makeLog(name, opts.runId)
  control.bindListenersTo(opts.host)
  // the stubbed WebRTC/uTP packages export nothing; WebTorrent is loaded after the shim
  const { default: WebTorrent } = await load()
  const { dataDir, own } = control.dataDirOf(opts, name)
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
  const hostPort = control.hostPortOf(opts.host)
  const engine = webTorrentEngine({ opts, log, client, dataDir, serverUrl: () => opts.publicUrl || `http://${hostPort(streamServer.address().port)}` })
  const server = control.controlServer({ opts, log, engine, dataDir, ownDataDir: own })
  try {
    await control.listen(streamServer, opts.streamPort, opts.host, 'streaming server')
    await control.listen(server, opts.port, opts.host, 'control API')
  } catch (err) {
    log(`error: ${err.message}`)
    process.exit(1)
  }
  log(`webtorrent ${WebTorrent.VERSION} on node ${process.version}: control http://${hostPort(server.address().port)} streaming http://${hostPort(streamServer.address().port)}/webtorrent/${opts.publicUrl ? ` (stream URLs name ${opts.publicUrl})` : ''} ; data ${dataDir}; trackers ${opts.trackers.join(',') || '(from magnets)'}; metadata timeout ${opts.metadataTimeout} s`)
}

function webTorrentEngine ({ opts, log, client, dataDir, serverUrl }) {
  const streamUrlOf = file => `${serverUrl()}${file.streamURL}`
  /** infoHash -> { infoHash, magnetUri, torrent, ready: Promise, state, error, addedAt, metadataMs } */
  const streams = new Map()

  function mainFile (torrent) {
    const videos = torrent.files.filter(f => control.isVideo(f.name))
    const pool = videos.length ? videos : torrent.files
    return pool.reduce((a, b) => (b.length > a.length ? b : a))
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

  function addStream (magnetUri, { infoHash }) {
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

  function close () { // also destroys the streaming server and its sockets
    return new Promise(resolve => client.destroy(err => {
      if (err) log(`destroy error: ${err.message}`)
      resolve()
    }))
  }

  return { streams, parseMagnet, addStream, removeStream, describe, close }
}

/** { infoHash } of a btih magnet (hex or base32), or null. */
function parseMagnet (uri) {
  const params = new URLSearchParams(uri.slice('magnet:?'.length))
  for (const xt of params.getAll('xt')) {
    const m = /^urn:btih:([0-9a-fA-F]{40}|[A-Za-z2-7]{32})$/.exec(xt)
    if (!m) continue
    const hash = m[1].length === 32 ? base32ToHex(m[1].toUpperCase()) : m[1]
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
