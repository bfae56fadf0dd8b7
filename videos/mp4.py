"""The one MP4 (ISO-BMFF) top-level box walker: the generator measures where a produced
file keeps its index (`moov_at_end`), the suite finds the index in served bytes the way a
player does (`moov_offset`, and `iter_mp4_boxes(..., head_only=True)` over a first read).
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

#: A whole file as a path, its bytes, or a seekable binary file object (e.g. io.BytesIO).
Source = Path | str | bytes | BinaryIO


@dataclass(frozen=True)
class Mp4Box:
    """A top-level ISO-BMFF box: its four-character type, offset and total size (header included)."""

    type: str
    offset: int
    size: int

    @property
    def end(self) -> int:
        """The offset just after the box: where the next top-level box starts."""
        return self.offset + self.size


def iter_mp4_boxes(f: BinaryIO, length: int | None = None, *, head_only: bool = False) -> Iterator[Mp4Box]:
    """Walk top-level boxes by seeking over their payloads (never reads mdat).

    `length` is the file's size (default: the size of `f`). By default `f` is the whole
    file and a truncated or malformed box raises ValueError, so a half-written file can
    never look like a valid layout. With `head_only`, `f` holds only the first bytes of
    the file (what a player reads first): the walk stops at the first header that is
    not in them or does not parse, as a player would.
    """
    if length is None:
        length = f.seek(0, os.SEEK_END)
    offset = 0
    while offset < length:
        try:
            box = _box_at(f, offset, length)
        except ValueError:
            if head_only:
                return
            raise
        yield box
        offset = box.end


def _box_at(f: BinaryIO, offset: int, length: int) -> Mp4Box:
    f.seek(offset)
    header = f.read(8)
    if len(header) < 8:
        raise ValueError(f"truncated box header at offset {offset}")
    size, raw_type = struct.unpack(">I4s", header)
    box_type = raw_type.decode("latin-1")
    header_len = 8
    if size == 1:  # 64-bit largesize follows the type
        large = f.read(8)
        if len(large) < 8:
            raise ValueError(f"truncated largesize of {box_type!r} at offset {offset}")
        (size,) = struct.unpack(">Q", large)
        header_len = 16
    elif size == 0:  # box extends to end of file
        size = length - offset
    if size < header_len:
        raise ValueError(f"box {box_type!r} at offset {offset} has invalid size {size}")
    if offset + size > length:
        raise ValueError(f"box {box_type!r} at offset {offset} (size {size}) runs past end of file ({length})")
    return Mp4Box(box_type, offset, size)


@contextlib.contextmanager
def _opened(source: Source) -> Iterator[BinaryIO]:
    if isinstance(source, (bytes, bytearray)):
        yield io.BytesIO(source)
    elif isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:
            yield f
    else:
        yield source


def moov_at_end(source: Source) -> bool:
    """True if the `moov` index comes after `mdat` (players must fetch the tail first)."""
    with _opened(source) as f:
        order = [box.type for box in iter_mp4_boxes(f) if box.type in ("moov", "mdat")]
    if "moov" not in order or "mdat" not in order:
        raise ValueError(f"expected top-level moov and mdat boxes, found {order}")
    return order.index("moov") > order.index("mdat")


def moov_offset(source: Source) -> int | None:
    """Where the first top-level `moov` box starts; None if the file has none."""
    with _opened(source) as f:
        return next((box.offset for box in iter_mp4_boxes(f) if box.type == "moov"), None)
