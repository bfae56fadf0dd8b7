"""Where a Matroska / WebM file keeps its index (the Cues), read the way a player does.

A player reads the head of the file: the EBML header, then the Segment, whose first
child is a SeekHead listing where the other top-level elements are (positions relative
to the start of the Segment's data). ffmpeg's muxer writes the Cues after the clusters
and fills their position into that SeekHead when it finishes, so the head alone tells a
player where to read the index. `cues_offset` follows that path over the first bytes of
a file; the generator and the suite use it (the MP4 counterpart is `videos.mp4`).
Only what that path needs is parsed (EBML variable-size integers and the elements
named below), nothing else of the format.
"""

from __future__ import annotations

from pathlib import Path

EBML = 0x1A45DFA3
SEGMENT = 0x18538067
SEEK_HEAD = 0x114D9B74
SEEK = 0x4DBB
SEEK_ID = 0x53AB
SEEK_POSITION = 0x53AC
CUES = 0x1C53BB6B
#: The element ID as it is written, for checking what lies at the offset the head names.
CUES_ID_BYTES = CUES.to_bytes(4, "big")


def _vint(data: bytes, at: int, keep_marker: bool) -> tuple[int, int]:
    """An EBML variable-size integer at `at`: (value, its length in bytes). IDs keep the
    length marker bit (`keep_marker`), sizes drop it. ValueError past the data or malformed."""
    if at >= len(data):
        raise ValueError(f"EBML integer at {at} is past the {len(data)} bytes read")
    first = data[at]
    length = 9 - first.bit_length() if first else 9
    if length > 8 or at + length > len(data):
        raise ValueError(f"malformed or truncated EBML integer at {at}")
    value = first if keep_marker else first & ((1 << (8 - length)) - 1)
    for byte in data[at + 1:at + length]:
        value = (value << 8) | byte
    return value, length


def _element(data: bytes, at: int) -> tuple[int, int, int]:
    """(ID, offset of its data, size of its data) of the element at `at`. An unknown size
    (all ones: a live stream's Segment) is reported as what is left of the data."""
    element_id, id_len = _vint(data, at, keep_marker=True)
    size, size_len = _vint(data, at + id_len, keep_marker=False)
    start = at + id_len + size_len
    if size == (1 << (7 * size_len)) - 1:
        size = len(data) - start
    return element_id, start, size


def _children(data: bytes, start: int, end: int):
    at = start
    while at < min(end, len(data)):
        element_id, data_start, size = _element(data, at)
        yield element_id, data_start, size
        at = data_start + size


def cues_offset(head: bytes) -> int | None:
    """The file offset of the Cues as the SeekHead in `head` (the first bytes of a file)
    names it; None when the head has no SeekHead entry for the Cues. ValueError when
    `head` is not the start of a Matroska/WebM file."""
    if head[:4] != EBML.to_bytes(4, "big"):
        raise ValueError("not a Matroska/WebM file: it does not start with an EBML header")
    _, start, size = _element(head, 0)
    element_id, segment_data, segment_size = _element(head, start + size)
    if element_id != SEGMENT:
        raise ValueError(f"no Segment after the EBML header (element 0x{element_id:X})")
    for child, child_start, child_size in _children(head, segment_data, segment_data + segment_size):
        if child != SEEK_HEAD:
            continue
        for seek, seek_start, seek_size in _children(head, child_start, child_start + child_size):
            if seek != SEEK:
                continue
            fields = {}
            for field, field_start, field_size in _children(head, seek_start, seek_start + seek_size):
                fields[field] = head[field_start:field_start + field_size]
            if fields.get(SEEK_ID) == CUES_ID_BYTES and SEEK_POSITION in fields:
                return segment_data + int.from_bytes(fields[SEEK_POSITION], "big")
        return None
    return None


def file_cues_offset(path: Path | str, head_bytes: int = 64 * 1024) -> int | None:
    """`cues_offset` over the first `head_bytes` of a file on disk."""
    with open(path, "rb") as handle:
        return cues_offset(handle.read(head_bytes))
