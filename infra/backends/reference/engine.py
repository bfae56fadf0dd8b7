"""The torrent engine: one libtorrent session and the active torrents.

How piece bytes reach a viewer (priorities, read-ahead, reads, the cache shared by every
viewer) is `reader.PieceReader`; libtorrent's alerts reach the event loop through
`alerts.AlertPump`. Nothing is downloaded that no viewer asked for; other files of a
multi-file torrent are not downloaded at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from pathlib import Path
from typing import AsyncIterator

import libtorrent as lt

from infra.backends.reference import memory
from infra.backends.reference.active import ActiveTorrent, MainFile
from infra.backends.reference.alerts import AlertPump
from infra.backends.reference.cache import DEFAULT_CAPACITY, PieceCache
from infra.backends.reference import ondisk
from infra.backends.reference.ondisk import MainOnDisk
from infra.backends.reference.reader import PieceReader, StreamTimeout
from infra.backends.reference.trust import distrust
from infra.ecosystem import clock as clocks
from infra.swarm import http_media, lt_session

__all__ = ["ActiveTorrent", "Engine", "InvalidMagnet", "MainFile", "NoSuchFile", "StreamTimeout", "chosen_file",
           "magnet_info_hash", "main_file"]

log = logging.getLogger("backend.engine")

#: Session settings of the backend (the seeder keeps libtorrent's): see `Engine.start`.
SESSION_TUNING = {
    # libtorrent 2.1's disk back end keeps written blocks in memory until flushed, up to
    # this many bytes (default 100 MiB). Pieces are flushed right after their hash check,
    # so a few MiB hold every piece in flight; the bound keeps a burst out of the RSS
    # (measured: 8 MiB -> 2 MiB lowered the peak of a fresh full GET by 3-5 MiB at the
    # same speed; 4 MiB keeps a 1 MiB piece from stalling the socket).
    "max_queued_disk_bytes": 4 * 1024 * 1024,
    # Disk threads (default 10): reads and writes here hit the page cache; on a 2-core
    # machine two threads keep up (measured: 20 MB in <0.2 s) and each idle thread would
    # keep an allocator arena of its own.
    "aio_threads": 2,
}


class InvalidMagnet(ValueError):
    pass


class NoSuchFile(LookupError):
    """A viewer chose a file (`?file=`) the torrent does not have."""


def parse_magnet(magnet: str) -> lt.add_torrent_params:
    if not isinstance(magnet, str) or not magnet.startswith("magnet:?"):
        raise InvalidMagnet("magnetUri must be a magnet: URI")
    try:
        params = lt.parse_magnet_uri(magnet)
    except UnicodeEncodeError:
        raise InvalidMagnet("magnetUri is not valid Unicode (a lone surrogate)") from None
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
    return _file(fs, index)


def chosen_file(ti: lt.torrent_info, choice: str | None) -> MainFile:
    """The file a viewer chose (`?file=`): its index in the torrent's file list (as
    POST /api/torrents/metadata lists them), or its path there; none chosen: `main_file`.
    Any file may be chosen, a subtitle too: it is served with its own Content-Type."""
    if choice is None:
        return main_file(ti)
    fs = ti.layout()
    if choice.isascii() and choice.isdigit():
        index = int(choice)
        if index >= fs.num_files():
            raise NoSuchFile(f"the torrent has {fs.num_files()} files (0-{fs.num_files() - 1}); no file {index}")
        return _file(fs, index)
    for index in range(fs.num_files()):
        if fs.file_path(index) == choice:
            return _file(fs, index)
    raise NoSuchFile(f"the torrent has no file {choice[:200]!r} (files are chosen by index or by path as the "
                     "metadata lists them)")


def _file(fs: lt.file_storage, index: int) -> MainFile:
    return MainFile(index, fs.file_path(index), fs.file_offset(index), fs.file_size(index))


class Engine:
    def __init__(self, data_dir: Path, trackers: list[str], host: str = "127.0.0.1",
                 idle_timeout: float = 300.0, cache_bytes: int = DEFAULT_CAPACITY) -> None:
        self.data_dir = data_dir
        self.trackers = trackers
        self.host = host
        self.idle_timeout = idle_timeout
        self.cache = PieceCache(cache_bytes)
        self.reader = PieceReader(self.cache)
        self.torrents: dict[str, ActiveTorrent] = {}
        self._blocked = lt.ip_filter()                  # addresses of banned peers (trust.py)
        self._removing: dict[str, asyncio.Event] = {}   # info hash -> set when libtorrent has let go
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        self.download_dir = self.data_dir / "downloads"
        shutil.rmtree(self.download_dir, ignore_errors=True)  # a restart starts with an empty cache
        self.download_dir.mkdir(parents=True, exist_ok=True)
        self.session = lt_session.new_session(
            self.host, "swarmspec-backend",
            alert_mask=(lt_session.ALERTS | lt.alert.category_t.piece_progress_notification
                        | lt.alert.category_t.peer_notification),   # peer_ban_alert: trust.py
            tracker_backoff=100, **SESSION_TUNING,
        )
        self._alerts = AlertPump(self.session, self._dispatch)
        self._alerts.start()
        self._tasks = [asyncio.create_task(self._reaper())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._alerts.stop()
        self.session.pause()
        self.reader.cancel_all()

    # -- torrents ---------------------------------------------------------------------

    def save_path(self, info_hash: str) -> Path:
        return self.download_dir / info_hash

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
            # A folder per torrent: two torrents may hold files of the same name (a variant
            # of a video: the same bytes under a new info hash), and removing one with its
            # files must not delete what the other is streaming.
            params = ondisk.add_params(params)   # files written to the files, no piece wanted (ondisk.py)
            params.save_path = str(self.save_path(info_hash))
            params.trackers = list(dict.fromkeys(list(params.trackers) + self.trackers))
            params.flags &= ~lt.torrent_flags.auto_managed
            params.flags &= ~lt.torrent_flags.paused
            # Nothing wanted until a viewer asks. Set at the add, not on the metadata alert:
            # meanwhile libtorrent would request random pieces, then, told to want none,
            # tell the seeder "not interested", which ends the connection's slow start for
            # good; every later request then starts from a queue of two blocks (measured:
            # a stall of up to a second before the first piece of a cold seek).
            params.flags |= lt.torrent_flags.default_dont_download
            # No random first pieces, no rarest-first: the picker follows our priorities
            # (readahead.py).
            params.flags |= lt.torrent_flags.sequential_download
            handle = self.session.add_torrent(params)
            now = clocks.monotonic()
            active = ActiveTorrent(info_hash, handle, added=now, last_access=now)
            self.torrents[info_hash] = active
            if handle.status().has_metadata:
                self._on_metadata(active)
            log.info("added torrent %s", info_hash)
        elif not active.peers_checking:
            self._check_peers(active)
        active.last_access = clocks.monotonic()
        return active

    def _check_peers(self, active: ActiveTorrent) -> None:
        """Peers went away (seeding paused, tracker restarted): ask the tracker again now
        rather than at the next regular announce, possibly half an hour away.

        `handle.status()` is a synchronous round trip to libtorrent's network thread: on
        the event loop, once per request, it was the largest single cost of a crowd of 50
        (py-spy: 10 % of the loop's samples, and a wait for that thread to be scheduled on
        a loaded machine). So it runs in a worker thread (the binding releases the GIL),
        one check per torrent at a time: a request arriving during a check is covered by it."""
        active.peers_checking = True
        handle = active.handle

        def check() -> None:
            if handle.status().num_peers == 0:
                handle.force_reannounce(0, -1, lt.torrent_handle.ignore_min_interval)

        def done(future: asyncio.Future) -> None:
            active.peers_checking = False
            if not future.cancelled() and future.exception() is not None and handle.is_valid():
                log.warning("checking the peers of %s: %s", active.info_hash, future.exception())

        asyncio.get_running_loop().run_in_executor(None, check).add_done_callback(done)

    async def metadata(self, active: ActiveTorrent, timeout: float) -> lt.torrent_info:
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(active.metadata)
        except TimeoutError:
            raise StreamTimeout(f"no peer delivered the metadata of {active.info_hash} within {timeout:g}s") from None
        return active.info

    def remove(self, info_hash: str) -> None:
        active = self.torrents.pop(info_hash, None)
        if active is None:
            return
        self._removing[info_hash] = asyncio.Event()
        self.session.remove_torrent(active.handle, lt.session.delete_files)
        self.reader.drop(info_hash)
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

    # -- reading (the piece reader, see reader.py) ----------------------------------------

    def read(self, active: ActiveTorrent, file: MainFile, start: int, end: int,
             first_timeout: float, timeout: float) -> AsyncIterator[memoryview]:
        """Bytes start..end (inclusive) of `file`, in order (`PieceReader.read`)."""
        return self.reader.read(active, file, start, end, first_timeout, timeout)

    async def first_piece_ready(self, active: ActiveTorrent, file: MainFile, start: int, timeout: float,
                                end: int | None = None) -> None:
        """Wait for the piece holding byte `start`, so a stalled swarm becomes a 504
        before any header is sent rather than a body that never comes."""
        await self.reader.first_piece_ready(active, file, start, start if end is None else end, timeout)

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

    # -- libtorrent alerts --------------------------------------------------------------

    def _on_metadata(self, active: ActiveTorrent) -> None:
        if active.metadata.done():
            return
        ti = active.info = active.handle.torrent_file()
        file = main_file(ti)
        # Nothing is downloaded that no viewer asked for: every piece is at priority 0 from
        # the metadata on (default_dont_download, see add); a viewer's pieces and its
        # read-ahead are raised (reader.py). A background download would fill the seeder's
        # request queue and make every seek wait behind it (measured: 1.6 s instead of
        # 0.2 s for a seek on a 2 MB/s swarm).
        piece_len = ti.piece_length()
        ondisk.unwant_beyond(active.handle, ti)
        active.disk = MainOnDisk(self.save_path(active.info_hash) / file.path, file.index, file.offset, file.size, ti)
        active.metadata.set_result(ti)
        log.info("metadata for %s: %s (%d pieces of %d bytes), main file %s",
                 active.info_hash, ti.name(), ti.num_pieces(), piece_len, file.path)

    def _dispatch(self, alert: lt.alert) -> None:
        if isinstance(alert, lt.read_piece_alert):
            self.reader.on_read_piece(self.torrents.get(str(alert.handle.info_hashes().v1)), alert)
        elif isinstance(alert, lt.piece_finished_alert):
            active = self.torrents.get(str(alert.handle.info_hashes().v1))
            if active is not None and active.handle == alert.handle:
                self.reader.on_piece_finished(active, int(alert.piece_index))
        elif isinstance(alert, (lt.torrent_deleted_alert, lt.torrent_delete_failed_alert)):  # files gone too
            removing = self._removing.pop(str(alert.info_hashes.v1), None)
            if removing is not None:
                removing.set()
            memory.trim()   # what the torrent's buffers left in the heaps goes back to the system
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
