"""Budgets for what a viewer feels on a slow swarm, derived from the transfer limit: the
bytes a viewer needs ÷ the swarm's upload rate, plus a margin the feature file states.

"The bytes a viewer needs" are whole pieces, since a torrent client gets nothing smaller
than a piece it can verify: the pieces holding the first frame and the index (for the
first frame), the pieces from the key frame before a seek point to the frame at it, or
a number of pieces the feature names (for a freeze).
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.suite.decoders import Packet, video_packets
from infra.suite.library import VideoRef
from videos import mp4

MB = 1_000_000     # "MB/s" in the feature files: decimal megabytes, as rate limits are usually given


@dataclass(frozen=True)
class Need:
    """Bytes a viewer needs, as whole pieces, and why (for the report)."""

    pieces: frozenset[int]
    piece_length: int
    what: str

    @property
    def bytes(self) -> int:
        return len(self.pieces) * self.piece_length

    def seconds_at(self, rate: float, margin: float) -> float:
        """The budget: transfer time of these pieces at `rate` bytes/s, plus `margin` seconds."""
        return self.bytes / rate + margin

    def describe(self, rate: float, margin: float) -> str:
        return (f"{self.what}: {len(self.pieces)} pieces of {self.piece_length} B = {self.bytes} B ÷ {rate / MB:g} MB/s "
                f"+ {margin:g} s = {self.seconds_at(rate, margin):.2f} s")


def _pieces(start: int, end: int, piece: int) -> set[int]:
    return set(range(start // piece, end // piece + 1))


def first_frame(video: VideoRef) -> Need:
    """The index (moov, wherever it is) and the first key frame."""
    piece = video.piece_length
    packets = video_packets(str(video.main_path))
    first = next(p for p in packets if p.key)
    needed = _pieces(0, first.pos + first.size - 1, piece)
    with open(video.main_path, "rb") as f:
        index = next((box for box in mp4.iter_mp4_boxes(f, video.size) if box.type == "moov"), None)
    if index is not None:
        needed |= _pieces(index.offset, index.end - 1, piece)
    return Need(frozenset(needed), piece, f"the first frame of {video.name} and its index")


def frame_at(video: VideoRef, seconds: float, packets: list[Packet] | None = None) -> Need:
    """From the key frame before `seconds` to the frame shown at `seconds`."""
    piece = video.piece_length
    if packets is None:   # the packets around the seek point first (ffprobe seeks by the index)
        packets = video_packets(str(video.main_path), (seconds, seconds + 1))
        if not any(p.key and p.pts <= seconds + 1e-3 for p in packets):
            packets = video_packets(str(video.main_path))
    packets = sorted(packets, key=lambda p: p.pts)
    shown = next((p for p in packets if p.pts >= seconds - 1e-3), packets[-1])
    key = max((p for p in packets if p.key and p.pts <= shown.pts), key=lambda p: p.pts)
    span = [p for p in packets if key.pts <= p.pts <= shown.pts]
    start, end = min(p.pos for p in span), max(p.pos + p.size for p in span) - 1
    return Need(frozenset(_pieces(start, end, piece)), piece,
                f"the frame at {seconds:.2f} s of {video.name} from its key frame at {key.pts:.2f} s")


def pieces(video: VideoRef, count: int) -> Need:
    """Any `count` pieces: what a player buffers ahead, or a backend fetches side by side."""
    return Need(frozenset(range(count)), video.piece_length, f"{count} pieces of {video.name}")


def whole(video: VideoRef) -> Need:
    count = -(-video.size // video.piece_length)
    return Need(frozenset(range(count)), video.piece_length, f"the whole of {video.name}")
