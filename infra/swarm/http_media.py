"""Answering a media request with RFC 9110 range semantics, shared by the range server
and the reference backend so both speak exactly the same contract.

The caller supplies the representation's length, validators and a reader; this module
decides the status -- the preconditions first (`infra.swarm.preconditions`: 304 or 412),
then If-Range, then the Range header (`infra.swarm.ranges`) of a GET -- writes the headers
and streams the body with backpressure (each write waits for the socket to drain): the
whole representation, one range, or several ranges as a ``multipart/byteranges`` body
whose exact length is known before the first byte.

A HEAD carries exactly the headers of a GET *without* its Range header: RFC 9110 §14.2
says a server MUST ignore Range on a method for which range handling is not defined,
and GET is the only one that defines it; §9.3.2's "same header fields as GET" then holds
for the same request as a GET would be answered with Range ignored (200, the whole
length, no Content-Range).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import mimetypes
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import IO, AsyncIterator, Callable, Union

from aiohttp import web

from infra.swarm import preconditions, ranges

VIDEO_TYPES = {
    ".mp4": "video/mp4", ".m4v": "video/mp4", ".mkv": "video/x-matroska", ".webm": "video/webm",
    ".avi": "video/x-msvideo", ".mov": "video/quicktime", ".ts": "video/mp2t", ".ogv": "video/ogg",
    ".srt": "application/x-subrip", ".nfo": "text/plain",
}
VIDEO_EXTENSIONS = {".mp4", ".m4v", ".mkv", ".webm", ".avi", ".mov", ".ts", ".ogv"}

BYTES_SENT = web.RequestKey("bytes_sent", int)   # for the access log
CLIENT_LEFT = web.RequestKey("client_left", bool)

#: On every answer: who may read it and which headers a player on another origin may see.
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Content-Range, Content-Length, Accept-Ranges, ETag, Last-Modified",
}
#: Only on the answer to a preflight: the Fetch standard reads them nowhere else, and a
#: linter (httplint's CORS_PREFLIGHT_ONLY) rightly flags them on an ordinary answer.
PREFLIGHT_HEADERS = {
    **CORS_HEADERS,
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Range, If-Range, If-Match, If-None-Match, If-Modified-Since, "
                                    "If-Unmodified-Since, Authorization, Content-Type",
    "Access-Control-Max-Age": "600",
}


def content_type(path: str) -> str:
    """Media type by extension; our own table first, so it does not depend on the host's mime.types."""
    suffix = "." + path.rsplit(".", 1)[-1].lower() if "." in path else ""
    return VIDEO_TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"


def is_video(path: str) -> bool:
    """Whether a torrent's file can be its main video (the backend streams the largest one)."""
    return any(path.lower().endswith(ext) for ext in VIDEO_EXTENSIONS)


@dataclass(frozen=True)
class Representation:
    """What the caller knows of the bytes it serves: enough to answer without reading them."""

    length: int
    content_type: str
    etag: str                    # strong validator, quoted
    last_modified: datetime


Answer = Union[ranges.Decision, preconditions.NotModified, preconditions.PreconditionFailed]
"""How a GET or HEAD is answered: a range decision, or a precondition's 304 or 412."""


@dataclass(frozen=True)
class FileRegion:
    """Bytes a reader knows to be in a file: `respond` has the kernel send them
    (`loop.sendfile`), no copy through Python. A reader yields these or bytes."""

    path: Path
    offset: int
    count: int

    def extended(self, more: "FileRegion") -> "FileRegion":
        """This region and `more`, which must follow it in the same file."""
        if more.path != self.path or more.offset != self.offset + self.count:
            raise ValueError(f"{more} does not follow {self}")
        return FileRegion(self.path, self.offset, self.count + more.count)


#: What `_send_file` reads at once where the loop cannot sendfile.
FILE_CHUNK = 256 * 1024

Reader = Callable[[int, int], AsyncIterator[Union[bytes, FileRegion]]]   # (start, end inclusive) -> chunks
Segment = Union[bytes, tuple[int, int]]   # framing written as is, or (start, end inclusive) to read

_BOUNDARY_KEY = secrets.token_bytes(32)


def preflight() -> web.Response:
    """204 to a CORS preflight: a browser player asks before sending Range or Authorization."""
    return web.Response(status=204, headers=PREFLIGHT_HEADERS)


