"""Generate the test videos (cached) and write `videos/manifest.json`.

    python -m videos.generate [--force] [--only NAME] [--quiet]

A video is rebuilt only when its recipe hash changed (recipe, ffmpeg command or
ffmpeg build), when a file is missing, or when a file's size/sha256 no longer
matches the manifest. The sha256 is recomputed only when a file's size or mtime
differs from what we recorded, so a warm run is a handful of stat() calls.
Every write is temp-file-then-rename, so an interrupted run never leaves a
partial file that looks valid.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from . import MANIFEST_PATH, MEDIA_DIR, Manifest, ManifestError, Video, VideoFile, load_manifest
from .cache import (STAT_CACHE_NAME, StatCache, atomic_target, atomic_write_bytes, generator_lock, sha256_file,
                    stale_reason, sweep_partials)
from .ffmpeg import FfmpegError, encode_args, ffmpeg_version, find_ffmpeg, probe, run_encode
from .mp4 import moov_at_end
from .recipes import RECIPES, Recipe, recipe_names

ENCODE_TIMEOUT_FLOOR_S = 120.0
MIN_PIXELS_PER_S = 5e6  # ~100x slower than a laptop core: only a wedged ffmpeg hits the timeout
DURATION_TOLERANCE_S = 0.5
SIZE_TOLERANCE = 0.4  # warn when a file is >40% off its bitrate-derived size


class GenerationError(RuntimeError):
    """A video could not be produced, or the produced file does not match its recipe."""


# --- the cache key ----------------------------------------------------------


def recipe_hash(recipe: Recipe, ffmpeg_version_line: str) -> str:
    """Cache key: the recipe, the exact ffmpeg arguments and the ffmpeg build (all shape the bytes)."""
    payload = {
        "recipe": recipe.to_dict(),
        "ffmpeg": ffmpeg_version_line,
        "args": encode_args(recipe, Path("OUTPUT.mp4")),
    }
    if recipe.members:  # only then: the keys of the recipes written before members stay as they were
        payload["member_args"] = [encode_args(m, Path("OUTPUT.mp4")) for m in recipe.members]
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- progress -------------------------------------------------------------------


class Progress:
    """Throttled one-line-per-update progress on stderr; thread-safe since encodes run in parallel."""

    def __init__(self, enabled: bool, total: int, step: float = 0.1, min_interval_s: float = 2.0) -> None:
        self.enabled = enabled
        self.total = total
        self.step = step
        self.min_interval_s = min_interval_s
        self._lock = threading.Lock()
        self._last: dict[str, tuple[float, float]] = {}

    def say(self, message: str) -> None:
        if self.enabled:
            with self._lock:
                print(message, file=sys.stderr, flush=True)

    def line(self, index: int, name: str, message: str) -> None:
        self.say(f"[{index}/{self.total}] {name}: {message}")

    def encoding(self, index: int, name: str, fraction: float) -> None:
        """Print when another `step` is done or `min_interval_s` passed; always print 100%."""
        if not self.enabled:
            return
        now = time.monotonic()
        with self._lock:
            last_frac, last_time = self._last.get(name, (-1.0, 0.0))
            due = fraction >= 1.0 or fraction - last_frac >= self.step or now - last_time >= self.min_interval_s
            if not due or fraction == last_frac:
                return
            self._last[name] = (fraction, now)
        self.line(index, name, f"encoding … {fraction * 100:3.0f}%")


# --- building one video ---------------------------------------------------------


def encode_timeout(recipe: Recipe) -> float:
    """Of one encode (a member of a multi-file torrent has its own)."""
    pixels = recipe.width * recipe.height * recipe.fps * recipe.duration
    return ENCODE_TIMEOUT_FLOOR_S + pixels / MIN_PIXELS_PER_S


def expected_size(recipe: Recipe) -> int:
    return int((recipe.video_bitrate_kbps + recipe.audio_bitrate_kbps) * 1000 / 8 * recipe.duration)


def verify_encoded(exe: str, recipe: Recipe, path: Path) -> bool:
    """Check the produced file against the recipe; return the measured moov_at_end (False
    for a container without a moov)."""
    measured_end = _verify_moov(recipe, path) if recipe.format.muxer == "mp4" else False
    info = probe(exe, path)
    problems = []
    if info.video_codec != recipe.format.video_codec:
        problems.append(f"video codec {info.video_codec} != {recipe.format.video_codec}")
    if info.audio_codec != recipe.format.audio_codec:
        problems.append(f"audio codec {info.audio_codec} != {recipe.format.audio_codec}")
    if (info.width, info.height) != (recipe.width, recipe.height):
        problems.append(f"resolution {info.width}x{info.height} != {recipe.width}x{recipe.height}")
    if abs(info.duration - recipe.duration) > DURATION_TOLERANCE_S:
        problems.append(f"duration {info.duration:.3f}s != {recipe.duration}s")
    if problems:
        raise GenerationError(f"{recipe.name}: produced file does not match recipe: {'; '.join(problems)}")
    return measured_end


def _verify_moov(recipe: Recipe, path: Path) -> bool:
    """An MP4's moov where the recipe wants it; returns whether it is at the end."""
    try:
        measured_end = moov_at_end(path)
    except ValueError as exc:
        raise GenerationError(f"{recipe.name}: produced file is not a valid MP4: {exc}") from exc
    if measured_end == recipe.faststart:
        want = "before mdat (faststart)" if recipe.faststart else "after mdat (no faststart)"
        got = "after" if measured_end else "before"
        raise GenerationError(f"{recipe.name}: recipe expects moov {want} but the file has moov {got} mdat")
    return measured_end


