"""python -m infra.swarm.peer: one extra peer for one torrent, started by the ecosystem
on request (`infra.ecosystem.peers`), beside the main seeder.

GET  /health            200 once announced to the tracker (503 before, with the reason)
GET  /status?grace=S    what it holds, what it was asked for and sent (see lt_peer.Ledger)
GET, PUT /settings      {"uploadRateLimit": bytes_per_second} (libtorrent peers)
"""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
from aiohttp import web

from infra.swarm import service
from infra.swarm.peer.cutter import Cutter
from infra.swarm.peer.lt_peer import LtPeer
from infra.swarm.peer.shape import BEHAVIOURS, HOLDINGS, Shape

REANNOUNCE_SECONDS = 2.0


log = logging.getLogger("peer")


def make_app(peer: LtPeer | Cutter) -> web.Application:
    routes = web.RouteTableDef()

    @routes.get("/health")
    async def health(request: web.Request) -> web.Response:
        body = {"status": "healthy" if peer.announced else "starting", "infoHash": peer.status(0)["infoHash"]}
        if not peer.announced:
            body["waitingFor"] = f"the tracker's answer ({peer.last_tracker_error or 'no answer yet'})"
        return web.json_response(body, status=200 if peer.announced else 503)

    @routes.get("/status")
    async def status(request: web.Request) -> web.Response:
        try:
            grace = float(request.query.get("grace", "1"))
        except ValueError:
            return service.json_error(400, "grace is a number of seconds")
        return web.json_response(peer.status(grace))

    @routes.get("/settings")
    async def get_settings(request: web.Request) -> web.Response:
        return web.json_response({"uploadRateLimit": getattr(peer, "upload_rate_limit", 0)})

    @routes.put("/settings")
    async def put_settings(request: web.Request) -> web.Response:
        if not isinstance(peer, LtPeer):
            return service.json_error(409, "this peer has no upload rate limit")
        return await service.put_upload_rate_limit(request, peer.set_upload_rate_limit)

    announce = service.Every(REANNOUNCE_SECONDS)
    http: list[aiohttp.ClientSession] = []      # a Cutter announces itself over HTTP

    async def start() -> None:
        http.append(aiohttp.ClientSession())
        if isinstance(peer, Cutter):
            await peer.start()

    async def tick() -> None:
        if isinstance(peer, LtPeer):
            peer.pump_alerts()
        if announce.due():        # a restarted tracker knows us again within seconds
            if isinstance(peer, LtPeer):
                peer.reannounce()
            else:
                await peer.announce(http[0])

    async def stop() -> None:
        await http[0].close()
        if isinstance(peer, Cutter):
            await peer.stop()
        else:
            peer.stop()

    return service.looping_app(routes, tick, log, "in the peer's loop", start=start, stop=stop)


def main() -> None:
    parser = service.base_parser("swarmspec extra peer")
    parser.add_argument("--torrent", type=Path, required=True, help="the .torrent it seeds")
    parser.add_argument("--content-dir", type=Path, required=True, help="where the torrent's files are")
    parser.add_argument("--content-name", default="", help="their top-level name there (default: the torrent's)")
    parser.add_argument("--work-dir", type=Path, required=True, help="its own copy of the files")
    parser.add_argument("--tracker", required=True, help="announce URL")
    parser.add_argument("--peer-host", default=None, help="interface for BitTorrent peers (default: --host)")
    parser.add_argument("--behaviour", choices=BEHAVIOURS, default="libtorrent")
    parser.add_argument("--holds", choices=HOLDINGS, default="all")
    parser.add_argument("--tamper-every", type=int, default=0, help="tamper every n-th piece it holds (0: none)")
    parser.add_argument("--upload-rate-limit", type=int, default=0, help="bytes/s, 0 = unlimited")
    parser.add_argument("--cut-after", type=int, default=8, help="cuts-mid-piece: blocks sent before each cut")
    args = parser.parse_args()
    service.setup_logging("peer")
    host = args.peer_host or args.host
    if args.behaviour == "cuts-mid-piece":
        peer: LtPeer | Cutter = Cutter(args.torrent, args.content_dir, args.tracker, host, args.cut_after,
                                       args.content_name)
    else:
        peer = LtPeer(args.torrent, args.content_dir, args.work_dir, args.tracker, host,
                      Shape(args.holds, args.tamper_every), args.upload_rate_limit, args.content_name)

    async def factory() -> web.Application:
        if isinstance(peer, LtPeer):
            peer.start()
        return make_app(peer)

    service.run(factory, args.host, args.port, log)


if __name__ == "__main__":
    main()
