"""A peer that hangs up in the middle of a piece, every time.

libtorrent cannot be told to drop a connection half-way through a piece, so this is the
smallest BitTorrent peer that can (BEP 3 only: no extensions, no fast extension, so
metadata must come from another peer). It holds every piece, unchokes at once, and
answers block requests in order until it has sent `cut_after` blocks on a connection;
then it sends the head of the next piece message (its header says 16 KiB, a few KiB
follow) and closes the socket. A backend must re-request those blocks elsewhere and
still hand the viewer exact bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import struct
from pathlib import Path
from urllib.parse import quote_from_bytes

import aiohttp
import libtorrent as lt

from infra.swarm.peer.lt_peer import file_spans

log = logging.getLogger("peer.cutter")

PROTOCOL = b"\x13BitTorrent protocol"
HANDSHAKE_LEN = 68
CHOKE, UNCHOKE, INTERESTED, NOT_INTERESTED, HAVE, BITFIELD, REQUEST, PIECE, CANCEL = range(9)
MAX_BLOCK = 128 * 1024        # BEP 3: larger requests may be refused
TRUNCATED_BYTES = 5000        # what is sent of the block it cuts in


class Cutter:
    def __init__(self, torrent: Path, content_dir: Path, tracker: str, host: str, cut_after: int = 8,
                 content_name: str = "") -> None:
        ti = lt.torrent_info(str(torrent))
        self.info_hash = bytes.fromhex(str(ti.info_hashes().v1))
        self.piece_length = ti.piece_length()
        # read straight from the content folder, where the files keep their original name
        self.files = [dataclasses.replace(span, path=(content_name or head) + sep + rest)
                      for span in file_spans(ti) for head, sep, rest in [span.path.partition("/")]]
        self.num_pieces = ti.num_pieces()
        self.content_dir, self.tracker, self.host, self.cut_after = content_dir, tracker, host, cut_after
        # printable: opentracker answered 400 to some binary peer ids (a NUL byte among them)
        self.peer_id = b"-SW0001-" + os.urandom(6).hex().encode()
        self.port = 0
        self.announced = False
        self.last_tracker_error = ""
        self.connections = self.cuts = self.blocks_sent = 0
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("cutter for %s listening on %s:%d, cuts after %d blocks", self.info_hash.hex(), self.host,
                 self.port, self.cut_after)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def announce(self, session: aiohttp.ClientSession) -> None:
        query = (f"info_hash={quote_from_bytes(self.info_hash)}&peer_id={quote_from_bytes(self.peer_id)}"
                 f"&port={self.port}&uploaded=0&downloaded=0&left=0&compact=1&event=started")
        try:
            async with session.get(f"{self.tracker}?{query}", timeout=aiohttp.ClientTimeout(total=3)) as answer:
                body = await answer.read()
            if answer.status != 200 or b"failure reason" in body:
                raise RuntimeError(f"{answer.status} {body[:120]!r}")
            self.announced = True
        except (aiohttp.ClientError, asyncio.TimeoutError, RuntimeError) as exc:
            self.last_tracker_error = f"{type(exc).__name__}: {exc}"
            log.warning("announce: %s", self.last_tracker_error)

    def status(self, grace: float) -> dict:
        return {"infoHash": self.info_hash.hex(), "behaviour": "cuts-mid-piece", "announced": self.announced,
                "listenPort": self.port, "connections": self.connections, "cuts": self.cuts,
                "blocksSent": self.blocks_sent}

    def _read_block(self, piece: int, begin: int, length: int) -> bytes:
        at, out = piece * self.piece_length + begin, bytearray()
        for span in self.files:
            if at < span.offset + span.size and at + length > span.offset:
                with open(self.content_dir / span.path, "rb") as handle:
                    handle.seek(max(at, span.offset) - span.offset)
                    out += handle.read(min(at + length, span.offset + span.size) - max(at, span.offset))
        return bytes(out)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        sent = 0
        try:
            handshake = await asyncio.wait_for(reader.readexactly(HANDSHAKE_LEN), 10)
            if not handshake.startswith(PROTOCOL) or handshake[28:48] != self.info_hash:
                return
            writer.write(PROTOCOL + bytes(8) + self.info_hash + self.peer_id)
            bits = bytearray((self.num_pieces + 7) // 8)
            for i in range(self.num_pieces):
                bits[i // 8] |= 0x80 >> (i % 8)
            writer.write(_message(BITFIELD, bytes(bits)) + _message(UNCHOKE))
            await writer.drain()
            while True:
                (length,) = struct.unpack(">I", await asyncio.wait_for(reader.readexactly(4), 120))
                if length == 0:
                    continue                            # keep-alive
                payload = await reader.readexactly(length)
                if payload[0] != REQUEST or length != 13:
                    continue
                piece, begin, size = struct.unpack(">III", payload[1:])
                if size > MAX_BLOCK or piece >= self.num_pieces:
                    return
                header = struct.pack(">IBII", 9 + size, PIECE, piece, begin)
                block = self._read_block(piece, begin, size)
                if sent >= self.cut_after:
                    writer.write(header + block[:TRUNCATED_BYTES])     # a message cut off in the middle
                    await writer.drain()
                    self.cuts += 1
                    return
                writer.write(header + block)
                await writer.drain()
                sent += 1
                self.blocks_sent += 1
        except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError, OSError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


def _message(kind: int, payload: bytes = b"") -> bytes:
    return struct.pack(">IB", 1 + len(payload), kind) + payload
