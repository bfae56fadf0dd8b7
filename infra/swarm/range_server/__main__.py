"""python -m infra.swarm.range_server --media-dir videos/media --catalog .run/catalog.json

GET|HEAD /health
GET|HEAD /videos/{name}     the main video file of a catalog entry (e.g. test-large-4k)
GET|HEAD /files/{path}      any file under the media folder
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime, timezone
from pathlib import Path
from typing import AsyncIterator

from aiohttp import web

from infra.swarm import http_media, service
from infra.swarm.catalog import Catalog

CHUNK = 256 * 1024


def representation(path: Path) -> http_media.Representation:
    stat = path.stat()
    tag = hashlib.sha1(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:20]
    return http_media.Representation(
        length=stat.st_size,
        content_type=http_media.content_type(path.name),
        etag=f'"{tag}"',
        last_modified=datetime.fromtimestamp(int(stat.st_mtime), timezone.utc),
    )


def file_reader(path: Path):
    async def read(start: int, end: int) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        with path.open("rb") as handle:
            handle.seek(start)
            remaining = end - start + 1
            while remaining > 0:
                chunk = await loop.run_in_executor(None, handle.read, min(CHUNK, remaining))
                if not chunk:
                    raise IOError(f"{path} ended {remaining} bytes early")
                remaining -= len(chunk)
                yield chunk
    return read


def make_app(media_dir: Path, catalog: Catalog | None) -> web.Application:
    media_dir = media_dir.resolve()
    routes = web.RouteTableDef()

    async def serve(request: web.Request, path: Path) -> web.StreamResponse:
        if request.method == "OPTIONS":
            return http_media.preflight()
        if request.method not in ("GET", "HEAD"):
            raise web.HTTPMethodNotAllowed(request.method, ["GET", "HEAD", "OPTIONS"])
        rep = representation(path)
        decision = http_media.decide(request, rep)
        return await http_media.respond(request, rep, decision, file_reader(path))

    @routes.route("*", "/health")
    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "healthy", "videos": [e.name for e in catalog.entries if e.seeded] if catalog else []})

    @routes.route("*", "/videos/{name}")
    async def video(request: web.Request) -> web.StreamResponse:
        try:
            entry = catalog.get(request.match_info["name"]) if catalog else None
        except KeyError as exc:
            return service.json_error(404, str(exc))
        if entry is None or not entry.seeded:
            return service.json_error(404, f"no file for {request.match_info['name']}")
        return await serve(request, media_dir / entry.main_file)

    @routes.route("*", "/files/{path:.+}")
    async def files(request: web.Request) -> web.StreamResponse:
        name = request.match_info["path"]
        try:
            path = (media_dir / name).resolve()
            found = path.is_relative_to(media_dir) and path.is_file()
        except (ValueError, OSError):   # a NUL byte, a name longer than the filesystem allows
            found = False
        if not found:
            return service.json_error(404, f"no such file: {name[:200]!r}")
        return await serve(request, path)

    app = web.Application()
    app.add_routes(routes)
    return app


def main() -> None:
    parser = service.base_parser("swarmspec range server")
    parser.add_argument("--media-dir", type=Path, required=True)
    parser.add_argument("--catalog", type=Path, default=None)
    args = parser.parse_args()
    log = service.setup_logging("range_server")
    catalog = Catalog.load(args.catalog) if args.catalog else None

    async def factory() -> web.Application:
        return make_app(args.media_dir, catalog)

    service.run(factory, args.host, args.port, log)


if __name__ == "__main__":
    main()
