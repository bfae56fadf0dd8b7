"""How piece bytes reach a viewer: requested from the swarm in the right order, read from
libtorrent's storage once, handed to every viewer who needs them.

The piece a viewer waits for is urgent: libtorrent's top priority, and a deadline only
if it is still missing after a second (see `_fetch`). The pieces ahead of the viewer
(`readahead.Window`) are wanted with priorities falling with distance; the near ones are read as soon as their
`piece_finished_alert` arrives, so their bytes wait in memory when the viewer gets there,
the far ones are only downloaded.
A piece of the main file is read from the file libtorrent wrote and checked against its
hash once (`ondisk.MainOnDisk`); from then on every viewer's bytes of it go from the file
to the socket by the kernel (`FileRegion`, sendfile). Any other piece, or one whose bytes
are not in the file yet, is read through libtorrent (`read_piece`; the binding hands over
a copy as Python bytes) and sent in slices of that one buffer (memoryview, no copy per
viewer or per range).
"""

from __future__ import annotations

import asyncio
import collections
import logging
from typing import TYPE_CHECKING, AsyncIterator, Iterable

import libtorrent as lt

from infra.ecosystem import clock as clocks
from infra.swarm.http_media import FileRegion
from infra.backends.reference.cache import PieceCache
from infra.backends.reference.patience import arrival
from infra.backends.reference.readahead import LOWEST, URGENT, Window, ahead_priority

if TYPE_CHECKING:
    from infra.backends.reference.active import ActiveTorrent, MainFile

log = logging.getLogger("backend.reader")

CHUNK = 256 * 1024   # the most one write hands the socket: a slow viewer holds no more than this
RETRIES = 3
#: Bytes of pieces read from storage at once (at least one piece). Every read holds the
#: piece two or three times until its alert is handled (libtorrent's buffer, the binding's
#: copy, the Python bytes): fifty viewers arriving together at fifty places raised the
#: peak RSS by 10-15 MiB; the rest wait their turn (the p95 of those fifty did not get
#: worse: the reads compete for the same two cores anyway).
MAX_READ_BYTES = 1024 * 1024
#: A piece gets a deadline once a viewer has waited this long for it. On a slow swarm the
#: seeder answers requests in order, and a piece requested late (a seek behind another
#: viewer's read-ahead, or a straggler of a window) waits behind the rest: a throttled
#: full GET stalled 4 s on one piece (beyond the 3 s stream timeout: the body was cut).
#: A sequential viewer of a 2 MB/s swarm waits about 0.5 s for a 1 MiB piece, so this
#: does not fire for it.
ESCALATE_AFTER = 1.0
#: A piece read through libtorrent because the file did not hold it yet (libtorrent writes
#: it just after its hash check) is looked for in the file again this much later, once.
VERIFY_AFTER = 0.5


class StreamTimeout(TimeoutError):
    """The swarm did not deliver what was needed in time (no peers, or too slow)."""


Key = tuple[str, int]


