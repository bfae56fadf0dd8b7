"""HTTP Range requests (RFC 9110 §14) resolved against a representation's length.

Werkzeug parses the header (syntax); this module applies the swarmspec contract:

* no Range header, or a unit other than ``bytes``  -> the whole representation, 200;
* ``bytes=a-b`` / ``bytes=a-`` / ``bytes=-n``       -> 206 for the satisfiable part: an end
  past EOF is clamped to N-1, a suffix longer than N selects all of it (RFC 9110 §14.1.2);
* ``a >= N``, ``bytes=-0``, or any range on an empty representation -> 416;
* a syntactically invalid ``bytes`` header (``bytes=5-1``, ``bytes=abc-def``, ``bytes=``)
  -> 416 as well. RFC 9110 would allow ignoring it (200); the design's contract chose 416
  so that a broken client notices, and this module is the one place that says so;
* several ranges -> only the first one is served (a single-part 206). Clients that ask for
  several ranges must accept that, since a server may coalesce or ignore them; players
  never send several.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from werkzeug.http import parse_range_header


@dataclass(frozen=True)
class Full:
    """Serve the whole representation with 200."""

    length: int


@dataclass(frozen=True)
class Partial:
    """Serve bytes start..end (inclusive) with 206."""

    start: int
    end: int
    length: int

    @property
    def size(self) -> int:
        return self.end - self.start + 1

    @property
    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end}/{self.length}"


@dataclass(frozen=True)
class Unsatisfiable:
    """Answer 416 with ``Content-Range: bytes */N``."""

    length: int
    reason: str

    @property
    def content_range(self) -> str:
        return f"bytes */{self.length}"


Decision = Union[Full, Partial, Unsatisfiable]


def _parse(header: str) -> tuple[int, int | None] | None:
    """The first range of a well-formed ``bytes`` header, as werkzeug's (start, stop).

    Werkzeug refuses range sets that are out of order or overlap (``bytes=500-,0-99``);
    each part is then checked on its own, since only the first is served anyway.
    """
    parsed = parse_range_header(header)
    if parsed is not None and parsed.units == "bytes" and parsed.ranges:
        return parsed.ranges[0]
    unit, _, spec = header.partition("=")
    parts = [p.strip() for p in spec.split(",")]
    if len(parts) < 2:
        return None
    singles = [parse_range_header(f"{unit}={part}") for part in parts]
    if any(single is None or single.units != "bytes" for single in singles):
        return None
    return singles[0].ranges[0]


def resolve(header: str | None, length: int) -> Decision:
    """Decide how to answer a request with this Range header for `length` bytes."""
    if header is None or not header.strip():
        return Full(length)
    unit = header.split("=", 1)[0].strip().lower()
    if "=" in header and unit != "bytes":
        return Full(length)  # RFC 9110 §14.2: ignore a range unit we do not support
    parsed = _parse(header)
    if parsed is None:
        return Unsatisfiable(length, f"malformed Range header {header!r}")
    start, stop = parsed  # werkzeug: stop is exclusive, None when open-ended
    if start < 0:  # suffix range bytes=-n
        suffix = -start
        if length == 0:
            return Unsatisfiable(length, "suffix range of an empty representation")
        return Partial(max(0, length - suffix), length - 1, length)
    if start >= length:
        return Unsatisfiable(length, f"first byte {start} is at or past the end ({length} bytes)")
    end = length - 1 if stop is None else min(stop - 1, length - 1)
    return Partial(start, end, length)
