"""The reference backend's piece reader (infra.backends.reference.reader, readahead): what
it asks of libtorrent and in which order, against a recording stand-in for a torrent
handle. The timing it buys is measured by `python -m infra.measure.bench`, not here."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from infra.backends.reference.cache import PieceCache
from infra.backends.reference.engine import ActiveTorrent, MainFile
from infra.backends.reference.readahead import MAX_WINDOW, MIN_WINDOW, NEAR, Window, ahead_priority
from infra.backends.reference import reader as reader_module
from infra.backends.reference.reader import CHUNK, PieceReader, StreamTimeout

PIECE = 256 * 1024
PIECES = 40
HASH = "ab" * 20
DATA = bytes(i % 251 for i in range(PIECE * PIECES))


@dataclass
class FakeInfo:
    def piece_length(self) -> int:
        return PIECE

    def num_pieces(self) -> int:
        return PIECES


@dataclass
class FakeHandle:
    """Records what the reader asks; `calls` in order."""

    calls: list[tuple] = field(default_factory=list)

    def prioritize_pieces(self, changes):
        self.calls.append(("priorities", list(changes)))

    def set_piece_deadline(self, piece, deadline, flags=0):
        self.calls.append(("deadline", piece, deadline))

    def read_piece(self, piece):
        self.calls.append(("read", piece))

    def reads(self) -> list[int]:
        return [c[1] for c in self.calls if c[0] in ("read", "deadline")]


@dataclass
class FakeError:
    code: int = 0

    def value(self) -> int:
        return self.code

    def message(self) -> str:
        return "canceled"


@dataclass
class FakeAlert:
    handle: FakeHandle
    piece: int
    buffer: bytes
    error: FakeError = field(default_factory=FakeError)


def torrent(handle: FakeHandle) -> ActiveTorrent:
    active = ActiveTorrent(HASH, handle, added=0.0, last_access=0.0)
    active.info = FakeInfo()
    return active


def deliver(reader: PieceReader, active: ActiveTorrent, piece: int, error: int = 0) -> None:
    """libtorrent finished the piece and read it."""
    reader.on_piece_finished(active, piece)
    reader.on_read_piece(active, FakeAlert(active.handle, piece, DATA[piece * PIECE:(piece + 1) * PIECE],
                                           FakeError(error)))


FakeHandle.info_hashes = lambda self: type("H", (), {"v1": HASH})()   # what alerts are keyed by


def test_the_window_grows_with_what_the_viewer_consumed_and_stops_at_the_range():
    window = Window(PIECE)
    assert window.size() == MIN_WINDOW and len(window.ahead(0, 1000)) == MIN_WINDOW // PIECE
    window.consumed = MIN_WINDOW
    assert window.size() == min(MAX_WINDOW, 2 * MIN_WINDOW)
    window.consumed = 10 * MAX_WINDOW
    assert window.size() == MAX_WINDOW
    assert window.ahead(5, 7) == range(6, 8)                      # never past the request's last piece
    assert Window(4 * MIN_WINDOW).ahead(0, 10) == range(1, 2)     # at least one piece ahead
    assert [ahead_priority(d) for d in (1, 2, 3, 4, 7, 8, 16, 31, 32, 500)] == [6, 5, 5, 4, 4, 3, 2, 2, 1, 1]
    assert Window(PIECE).near_count() == NEAR // PIECE and Window(4 * NEAR).near_count() == 1


def test_only_pieces_whose_priority_changes_are_raised_again():
    window = Window(PIECE)
    first = window.changed(0, range(1, 41))
    assert first == list(range(1, 41))                       # all new
    again = window.changed(1, range(2, 42))                  # one piece on: priorities step at 2**k
    assert 41 in again and set(again) <= {2, 3, 4, 5, 8, 9, 16, 17, 32, 33, 41}
    stepped = {p for p in range(2, 41) if ahead_priority(p - 1) != ahead_priority(p - 0)}
    assert stepped == {2, 4, 8, 16, 32} and stepped <= set(again)   # every piece whose priority rose


def test_only_the_awaited_piece_is_urgent_and_the_ones_ahead_come_after_it():
    async def scenario():
        handle = FakeHandle()
        active, reader = torrent(handle), PieceReader(PieceCache(64 * PIECE))
        waiting = asyncio.create_task(reader.piece(active, 3, timeout=5, ahead=(range(4, 16), Window(PIECE))))
        await asyncio.sleep(0)
        assert [c for c in handle.calls if c[0] == "deadline"] == []   # no time-critical mode (see _fetch)
        priorities = [p for c in handle.calls if c[0] == "priorities" for p in c[1]]
        assert priorities[0] == (3, 7)                                  # asked for first
        assert dict(priorities[1:]) == {4: 6, 5: 5, 6: 5, 7: 4, 8: 4, 9: 4, 10: 4, **{p: 3 for p in range(11, 16)}}
        deliver(reader, active, 3)
        assert await waiting == DATA[3 * PIECE:4 * PIECE]
        # a near piece is read as soon as it passes its check, once
        reader.on_piece_finished(active, 4)
        reader.on_piece_finished(active, 4)
        assert handle.calls.count(("read", 4)) == 1
        # a far one (more than NEAR ahead) is only downloaded
        far = 3 + NEAR // PIECE + 1
        reader.on_piece_finished(active, far)
        assert ("read", far) not in handle.calls and ("read", far - 1) not in handle.calls
    asyncio.run(scenario())


def test_priorities_only_go_up_and_pieces_here_are_not_asked_for_again():
    async def scenario():
        handle = FakeHandle()
        active, reader = torrent(handle), PieceReader(PieceCache(64 * PIECE))
        reader._raise(active, {5: 3})
        reader._raise(active, {5: 2})
        reader._raise(active, {5: 6})
        active.have.add(9)
        reader._raise(active, {9: 6})
        assert [c for c in handle.calls if c[0] == "priorities"] == [("priorities", [(5, 3)]), ("priorities", [(5, 6)])]
    asyncio.run(scenario())


def test_a_range_is_read_in_order_in_slices_of_one_buffer():
    async def scenario():
        handle = FakeHandle()
        active, reader = torrent(handle), PieceReader(PieceCache(64 * PIECE))
        file = MainFile(0, "v.mp4", 1000, PIECE * PIECES - 1000)
        start, end = PIECE, 3 * PIECE + 17

        async def swarm():
            for piece in range(0, PIECES):
                await asyncio.sleep(0)
                if (HASH, piece) in reader._pending or piece in active.priorities:
                    deliver(reader, active, piece)

        feeder = asyncio.create_task(swarm())
        chunks = [chunk async for chunk in reader.read(active, file, start, end, 5, 5)]
        await feeder
        assert b"".join(chunks) == DATA[1000 + start:1000 + end + 1]
        assert all(isinstance(c, memoryview) and len(c) <= CHUNK for c in chunks)
        assert max(active.priorities) == (1000 + end) // PIECE          # nothing past the range
    asyncio.run(scenario())


def test_a_piece_still_missing_after_a_while_gets_a_deadline(monkeypatch):
    monkeypatch.setattr(reader_module, "ESCALATE_AFTER", 0.01)

    async def scenario():
        handle = FakeHandle()
        active, reader = torrent(handle), PieceReader(PieceCache(64 * PIECE))
        waiting = asyncio.create_task(reader.piece(active, 5, timeout=5))
        await asyncio.sleep(0.05)
        assert ("deadline", 5, 0) in handle.calls
        deliver(reader, active, 5)
        assert await waiting == DATA[5 * PIECE:6 * PIECE]
        assert handle.reads().count(5) == 1        # the deadline's read, not a second one
        here = asyncio.create_task(reader.piece(active, 5, timeout=5))
        assert await here == DATA[5 * PIECE:6 * PIECE]
        await asyncio.sleep(0.05)
        assert handle.calls.count(("deadline", 5, 0)) == 1   # a cached piece is never escalated
    asyncio.run(scenario())


def test_a_failed_read_is_asked_again_then_reported_and_a_dropped_torrent_ends_the_wait():
    async def scenario():
        handle = FakeHandle()
        active, reader = torrent(handle), PieceReader(PieceCache(64 * PIECE))
        waiting = asyncio.create_task(reader.piece(active, 2, timeout=5))
        await asyncio.sleep(0)
        for _ in range(4):
            deliver(reader, active, 2, error=125)
        with pytest.raises(IOError, match="reading piece 2"):
            await waiting
        assert handle.reads().count(2) == 4                         # the first ask and three more
        stuck = asyncio.create_task(reader.piece(active, 6, timeout=5))
        await asyncio.sleep(0)
        reader.drop(HASH)
        with pytest.raises(StreamTimeout, match="removed"):
            await stuck
    asyncio.run(scenario())
