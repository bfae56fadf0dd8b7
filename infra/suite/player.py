"""What a video player does with ranges: open-ended reads that it abandons when the
viewer seeks, and, for an MP4 whose index (moov) is at the end, a look at the head,
a jump to the tail to read the index, and playback from the start."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from infra.swarm import ranges
from infra.suite.http import Exchange
from infra.suite.library import VideoRef
from videos import matroska, mp4

PLAYER_READ = 256 * 1024     # a player reads this much before the viewer seeks again
HEAD_READ = 64 * 1024


@dataclass(frozen=True)
class PlayerRead:
    start: int
    exchange: Exchange
    limit: int | None            # the player hung up after this many bytes (None: read to the end)

    def expected_content_range(self, size: int) -> str:
        return f"bytes {self.start}-{size - 1}/{size}"

    def expected_length(self, size: int) -> int:
        remaining = size - self.start
        return remaining if self.limit is None else min(self.limit, remaining)


def percentages(text: str) -> list[int]:
    values = [int(v) for v in re.findall(r"(\d+)\s*%", text)]
    if not values:
        raise ValueError(f"no percentages in {text!r}")
    return values


def span_of(exchange: Exchange, size: int) -> tuple[int, int]:
    """The bytes the request asked for, by RFC 9110 (independent of what came back)."""
    decision = ranges.resolve(exchange.request_headers.get("Range"), size)
    if isinstance(decision, ranges.Partial):
        return decision.start, decision.end
    return 0, size - 1


def seek_through(viewer, video: VideoRef, percents: list[int]) -> list[PlayerRead]:
    reads = []
    for percent in percents:
        start = min(video.size - 1, video.size * percent // 100)
        exchange = viewer.play(video, f"bytes={start}-", read_limit=PLAYER_READ)
        reads.append(PlayerRead(start, exchange, PLAYER_READ))
    return reads


def open_like_a_player(viewer, video: VideoRef) -> tuple[list[PlayerRead], int | None]:
    """Head, then the box after mdat (the index), then playback from the start."""
    reads = []
    head = viewer.play(video, "bytes=0-", read_limit=HEAD_READ)
    reads.append(PlayerRead(0, head, HEAD_READ))
    found = None
    for box in mp4.iter_mp4_boxes(io.BytesIO(head.body), video.size, head_only=True):
        if box.type == "moov":
            found = box.offset
            break
        if box.type == "mdat" and box.end < video.size:
            tail = viewer.play(video, f"bytes={box.end}-")
            reads.append(PlayerRead(box.end, tail, None))
            if tail.body[4:8] == b"moov":
                found = box.end
            break
    reads.append(PlayerRead(0, viewer.play(video, "bytes=0-", read_limit=4 * PLAYER_READ), 4 * PLAYER_READ))
    return reads, found


def open_matroska_like_a_player(viewer, video: VideoRef) -> tuple[list[PlayerRead], int | None]:
    """Matroska/WebM: the head, then the Cues where the head's SeekHead says they are
    (`videos.matroska`), then playback from the start. Returns the reads and the offset of
    the Cues found in the served head (None: the head named none, or was not Matroska)."""
    head = viewer.play(video, "bytes=0-", read_limit=HEAD_READ)
    reads = [PlayerRead(0, head, HEAD_READ)]
    try:
        found = matroska.cues_offset(head.body)
    except ValueError:
        found = None
    if found is not None and 0 <= found < video.size:
        reads.append(PlayerRead(found, viewer.play(video, f"bytes={found}-"), None))
    reads.append(PlayerRead(0, viewer.play(video, "bytes=0-", read_limit=4 * PLAYER_READ), 4 * PLAYER_READ))
    return reads, found
