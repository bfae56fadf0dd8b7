"""The piece bytes the backend keeps in memory, shared by every viewer.

Small on purpose. A piece that is not here is read again from libtorrent's storage
(`read_piece`: a pread from the page cache, well under a millisecond), so a big cache
buys little speed and costs resident memory: with the former 96 MiB every fully
streamed video stayed in the process (20 MB for the large one; the peak RSS was 82-92
MiB, 0.56-0.61x WebTorrent's). What the cache must hold is what several viewers of the
same moment read at once, and the pieces read ahead of a viewer until it gets there.
"""

from __future__ import annotations

from collections import OrderedDict

#: 2 MiB: eight 256 KiB pieces or two 1 MiB ones. Measured with 1 MiB pieces, the peak RSS
#: of a fresh full GET and a crowd of 50 was 75-79 MiB with a 4 MiB cache and 2 MiB read
#: into memory ahead of the viewer (readahead.NEAR), 68-74 MiB with 2 MiB and 1 MiB, at
#: the same speed.
DEFAULT_CAPACITY = 2 * 1024 * 1024


class PieceCache:
    """Bounded LRU of piece bytes, keyed by (info hash, piece index)."""

    def __init__(self, capacity_bytes: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity_bytes
        self.size = 0
        self._items: OrderedDict[tuple[str, int], bytes] = OrderedDict()

    def get(self, key: tuple[str, int]) -> bytes | None:
        data = self._items.get(key)
        if data is not None:
            self._items.move_to_end(key)
        return data

    def __contains__(self, key: tuple[str, int]) -> bool:
        return key in self._items

    def put(self, key: tuple[str, int], data: bytes) -> None:
        if key in self._items:
            return
        self._items[key] = data
        self.size += len(data)
        while self.size > self.capacity and self._items:
            _, old = self._items.popitem(last=False)
            self.size -= len(old)

    def discard(self, key: tuple[str, int]) -> None:
        data = self._items.pop(key, None)
        if data is not None:
            self.size -= len(data)

    def drop_torrent(self, info_hash: str) -> None:
        for key in [k for k in self._items if k[0] == info_hash]:
            self.size -= len(self._items.pop(key))
