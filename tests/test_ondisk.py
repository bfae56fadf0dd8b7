"""The reference backend's pieces from the main file (infra.backends.reference.ondisk), in
process: a real Engine downloading from a real libtorrent seeder on loopback (no
tracker: the peer is connected by hand). What it buys in speed is measured by
`python -m infra.measure.bench --crowd`, not here."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import libtorrent as lt
import pytest

from infra.backends.reference import ondisk
from infra.backends.reference.engine import Engine, main_file, parse_magnet
from infra.swarm import lt_session, torrents
from infra.swarm.http_media import FileRegion

PIECE = 16 * 1024
PIECES = 40
DEADLINE = 20.0   # seconds for any one wait on the swarm


@pytest.fixture()
def video(tmp_path: Path) -> Path:
    content = tmp_path / "seed" / "clip.mp4"
    content.parent.mkdir()
    content.write_bytes(os.urandom(PIECES * PIECE + 1000))   # a short last piece
    return content


def bytes_of(chunks: list[memoryview | FileRegion]) -> bytes:
    out = bytearray()
    for chunk in chunks:
        if isinstance(chunk, FileRegion):
            with open(chunk.path, "rb") as handle:
                handle.seek(chunk.offset)
                out += handle.read(chunk.count)
        else:
            out += chunk
    return bytes(out)


async def scenario(tmp_path: Path, content: Path, steps):
    """A seeder of `content` and an engine that knows it as a magnet; runs `steps(engine, active, file)`."""
    info = torrents.make_torrent(content, tmp_path / "torrents", "test", piece_size=PIECE)
    seeder = lt_session.new_session("127.0.0.1", "test-seeder")
    params = lt.add_torrent_params()
    params.ti, params.save_path, params.flags = lt.torrent_info(str(info.path)), str(content.parent), lt.torrent_flags.seed_mode
    seeder.add_torrent(params)
    engine = Engine(tmp_path / "backend", trackers=[], idle_timeout=300)
    await engine.start()
    try:
        active = await engine.add(info.magnet([]))
        active.handle.connect_peer(("127.0.0.1", seeder.listen_port()))
        ti = await engine.metadata(active, DEADLINE)
        return await steps(engine, active, main_file(ti))
    finally:
        await engine.stop()
        seeder.pause()


async def read(engine, active, file, start: int, end: int) -> list[memoryview | FileRegion]:
    async with asyncio.timeout(DEADLINE):
        return [chunk async for chunk in engine.read(active, file, start, end, DEADLINE, DEADLINE)]


async def verified(active, pieces: set[int]) -> None:
    """Until the pieces are verified in the file (a piece is verified when a viewer reads
    it and its bytes are in the file; libtorrent may write it just after its alert)."""
    async with asyncio.timeout(DEADLINE):
        while not pieces <= active.disk.verified:
            await asyncio.sleep(0.05)


def test_the_main_file_is_written_and_its_verified_pieces_are_sent_from_it(tmp_path, video):
    expected = video.read_bytes()
    start, end = PIECE + 100, 6 * PIECE - 1   # pieces 1..5

    async def steps(engine, active, file):
        first = await read(engine, active, file, start, end)
        assert bytes_of(first) == expected[start:end + 1]
        # libtorrent writes the main file itself, not its part file
        assert active.disk.path == engine.save_path(active.info_hash) / "clip.mp4"
        assert active.disk.claimed
        await verified(active, set(range(1, 6)))
        again = await read(engine, active, file, start, end)
        assert bytes_of(again) == expected[start:end + 1]
        # pieces 1..5 in a row: one region of the file, nothing through Python
        assert again == [FileRegion(active.disk.path, start, end - start + 1)]
        # only what was asked was downloaded: no background download of the whole file
        have = [i for i, done in enumerate(active.handle.status().pieces) if done]
        assert set(have) <= set(range(1, 6)), have
        # the short last piece too
        tail = await read(engine, active, file, PIECES * PIECE, len(expected) - 1)
        assert bytes_of(tail) == expected[PIECES * PIECE:]

    asyncio.run(scenario(tmp_path, video, steps))


def test_bytes_in_the_file_that_do_not_match_the_pieces_hash_are_never_trusted(tmp_path, video):
    async def steps(engine, active, file):
        await read(engine, active, file, 3 * PIECE, 5 * PIECE - 1)
        await verified(active, {3, 4})
        # the bytes of piece 3 in the file change (as if libtorrent had not written them yet)
        active.disk.verified.discard(3)
        with open(active.disk.path, "r+b") as handle:
            handle.seek(3 * PIECE + 7)
            handle.write(b"\0" * 10)
        assert active.disk.read_verified(3) is None
        assert 3 not in active.disk.verified
        assert active.disk.region(3, 0, PIECE) is None
        assert active.disk.read_verified(4) is not None   # its neighbour is untouched

    asyncio.run(scenario(tmp_path, video, steps))


def test_a_magnet_is_added_with_its_files_written_and_no_piece_wanted():
    magnet = "magnet:?xt=urn:btih:" + "ab" * 20 + "&dn=clip.mp4&tr=http%3A%2F%2F127.0.0.1%3A9%2Fannounce"
    parsed = parse_magnet(magnet)
    params = ondisk.add_params(parsed)
    assert str(params.info_hashes.v1) == "ab" * 20
    assert params.name == "clip.mp4"
    assert params.trackers == ["http://127.0.0.1:9/announce"]
    assert params.flags == parsed.flags
    assert params.file_priorities == [ondisk.FILE_PRIORITY] * ondisk.MAX_FILES
    assert params.piece_priorities == [0] * ondisk.MAX_PIECES
