"""What the engine does so that a seek, a first byte and a slow swarm cost the viewer no
more than the network does (features/network_conditions.feature, peer_diversity.feature).

Measured on one seeder behind an emulated link (medians of 3, engine before -> after):
a seek to 90 % of the large video on 2 MB/s, 20 ms away: 1.24 s -> 0.20 s (physics
0.23 s); on 1 MB/s, 50 ms away: 1.74 s -> 0.40-0.68 s; 100 ms away: 0.47 s -> 0.26 s; the
first byte of a fresh torrent on 1 MB/s: 0.94 s -> 0.60 s. The price: reading 8 MiB right
after a seek from a seeder 100 ms away on an unlimited link, 6.1 MB/s -> 2.5 MB/s (the
cancelled read-ahead no longer keeps the connection busy, TCP starts slow again after the
idle moment, and 4 pieces in flight per 100 ms cap the rest); on 2 and 1 MB/s links the
same read is as fast as before.
"""

from __future__ import annotations

import asyncio
import contextlib

import libtorrent as lt

#: Pieces asked for ahead of a viewer. Every piece asked for is queued at the peers and
#: served in order, so a seek waits behind the read-ahead already asked for (8 before).
READAHEAD_PIECES = 4
#: More periods of the stream timeout a swarm that is delivering, however slowly, is given.
SLOW_WAITS = 3
RECENT = 1.0


def drop_stale(pieces: dict[tuple[str, int], asyncio.Future], awaited: dict[tuple[str, int], int],
               info_hash: str, handle: lt.torrent_handle, windows: dict[int, range]) -> None:
    """A seek: read-ahead asked for at the old position, in no reader's window now and
    awaited by nobody, loses its deadline and priority, so libtorrent cancels the requests
    it has not sent yet (of 21 stale blocks a 2 MB/s seeder still sent after a seek: none)."""
    wanted = {piece for window in windows.values() for piece in window}
    for key in [k for k, fut in pieces.items()
                if k[0] == info_hash and k[1] not in wanted and k not in awaited and not fut.done()]:
        pieces.pop(key).cancel()
        handle.reset_piece_deadline(key[1])
        handle.piece_priority(key[1], 0)


def ask_for_tail(active, tail: int, asked: set[int], deadline_ms: int, step_ms: int) -> None:
    """The file's last two pieces (a moov at the end lives there), asked for once a viewer's
    first piece is in, not before: asked for with it, they delayed that first byte. Read
    back when they arrive (into the cache). Pieces a reader asked for already (`asked`) keep
    the reader's deadline and flags. Once per torrent (`active`, an engine.ActiveTorrent)."""
    if active.tail_asked:
        return
    active.tail_asked = True
    handle = active.handle
    for i, piece in enumerate(dict.fromkeys([tail, tail - 1])):
        if piece not in asked and 0 <= piece < handle.torrent_file().num_pieces():
            handle.piece_priority(piece, 7)
            handle.set_piece_deadline(piece, deadline_ms + i * step_ms, lt.deadline_flags_t.alert_when_available)


async def arrival(fut: asyncio.Future, handle: lt.torrent_handle, timeout: float) -> bytes:
    """The piece, or TimeoutError after `timeout`. A swarm still delivering in the last
    RECENT seconds of that wait (however slowly) gets up to SLOW_WAITS more periods: a piece
    from a seeder 200 ms away with 2 % loss took over 3 s at times, and the viewer got a 504
    while bytes were arriving. A swarm gone silent (a seeder killed: what was in flight lands
    at once) still ends at `timeout`."""
    for extension in range(SLOW_WAITS + 1):
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, timeout - RECENT)):
                return await asyncio.shield(fut)
        before = handle.status().total_payload_download
        try:
            async with asyncio.timeout(min(RECENT, timeout)):
                return await asyncio.shield(fut)
        except TimeoutError:
            if extension == SLOW_WAITS or handle.status().total_payload_download == before:
                raise
    raise AssertionError("unreachable")
