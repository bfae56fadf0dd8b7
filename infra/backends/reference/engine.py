"""The torrent engine: one libtorrent session, the active torrents, and piece reads.

Streaming reads go through `set_piece_deadline(..., alert_when_available)`: the pieces a
viewer needs next become time-critical (fetched before anything else) and libtorrent
hands their bytes back in a read_piece_alert as soon as they pass the hash check, or at
once when the piece is already on disk. Each piece is read once into a bounded LRU
cache shared by every viewer. The rest of the main file downloads at low priority;
other files of a multi-file torrent are not downloaded at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import AsyncIterator

import libtorrent as lt

from infra.backends.reference.seeking import READAHEAD_PIECES, arrival, ask_for_tail, drop_stale
from infra.backends.reference.trust import distrust
from infra.ecosystem import clock as clocks
from infra.swarm import http_media, lt_session

log = logging.getLogger("backend.engine")

DEADLINE_STEP_MS = 40
READAHEAD_DEADLINE_MS = 1000


class StreamTimeout(TimeoutError):
    """The swarm did not deliver what was needed in time (no peers, or too slow)."""


class InvalidMagnet(ValueError):
    pass


@dataclass(frozen=True)
class MainFile:
    index: int
    path: str
    offset: int     # byte offset of the file inside the torrent
    size: int


@dataclass
class ActiveTorrent:
    info_hash: str
    handle: lt.torrent_handle
    added: float
    last_access: float
    streams: int = 0
    metadata: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    windows: dict[int, range] = field(default_factory=dict)    # reader -> the pieces it reads next (seeking.py)
    tail_asked: bool = False

    @property
    def name(self) -> str:
        return self.handle.status().name


def parse_magnet(magnet: str) -> lt.add_torrent_params:
    if not isinstance(magnet, str) or not magnet.startswith("magnet:?"):
        raise InvalidMagnet("magnetUri must be a magnet: URI")
    try:
        params = lt.parse_magnet_uri(magnet)
    except RuntimeError as exc:
        raise InvalidMagnet(f"invalid magnet URI: {exc}") from exc
    if params.info_hashes.v1.is_all_zeros():
        raise InvalidMagnet("magnet URI has no urn:btih (v1) info hash; v2-only (btmh) magnets are not supported")
    return params


def magnet_info_hash(magnet: str) -> str:
    return str(parse_magnet(magnet).info_hashes.v1)


def main_file(ti: lt.torrent_info) -> MainFile:
    """The largest video file of the torrent (the largest file if none looks like video)."""
    fs = ti.layout()
    candidates = [i for i in range(fs.num_files()) if http_media.is_video(fs.file_path(i))]
    if not candidates:
        candidates = list(range(fs.num_files()))
    index = max(candidates, key=fs.file_size)
    return MainFile(index, fs.file_path(index), fs.file_offset(index), fs.file_size(index))


class PieceCache:
    """Bounded LRU of piece bytes, shared by all viewers."""

    def __init__(self, capacity_bytes: int) -> None:
        self.capacity = capacity_bytes
        self.size = 0
        self._items: OrderedDict[tuple[str, int], bytes] = OrderedDict()

    def get(self, key: tuple[str, int]) -> bytes | None:
        data = self._items.get(key)
        if data is not None:
            self._items.move_to_end(key)
        return data

    def put(self, key: tuple[str, int], data: bytes) -> None:
        if key in self._items:
            return
        self._items[key] = data
        self.size += len(data)
        while self.size > self.capacity and self._items:
            _, old = self._items.popitem(last=False)
            self.size -= len(old)

    def drop_torrent(self, info_hash: str) -> None:
        for key in [k for k in self._items if k[0] == info_hash]:
            self.size -= len(self._items.pop(key))


class Engine:
    def __init__(self, data_dir: Path, trackers: list[str], host: str = "127.0.0.1",
                 idle_timeout: float = 300.0, cache_bytes: int = 96 * 1024 * 1024) -> None:
        self.data_dir = data_dir
        self.trackers = trackers
        self.host = host
        self.idle_timeout = idle_timeout
        self.cache = PieceCache(cache_bytes)
        self.torrents: dict[str, ActiveTorrent] = {}
        self._pieces: dict[tuple[str, int], asyncio.Future] = {}
        self._retries: dict[tuple[str, int], int] = {}
        self._awaited: dict[tuple[str, int], int] = {}      # pieces a reader waits for right now
        self._blocked = lt.ip_filter()                      # addresses of banned peers (trust.py)
        self._removing: dict[str, asyncio.Event] = {}   # info hash -> set when libtorrent has let go
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        self.download_dir = self.data_dir / "downloads"
        shutil.rmtree(self.download_dir, ignore_errors=True)  # a restart starts with an empty cache
        self.download_dir.mkdir(parents=True, exist_ok=True)
        self.session = lt_session.new_session(
            self.host, "swarmspec-backend",
            alert_mask=lt_session.ALERTS | lt.alert.category_t.piece_progress_notification | lt.alert.category_t.peer_notification,
            tracker_backoff=100,
        )
        self._tasks = [asyncio.create_task(self._alert_loop()), asyncio.create_task(self._reaper())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.session.pause()
        for key, fut in self._pieces.items():
            if not fut.done():
                fut.cancel()

    # -- torrents ---------------------------------------------------------------------

    async def add(self, magnet: str) -> ActiveTorrent:
        """The active torrent for this magnet, added (and announced) if needed."""
        params = parse_magnet(magnet)
        info_hash = str(params.info_hashes.v1)
        removing = self._removing.get(info_hash)
        if removing is not None:
            # Removal is asynchronous in libtorrent: adding the same hash before it is done
            # hands back the dying torrent, whose reads all fail with "operation canceled".
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(10):
                    await removing.wait()
            if not removing.is_set():   # no word from libtorrent in 10 s: do not wait again next time
                log.warning("torrent %s: removal not confirmed within 10s; adding it anyway", info_hash)
                self._removing.pop(info_hash, None)
        active = self.torrents.get(info_hash)
        if active is None:
            params.save_path = str(self.download_dir)
            params.trackers = list(dict.fromkeys(list(params.trackers) + self.trackers))
            params.flags &= ~lt.torrent_flags.auto_managed
            params.flags &= ~lt.torrent_flags.paused
            handle = self.session.add_torrent(params)
            now = clocks.monotonic()
            active = ActiveTorrent(info_hash, handle, added=now, last_access=now)
            self.torrents[info_hash] = active
            if handle.status().has_metadata:
                self._on_metadata(active)
            log.info("added torrent %s", info_hash)
        elif active.handle.status().num_peers == 0:
            # Peers went away (seeding paused, tracker restarted): ask the tracker again now
            # rather than at the next regular announce, possibly half an hour away.
            active.handle.force_reannounce(0, -1, lt.torrent_handle.ignore_min_interval)
        active.last_access = clocks.monotonic()
        return active

    async def metadata(self, active: ActiveTorrent, timeout: float) -> lt.torrent_info:
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(active.metadata)
        except TimeoutError:
            raise StreamTimeout(f"no peer delivered the metadata of {active.info_hash} within {timeout:g}s") from None
        return active.handle.torrent_file()

    def remove(self, info_hash: str) -> None:
        active = self.torrents.pop(info_hash, None)
        if active is None:
            return
        self._removing[info_hash] = asyncio.Event()
        self.session.remove_torrent(active.handle, lt.session.delete_files)
        self.cache.drop_torrent(info_hash)
        for key in [k for k in self._pieces if k[0] == info_hash]:
            fut = self._pieces.pop(key)
            if not fut.done():
                fut.cancel()
        log.info("removed torrent %s", info_hash)

    def describe(self, active: ActiveTorrent) -> dict:
        status = active.handle.status()
        now = clocks.monotonic()
        return {
            "infoHash": active.info_hash,
            "name": status.name,
            "hasMetadata": status.has_metadata,
            "progress": round(status.progress, 4),
            "peers": status.num_peers,
            "seeds": status.num_seeds,
            "downloaded": status.total_done,
            "activeStreams": active.streams,
            "idleSeconds": round(now - active.last_access, 1),
        }

    # -- reading ----------------------------------------------------------------------

    async def read(self, active: ActiveTorrent, file: MainFile, start: int, end: int,
                   first_timeout: float, timeout: float) -> AsyncIterator[bytes]:
        """Bytes start..end (inclusive) of `file`, piece by piece, in order.

        The first piece must arrive within `first_timeout`; every later one within
        `timeout`; otherwise StreamTimeout. Pieces ahead of the reader are requested
        with increasing deadlines so the swarm works ahead of the viewer.
        """
        ti = active.handle.torrent_file()
        piece_len = ti.piece_length()
        abs_start, abs_end = file.offset + start, file.offset + end
        first, last = abs_start // piece_len, abs_end // piece_len
        reader = id(object())
        try:
            for piece in range(first, last + 1):
                active.windows[reader] = range(piece, min(last, piece + READAHEAD_PIECES) + 1)
                if piece == first:   # a seek: read-ahead for old positions is no longer wanted
                    drop_stale(self._pieces, self._awaited, active.info_hash, active.handle, active.windows)
                self._request_ahead(active, piece, min(last, piece + READAHEAD_PIECES))
                data = await self._piece(active, piece, first_timeout if piece == first else timeout)
                active.last_access = clocks.monotonic()
                piece_start = piece * piece_len
                lo = max(abs_start, piece_start) - piece_start
                hi = min(abs_end, piece_start + len(data) - 1) - piece_start
                yield data[lo:hi + 1]
        finally:
            active.windows.pop(reader, None)

    @contextlib.contextmanager
    def viewing(self, active: ActiveTorrent):
        """Marks a request in progress, from its first wait to its last byte, so the
        idle reaper never removes a torrent somebody is waiting for."""
        active.streams += 1
        try:
            yield
        finally:
            active.streams -= 1
            active.last_access = clocks.monotonic()

    async def first_piece_ready(self, active: ActiveTorrent, file: MainFile, start: int, timeout: float) -> None:
        """Wait for the piece holding byte `start`, so a stalled swarm becomes a 504
        before any header is sent rather than a body that never comes."""
        piece_len = active.handle.torrent_file().piece_length()
        piece = (file.offset + start) // piece_len
        self._request_ahead(active, piece, piece + READAHEAD_PIECES)
        await self._piece(active, piece, timeout)
        ask_for_tail(active, (file.offset + max(file.size - 1, 0)) // piece_len,
                     {key[1] for key in self._pieces if key[0] == active.info_hash}, READAHEAD_DEADLINE_MS, DEADLINE_STEP_MS)

    def _request_ahead(self, active: ActiveTorrent, first: int, last: int) -> None:
        num_pieces = active.handle.torrent_file().num_pieces()
        for offset, piece in enumerate(range(first, min(last, num_pieces - 1) + 1)):
            key = (active.info_hash, piece)
            if key in self._pieces or self.cache.get(key) is not None:
                continue
            self._pieces[key] = asyncio.get_running_loop().create_future()
            active.handle.piece_priority(piece, 7)
            # The piece a viewer waits for is due now; read-ahead is due later, so that
            # another viewer's seek (due now) overtakes this viewer's read-ahead.
            deadline = 0 if offset == 0 else READAHEAD_DEADLINE_MS + offset * DEADLINE_STEP_MS
            active.handle.set_piece_deadline(piece, deadline, lt.deadline_flags_t.alert_when_available)

    async def _piece(self, active: ActiveTorrent, piece: int, timeout: float) -> bytes:
        key = (active.info_hash, piece)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        fut = self._pieces.get(key)
        if fut is None or fut.cancelled():
            fut = self._pieces[key] = asyncio.get_running_loop().create_future()
            active.handle.piece_priority(piece, 7)
            active.handle.set_piece_deadline(piece, 0, lt.deadline_flags_t.alert_when_available)
        self._awaited[key] = self._awaited.get(key, 0) + 1
        try:
            return await arrival(fut, active.handle, timeout)
        except asyncio.CancelledError:
            if fut.cancelled() and not asyncio.current_task().cancelling():
                raise StreamTimeout(f"torrent {active.info_hash} was removed while piece {piece} was awaited") from None
            raise
        except TimeoutError:
            raise StreamTimeout(f"piece {piece} of {active.info_hash} did not arrive (nothing for {timeout:g}s) "
                                f"({active.handle.status().num_peers} peers)") from None
        finally:
            self._awaited[key] -= 1
            if not self._awaited[key]:
                del self._awaited[key]

    # -- libtorrent alerts --------------------------------------------------------------

    def _on_metadata(self, active: ActiveTorrent) -> None:
        if active.metadata.done():
            return
        ti = active.handle.torrent_file()
        file = main_file(ti)
        # Nothing is downloaded that no viewer asked for: every piece starts at priority 0 and
        # a viewer's pieces (plus a read-ahead window) get deadlines. A background download
        # would fill the seeder's request queue and make every seek wait behind it (measured:
        # 1.6 s instead of 0.2 s for a seek on a 2 MB/s swarm).
        # Piece priorities, not file priorities: libtorrent applies file priorities later,
        # after a round trip to its disk thread, where they would reset the priority of
        # pieces a viewer asked for in the meantime (their reads then fail as "canceled").
        active.handle.prioritize_pieces([0] * ti.num_pieces())
        # Container indexes live at the head and the tail: the head now, the tail after a viewer's first piece.
        piece_len = ti.piece_length()
        head = file.offset // piece_len
        for i, piece in enumerate(dict.fromkeys([head, head + 1])):
            if 0 <= piece < ti.num_pieces():
                active.handle.piece_priority(piece, 7)
                active.handle.set_piece_deadline(piece, READAHEAD_DEADLINE_MS + i * DEADLINE_STEP_MS)
        active.metadata.set_result(ti)
        log.info("metadata for %s: %s (%d pieces of %d bytes), main file %s",
                 active.info_hash, ti.name(), ti.num_pieces(), piece_len, file.path)

    async def _alert_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await loop.run_in_executor(None, self.session.wait_for_alert, 50)
            for alert in self.session.pop_alerts():
                try:
                    self._dispatch(alert)
                except Exception:  # one bad alert must not stop every stream
                    log.exception("while handling %s", type(alert).__name__)

    def _dispatch(self, alert: lt.alert) -> None:
        if isinstance(alert, lt.read_piece_alert):
            key = (str(alert.handle.info_hashes().v1), int(alert.piece))
            active = self.torrents.get(key[0])
            if alert.error.value() and (active is None or active.handle != alert.handle):
                return  # a read cancelled by removing an earlier instance of this torrent
            if alert.error.value() and self._retries.get(key, 0) < 3 and key in self._pieces:
                # Cancelled by a priority change racing the request: ask again.
                self._retries[key] = self._retries.get(key, 0) + 1
                log.warning("reading piece %d of %s: %s; requesting it again", key[1], key[0], alert.error.message())
                active.handle.piece_priority(key[1], 7)
                active.handle.set_piece_deadline(key[1], 0, lt.deadline_flags_t.alert_when_available)
                return
            fut = self._pieces.pop(key, None)
            self._retries.pop(key, None)
            if alert.error.value():
                if fut is not None and not fut.done():
                    fut.set_exception(IOError(f"reading piece {key[1]}: {alert.error.message()}"))
                return
            data = bytes(alert.buffer)
            self.cache.put(key, data)
            if fut is not None and not fut.done():
                fut.set_result(data)
        elif isinstance(alert, (lt.torrent_deleted_alert, lt.torrent_delete_failed_alert)):  # files gone too
            removing = self._removing.pop(str(alert.info_hashes.v1), None)
            if removing is not None:
                removing.set()
        elif isinstance(alert, lt.metadata_received_alert):
            active = self.torrents.get(str(alert.handle.info_hashes().v1))
            if active is not None:
                self._on_metadata(active)
        elif isinstance(alert, lt.peer_ban_alert):
            distrust(self.session, self._blocked, alert)
        elif isinstance(alert, (lt.tracker_error_alert, lt.torrent_error_alert, lt.file_error_alert)):
            log.warning("%s", alert.message())

    async def _reaper(self) -> None:
        interval = max(0.2, min(5.0, self.idle_timeout / 4))
        while True:
            await asyncio.sleep(interval)
            now = clocks.monotonic()
            for info_hash, active in list(self.torrents.items()):
                if active.streams == 0 and now - active.last_access > self.idle_timeout:
                    log.info("torrent %s idle for %.0fs: removing", info_hash, now - active.last_access)
                    self.remove(info_hash)
