"""HTTP Range requests (RFC 9110 §14) resolved against a representation's length.

This module is the one place that states the swarmspec range contract. The range server
is the suite's byte oracle, so the contract follows RFC 9110 exactly, with one
deliberate exception (a malformed header is 416, see below):

* no Range header, or a unit other than ``bytes``  -> the whole representation, 200
  (§14.2: a server ignores a range unit it does not understand);
* ``bytes=a-b`` / ``bytes=a-`` / ``bytes=-n``       -> the satisfiable part: an end past EOF
  is clamped to N-1, a suffix longer than N selects all of it (§14.1.2);
* a range set (``bytes=0-1,4-5``): unsatisfiable ranges (``a >= N``, ``-0``) are dropped,
  the others coalesced when they overlap or touch (§14.2 allows it), and the parts kept
  in the order the client asked for them (§15.3.7.2 SHOULD);
  none left -> 416 ``bytes */N`` (§15.5.17: only when *no* range is satisfiable),
  one left -> an ordinary single-part 206 (§15.3.7: never multipart for one range),
  several  -> ``Multipart``, served as ``multipart/byteranges`` (§14.6),
  more than `MAX_PARTS` -> the whole representation, 200 (§14.2 "MAY ignore": many
  scattered ranges are a broken client or a denial of service);
* empty list elements are ignored (``bytes=0-1,,4-5``, ``bytes=,0-1``; §5.6.1), and so is
  whitespace around the elements; a range itself admits no whitespace;
* a syntactically invalid ``bytes`` header (``bytes=5-1``, ``bytes=abc-def``, ``bytes=``,
  ``bytes=0-1,x``) -> 416 with ``bytes */N``. RFC 9110 would allow ignoring it (200); the
  design's contract chose 416 so that a broken client notices.

Werkzeug's ``parse_range_header`` is not used: it refuses range sets RFC 9110 allows (any
order, overlaps, anything after a suffix range) and accepts whitespace inside a range.
The grammar (§14.1.1: ``1*DIGIT "-" *DIGIT`` or ``"-" 1*DIGIT``) is one expression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

MAX_PARTS = 32
"""At most this many parts (after coalescing) are served as multipart; more -> 200."""

_RANGE_SPEC = re.compile(r"([0-9]+)-([0-9]*)|-([0-9]+)")   # RFC 9110 §14.1.1, ASCII digits only
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")   # RFC 9110 §5.6.2, a range-unit
_OWS = " \t"


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
class Multipart:
    """Serve several disjoint, non-adjacent parts, in the client's order, as one 206
    ``multipart/byteranges`` body. Always at least two parts: one would be a `Partial`."""

    parts: tuple[Partial, ...]
    length: int

    @property
    def size(self) -> int:
        """Bytes of representation data in all parts (not the multipart framing)."""
        return sum(part.size for part in self.parts)


@dataclass(frozen=True)
class Unsatisfiable:
    """Answer 416 with ``Content-Range: bytes */N``."""

    length: int
    reason: str

    @property
    def content_range(self) -> str:
        return f"bytes */{self.length}"


Decision = Union[Full, Partial, Multipart, Unsatisfiable]


class _Malformed(ValueError):
    """The header is not a valid ``bytes`` ranges-specifier."""


def _shown(text: str) -> str:
    """Text for a reason: a header may be 8 KiB, a reason ends up in logs and bodies."""
    return repr(text) if len(text) <= 80 else repr(text[:77] + "...")


def _number(digits: str) -> int:
    """The value of 1*DIGIT. Saturates at 2**64 -- no representation is that long, so
    clamping and the ``>= N`` test are unchanged -- since Python refuses to convert
    decimal strings of more than 4300 digits and an 8 KiB header can hold one."""
    significant = digits.lstrip("0") or "0"
    return 2**64 if len(significant) > 20 else int(significant)


def _less(a: str, b: str) -> bool:
    """a < b for digit strings of any length, exactly (without `_number`'s saturation)."""
    a, b = a.lstrip("0"), b.lstrip("0")
    return (len(a), a) < (len(b), b)


def _specs(range_set: str) -> list[tuple[int | None, int | None]]:
    """The range-specs of a ``bytes`` range set as (first, last): last None for an open
    end, first None for a suffix (then last is its length); raises `_Malformed`."""
    specs: list[tuple[int | None, int | None]] = []
    for element in range_set.split(","):
        element = element.strip(_OWS)
        if not element:
            continue    # §5.6.1: a recipient accepts and ignores empty list elements
        match = _RANGE_SPEC.fullmatch(element)
        if match is None:
            raise _Malformed(f"{_shown(element)} is not a byte range")
        first, last, suffix = match.groups()
        if suffix is not None:
            specs.append((None, _number(suffix)))
        elif last and _less(last, first):
            raise _Malformed(f"{_shown(element)} ends before it starts")   # §14.1.1: invalid
        else:
            specs.append((_number(first), _number(last) if last else None))
    if not specs:
        raise _Malformed("no range in the set")
    return specs


def _satisfiable(spec: tuple[int | None, int | None], length: int) -> tuple[int, int] | None:
    """(start, end inclusive) of one range-spec inside `length` bytes, or None (§14.1.2)."""
    first, last = spec
    if first is None:   # suffix: the last n bytes, all of them if n > N; -0 selects nothing
        suffix = last or 0
        return (max(0, length - suffix), length - 1) if suffix > 0 and length > 0 else None
    if first >= length:
        return None
    return first, length - 1 if last is None else min(last, length - 1)


def _coalesce(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge overlapping or adjacent spans; each merged part takes the place of the
    earliest span it absorbed, so the client's order survives (§15.3.7.2)."""
    merged: list[list[int]] = []    # [start, end, index of the earliest span in it]
    for index in sorted(range(len(spans)), key=spans.__getitem__):
        start, end = spans[index]
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
            merged[-1][2] = min(merged[-1][2], index)
        else:
            merged.append([start, end, index])
    return [(start, end) for start, end, _ in sorted(merged, key=lambda part: part[2])]


def resolve(header: str | None, length: int) -> Decision:
    """Decide how to answer a request with this Range header for `length` bytes."""
    if header is None or not header.strip(_OWS):
        return Full(length)
    unit, equals, range_set = header.strip(_OWS).partition("=")
    if not equals or _TOKEN.fullmatch(unit) is None:
        return Unsatisfiable(length, f"malformed Range header {_shown(header)}: not unit=range-set")
    if unit.lower() != "bytes":
        return Full(length)  # RFC 9110 §14.2: ignore a range unit we do not support
    try:
        specs = _specs(range_set)
    except _Malformed as exc:
        return Unsatisfiable(length, f"malformed Range header {_shown(header)}: {exc}")
    spans = [span for span in (_satisfiable(spec, length) for spec in specs) if span is not None]
    if not spans:
        return Unsatisfiable(length, f"no range of {_shown(header)} is satisfiable: the representation has {length} bytes")
    parts = tuple(Partial(start, end, length) for start, end in _coalesce(spans))
    if len(parts) == 1:
        return parts[0]
    if len(parts) > MAX_PARTS:
        return Full(length)
    return Multipart(parts, length)
