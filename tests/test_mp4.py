"""The one MP4 box walker (videos.mp4): the generator's layout check and the player's
look at the head of served bytes."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest

from videos.mp4 import iter_mp4_boxes, moov_at_end, moov_offset


def box(kind: str, payload: bytes = b"") -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind.encode("latin-1")) + payload


def large_box(kind: str, payload: bytes) -> bytes:
    return struct.pack(">I4sQ", 1, kind.encode("latin-1"), 16 + len(payload)) + payload


def test_box_walker_moov_before_mdat() -> None:
    data = box("ftyp", b"isom\0\0\2\0") + box("moov", b"\0" * 20) + box("mdat", b"\1" * 100)
    boxes = list(iter_mp4_boxes(io.BytesIO(data)))
    assert [(b.type, b.offset, b.size) for b in boxes] == [("ftyp", 0, 16), ("moov", 16, 28), ("mdat", 44, 108)]
    assert moov_at_end(io.BytesIO(data)) is False


def test_box_walker_moov_after_mdat_with_largesize_and_free() -> None:
    data = box("ftyp", b"isom") + box("free") + large_box("mdat", b"\1" * 50) + box("moov", b"\0" * 8)
    assert [b.type for b in iter_mp4_boxes(io.BytesIO(data))] == ["ftyp", "free", "mdat", "moov"]
    assert moov_at_end(io.BytesIO(data)) is True


def test_box_walker_size_zero_extends_to_eof(tmp_path: Path) -> None:
    data = box("ftyp") + box("moov") + struct.pack(">I4s", 0, b"mdat") + b"\1" * 30
    path = tmp_path / "x.mp4"
    path.write_bytes(data)
    assert list(iter_mp4_boxes(io.BytesIO(data)))[-1].size == 38
    assert moov_at_end(path) is False


@pytest.mark.parametrize(
    "data",
    [
        box("ftyp") + box("moov") + box("mdat", b"\1" * 100)[:-10],  # truncated payload
        box("ftyp") + b"\0\0",  # truncated header
        box("ftyp") + struct.pack(">I4s", 4, b"moov"),  # size smaller than header
    ],
)
def test_box_walker_rejects_truncated_files(data: bytes) -> None:
    with pytest.raises(ValueError):
        list(iter_mp4_boxes(io.BytesIO(data)))


def test_moov_at_end_needs_both_boxes() -> None:
    with pytest.raises(ValueError, match="moov"):
        moov_at_end(io.BytesIO(box("ftyp") + box("mdat", b"x")))


def test_moov_offset_of_bytes_paths_and_files(tmp_path: Path) -> None:
    data = box("ftyp", b"isom") + box("mdat", b"x" * 100) + box("moov", b"m" * 10)
    path = tmp_path / "x.mp4"
    path.write_bytes(data)
    assert moov_offset(data) == moov_offset(path) == moov_offset(io.BytesIO(data)) == 12 + 108
    assert moov_offset(box("ftyp") + box("mdat", b"x")) is None


def test_head_only_walks_the_headers_a_first_read_holds() -> None:
    """A player's first read of a file whose index is at the end: ftyp and the header of
    mdat are in it, mdat's payload is not; the walk stops quietly where the read ends."""
    whole = box("ftyp", b"isom") + box("mdat", b"x" * 100) + box("moov", b"m" * 10)
    head = io.BytesIO(whole[:30])
    boxes = list(iter_mp4_boxes(head, len(whole), head_only=True))
    assert [(b.type, b.offset, b.size, b.end) for b in boxes] == [("ftyp", 0, 12, 12), ("mdat", 12, 108, 120)]
    large = large_box("mdat", b"abcd")
    assert [(b.type, b.size) for b in iter_mp4_boxes(io.BytesIO(large[:16]), len(large), head_only=True)] == [
        ("mdat", 20)]


def test_head_only_stops_at_garbage_instead_of_raising() -> None:
    garbage = box("ftyp") + struct.pack(">I4s", 3, b"junk") + b"\0" * 40
    assert [b.type for b in iter_mp4_boxes(io.BytesIO(garbage), head_only=True)] == ["ftyp"]
    with pytest.raises(ValueError):
        list(iter_mp4_boxes(io.BytesIO(garbage)))
