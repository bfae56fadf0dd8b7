"""HTTP API of the reference backend (aiohttp)."""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import quote, urlencode

from yarl import URL

from aiohttp import web

from infra.ecosystem import clock as clocks
from infra.swarm import http_media, ranges
from infra.backends.reference import auth
from infra.backends.reference.engine import (ActiveTorrent, Engine, InvalidMagnet, NoSuchFile, StreamTimeout, chosen_file,
                                              magnet_info_hash, main_file)
from infra.backends.reference.store import Source, SourceStore
from infra.swarm.service import json_error
from infra.backends.reference import fields

log = logging.getLogger("backend")
access_log = logging.getLogger("backend.access")

INFO_HASH = re.compile(r"^[0-9a-fA-F]{40}$")
SOURCE_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SECRET_PARAMS = {"token", "access_token", "jwt", "password"}

ENGINE = web.AppKey("engine", Engine)
STORE = web.AppKey("store", SourceStore)
TOKENS = web.AppKey("tokens", auth.TokenIssuer)
CREDENTIALS = web.AppKey("credentials", auth.Credentials)
OPTIONS = web.AppKey("options", object)
CLAIMS = web.RequestKey("claims", dict)
STREAM_CLAIMS = web.RequestKey("stream_claims", dict)


@dataclass(frozen=True)
class Options:
    stream_timeout: float
    metadata_timeout: float


def redact(url: URL) -> str:
    """Path and query for the log, secrets replaced. Works on the decoded query, the
    same one authentication reads, so ``?%74oken=`` is caught as well."""
    if not url.query:
        return url.path
    query = [(key, "REDACTED" if key.lower() in SECRET_PARAMS else value) for key, value in url.query.items()]
    return url.path + "?" + urlencode(query)


@web.middleware
async def access_logger(request: web.Request, handler):
    """One structured line per request: method, path (tokens redacted), status, range, bytes, ms."""
    started = clocks.monotonic()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except (ConnectionResetError, StreamTimeout) as exc:
        status = 499 if isinstance(exc, ConnectionResetError) else 504
        log.warning("%s %s aborted mid-body: %s", request.method, redact(request.rel_url), exc)
        raise
    finally:
        access_log.info(json.dumps({
            "method": request.method, "path": redact(request.rel_url), "status": status,
            "range": request.headers.get("Range"), "bytes": request.get(http_media.BYTES_SENT, 0),
            "clientLeft": request.get(http_media.CLIENT_LEFT, False),
            "ms": round((clocks.monotonic() - started) * 1000, 1),
        }))


@web.middleware
async def json_errors(request: web.Request, handler):
    """Every error answer in the design's shape, ``{"error": ...}`` (Miauflix answers its
    errors so): aiohttp's own 404 for an unknown route and 405 for a method are plain
    text otherwise. Their headers (Allow) are kept; a JSON error raised as such passes."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or (exc.content_type or "").endswith("json"):
            raise
        response = json_error(exc.status, exc.reason.lower())
        response.headers.update({k: v for k, v in exc.headers.items() if k.lower() not in ("content-type", "content-length")})
        return response


@web.middleware
async def authenticate(request: web.Request, handler):
    """Every /api route needs a Bearer API token; /api/stream also takes ?token=<stream token>."""
    path = request.path
    if not path.startswith("/api/") or path == "/api/auth/login" or request.method == "OPTIONS":
        return await handler(request)
    tokens = request.app[TOKENS]
    token = auth.bearer(request.headers.get("Authorization"))
    try:
        if token is not None:
            request[CLAIMS] = tokens.verify(token, auth.API_AUDIENCE)
        elif path.startswith("/api/stream/") and request.query.get("token"):
            request[STREAM_CLAIMS] = tokens.verify(request.query["token"], auth.STREAM_AUDIENCE)
        else:
            return _unauthorized("missing credentials: send Authorization: Bearer <token>")
    except auth.Unauthorized as exc:
        return _unauthorized(str(exc))
    return await handler(request)


def _unauthorized(message: str) -> web.Response:
    response = json_error(401, message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="swarmspec"'
    response.headers.update(http_media.CORS_HEADERS)
    return response


def _bad_request(message: str, **extra) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message, **extra}), content_type="application/json")


async def _json_body(request: web.Request) -> dict:
    """The body as a JSON object, or 400. Hostile bodies are 400 too: bytes that are not
    text in the declared charset (or a charset nobody knows), nesting deeper than the
    parser's recursion limit."""
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError, LookupError):     # ValueError includes JSONDecodeError
        raise _bad_request("request body must be JSON") from None
    except RecursionError:
        raise _bad_request("request body is nested too deeply") from None
    if not isinstance(body, dict):
        raise _bad_request("request body must be a JSON object")
    return body


routes = web.RouteTableDef()


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "healthy", "activeTorrents": len(request.app[ENGINE].torrents)})


@routes.post("/api/auth/login")
async def login(request: web.Request) -> web.Response:
    body = await _json_body(request)
    creds = request.app[CREDENTIALS]
    if not creds.check(body.get("email"), body.get("password")):
        return _unauthorized("wrong email or password")
    tokens = request.app[TOKENS]
    return web.json_response({"token": tokens.api_token(creds.email), "tokenType": "Bearer",
                              "expiresIn": int(tokens.api_ttl)})


@routes.post("/api/sources")
async def create_source(request: web.Request) -> web.Response:
    body = await _json_body(request)
    magnet = body.get("magnetUri")
    try:
        info_hash = magnet_info_hash(magnet)
    except InvalidMagnet as exc:
        return json_error(400, str(exc), field="magnetUri")
    try:
        described = fields.source(body)     # the design's shapes: numbers for resolution and size
    except fields.FieldError as exc:
        return json_error(400, str(exc), field=exc.field)
    source = request.app[STORE].add(magnet, info_hash, described["quality"], described["resolution"],
                                    described["size"], described["videoCodec"])
    return web.json_response(source.to_json(), status=201)