def decide(request: web.Request, rep: Representation) -> Answer:
    """The answer to a GET or HEAD (RFC 9110 §13.2.2's order): the preconditions, then the
    Range header of a GET, unless If-Range says the client's copy is stale."""
    outcome = preconditions.evaluate(request.method, request.headers, rep.etag, rep.last_modified)
    if outcome is not None:
        return outcome
    header = request.headers.get("Range") if request.method == "GET" else None   # §14.2 MUST ignore
    if header is not None and not _if_range_matches(request.headers.get("If-Range"), rep):
        header = None   # RFC 9110 §13.1.5: the server MUST ignore Range, send the whole current representation
    return ranges.resolve(header, rep.length)


def last_modified(rep: Representation) -> str:
    """The Last-Modified field value (IMF-fixdate, whole seconds)."""
    return format_datetime(rep.last_modified.astimezone(timezone.utc), usegmt=True)


def _if_range_matches(if_range: str | None, rep: Representation) -> bool:
    """RFC 9110 §13.1.5. An entity tag matches only by strong comparison, so a weak tag
    (``W/"..."``) never does. A date matches only if it is exactly the Last-Modified field
    value we send (string equality: the RFC says "exactly matches the field value") and
    that date is strong (§8.8.2.2): the second it names is over, so the representation
    cannot change again within it. Anything else, unparsable included, is no match: the
    whole representation is always a correct answer."""
    if if_range is None:
        return True
    value = if_range.strip(" \t")
    if value.startswith('"'):
        return value == rep.etag
    if value.startswith("W/"):
        return False
    second_over = rep.last_modified.replace(microsecond=0) + timedelta(seconds=1) <= datetime.now(timezone.utc)
    return value == last_modified(rep) and second_over


def _boundary(rep: Representation, decision: ranges.Multipart) -> str:
    """The multipart boundary: a keyed hash of the validator and the parts, so a HEAD gets
    exactly the GET's Content-Type, while the key, random per process, keeps it out of reach
    of anyone who would plant it in a file (it must not occur in the data, RFC 2046 §5.1.1)."""
    message = f"{rep.etag} {[part.content_range for part in decision.parts]}".encode()
    return "swarmspec-" + hmac.new(_BOUNDARY_KEY, message, hashlib.sha256).hexdigest()[:32]


def _body(rep: Representation, decision: ranges.Decision) -> tuple[str, tuple[Segment, ...]]:
    """Content-Type and body of a 200 or 206. Several parts are framed as RFC 9110 §14.6
    multipart/byteranges: ``--B CRLF headers CRLF CRLF data CRLF`` per part, ``--B-- CRLF``."""
    if isinstance(decision, ranges.Multipart):
        boundary = _boundary(rep, decision)
        segments: list[Segment] = []
        for part in decision.parts:
            segments.append(f"--{boundary}\r\nContent-Type: {rep.content_type}\r\n"
                            f"Content-Range: {part.content_range}\r\n\r\n".encode("latin-1"))
            segments += [(part.start, part.end), b"\r\n"]
        segments.append(f"--{boundary}--\r\n".encode("latin-1"))
        return f"multipart/byteranges; boundary={boundary}", tuple(segments)
    start, end = span(decision)
    return rep.content_type, ((start, end),) if end >= start else ()


def _size(segments: tuple[Segment, ...]) -> int:
    """Content-Length of a body, known before reading it (a multipart body is not chunked)."""
    return sum(len(s) if isinstance(s, bytes) else s[1] - s[0] + 1 for s in segments)


def headers_for(rep: Representation, decision: Answer) -> dict[str, str]:
    """Every header of the answer; GET and HEAD share them (RFC 9110 §9.3.2). A 304 has
    no Content-Type or Content-Length (§15.4.5: the validators, not the representation's
    metadata); a 412's JSON body is described by its own Content-Type."""
    headers = {
        **CORS_HEADERS,
        "Accept-Ranges": "bytes",
        "ETag": rep.etag,
        "Last-Modified": last_modified(rep),
    }
    if isinstance(decision, preconditions.NotModified):
        return headers
    if isinstance(decision, preconditions.PreconditionFailed):
        headers["Content-Type"] = "application/json"
        return headers
    if isinstance(decision, ranges.Unsatisfiable):
        headers["Content-Range"] = decision.content_range
        headers["Content-Type"] = "application/json"
        return headers
    media_type, segments = _body(rep, decision)
    headers["Content-Type"] = media_type
    if isinstance(decision, ranges.Partial):   # never on a multipart answer: each part has its own (§15.3.7.2)
        headers["Content-Range"] = decision.content_range
    headers["Content-Length"] = str(_size(segments))
    return headers