class PieceReader:
    def __init__(self, cache: PieceCache) -> None:
        self.cache = cache
        self._pending: dict[Key, asyncio.Future] = {}   # bytes somebody waits for, or read ahead
        self._reading: set[Key] = set()                  # a read_piece_alert is on its way
        self._disk_reads: set[Key] = set()               # read_piece calls in flight (see MAX_READ_BYTES)
        self._waiting_reads: collections.deque[tuple[ActiveTorrent, int]] = collections.deque()
        self._retries: dict[Key, int] = {}

    # -- what viewers call ------------------------------------------------------------

    async def read(self, active: ActiveTorrent, file: MainFile, start: int, end: int,
                   first_timeout: float, timeout: float) -> AsyncIterator[memoryview | FileRegion]:
        """Bytes start..end (inclusive) of `file`, in order: a piece verified in the file
        as one region of it, any other in slices of at most CHUNK.

        The first piece must arrive within `first_timeout`; every later one within
        `timeout`; otherwise StreamTimeout."""
        piece_len = active.info.piece_length()
        abs_start, abs_end = file.offset + start, file.offset + end
        first, last = abs_start // piece_len, abs_end // piece_len
        window = Window(piece_len)
        region: FileRegion | None = None   # verified pieces in a row: one region, one sendfile
        for piece in range(first, last + 1):
            ahead = (window.ahead(piece, last), window)
            if self._on_disk(active, piece):
                self._ahead(active, piece, *ahead)
                data, size = None, active.info.piece_size(piece)
            else:
                if region is not None:
                    yield region
                    region = None
                data = await self.piece(active, piece, first_timeout if piece == first else timeout, ahead=ahead)
                size = len(data)
            active.last_access = clocks.monotonic()
            piece_start = piece * piece_len
            lo = max(abs_start, piece_start) - piece_start
            hi = min(abs_end, piece_start + size - 1) - piece_start + 1
            if data is None:
                more = active.disk.region(piece, lo, hi)
                region = more if region is None else region.extended(more)
            else:
                view = memoryview(data)
                for at in range(lo, hi, CHUNK):
                    yield view[at:min(hi, at + CHUNK)]
            window.consumed += hi - lo
        if region is not None:
            yield region

    async def first_piece_ready(self, active: ActiveTorrent, file: MainFile, start: int, end: int,
                                timeout: float) -> None:
        """Wait for the piece holding byte `start` (and set the read-ahead going), so a
        stalled swarm becomes a 504 before any header is sent."""
        piece_len = active.info.piece_length()
        piece, last = (file.offset + start) // piece_len, (file.offset + max(start, end)) // piece_len
        window = Window(piece_len)
        ahead, index = (window.ahead(piece, last), window), self._container_index(active, file)
        if self._on_disk(active, piece):
            self._ahead(active, piece, *ahead)
            self._raise(active, {p: LOWEST for p in index})
            return
        await self.piece(active, piece, timeout, ahead=ahead, index=index)

    @staticmethod
    def _on_disk(active: ActiveTorrent, piece: int) -> bool:
        """Whether `piece` is verified in the main file (sent from there, never awaited)."""
        return active.disk is not None and piece in active.disk.verified

    async def piece(self, active: ActiveTorrent, piece: int, timeout: float,
                    ahead: tuple[range, Window] | None = None, index: Iterable[int] = ()) -> bytes:
        """The bytes of `piece`, fetched with top priority. Then (so the swarm is asked
        for them after it) the pieces `ahead`, and the container's `index` pieces."""
        key = (active.info_hash, piece)
        cached = self.cache.get(key)
        if cached is None:
            fut = self._future(key)
            self._fetch(active, piece, urgent=True)
        if ahead is not None:
            self._ahead(active, piece, *ahead)
        self._raise(active, {p: LOWEST for p in index})
        if cached is not None:
            return cached
        escalation = asyncio.get_running_loop().call_later(ESCALATE_AFTER, self._escalate, active, piece)
        try:
            return await arrival(fut, active.handle, timeout)   # a slow swarm still delivering gets longer
        except asyncio.CancelledError:
            if fut.cancelled() and not asyncio.current_task().cancelling():
                raise StreamTimeout(f"torrent {active.info_hash} was removed while piece {piece} was awaited") from None
            raise
        except TimeoutError:
            raise StreamTimeout(f"piece {piece} of {active.info_hash} did not arrive (nothing for {timeout:g}s) "
                                f"({active.handle.status().num_peers} peers)") from None
        finally:
            escalation.cancel()

    def _escalate(self, active: ActiveTorrent, piece: int) -> None:
        """A viewer has waited ESCALATE_AFTER for a piece: a deadline now, so libtorrent
        asks the fastest peer for it before anything else (and, if it is the only
        deadline, cancels the requests queued before it)."""
        key = (active.info_hash, piece)
        if key in self._pending and key not in self._reading and piece not in active.have:
            log.info("piece %d of %s awaited for %gs: asking for it with a deadline", piece, key[0], ESCALATE_AFTER)
            self._reading.add(key)
            active.handle.set_piece_deadline(piece, 0, lt.deadline_flags_t.alert_when_available)

    @staticmethod
    def _container_index(active: ActiveTorrent, file: MainFile) -> list[int]:
        """A container's index may live at the tail of a video (an MP4's moov: a player
        reads the head, then the tail): wanted from a torrent's first request on, at the
        lowest priority, after what the viewer asked for. The head is what a
        player asks first anyway. (As deadlines at the metadata, head and tail competed
        with the first piece: a cold first byte on a 2 MB/s swarm took 4× one piece's time.)"""
        if active.index_wanted:
            return []
        active.index_wanted = True
        piece_len = active.info.piece_length()
        tail = (file.offset + max(file.size - 1, 0)) // piece_len
        return [p for p in (tail - 1, tail) if 0 <= p < active.info.num_pieces()]

    def drop(self, info_hash: str) -> None:
        """The torrent is gone: its cached bytes, and whoever waits for its pieces."""
        self.cache.drop_torrent(info_hash)
        for key in [k for k in self._pending if k[0] == info_hash]:
            fut = self._pending.pop(key)
            if not fut.done():
                fut.cancel()
        self._reading = {k for k in self._reading if k[0] != info_hash}
        self._waiting_reads = collections.deque(w for w in self._waiting_reads if w[0].info_hash != info_hash)
        gone = {k for k in self._disk_reads if k[0] == info_hash}
        self._disk_reads -= gone   # their alerts may never come: their slots are free now
        for _ in gone:
            self._next_read()
        self._retries = {k: n for k, n in self._retries.items() if k[0] != info_hash}

    def cancel_all(self) -> None:
        for fut in self._pending.values():
            if not fut.done():
                fut.cancel()

    # -- requests to libtorrent ----------------------------------------------------------

    def _future(self, key: Key) -> asyncio.Future:
        fut = self._pending.get(key)
        if fut is None or fut.cancelled():
            fut = self._pending[key] = asyncio.get_running_loop().create_future()
            # A piece read ahead may fail with nobody waiting for it: not worth a warning.
            fut.add_done_callback(lambda f: f.cancelled() or f.exception())
        return fut

    def _ahead(self, active: ActiveTorrent, piece: int, pieces: range, window: Window) -> None:
        """Raise the pieces ahead of `piece` to their priorities; start reading the near
        ones that are already here (the others are read when they pass their check)."""
        wanted = {ahead: ahead_priority(ahead - piece) for ahead in window.changed(piece, pieces)}
        for ahead in pieces[:window.near_count()]:
            key = (active.info_hash, ahead)
            if key not in self.cache and not self._on_disk(active, ahead):
                self._future(key)
                if ahead in active.have:
                    self._fetch(active, ahead, urgent=False)
        self._raise(active, wanted)

    def _raise(self, active: ActiveTorrent, wanted: dict[int, int]) -> None:
        """Piece priorities only ever go up: another viewer may want a piece sooner."""
        changes = [(piece, prio) for piece, prio in wanted.items()
                   if piece not in active.have and active.priorities.get(piece, 0) < prio]
        if changes:
            active.priorities.update(changes)
            active.handle.prioritize_pieces(changes)

    def _fetch(self, active: ActiveTorrent, piece: int, urgent: bool) -> None:
        """Set the bytes of `piece` on their way: read now if libtorrent has the piece;
        otherwise, if urgent, top priority (read when it passes its check, like a
        non-urgent piece, whose piece_finished_alert brings the read).

        No deadline at first. A deadline puts the torrent in libtorrent's time-critical
        mode, whose requests wait for its once-a-second tick while the ordinary requests
        go one at a time, and the first deadline cancels every other outstanding request
        (cancel_non_critical). Measured on a 2 MB/s seeder: a cold first byte took 0.34-1.2 s
        with a deadline, 0.14-0.19 s with top priority alone (one piece takes 0.13 s); and a
        viewer catching up with its own read-ahead cancelled that read-ahead piece after
        piece (a fresh full GET at 12 MB/s instead of 90). A piece still missing after
        ESCALATE_AFTER gets its deadline (`_escalate`)."""
        key = (active.info_hash, piece)
        if key in self._reading:
            return
        if piece in active.have:
            if not self._read_file(active, piece):
                self._reading.add(key)
                self._read(active, piece)
        elif urgent:
            self._raise(active, {piece: URGENT})

    def _read_file(self, active: ActiveTorrent, piece: int) -> bool:
        """Read `piece` from the main file and hand it to whoever waits for it, if its
        hash says the file holds it (`ondisk.MainOnDisk.read_verified`). Not cached:
        the next viewer of the piece gets it from the file (`read`)."""
        data = active.disk.read_verified(piece) if active.disk is not None else None
        if data is None:
            return False
        fut = self._pending.pop((active.info_hash, piece), None)
        self._retries.pop((active.info_hash, piece), None)
        if fut is not None and not fut.done():
            fut.set_result(data)
        return True

    def _read(self, active: ActiveTorrent, piece: int) -> None:
        if self._disk_reads and len(self._disk_reads) >= MAX_READ_BYTES // active.info.piece_length():
            self._waiting_reads.append((active, piece))
            return
        self._disk_reads.add((active.info_hash, piece))
        active.handle.read_piece(piece)

    def _next_read(self) -> None:
        if self._waiting_reads:
            active, piece = self._waiting_reads[0]
            if not self._disk_reads or len(self._disk_reads) < MAX_READ_BYTES // active.info.piece_length():
                self._read(*self._waiting_reads.popleft())

    # -- libtorrent's answers (called by the engine's alert handler) ----------------------------

    def on_piece_finished(self, active: ActiveTorrent, piece: int) -> None:
        active.have.add(piece)
        if (active.info_hash, piece) in self._pending:
            self._fetch(active, piece, urgent=False)

    def on_read_piece(self, active: ActiveTorrent | None, alert: lt.read_piece_alert) -> None:
        key = (str(alert.handle.info_hashes().v1), int(alert.piece))
        if key in self._disk_reads:
            self._disk_reads.discard(key)
            self._next_read()
        if active is None or active.handle != alert.handle:
            return  # a read of an earlier instance of this torrent, since removed
        self._reading.discard(key)
        if alert.error.value() and self._retries.get(key, 0) < RETRIES and key in self._pending:
            # Cancelled by a priority change racing the request: ask again.
            self._retries[key] = self._retries.get(key, 0) + 1
            log.warning("reading piece %d of %s: %s; requesting it again", key[1], key[0], alert.error.message())
            self._fetch(active, key[1], urgent=True)
            return
        fut = self._pending.pop(key, None)
        self._retries.pop(key, None)
        if alert.error.value():
            if fut is not None and not fut.done():
                fut.set_exception(IOError(f"reading piece {key[1]}: {alert.error.message()}"))
            return
        data = bytes(alert.buffer)
        self.cache.put(key, data)
        if fut is not None and not fut.done():
            fut.set_result(data)
        if active.disk is not None and active.disk.whole(key[1]):
            asyncio.get_running_loop().call_later(VERIFY_AFTER, self._verify_later, active, key[1])

    def _verify_later(self, active: ActiveTorrent, piece: int) -> None:
        """A piece read through libtorrent because its bytes were not in the file yet:
        once they are, the file serves it and the memory goes (`VERIFY_AFTER`)."""
        if active.disk is not None and piece not in active.disk.verified and active.disk.read_verified(piece):
            self.cache.discard((active.info_hash, piece))