@routes.get("/api/sources/{id}")
async def get_source(request: web.Request) -> web.Response:
    source = request.app[STORE].get(request.match_info["id"])
    if source is None:
        return json_error(404, f"no source {request.match_info['id']}")
    return web.json_response(source.to_json())


@routes.post("/api/sources/{id}/stream-token")
async def stream_token(request: web.Request) -> web.Response:
    source = request.app[STORE].get(request.match_info["id"])
    if source is None:
        return json_error(404, f"no source {request.match_info['id']}")
    lifetime = None
    if request.can_read_body:
        lifetime = (await _json_body(request)).get("expiresIn")
        if lifetime is not None and (isinstance(lifetime, bool) or not isinstance(lifetime, (int, float))
                                     or not math.isfinite(lifetime) or lifetime <= 0):
            return json_error(400, "expiresIn must be a positive number of seconds", field="expiresIn")
    token, ttl = request.app[TOKENS].stream_token(source.id, source.infoHash, lifetime)
    return web.json_response({"token": token, "expiresIn": ttl,
                              "streamUrl": f"/api/stream/{source.id}?token={quote(token)}"}, status=201)


@routes.post("/api/torrents/metadata")
async def torrent_metadata(request: web.Request) -> web.Response:
    body = await _json_body(request)
    engine = request.app[ENGINE]
    try:
        active = await engine.add(body.get("magnetUri"))
    except InvalidMagnet as exc:
        return json_error(400, str(exc), field="magnetUri")
    try:
        with engine.viewing(active):
            ti = await engine.metadata(active, request.app[OPTIONS].metadata_timeout)
    except StreamTimeout as exc:
        return json_error(504, str(exc))
    fs = ti.layout()
    return web.json_response({
        "infoHash": active.info_hash,
        "name": ti.name(),
        "files": [{"path": fs.file_path(i), "length": fs.file_size(i)} for i in range(fs.num_files())],
        "mainFile": main_file(ti).path,
        "pieceLength": ti.piece_length(),
    })


@routes.get("/api/torrents")
async def list_torrents(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    return web.json_response([engine.describe(a) for a in engine.torrents.values()])


@routes.route("*", "/api/stream/{id}")
async def stream(request: web.Request) -> web.StreamResponse:
    if request.method == "OPTIONS":
        return http_media.preflight()
    if request.method not in ("GET", "HEAD"):
        raise web.HTTPMethodNotAllowed(request.method, ["GET", "HEAD", "OPTIONS"])
    engine, store, options = request.app[ENGINE], request.app[STORE], request.app[OPTIONS]
    key = request.match_info["id"]
    if INFO_HASH.match(key):
        info_hash = key.lower()
        source = store.by_info_hash(info_hash)
        active = engine.torrents.get(info_hash)
        if source is None and active is None:
            return json_error(404, f"unknown info hash {info_hash}")
        magnet = source.magnetUri if source else f"magnet:?xt=urn:btih:{info_hash}"
    elif SOURCE_ID.match(key):
        source = store.get(key)
        if source is None:
            return json_error(404, f"no source {key}")
        info_hash, magnet = source.infoHash, source.magnetUri
    else:
        return json_error(400, f"invalid id {key[:80]!r}: expected a source id (UUID) or a 40-hex info hash")

    claims = request.get(STREAM_CLAIMS)
    if claims is not None and claims.get("sub") != key and claims.get("ih") != key.lower():
        return json_error(403, "this stream token opens another source")

    active = await engine.add(magnet)
    with engine.viewing(active):
        return await _stream_torrent(request, engine, options, active, source, info_hash)


async def _stream_torrent(request: web.Request, engine: Engine, options: Options, active: ActiveTorrent,
                          source: Source | None, info_hash: str) -> web.StreamResponse:
    try:
        ti = await engine.metadata(active, options.stream_timeout)
    except StreamTimeout as exc:
        return json_error(504, str(exc))
    try:
        file = chosen_file(ti, request.query.get("file"))
    except NoSuchFile as exc:
        return json_error(404, str(exc))
    since = source.createdAt if source else clocks.wall() - (clocks.monotonic() - active.added)
    rep = http_media.Representation(
        length=file.size,
        content_type=http_media.content_type(file.path),
        etag=f'"{info_hash}-{file.index}"',
        last_modified=datetime.fromtimestamp(int(since), timezone.utc),
    )
    decision = http_media.decide(request, rep)
    start, end = http_media.span(decision)
    if request.method == "GET" and not isinstance(decision, ranges.Unsatisfiable) and end >= start:
        try:
            await engine.first_piece_ready(active, file, start, options.stream_timeout, end)
        except StreamTimeout as exc:
            return json_error(504, str(exc))
        except OSError as exc:  # libtorrent could not read a piece it had
            return json_error(502, f"reading the torrent failed: {exc}")

    def read(s: int, e: int):
        return engine.read(active, file, s, e, options.stream_timeout, options.stream_timeout)

    return await http_media.respond(request, rep, decision, read)


def make_app(engine: Engine, store: SourceStore, tokens: auth.TokenIssuer, credentials: auth.Credentials,
             options: Options) -> web.Application:
    app = web.Application(middlewares=[access_logger, json_errors, authenticate])
    app[ENGINE], app[STORE], app[TOKENS], app[CREDENTIALS], app[OPTIONS] = engine, store, tokens, credentials, options
    app.add_routes(routes)

    async def lifecycle(app: web.Application):
        await engine.start()
        yield
        await engine.stop()
        store.close()

    app.cleanup_ctx.append(lifecycle)
    return app
