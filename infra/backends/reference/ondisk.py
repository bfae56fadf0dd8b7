"""Serving verified pieces of the main file straight from the file libtorrent wrote.

Measured (`python -m infra.measure.bench --crowd ROUNDS`; README, "what each change bought"):
a piece read through libtorrent (`read_piece`) costs a disk-thread hop, an alert through
the event loop and three copies (libtorrent's buffer, the binding's, the Python bytes),
and the reads of fifty viewers queue behind each other (`reader.MAX_READ_BYTES`). A piece
already in the main file is one `pread` away, and once its bytes are known to be right
the kernel can send them itself (`sendfile`: no copy through Python at all).

Two things stand between a finished piece and the file:

- **The part file.** libtorrent keeps the pieces of an unwanted *file* (priority 0) in
  its part file (``.<info hash>.parts``, whose layout is libtorrent's own), not in the
  file. The backend wants nothing until a viewer asks (engine.py) and raises piece
  priorities only, so every file would be unwanted. `add_params` therefore adds every
  torrent with its files wanted (written to the files) and every piece unwanted, both in
  the add itself: libtorrent applies them together when the metadata arrives. (Wanting
  the main file later does not work: libtorrent applies a file priority when its disk
  thread is done and then sets every piece of the file to it, over the piece priorities
  given meanwhile: measured, a torrent asked for 5 pieces downloaded all 41 in 2 runs of
  3, and still up to 32 with the pieces put back on `file_prio_alert`.)
- **Timing.** libtorrent 2.1 writes a finished piece to the file after its hash check;
  `piece_finished_alert` may come first. So a piece is read from the file only once its
  SHA-1 matches the torrent's (`verified`); until then (or for a piece shared with
  another file) the reader asks libtorrent.

A piece, once verified, never changes in the file: libtorrent writes a piece once, and a
removed torrent's folder goes with it (a re-added torrent starts with a new `MainOnDisk`).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import libtorrent as lt

from infra.swarm.http_media import FileRegion

#: Files of a torrent written to the files themselves (any beyond: to the part file, and
#: read through libtorrent). The priority is the lowest: the piece priorities decide.
MAX_FILES = 1024
FILE_PRIORITY = 1
#: Pieces set unwanted in the add itself (16 GiB of 256 KiB pieces, 64 GiB of 1 MiB ones).
#: A torrent with more has the rest set unwanted on its metadata (`unwant_beyond`).
MAX_PIECES = 1 << 16
#: The two entries in bencoding, made once. libtorrent's binding converts a priority list
#: element by element (65536 pieces: 21 ms per torrent), and `lt.bencode` of the same
#: entries took 3-12 ms; appended to the magnet's own resume data, they cost a copy.
_ENTRIES = (b"13:file_priorityl" + b"i%de" % FILE_PRIORITY * MAX_FILES + b"e"
            + b"14:piece_priority%d:" % MAX_PIECES + b"\0" * MAX_PIECES)


def add_params(params: lt.add_torrent_params) -> lt.add_torrent_params:
    """`params` (a parsed magnet) with every file written to the file itself and every
    piece unwanted until a viewer asks, as resume data libtorrent applies with the
    metadata (see the module's docstring). libtorrent's decoder takes a dictionary's
    keys in any order, so the entries go at its end."""
    data = lt.write_resume_data(params)
    data.pop(b"file_priority", None)
    data.pop(b"piece_priority", None)
    encoded = lt.bencode(data)
    out = lt.read_resume_data(encoded[:-1] + _ENTRIES + b"e")
    out.flags = params.flags
    return out


def unwant_beyond(handle: lt.torrent_handle, info: lt.torrent_info) -> None:
    """A torrent with more than MAX_PIECES pieces: the rest unwanted too."""
    if info.num_pieces() > MAX_PIECES:
        handle.prioritize_pieces([(piece, 0) for piece in range(MAX_PIECES, info.num_pieces())])


class MainOnDisk:
    """The main file of one torrent in libtorrent's storage, and which of its pieces are
    known, by their hash, to be in it."""

    def __init__(self, path: Path, index: int, offset: int, size: int, info: lt.torrent_info) -> None:
        self.path = path
        self.index = index              # of the main file in the torrent
        self.offset = offset            # of the main file in the torrent's bytes
        self.size = size
        self.info = info
        self.claimed = index < MAX_FILES   # libtorrent writes the main file (not the part file)
        self.verified: set[int] = set()

    def whole(self, piece: int) -> bool:
        """Whether every byte of `piece` belongs to the main file (its hash then says
        whether the file holds the piece)."""
        piece_len = self.info.piece_length()
        start = piece * piece_len
        return self.offset <= start and start + self.info.piece_size(piece) <= self.offset + self.size

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
