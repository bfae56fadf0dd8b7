"""The shapes of a source's descriptive fields in ``POST /api/sources``, as the design has them.

The design (Miauflix's ``MovieSource``) stores ``resolution`` as a number -- the vertical
resolution in pixels, used for sorting and filtering -- and ``size`` as a number of bytes,
while ``quality`` (``"FHD"``, ``"4K"``...) and ``videoCodec`` (``"X264"``...) are strings.
A client that sends the design's numbers must be understood, so this module accepts them
and hands them back as numbers; a string ``resolution`` (a label such as ``"1080p"``, what
this backend took before) stays accepted and comes back as the same string.

What is refused (400 naming the field) is what no client of the design could mean: a
boolean, a list or an object, a number that is not a whole non-negative count (1.5, -1,
NaN and Infinity, which Python's JSON parser lets through), a count beyond its range, text
that is not valid Unicode. A JSON number written with a fraction or exponent that is
still whole (``5242880.0``, ``1e3``) is the same number to a JSON client and is accepted.
"""

from __future__ import annotations

import math
from typing import Any

MAX_SIZE = 2**63 - 1
"""Bytes: SQLite's INTEGER, and far beyond any torrent."""
MAX_RESOLUTION = 65535
"""Pixels: no video coding format in use stores a larger dimension (H.264, HEVC, AV1, VP9: 16 bits)."""


class FieldError(ValueError):
    """A field of the request body has a shape the API does not take."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def text(body: dict, name: str) -> str | None:
    """An optional string: null or a string of valid Unicode (JSON can carry lone
    surrogates, which no database or log can store)."""
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError(name, f"{name} must be a string")
    _unicode(name, value)
    return value


def count(body: dict, name: str, low: int, high: int, unit: str, or_else: str = "") -> int | None:
    """An optional whole number from `low` to `high`: null, or a JSON number with that value."""
    value = body.get(name)
    if value is None:
        return None
    whole = _whole(value)
    if whole is None or not low <= whole <= high:
        raise FieldError(name, f"{name} must be a whole number of {unit} from {low} to {high}{or_else}")
    return whole


def resolution(body: dict) -> int | str | None:
    """The design's number of (vertical) pixels, or a label string; null if absent."""
    value = body.get("resolution")
    if isinstance(value, str):
        return text(body, "resolution")
    return count(body, "resolution", 1, MAX_RESOLUTION, "pixels", ' (the design\'s shape), or a label such as "1080p"')


def source(body: dict) -> dict[str, Any]:
    """quality, resolution, size and videoCodec of a new source, checked; raises `FieldError`."""
    return {
        "quality": text(body, "quality"),
        "resolution": resolution(body),
        "size": count(body, "size", 0, MAX_SIZE, "bytes"),
        "videoCodec": text(body, "videoCodec"),
    }


def _whole(value: Any) -> int | None:
    """The integer a JSON number stands for, or None (a boolean is not a number here)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def _unicode(name: str, value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise FieldError(name, f"{name} is not valid Unicode (a lone surrogate)") from None
