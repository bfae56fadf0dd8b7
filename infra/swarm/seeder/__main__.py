"""python -m infra.swarm.seeder: seed the catalog and serve the control API.

GET  /health                  {"status", "seedingTorrents", "knownHashes", "announced"}; 503 until
                              every seeded torrent has been announced to the tracker
GET  /torrents                [{name, hash, magnetURI, size, files, seeded, paused, ...}]
POST /torrents/{hash}/pause   stop seeding one torrent (peers are disconnected)
POST /torrents/{hash}/resume  seed it again (and announce it at once)
POST /torrents/{name or hash}/variants
                              201 {hash, magnetURI, variantOf, ...}: seed a fresh variant, the same
                              bytes under a new info hash (the tracker must be told of it: whitelist)
DELETE /torrents/{hash}       stop seeding a variant (409 for a catalog torrent)
GET  /settings, PUT /settings {"uploadRateLimit": bytes_per_second}  (0 = unlimited)
"""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web

from infra.swarm import service
from infra.swarm.catalog import Catalog
from infra.config import Settings
from infra.swarm.seeder.swarm import Swarm

REANNOUNCE_SECONDS = 2.0


def make_app(swarm: Swarm) -> web.Application:
    routes = web.RouteTableDef()

    @routes.get("/health")
    async def health(request: web.Request) -> web.Response:
        seeding = swarm.catalog_seeding()
        ready = all(s.announced for s in seeding)
        body = {
            "status": "healthy" if ready else "starting",
            "seedingTorrents": len(seeding),
            "knownHashes": sorted(swarm.seeds),
            "announced": sum(s.announced for s in seeding),
        }
        if not ready:
            body["waitingFor"] = [s.entry.name + (f" ({s.last_tracker_error})" if s.last_tracker_error else "")
                                  for s in seeding if not s.announced]
        return web.json_response(body, status=200 if ready else 503)

    @routes.get("/torrents")
    async def torrents(request: web.Request) -> web.Response:
        return web.json_response([swarm.describe(s) for s in swarm.seeds.values()])

    async def set_paused(request: web.Request, paused: bool) -> web.Response:
        info_hash = request.match_info["hash"].lower()
        if info_hash not in swarm.seeds:
            return service.json_error(404, f"unknown torrent {info_hash}")
        try:
            seed = swarm.set_paused(info_hash, paused)
        except ValueError as exc:
            return service.json_error(409, str(exc))
        return web.json_response(swarm.describe(seed))

    @routes.post("/torrents/{hash}/pause")
    async def pause(request: web.Request) -> web.Response:
        return await set_paused(request, True)

    @routes.post("/torrents/{hash}/resume")
    async def resume(request: web.Request) -> web.Response:
        return await set_paused(request, False)

    @routes.post("/torrents/{key}/variants")
    async def add_variant(request: web.Request) -> web.Response:
        key = request.match_info["key"]
        try:
            seed = swarm.add_variant(key)
        except KeyError:
            return service.json_error(404, f"no catalog torrent named or hashed {key!r}")
        except ValueError as exc:
            return service.json_error(409, str(exc))
        return web.json_response(swarm.describe(seed), status=201)

    @routes.delete("/torrents/{hash}")
    async def remove_variant(request: web.Request) -> web.Response:
        info_hash = request.match_info["hash"].lower()
        try:
            swarm.remove_variant(info_hash)
        except KeyError:
            return service.json_error(404, f"unknown torrent {info_hash}")
        except ValueError as exc:
            return service.json_error(409, str(exc))
        return web.Response(status=204)

    @routes.get("/settings")
    async def get_settings(request: web.Request) -> web.Response:
        return web.json_response({"uploadRateLimit": swarm.upload_rate_limit})

    @routes.put("/settings")
    async def put_settings(request: web.Request) -> web.Response:
        return await service.put_upload_rate_limit(request, swarm.set_upload_rate_limit)

    announce = service.Every(REANNOUNCE_SECONDS)

    async def tick() -> None:
        swarm.pump_alerts()
        if announce.due():        # the controlled swarm re-announces every few seconds
            swarm.reannounce()

    async def stop() -> None:
        swarm.stop()

    return service.looping_app(routes, tick, logging.getLogger("seeder"),
                               "the alert and announce loop failed; it goes on", stop=stop)


def main() -> None:
    parser = service.base_parser("swarmspec seeder")
    parser.add_argument("--catalog", type=Path, required=True)
    parser.add_argument("--media-dir", type=Path, required=True)
    parser.add_argument("--torrent-dir", type=Path, required=True)
    parser.add_argument("--tracker", required=True, help="announce URL, e.g. http://127.0.0.1:6969/announce")
    parser.add_argument("--peer-host", default=None, help="interface for BitTorrent peers (default: --host)")
    parser.add_argument("--upload-rate-limit", type=int, default=Settings.from_env().upload_rate_limit,
                        help="bytes/s, 0 = unlimited (default: SWARMSPEC_UPLOAD_RATE_LIMIT)")
    args = parser.parse_args()
    log = service.setup_logging("seeder")
    swarm = Swarm(Catalog.load(args.catalog), args.media_dir, args.torrent_dir, args.tracker,
                  host=args.peer_host or args.host, upload_rate_limit=args.upload_rate_limit)

    async def factory() -> web.Application:
        swarm.start()
        return make_app(swarm)

    service.run(factory, args.host, args.port, log)


if __name__ == "__main__":
    main()
