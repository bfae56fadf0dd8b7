"""Judging an answer to a Range request against the file, whatever shape RFC 9110 lets
it take: the whole representation (200), one part (206 with Content-Range) or several
(206 multipart/byteranges). Parsing lives here; the matchers that use it describe the
first specific difference (a part's range, its bytes, a missing header).

Why a parser of our own: multipart/byteranges is a few lines of framing (RFC 9110
§14.6), the standard library's email parser mangles binary bodies, and the suite must
compare every served byte with the file at the offset the server claims for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hamcrest.core.base_matcher import BaseMatcher
from hamcrest.core.description import Description

from infra.suite.http import Exchange
from infra.suite.matchers import exchange_line, first_difference

CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Part:
    start: int
    end: int
    data: bytes


class Malformed(ValueError):
    """The answer's framing is not what RFC 9110 allows; the message says where."""


def parse_content_range(value: str | None, size: int) -> tuple[int, int]:
    match = CONTENT_RANGE.match(value or "")
    if not match:
        raise Malformed(f"Content-Range {value!r} is not 'bytes first-last/length' (RFC 9110 §14.4)")
    start, end = int(match[1]), int(match[2])
    if end < start:
        raise Malformed(f"Content-Range {value!r}: last byte before first byte (RFC 9110 §14.4 makes it invalid)")
    if match[3] != str(size) or end >= size:
        raise Malformed(f"Content-Range {value!r} does not fit the file's {size} bytes")
    return start, end


def boundary_of(content_type: str | None) -> str | None:
    match = re.search(r'boundary="?([^";]+)"?', content_type or "", re.IGNORECASE)
    return match[1] if match and (content_type or "").lower().startswith("multipart/byteranges") else None


def parts_of(exchange: Exchange, size: int) -> list[Part]:
    """The byte ranges an answer serves, with their data; raises Malformed."""
    if exchange.status == 200:
        return [Part(0, size - 1, exchange.body)]
    if exchange.status != 206:
        raise Malformed(f"status {exchange.status} serves no bytes")
    boundary = boundary_of(exchange.header("Content-Type"))
    if boundary is None:
        start, end = parse_content_range(exchange.header("Content-Range"), size)
        return [Part(start, end, exchange.body)]
    return _multipart(exchange.body, boundary, size)


def _multipart(body: bytes, boundary: str, size: int) -> list[Part]:
    delimiter = b"--" + boundary.encode()
    chunks = body.split(delimiter)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise Malformed(f"multipart body does not end with the close delimiter --{boundary}--")
    parts = []
    for index, chunk in enumerate(chunks[1:-1], 1):
        if not chunk.startswith(b"\r\n") or not chunk.endswith(b"\r\n"):
            raise Malformed(f"part {index}: not framed by CRLF")
        head, sep, data = chunk[2:-2].partition(b"\r\n\r\n")
        if not sep:
            raise Malformed(f"part {index}: no blank line after its headers")
        headers = dict(line.split(":", 1) for line in head.decode("latin-1").split("\r\n") if ":" in line)
        headers = {k.strip().lower(): v.strip() for k, v in headers.items()}
        start, end = parse_content_range(headers.get("content-range"), size)
        if len(data) != end - start + 1:
            raise Malformed(f"part {index} ({start}-{end}) carries {len(data)} bytes, not {end - start + 1}")
        parts.append(Part(start, end, data))
    return parts


class ServesFileBytes(BaseMatcher[Exchange]):
    """Every byte served is the file's own at the offset the answer names, and the
    answer is complete (Content-Length equals the body)."""

    def __init__(self, file_bytes: bytes, source: str) -> None:
        self.file, self.source = file_bytes, source

    def _problem(self, item: Exchange) -> str | None:
        length = item.header("Content-Length")
        if item.aborted_after is not None or (length is not None and int(length) != len(item.body)):
            return f"Content-Length {length!r} but {len(item.body)} body bytes"
        try:
            parts = parts_of(item, len(self.file))
        except Malformed as exc:
            return str(exc)
        for part in parts:
            expected = self.file[part.start:part.end + 1]
            at = first_difference(part.data, expected)
            if at is not None:
                return (f"part {part.start}-{part.end}: first difference at file offset {part.start + at}"
                        + (f": got 0x{part.data[at]:02x}, the file has 0x{expected[at]:02x}"
                           if at < min(len(part.data), len(expected)) else " (length differs)"))
        return None

    def _matches(self, item: Exchange) -> bool:
        return self._problem(item) is None

    def describe_to(self, description: Description) -> None:
        description.append_text(f"an answer whose every byte is {self.source}'s own, at the offsets it names")

    def describe_mismatch(self, item: Exchange, description: Description) -> None:
        description.append_text(f"{exchange_line(item)}: {self._problem(item)}")


def serves_file_bytes(file_bytes: bytes, source: str) -> ServesFileBytes:
    return ServesFileBytes(file_bytes, source)


class ServesExactly(BaseMatcher[Exchange]):
    """206 with exactly these ranges: one part as a plain 206, several as multipart."""

    def __init__(self, spans: list[tuple[int, int]], size: int) -> None:
        self.spans, self.size = sorted(spans), size

    def _served(self, item: Exchange) -> tuple[str, list[tuple[int, int]]] | None:
        if item.status != 206:
            return None
        try:
            parts = parts_of(item, self.size)
        except Malformed:
            return None
        shape = "multipart" if boundary_of(item.header("Content-Type")) else "single part"
        return shape, sorted((p.start, p.end) for p in parts)

    def _matches(self, item: Exchange) -> bool:
        served = self._served(item)
        if served is None:
            return False
        want = "single part" if len(self.spans) == 1 else "multipart"
        return served == (want, self.spans)

    def describe_to(self, description: Description) -> None:
        shape = "one 206 part" if len(self.spans) == 1 else "a 206 multipart/byteranges answer"
        description.append_text(f"{shape} with exactly the ranges {_spans(self.spans)}")

    def describe_mismatch(self, item: Exchange, description: Description) -> None:
        served = self._served(item)
        what = f"{served[0]} with {_spans(served[1])}" if served else "no parsable 206 answer"
        description.append_text(f"{exchange_line(item)}: {what}")


def serves_exactly(spans: list[tuple[int, int]], size: int) -> ServesExactly:
    return ServesExactly(spans, size)


def _spans(spans: list[tuple[int, int]]) -> str:
    return ", ".join(f"{a}-{b}" for a, b in spans)


def parse_spans(text: str) -> list[tuple[int, int]]:
    """"0-99, 200-299" (with {expressions} already expanded) -> [(0, 99), (200, 299)]."""
    out = []
    for item in text.split(","):
        first, _, last = item.strip().partition("-")
        out.append((int(first), int(last)))
    return out
