"""What the generator finds on disk and how it puts files there: the (size, mtime) ->
sha256 stat cache, the "is this video stale?" decision, temp-file-then-rename writes and
the lock that serialises generators on one media folder. Kept apart from the encoding
pipeline (generate.py) so each reads on its own.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Callable, Iterator

from . import Video
from .recipes import Recipe

STAT_CACHE_NAME = ".stat-cache.json"
LOCK_NAME = ".generate.lock"
PARTIAL_SUFFIX = ".partial"
FILE_MODE = 0o644


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class StatCache:
    """Remembers (size, mtime_ns) -> sha256 per file so unchanged files are not re-hashed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, dict[str, int | str]] = {}
        self.dirty = False
        self._lock = threading.Lock()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and isinstance(data.get("files"), dict):
                self.entries = data["files"]
        except (OSError, ValueError):
            pass  # no or unreadable cache: everything gets hashed once

    def sha256(self, rel: str, path: Path, st: os.stat_result) -> str:
        """sha256 of `path`, from the cache when size and mtime are unchanged."""
        with self._lock:
            hit = self.entries.get(rel)
        if hit and hit.get("size") == st.st_size and hit.get("mtime_ns") == st.st_mtime_ns:
            return str(hit["sha256"])
        digest = sha256_file(path)
        self.record(rel, st, digest)
        return digest

    def record(self, rel: str, st: os.stat_result, digest: str) -> None:
        with self._lock:
            self.entries[rel] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}
            self.dirty = True

    def save(self) -> None:
        with self._lock:
            if not self.dirty:
                return
            text = json.dumps({"schema": 1, "files": self.entries}, indent=1, sort_keys=True) + "\n"
            self.dirty = False
        atomic_write_bytes(self.path, text.encode("utf-8"))


# --- cache decision -----------------------------------------------------------


def stale_reason(
    recipe: Recipe,
    entry: Video | None,
    want_hash: str,
    media_dir: Path,
    stat_cache: StatCache,
) -> str | None:
    """Why `recipe` must be (re)built, or None if the files on disk are the ones in the manifest."""
    if entry is None:
        return "not generated yet"
    if entry.recipe_hash != want_hash:
        return "recipe or ffmpeg changed"
    if tuple(f.path for f in entry.files) != recipe.file_paths or entry.main_file != recipe.main_file:
        return "file list changed"
    for vf in entry.files:
        path = media_dir / vf.path
        try:
            st = path.stat()
        except OSError:  # missing, or a parent is now a file
            return f"{vf.path} is missing"
        if st.st_size != vf.size:
            return f"{vf.path} size {st.st_size} != {vf.size}"
        if stat_cache.sha256(vf.path, path, st) != vf.sha256:
            return f"{vf.path} sha256 changed"
    if recipe.multi_file:
        expected = set(recipe.file_paths)
        extra = sorted(p.relative_to(media_dir / recipe.content_path).as_posix()
                       for p in (media_dir / recipe.content_path).rglob("*")
                       if not p.is_dir() and p.relative_to(media_dir).as_posix() not in expected)
        if extra:
            return f"unexpected files in {recipe.content_path}/: {', '.join(extra)}"
    return None


# --- atomic file writes -------------------------------------------------------


@contextlib.contextmanager
def atomic_target(final: Path) -> Iterator[Path]:
    """Yield a temp path next to `final`; on success fsync and rename it over `final`, else delete it."""
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=PARTIAL_SUFFIX, dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, FILE_MODE)  # mkstemp makes 0600; seeders in containers may run as another user
    try:
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(final: Path, data: bytes) -> None:
    with atomic_target(final) as tmp:
        tmp.write_bytes(data)


def sweep_partials(media_dir: Path) -> None:
    """Remove temp files left by an interrupted run (we hold the lock, so none is in use)."""
    for leftover in media_dir.glob(f"**/.*{PARTIAL_SUFFIX}"):
        leftover.unlink(missing_ok=True)


@contextlib.contextmanager
def generator_lock(media_dir: Path, say: Callable[[str], None]) -> Iterator[None]:
    """Serialise concurrent generators (e.g. the orchestrator and a developer) on the same media dir."""
    media_dir.mkdir(parents=True, exist_ok=True)
    with open(media_dir / LOCK_NAME, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say(f"waiting for another video generator holding {media_dir / LOCK_NAME} ...")
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
