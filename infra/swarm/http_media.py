"""Answering a media request with RFC 9110 range semantics, shared by the range server
and the reference backend so both speak exactly the same contract.

The caller supplies the representation's length, validators and a reader; this module
decides the status (via `infra.swarm.ranges`), writes the headers and streams the body with
backpressure (each write waits for the socket to drain).
"""

from __future__ import annotations

import contextlib
import json
import mimetypes
from dataclasses import dataclass
from email.utils import format_datetime, parsedate_to_datetime
from datetime import datetime, timezone
from typing import AsyncIterator, Callable

from aiohttp import web

from infra.swarm import ranges

VIDEO_TYPES = {
    ".mp4": "video/mp4", ".m4v": "video/mp4", ".mkv": "video/x-matroska", ".webm": "video/webm",
    ".avi": "video/x-msvideo", ".mov": "video/quicktime", ".ts": "video/mp2t", ".ogv": "video/ogg",
    ".srt": "application/x-subrip", ".nfo": "text/plain",
}
VIDEO_EXTENSIONS = {".mp4", ".m4v", ".mkv", ".webm", ".avi", ".mov", ".ts", ".ogv"}

BYTES_SENT = web.RequestKey("bytes_sent", int)   # for the access log
CLIENT_LEFT = web.RequestKey("client_left", bool)

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Range, If-Range, Authorization, Content-Type",
    "Access-Control-Expose-Headers": "Content-Range, Content-Length, Accept-Ranges, ETag, Last-Modified",
    "Access-Control-Max-Age": "600",
}


def content_type(path: str) -> str:
    suffix = "." + path.rsplit(".", 1)[-1].lower() if "." in path else ""
    return VIDEO_TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"


def is_video(path: str) -> bool:
    return any(path.lower().endswith(ext) for ext in VIDEO_EXTENSIONS)


@dataclass(frozen=True)
class Representation:
    length: int
    content_type: str
    etag: str                    # strong validator, quoted
    last_modified: datetime


Reader = Callable[[int, int], AsyncIterator[bytes]]   # (start, end inclusive) -> chunks


def preflight() -> web.Response:
    return web.Response(status=204, headers=CORS_HEADERS)


def decide(request: web.Request, rep: Representation) -> ranges.Decision:
    header = request.headers.get("Range")
    if header is not None and not _if_range_matches(request.headers.get("If-Range"), rep):
        header = None   # the client's copy is stale: send the whole current representation
    return ranges.resolve(header, rep.length)


def _if_range_matches(if_range: str | None, rep: Representation) -> bool:
    if if_range is None:
        return True
    if_range = if_range.strip()
    if if_range.startswith('"') or if_range.startswith("W/"):
        return if_range == rep.etag           # strong comparison; weak tags never match
    try:
        return parsedate_to_datetime(if_range) == rep.last_modified.replace(microsecond=0)  # RFC 9110 §13.1.5
    except (TypeError, ValueError):
        return False


def headers_for(rep: Representation, decision: ranges.Decision) -> dict[str, str]:
    headers = {
        **CORS_HEADERS,
        "Accept-Ranges": "bytes",
        "ETag": rep.etag,
        "Last-Modified": format_datetime(rep.last_modified.astimezone(timezone.utc), usegmt=True),
    }
    if isinstance(decision, ranges.Unsatisfiable):
        headers["Content-Range"] = decision.content_range
        headers["Content-Type"] = "application/json"
        return headers
    headers["Content-Type"] = rep.content_type
    if isinstance(decision, ranges.Partial):
        headers["Content-Range"] = decision.content_range
        headers["Content-Length"] = str(decision.size)
    else:
        headers["Content-Length"] = str(rep.length)
    return headers


def status_for(decision: ranges.Decision) -> int:
    if isinstance(decision, ranges.Unsatisfiable):
        return 416
    return 206 if isinstance(decision, ranges.Partial) else 200


def span(decision: ranges.Decision) -> tuple[int, int]:
    """(start, end inclusive) of the body; (0, -1) for an empty one."""
    if isinstance(decision, ranges.Partial):
        return decision.start, decision.end
    return 0, decision.length - 1


async def respond(request: web.Request, rep: Representation, decision: ranges.Decision,
                  read: Reader) -> web.StreamResponse:
    """Write status, headers and (for GET) exactly Content-Length bytes."""
    headers = headers_for(rep, decision)
    if isinstance(decision, ranges.Unsatisfiable):
        return web.Response(status=416, headers=headers, text=json.dumps(
            {"error": "range not satisfiable", "detail": decision.reason, "length": rep.length}))
    response = web.StreamResponse(status=status_for(decision), headers=headers)
    response.content_length = int(headers["Content-Length"])
    await response.prepare(request)
    if request.method == "HEAD":
        return response
    start, end = span(decision)
    request[BYTES_SENT] = 0
    if end >= start:
        # aclosing: a viewer who disconnects mid-body ends the reader now, not at GC time.
        async with contextlib.aclosing(read(start, end)) as chunks:
            try:
                async for chunk in chunks:
                    await response.write(chunk)
                    request[BYTES_SENT] += len(chunk)
            except ConnectionError:   # the viewer hung up (a player seeking away): not an error
                request[CLIENT_LEFT] = True
                return response
    await response.write_eof()
    return response
