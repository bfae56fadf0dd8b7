"""Serving verified pieces of the main file straight from the file libtorrent wrote.

Measured (python -m infra.measure.bench --only crowd; README "what each change bought"):
a piece read through libtorrent (`read_piece`) costs a disk-thread hop, an alert through
the event loop and three copies (libtorrent's buffer, the binding's, the Python bytes),
and the reads of fifty viewers queue behind each other (`reader.MAX_READ_BYTES`). A piece
already in the main file is one `pread` away, and once its bytes are known to be right
the kernel can send them itself (`sendfile`: no copy through Python at all).

Two things stand between a finished piece and the file:

- **The part file.** The backend adds torrents with every file unwanted
  (`default_dont_download`, see engine.py) and raises piece priorities only; libtorrent
  keeps the pieces of an unwanted *file* in its part file (``.<info hash>.parts``, whose
  layout is libtorrent's own), not in the file. So when a viewer first wants pieces of a
  torrent, the main file is wanted at the lowest priority and, in the same breath, every
  piece is put back to what the viewer asked for (`claim`): from then on libtorrent writes
  the main file's pieces into the file itself.
- **Timing.** libtorrent 2.1 writes a finished piece to the file after its hash check;
  `piece_finished_alert` may come first. So a piece is read from the file only once its
  SHA-1 matches the torrent's (`verified`); until then (or for a piece shared with
  another file, whose other bytes live in the part file) the reader asks libtorrent.

A piece, once verified, never changes in the file: libtorrent writes a piece once, and a
removed torrent's folder goes with it (a re-added torrent starts with a new `MainOnDisk`).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from infra.swarm.http_media import FileRegion

if TYPE_CHECKING:
    import libtorrent as lt

#: Priority of the main file once claimed: the lowest that makes libtorrent write it to
#: the file. It wants no piece by itself: `claim` puts every piece back at once.
FILE_PRIORITY = 1


class MainOnDisk:
    """The main file of one torrent in libtorrent's storage, and which of its pieces are
    known, by their hash, to be in it."""

    def __init__(self, path: Path, index: int, offset: int, size: int, info: "lt.torrent_info") -> None:
        self.path = path
        self.index = index              # of the main file in the torrent
        self.offset = offset            # of the main file in the torrent's bytes
        self.size = size
        self.info = info
        self.claimed = False            # libtorrent writes the main file (not the part file)
        self.verified: set[int] = set()

    def whole(self, piece: int) -> bool:
        """Whether every byte of `piece` belongs to the main file (its hash then says
        whether the file holds the piece)."""
        piece_len = self.info.piece_length()
        start = piece * piece_len
        return self.offset <= start and start + self.info.piece_size(piece) <= self.offset + self.size

    def claim(self, handle: "lt.torrent_handle", priorities: dict[int, int]) -> None:
        """Have libtorrent write the main file's pieces into the file: the file wanted,
        then every piece back at the priority the reader gave it (0 for the rest). Both
        calls are queued to libtorrent's thread back to back; this runs when a viewer
        wants pieces anyway, so the torrent is interested either way."""
        if self.claimed:
            return
        self.claimed = True
        files = [0] * self.info.num_files()
        files[self.index] = FILE_PRIORITY
        handle.prioritize_files(files)
        handle.prioritize_pieces([priorities.get(piece, 0) for piece in range(self.info.num_pieces())])

    def read_verified(self, piece: int) -> bytes | None:
        """The piece's bytes from the file if its hash matches the torrent's (it is then
        `verified`), else None: not written yet, or not claimed in time."""
        if not self.claimed or not self.whole(piece):
            return None
        length = self.info.piece_size(piece)
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            data = os.pread(fd, length, piece * self.info.piece_length() - self.offset)
        except OSError:
            return None
        finally:
            os.close(fd)
        if len(data) != length or hashlib.sha1(data).digest() != self.info.hash_for_piece(piece):
            return None
        self.verified.add(piece)
        return data

    def region(self, piece: int, lo: int, hi: int) -> FileRegion | None:
        """Bytes lo..hi (exclusive) of a verified piece, for the kernel to send; None if
        the piece is not verified."""
        if piece not in self.verified:
            return None
        start = piece * self.info.piece_length() - self.offset
        return FileRegion(self.path, start + lo, hi - lo)
