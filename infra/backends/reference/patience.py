"""How long a viewer waits for a piece from a swarm that is slow but still delivering
(features/network_conditions.feature).

A piece from a seeder 200 ms away with 2 % loss took over 3 s at times, and the viewer
got a 504 while bytes were arriving. A swarm gone silent (a seeder killed: what was in
flight lands at once) still ends at the stream timeout.
"""

from __future__ import annotations

import asyncio
import contextlib

import libtorrent as lt

#: More periods of the stream timeout a swarm that is delivering, however slowly, is given.
SLOW_WAITS = 3
#: Bytes arriving within this many seconds before the timeout count as "still delivering".
RECENT = 1.0


async def arrival(fut: asyncio.Future, handle: lt.torrent_handle, timeout: float) -> bytes:
    """The piece, or TimeoutError after `timeout`; a swarm that delivered payload in the
    last RECENT seconds of that wait gets up to SLOW_WAITS more periods."""
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
