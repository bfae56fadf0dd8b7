"""How the backend's process gives memory back (glibc's allocator).

Measured (RssAnon of the backend over fresh full GETs of the 20 MB video, each torrent
removed when idle): 28 MiB at start, 57 MiB after the first video and still 58 MiB after
its torrent and its cached pieces were gone. A piece (256 KiB to several MiB) is a large
allocation; glibc serves the first one with mmap and returns it on free, but then raises
its mmap threshold to that size (its "dynamic threshold"), so every later piece comes
from the heap, whose freed middle is never returned. With the threshold fixed, large
blocks always come from mmap and go back on free: RssAnon went back to 31 MiB.

`trim()` returns what small frees left at the top of the heaps, after a torrent is dropped.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging

log = logging.getLogger("backend.memory")

M_MMAP_THRESHOLD = -3       # from glibc's malloc.h
MMAP_THRESHOLD = 128 * 1024  # glibc's initial value, kept fixed (setting it turns the dynamic threshold off)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def tune() -> bool:
    """Fix the mmap threshold, before libtorrent's threads start. False when the C
    library is not glibc (musl has no such knobs and returns memory anyway)."""
    libc = _libc()
    if libc is None or libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) != 1:
        log.info("not glibc: the allocator is left as it is")
        return False
    return True


def trim() -> None:
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
