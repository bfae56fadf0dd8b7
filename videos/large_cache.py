"""Where the feature-length video lives: a cache OUTSIDE the checkout, shared by every clone
on the machine, with its record, its lock and its torrents.

Layout of the cache (``$SWARMSPEC_VIDEO_CACHE``, else ``$XDG_CACHE_HOME/swarmspec/videos``,
else ``~/.cache/swarmspec/videos``)::

    media/<name>.mp4             the finished video (appears by rename, after verification)
    <name>.json                  its record: the manifest entry, the recipe key, size and mtime
    work/<key>/seg-NNN.h264      finished segments of an unfinished build (removed at the end)
    torrents/<name>.<k>.torrent  its .torrent per piece size (hashing 4.5 GiB is done once)
    .lock                        serialises builders (eight clones on one machine share it)

A clone's `videos/media/<name>.mp4` is a symlink to the cached file, so every reader of the
media folder (seeder, range server, the suite's byte oracle) finds it where the others are;
the Docker provider mounts the symlink's target folder at its own path.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from . import Video
from .cache import atomic_write_bytes

CACHE_ENV = "SWARMSPEC_VIDEO_CACHE"
#: How long a builder waits for another one holding the lock (a from-scratch build takes a
#: few minutes on 2 cores; 30 minutes is far past any build that is still alive).
LOCK_TIMEOUT_S = 1800.0


class CacheLockTimeout(RuntimeError):
    """Another builder held the cache's lock past LOCK_TIMEOUT_S."""


def cache_dir(environ: dict[str, str] | os._Environ[str] = os.environ) -> Path:
    """The cache folder: SWARMSPEC_VIDEO_CACHE, else $XDG_CACHE_HOME/swarmspec/videos, else ~/.cache/..."""
    explicit = environ.get(CACHE_ENV, "")
    if explicit:
        return Path(explicit).expanduser().absolute()
    base = environ.get("XDG_CACHE_HOME", "") or str(Path.home() / ".cache")
    return Path(base).expanduser().absolute() / "swarmspec" / "videos"


@contextlib.contextmanager
def cache_lock(root: Path, say: Callable[[str], None], timeout: float = LOCK_TIMEOUT_S,
               poll: float = 1.0) -> Iterator[None]:
    """Hold the cache's lock; say so once while waiting, give up after `timeout` seconds."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise CacheLockTimeout(f"another builder held {root / '.lock'} for more than {timeout:.0f} s; "
                                           "see `fuser -v` on that file") from None
                if not told:
                    say(f"waiting for another builder of the feature-length video ({root / '.lock'}) ...")
                    told = True
                time.sleep(poll)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def record_path(root: Path, name: str) -> Path:
    return root / f"{name}.json"


def load_record(root: Path, name: str, media_dir: Path) -> tuple[Video, dict[str, Any]] | None:
    """The finished video's manifest entry and its cache facts, or None (none, or unreadable)."""
    try:
        data = json.loads(record_path(root, name).read_text(encoding="utf-8"))
        return Video.from_dict(data["video"], media_dir), data["cache"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save_record(root: Path, video: Video, facts: dict[str, Any]) -> None:
    text = json.dumps({"schema": 1, "video": video.to_dict(), "cache": facts}, indent=2) + "\n"
    atomic_write_bytes(record_path(root, video.name), text.encode("utf-8"))


def link_into(media_dir: Path, target: Path) -> Path:
    """`media_dir/<target's name>` as a symlink to `target` (replaced if it points elsewhere)."""
    media_dir.mkdir(parents=True, exist_ok=True)
    link = media_dir / target.name
    if link.is_symlink() and os.readlink(link) == str(target):
        return link
    tmp = media_dir / f".{target.name}.link"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)
    os.replace(tmp, link)
    return link


def install_file(source: Path, final: Path) -> None:
    """Copy a small cached file (a .torrent) into place, atomically; nothing if it is there."""
    if final.exists() and final.stat().st_size == source.stat().st_size:
        return
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.copy")
    shutil.copyfile(source, tmp)
    os.replace(tmp, final)
