"""How much a backend may fetch from the swarm for what a viewer asked: the bound the seeder's
per-torrent upload counter is held to in `features/large_files.feature`.

The bound is the bytes of whole pieces:
- the pieces holding each asked range (a BitTorrent client can verify, and so keep, only
  whole pieces: a 64 KiB range inside one piece costs that piece; one across a boundary
  costs two), each piece counted once;
- the container's head and tail, HEAD_PIECES and TAIL_PIECES of them: a streaming server
  may read them on its own to find the index (an MP4's moov may be at either end) before a
  player asks; the reference backend wants the last two pieces from the first request on;
- no read-ahead past the end of a bounded range: what a viewer asked for has an end, and a
  server that fetches past it (or the whole film, as a torrent client left to itself does)
  spends the swarm's upload on bytes nobody asked for. 

The counter is the seeder's `uploaded` for the torrent (libtorrent's all-time payload upload:
piece data only, no protocol or metadata bytes), read once it has stopped moving.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from infra.ecosystem import clock

HEAD_PIECES = 2
TAIL_PIECES = 2
#: The counter is read once it has not moved for this long ...
QUIET_S = 1.5
#: ... or after this long at most (a server still fetching then is over the bound anyway).
SETTLE_DEADLINE_S = 15.0


@dataclass(frozen=True)
class UploadBound:
    """The bytes a viewer asked for and the whole pieces a backend may fetch for them."""

    asked: int
    pieces: frozenset[int]
    piece_length: int
    size: int

    @property
    def limit(self) -> int:
        """Bytes of the allowed pieces (the file's last piece counted at its real length)."""
        last = (self.size - 1) // self.piece_length
        tail_length = self.size - last * self.piece_length
        return sum(tail_length if p == last else self.piece_length for p in self.pieces)

    def describe(self, uploaded: int) -> str:
        return (f"the seeder uploaded {uploaded} B for {self.asked} B asked; the bound is {len(self.pieces)} pieces "
                f"of {self.piece_length} B = {self.limit} B (the pieces holding the ranges, plus {HEAD_PIECES} at "
                f"the head and {TAIL_PIECES} at the tail of the file); uploaded/asked = {uploaded / self.asked:.2f}")


def bound_for(ranges: Iterable[tuple[int, int]], size: int, piece_length: int) -> UploadBound:
    """The bound for inclusive byte ranges (start, end) of a file of `size` bytes."""
    spans = [(start, min(end, size - 1)) for start, end in ranges]
    pieces = {p for start, end in spans for p in range(start // piece_length, end // piece_length + 1)}
    last = (size - 1) // piece_length
    pieces |= set(range(min(HEAD_PIECES, last + 1)))
    pieces |= set(range(max(0, last - TAIL_PIECES + 1), last + 1))
    return UploadBound(sum(end - start + 1 for start, end in spans), frozenset(pieces), piece_length, size)


def settled(read: Callable[[], int], quiet_s: float = QUIET_S, deadline_s: float = SETTLE_DEADLINE_S,
            poll_s: float = 0.25) -> int:
    """`read()` once it has returned the same value for `quiet_s` (or the last value at the deadline)."""
    end = clock.monotonic() + deadline_s
    value, since = read(), clock.monotonic()
    while clock.monotonic() < end:
        clock.sleep(poll_s)
        now = read()
        if now != value:
            value, since = now, clock.monotonic()
        elif clock.monotonic() - since >= quiet_s:
            break
    return value
