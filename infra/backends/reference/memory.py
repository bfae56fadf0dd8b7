"""Giving memory back to the system after a torrent is dropped (glibc's allocator).

Measured (RssAnon of the backend over fresh full GETs of the 20 MB video, each torrent
removed when idle): with the former 96 MiB piece cache, 28 MiB at start, 57 after the
first video and still 58 after its torrent and its cached pieces were gone: freed piece
buffers stayed in the heaps. Two remedies were measured:

- fixing glibc's mmap threshold (so every piece buffer is mmapped and unmapped) gave the
  memory back, but each piece then cost two fresh mappings whose page faults took 28 % of
  the event loop's busy time in a fresh full GET (py-spy --native: memcpy into new pages,
  mmap, munmap), and the full GET took 1.4-2x as long;
- with the small piece cache (cache.py) and `trim()` after a torrent is removed, RssAnon
  goes back to 30-32 MiB after each video, the peak is the same, and nothing is slower.

So the allocator keeps its defaults and `trim()` runs when libtorrent reports a torrent gone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None


def trim() -> None:
    """Return the free memory at the top of glibc's heaps; nothing elsewhere (musl has no
    malloc_trim and gives memory back by itself)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