def prepare_content_path(recipe: Recipe, media_dir: Path) -> None:
    """Make room for the content: a file where a folder belongs (or vice versa) is removed."""
    content = media_dir / recipe.content_path
    if recipe.multi_file:
        if content.exists() and not content.is_dir():
            content.unlink()
        content.mkdir(parents=True, exist_ok=True)
    elif content.is_dir():
        shutil.rmtree(content)


def remove_unexpected(recipe: Recipe, media_dir: Path) -> None:
    """Keep a multi-file folder to exactly the recipe's files: extras would end up in the torrent."""
    if not recipe.multi_file:
        return
    content = media_dir / recipe.content_path
    expected = {content / p for p in (Path(p).relative_to(recipe.content_path) for p in recipe.file_paths)}
    wanted_dirs = {parent for path in expected for parent in path.parents}
    for child in sorted(content.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if child in expected or child in wanted_dirs:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def build_video(
    exe: str,
    recipe: Recipe,
    r_hash: str,
    media_dir: Path,
    stat_cache: StatCache,
    on_progress: Callable[[float], None] | None = None,
    warn: Callable[[str], None] = lambda _msg: None,
    cancel: threading.Event | None = None,
) -> Video:
    """Encode, verify, then atomically install every file of `recipe`; return its manifest entry."""
    prepare_content_path(recipe, media_dir)
    main = media_dir / recipe.main_file
    with atomic_target(main) as tmp:
        run_encode(exe, recipe, tmp, timeout=encode_timeout(recipe), on_progress=on_progress, cancel=cancel)
        measured_end = verify_encoded(exe, recipe, tmp)
    for member in recipe.members:
        with atomic_target(media_dir / recipe.member_path(member)) as tmp:
            run_encode(exe, member, tmp, timeout=encode_timeout(member), cancel=cancel)
            verify_encoded(exe, member, tmp)
    for companion in recipe.companions:
        atomic_write_bytes(media_dir / recipe.companion_path(companion), companion.text.encode("utf-8"))
    remove_unexpected(recipe, media_dir)

    files = []
    for rel in recipe.file_paths:
        path = media_dir / rel
        digest = sha256_file(path)
        st = path.stat()
        stat_cache.record(rel, st, digest)
        files.append(VideoFile(path=rel, size=st.st_size, sha256=digest))
    main_entry = next(f for f in files if f.path == recipe.main_file)
    if max(files, key=lambda f: f.size).path != recipe.main_file:
        raise GenerationError(f"{recipe.name}: the video must be the largest file of the torrent "
                              "(what a backend streams when nobody chooses a file)")
    target = expected_size(recipe)
    if abs(main_entry.size - target) > SIZE_TOLERANCE * target:
        warn(f"{recipe.name}: size {main_entry.size} is more than {SIZE_TOLERANCE:.0%} off target {target}")
    return Video(
        name=recipe.name,
        content_path=recipe.content_path,
        main_file=recipe.main_file,
        files=tuple(files),
        size=main_entry.size,
        sha256=main_entry.sha256,
        duration=float(recipe.duration),
        width=recipe.width,
        height=recipe.height,
        resolution=f"{recipe.width}x{recipe.height}",
        video_codec=recipe.format.video_codec,
        audio_codec=recipe.format.audio_codec,
        container=recipe.container,
        content_type=recipe.format.content_type,
        moov_at_end=measured_end,
        recipe_hash=r_hash,
        media_dir=media_dir,
    )


# --- orchestration ------------------------------------------------------------


@dataclass
class _Job:
    index: int
    recipe: Recipe
    r_hash: str
    reason: str


def _read_previous(manifest_path: Path, media_dir: Path, say: Callable[[str], None]) -> dict[str, Video]:
    if not manifest_path.exists():
        return {}
    try:
        return {v.name: v for v in load_manifest(manifest_path, media_dir).videos}
    except ManifestError as exc:
        say(f"ignoring unreadable manifest, regenerating: {exc}")
        return {}


def ensure_videos(
    progress: bool = True,
    *,
    force: bool = False,
    only: Sequence[str] | None = None,
    recipes: Sequence[Recipe] = RECIPES,
    media_dir: Path = MEDIA_DIR,
    manifest_path: Path = MANIFEST_PATH,
    jobs: int | None = None,
) -> Manifest:
    """Make sure every video exists and matches its recipe; return the (updated) manifest.

    `only` limits the work to some names (other manifest entries are kept as they
    are). Encodes run in parallel, one ffmpeg thread each, `jobs` at a time.
    """
    recipes = tuple(recipes)
    known = recipe_names(recipes)
    selected = list(only) if only else known
    unknown = [n for n in selected if n not in known]
    if unknown:
        raise KeyError(f"unknown video(s) {', '.join(unknown)}; known: {', '.join(known)}")
    jobs = jobs or max(1, min(2, os.cpu_count() or 1))
    out = Progress(progress, total=len(recipes))
    started = time.monotonic()

    exe = find_ffmpeg()
    version = ffmpeg_version(exe)
    with generator_lock(media_dir, out.say):
        sweep_partials(media_dir)
        previous = _read_previous(manifest_path, media_dir, out.say)
        stat_cache = StatCache(media_dir / STAT_CACHE_NAME)
        entries: dict[str, Video] = {n: v for n, v in previous.items() if n in known}
        write_lock = threading.Lock()
        cancel = threading.Event()

        def write_manifest() -> Manifest:
            with write_lock:
                manifest = Manifest(
                    ffmpeg=version, videos=tuple(entries[r.name] for r in recipes if r.name in entries)
                )
                text = manifest.to_json()
                current = manifest_path.read_text(encoding="utf-8") if manifest_path.exists() else None
                if text != current:
                    atomic_write_bytes(manifest_path, text.encode("utf-8"))
                stat_cache.save()
                return manifest

        todo: list[_Job] = []
        for index, recipe in enumerate(recipes, 1):
            if recipe.name not in selected:
                continue
            r_hash = recipe_hash(recipe, version)
            reason = (
                "--force"
                if force
                else stale_reason(recipe, previous.get(recipe.name), r_hash, media_dir, stat_cache)
            )
            if reason is None:
                out.line(index, recipe.name, f"up to date ({previous[recipe.name].size / 1e6:.2f} MB)")
            else:
                entries.pop(recipe.name, None)  # never keep a stale entry for a file being replaced
                todo.append(_Job(index, recipe, r_hash, reason))

        def run(job: _Job) -> tuple[_Job, float]:
            t0 = time.monotonic()
            out.line(job.index, job.recipe.name, f"generating ({job.reason})")
            video = build_video(
                exe,
                job.recipe,
                job.r_hash,
                media_dir,
                stat_cache,
                on_progress=lambda frac: out.encoding(job.index, job.recipe.name, frac),
                cancel=cancel,
                warn=lambda msg: out.say(f"warning: {msg}"),
            )
            elapsed = time.monotonic() - t0
            with write_lock:
                entries[job.recipe.name] = video
            write_manifest()  # persist each finished video so an interrupted run keeps it
            layout = (video.container if video.container != "mp4"
                      else "moov at end" if video.moov_at_end else "moov at front")
            out.line(job.index, job.recipe.name, f"done in {elapsed:.1f}s ({video.size / 1e6:.2f} MB, {layout})")
            return job, elapsed

        failures: list[str] = []
        # Most expensive first so the long 4K encode overlaps all the small ones.
        todo.sort(key=lambda j: j.recipe.width * j.recipe.height * j.recipe.fps * j.recipe.duration, reverse=True)
        pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="encode")
        try:
            futures = {pool.submit(run, job): job for job in todo}
            for future in as_completed(futures):
                job = futures[future]
                try:
                    future.result()
                except (FfmpegError, GenerationError, OSError) as exc:
                    failures.append(f"{job.recipe.name}: {exc}")
        except BaseException:
            # Ctrl-C / SystemExit: stop queued encodes and kill running ffmpegs, then re-raise.
            cancel.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        manifest = write_manifest()

    if failures:
        raise GenerationError("video generation failed:\n" + "\n".join(failures))
    out.say(f"videos ready in {time.monotonic() - started:.1f}s ({len(todo)} generated) -> {manifest_path}")
    return manifest


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m videos.generate", description="Generate the deterministic test videos (cached)."
    )
    parser.add_argument("--force", action="store_true", help="regenerate even if the cache is valid")
    parser.add_argument(
        "--only", action="append", metavar="NAME", choices=recipe_names(), help="only this video (repeatable)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument("--jobs", type=int, default=None, help="parallel encodes (default: min(2, cores))")
    args = parser.parse_args(argv)
    # Make `kill <pid>` go through the same cleanup as Ctrl-C (ffmpeg killed, temp files removed).
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        ensure_videos(progress=not args.quiet, force=args.force, only=args.only, jobs=args.jobs)
    except (FfmpegError, GenerationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: finished videos are kept, partial files were removed", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