def status_for(decision: Answer) -> int:
    """200 whole, 206 one or several ranges, 416 none satisfiable, 304 / 412 from a precondition."""
    if isinstance(decision, preconditions.NotModified):
        return 304
    if isinstance(decision, preconditions.PreconditionFailed):
        return 412
    if isinstance(decision, ranges.Unsatisfiable):
        return 416
    return 206 if isinstance(decision, (ranges.Partial, ranges.Multipart)) else 200


def span(decision: Answer) -> tuple[int, int]:
    """(start, end inclusive) of the first representation bytes the body carries -- all
    of them for a single part, the first part's for several; (0, -1) for an empty body.
    A caller that must fetch the data (the backend's torrent) waits for this span first."""
    if isinstance(decision, (preconditions.NotModified, preconditions.PreconditionFailed, ranges.Unsatisfiable)):
        return 0, -1
    if isinstance(decision, ranges.Multipart):
        decision = decision.parts[0]
    if isinstance(decision, ranges.Partial):
        return decision.start, decision.end
    return 0, decision.length - 1


async def respond(request: web.Request, rep: Representation, decision: Answer,
                  read: Reader) -> web.StreamResponse:
    """Write status, headers and (for GET) exactly Content-Length bytes."""
    headers = headers_for(rep, decision)
    if isinstance(decision, preconditions.NotModified):
        return web.Response(status=304, headers=headers)
    if isinstance(decision, preconditions.PreconditionFailed):
        return web.Response(status=412, headers=headers, text=json.dumps(
            {"error": "precondition failed", "detail": decision.reason}))
    if isinstance(decision, ranges.Unsatisfiable):
        return web.Response(status=416, headers=headers, text=json.dumps(
            {"error": "range not satisfiable", "detail": decision.reason, "length": rep.length}))
    response = web.StreamResponse(status=status_for(decision), headers=headers)
    response.content_length = int(headers["Content-Length"])
    await response.prepare(request)
    if request.method == "HEAD":
        return response
    request[BYTES_SENT] = 0
    files: dict[Path, IO[bytes]] = {}   # opened once per answer, for its FileRegions
    try:
        for segment in _body(rep, decision)[1]:
            if isinstance(segment, bytes):
                await _write(request, response, segment)
                continue
            # aclosing: a viewer who disconnects mid-body ends the reader now, not at GC time.
            async with contextlib.aclosing(read(*segment)) as chunks:
                async for chunk in chunks:
                    if isinstance(chunk, FileRegion):
                        await _send_file(request, response, files, chunk)
                    else:
                        await _write(request, response, chunk)
    except ConnectionError:   # the viewer hung up (a player seeking away): not an error
        request[CLIENT_LEFT] = True
        return response
    finally:
        for handle in files.values():
            handle.close()
    await response.write_eof()
    return response


async def _send_file(request: web.Request, response: web.StreamResponse, files: dict[Path, IO[bytes]],
                     region: FileRegion) -> None:
    """The region, sent by the kernel (os.sendfile) after whatever was written before it;
    asyncio reads and writes it itself where the socket cannot (TLS), and so does this
    function where the loop has no sendfile at all (uvloop). Counted like `_write`. A file
    shorter than the region is an error, never a short body."""
    transport = request.transport
    if transport is None or transport.is_closing():
        raise ConnectionResetError("the viewer hung up")
    handle = files.get(region.path)
    if handle is None:
        handle = files[region.path] = open(region.path, "rb")
    try:
        sent = await asyncio.get_running_loop().sendfile(transport, handle, region.offset, region.count)
        request[BYTES_SENT] += sent
    except NotImplementedError:
        sent = 0
        while sent < region.count:
            data = os.pread(handle.fileno(), min(FILE_CHUNK, region.count - sent), region.offset + sent)
            if not data:
                break
            await _write(request, response, data)
            sent += len(data)
    if sent != region.count:
        raise IOError(f"{region.path}: {sent} of {region.count} bytes at {region.offset} could be sent")


async def _write(request: web.Request, response: web.StreamResponse, data: bytes) -> None:
    """Write and count (for the access log); waits for the socket to drain."""
    await response.write(data)
    request[BYTES_SENT] += len(data)
