"""The feature-length video: one deterministic, playable MP4 of more than 4.5 GiB, built once
into the cache outside the checkout (`videos.large_cache`).

    python -m videos.feature_length [--force] [--jobs N] [--quiet]

Why so big: the bugs that live in long films are offsets that wrap at 2³¹ or 2³² bytes and
Content-Lengths that overflow; a file past 4.5 GiB puts ranges below, across and above both.

How it is fast (measured on 2 cores: `README.md`, "The feature-length video"): the picture
is 1280x720 at 12 frames/s of seeded noise over testsrc2, coded by x264 `ultrafast` at a
fixed quantiser of 8, so each frame is ~1.4 MB of output for very little encoder work
(~40 MB/s per core). The film is encoded as `segments` pieces of `segment_seconds`, two at
a time, as raw H.264; one ffmpeg then concatenates them by stream copy (each segment starts
with its parameter sets and a key frame) beside a sine-tone AAC track into the MP4. The MP4
keeps its index at the end, as a muxer writes it without a second pass over 5 GB: a player
reads the tail before it plays, like the medium video.

Why no repetition period divides 2³¹ or 2³²: no frame is a copy of another. Every segment
has its own noise seed and the noise changes every frame (`allf=t`), so every coded frame
is different bytes and the file has no period at all; bytes at x and x+2³¹ or x+2³² come
from different frames. `tests/test_feature_length.py` checks it on the built file at
sampled offsets, and the determinism of the recipe on a small one.

Resumable: a segment becomes `seg-NNN.h264` only by rename once ffmpeg finished it, so an
interrupted run keeps the finished ones and encodes only the rest; the final file appears
by rename only after its size, layout, codecs and duration were checked, so nothing ever
serves a partial film. A mux cut short starts over (~30 s).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import shutil
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from . import MEDIA_DIR, Video, VideoFile
from .cache import PARTIAL_SUFFIX, atomic_target, sha256_file
from .ffmpeg import FfmpegError, ffmpeg_version, find_ffmpeg, probe, run_ffmpeg
from .large_cache import cache_dir, cache_lock, install_file, link_into, load_record, save_record
from .mp4 import moov_at_end

GIB = 1 << 30
MIN_SIZE = 9 * GIB // 2          # 4.5 GiB: past 2³² = 4 GiB with room for ranges above it
SEGMENT_FLOOR_S = 120.0          # a segment's deadline: this plus its pixels at 1 Mpx/s
MUX_FLOOR_S = 120.0              # the mux's deadline: this plus its bytes at 5 MB/s


class FeatureLengthError(RuntimeError):
    """The feature-length video could not be built, or the built file is not what the recipe says."""


@dataclass(frozen=True)
class FeatureRecipe:
    """Everything that shapes the bytes of the feature-length video (hashed into its cache key)."""

    name: str = "test-feature-length"
    width: int = 1280
    height: int = 720
    fps: int = 12
    segment_seconds: int = 30
    segments: int = 11           # 330 s, ~5.0 GiB at ~1.37 MB per frame
    gop_seconds: int = 1         # a key frame every second: a seek needs at most 12 frames
    qp: int = 8
    noise: int = 90              # strength of the per-frame noise (what makes the frames big and distinct)
    seed: int = 20261203
    audio_bitrate_kbps: int = 64
    audio_frequency_hz: int = 440
    audio_sample_rate: int = 48000
    min_size: int = MIN_SIZE

    @property
    def duration(self) -> float:
        return float(self.segments * self.segment_seconds)

    @property
    def filename(self) -> str:
        return f"{self.name}.mp4"


RECIPE = FeatureRecipe()


def segment_args(recipe: FeatureRecipe, index: int, output: Path) -> list[str]:
    """ffmpeg arguments for segment `index` as raw H.264: its own noise seed, one thread."""
    gop = recipe.fps * recipe.gop_seconds
    graph = (f"testsrc2=size={recipe.width}x{recipe.height}:rate={recipe.fps}:duration={recipe.segment_seconds},"
             f"noise=alls={recipe.noise}:allf=t+u:all_seed={recipe.seed + index},format=yuv420p[v]")
    return [
        "-hide_banner", "-nostdin", "-y", "-loglevel", "warning", "-nostats", "-progress", "pipe:1",
        "-filter_complex_threads", "1", "-filter_threads", "1", "-filter_complex", graph, "-map", "[v]",
        "-c:v", "libx264", "-preset", "ultrafast", "-threads", "1", "-qp", str(recipe.qp),
        "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0", "-pix_fmt", "yuv420p",
        "-fflags", "+bitexact", "-flags:v", "+bitexact", "-f", "h264", str(output),
    ]


def mux_args(recipe: FeatureRecipe, segments: Sequence[Path], output: Path) -> list[str]:
    """ffmpeg arguments that concatenate the segments (stream copy) beside an AAC tone into the MP4."""
    d = f"{recipe.duration:g}"
    return [
        "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-nostats", "-progress", "pipe:1",
        "-fflags", "+genpts", "-framerate", str(recipe.fps), "-f", "h264",
        "-i", "concat:" + "|".join(str(s) for s in segments),
        "-f", "lavfi", "-i", f"sine=frequency={recipe.audio_frequency_hz}:sample_rate={recipe.audio_sample_rate}"
                             f":duration={d}",
        "-map", "0:v", "-map", "1:a", "-c:v", "copy",
        "-c:a", "aac", "-b:a", f"{recipe.audio_bitrate_kbps}k", "-ac", "1",
        "-fflags", "+bitexact", "-flags:a", "+bitexact", "-map_metadata", "-1", "-map_chapters", "-1",
        "-f", "mp4", str(output),
    ]


def recipe_key(recipe: FeatureRecipe, ffmpeg_version_line: str) -> str:
    """Cache key: the recipe, both command lines and the ffmpeg build."""
    payload = {"recipe": dataclasses.asdict(recipe), "ffmpeg": ffmpeg_version_line,
               "segment": segment_args(recipe, 0, Path("SEG")), "mux": mux_args(recipe, [Path("SEG")], Path("OUT"))}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


class Say:
    """Progress on stderr (or nothing), throttled for the fraction-done lines."""

    def __init__(self, enabled: bool, min_interval_s: float = 5.0) -> None:
        self.enabled = enabled
        self.min_interval_s = min_interval_s
        self._last = 0.0
        self._lock = threading.Lock()

    def __call__(self, message: str) -> None:
        if self.enabled:
            with self._lock:
                print(f"[feature-length] {message}", file=sys.stderr, flush=True)

    def fraction(self, what: str, done: float) -> None:
        now = time.monotonic()
        if (done >= 1.0 and self._last != float("inf")) or now - self._last >= self.min_interval_s:
            self._last = float("inf") if done >= 1.0 else now    # 100 % once
            self(f"{what} … {done * 100:3.0f}%")


def _encode_segments(exe: str, recipe: FeatureRecipe, work: Path, jobs: int, say: Say,
                     cancel: threading.Event) -> list[Path]:
    """Every segment file, encoding the missing ones `jobs` at a time."""
    paths = [work / f"seg-{i:03d}.h264" for i in range(recipe.segments)]
    missing = [i for i, p in enumerate(paths) if not p.exists()]
    if len(missing) < len(paths):
        say(f"resuming: {len(paths) - len(missing)} of {len(paths)} segments already encoded")
    timeout = SEGMENT_FLOOR_S + recipe.width * recipe.height * recipe.fps * recipe.segment_seconds / 1e6
    done = [len(paths) - len(missing)]
    lock = threading.Lock()
    started = time.monotonic()

    def encode(index: int) -> None:
        partial = paths[index].with_name(paths[index].name + PARTIAL_SUFFIX)
        try:
            run_ffmpeg([exe, *segment_args(recipe, index, partial)], f"encoding segment {index} of {recipe.name}",
                       recipe.segment_seconds, timeout, cancel=cancel)
            os.replace(partial, paths[index])
        finally:
            partial.unlink(missing_ok=True)     # a cut-short segment leaves nothing behind
        with lock:
            done[0] += 1
            say(f"segment {index + 1}/{len(paths)} encoded ({paths[index].stat().st_size / 1e6:.0f} MB); "
                f"{done[0]}/{len(paths)} done after {time.monotonic() - started:.0f} s")

    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="segment")
    try:
        for future in [pool.submit(encode, i) for i in missing]:
            future.result()
    except BaseException:
        cancel.set()             # a failed segment or Ctrl-C: stop the other ffmpegs too
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return paths


def _verify(exe: str, recipe: FeatureRecipe, path: Path) -> None:
    size = path.stat().st_size
    if size < recipe.min_size:
        raise FeatureLengthError(f"{recipe.name}: {size} bytes < {recipe.min_size}: raise `segments` in the recipe")
    if not moov_at_end(path):
        raise FeatureLengthError(f"{recipe.name}: the index (moov) should be after the media data")
    info = probe(exe, path)
    problems = [f"{what} {got} != {want}" for what, got, want in (
        ("video codec", info.video_codec, "h264"), ("audio codec", info.audio_codec, "aac"),
        ("size", (info.width, info.height), (recipe.width, recipe.height))) if got != want]
    if abs(info.duration - recipe.duration) > 0.5:
        problems.append(f"duration {info.duration:.3f} s != {recipe.duration} s")
    if problems:
        raise FeatureLengthError(f"{recipe.name}: the built file does not match its recipe: {'; '.join(problems)}")


def build(exe: str, recipe: FeatureRecipe, key: str, root: Path, jobs: int, say: Say,
          cancel: threading.Event) -> Path:
    """Encode (or resume), mux, verify and install the film at `root/media/<name>.mp4`."""
    work = root / "work" / key[:16]
    work.mkdir(parents=True, exist_ok=True)
    for leftover in [*work.glob(f"*{PARTIAL_SUFFIX}"), *(root / "media").glob(f".*{PARTIAL_SUFFIX}")]:
        leftover.unlink(missing_ok=True)     # an interrupted run's, never served: we hold the lock
    for stale in (root / "work").iterdir():
        if stale != work:
            shutil.rmtree(stale, ignore_errors=True)   # segments of another recipe
    segments = _encode_segments(exe, recipe, work, jobs, say, cancel)
    final = root / "media" / recipe.filename
    expected = sum(s.stat().st_size for s in segments)
    say(f"muxing {len(segments)} segments ({expected / GIB:.2f} GiB) into {final}")
    with atomic_target(final) as tmp:
        run_ffmpeg([exe, *mux_args(recipe, segments, tmp)], f"muxing {recipe.name}", recipe.duration,
                   MUX_FLOOR_S + expected / 5e6, on_progress=lambda f: say.fraction("muxing", f), cancel=cancel)
        _verify(exe, recipe, tmp)
    shutil.rmtree(work, ignore_errors=True)
    return final


def _video(recipe: FeatureRecipe, path: Path, digest: str, key: str, media_dir: Path) -> Video:
    size = path.stat().st_size
    return Video(
        name=recipe.name, content_path=recipe.filename, main_file=recipe.filename,
        files=(VideoFile(path=recipe.filename, size=size, sha256=digest),), size=size, sha256=digest,
        duration=recipe.duration, width=recipe.width, height=recipe.height,
        resolution=f"{recipe.width}x{recipe.height}", video_codec="h264", audio_codec="aac", container="mp4",
        content_type="video/mp4", moov_at_end=True, recipe_hash=key, media_dir=media_dir,
    )


def _still_valid(final: Path, video: Video, facts: dict[str, Any], key: str, say: Say) -> bool:
    """The cached file is the recorded one: same key and size, and same mtime (else re-hashed once)."""
    if facts.get("key") != key or not final.is_file():
        return False
    st = final.stat()
    if st.st_size != video.size:
        return False
    if st.st_mtime_ns == facts.get("mtime_ns"):
        return True
    say(f"{final} was touched since it was recorded: checking its sha256")
    return sha256_file(final) == video.sha256


def ensure_feature_length(progress: bool = True, *, force: bool = False, recipe: FeatureRecipe = RECIPE,
                          root: Path | None = None, media_dir: Path = MEDIA_DIR, jobs: int | None = None) -> Video:
    """The feature-length video, built on first use, linked into `media_dir`; its manifest entry."""
    root = cache_dir() if root is None else root
    say = Say(progress)
    exe = find_ffmpeg()
    key = recipe_key(recipe, ffmpeg_version(exe))
    final = root / "media" / recipe.filename
    with cache_lock(root, say):
        cached = None if force else load_record(root, recipe.name, media_dir)
        if cached is not None and _still_valid(final, cached[0], cached[1], key, say):
            video = cached[0]
            say(f"up to date ({video.size / GIB:.2f} GiB, {final})")
        else:
            started = time.monotonic()
            say(f"building {recipe.filename} ({recipe.duration:g} s, at least {recipe.min_size / GIB:g} GiB) "
                f"into {root}")
            cancel = threading.Event()
            path = build(exe, recipe, key, root, jobs or max(1, min(2, os.cpu_count() or 1)), say, cancel)
            say("sha256 of the film (once) ...")
            video = _video(recipe, path, sha256_file(path), key, media_dir)
            say(f"built in {time.monotonic() - started:.0f} s: {video.size} bytes ({video.size / GIB:.2f} GiB)")
        save_record(root, video, {"key": key, "mtime_ns": final.stat().st_mtime_ns})
    link_into(media_dir, final)
    return dataclasses.replace(video, media_dir=media_dir)


def install_torrent(video: Video, torrent_dir: Path, piece_size: int, root: Path | None = None,
                    progress: bool = True) -> Path:
    """Put the film's .torrent (cached under `root`: 4.5 GiB are hashed once per piece size)
    where `infra.swarm.catalog.build` looks for it, so the catalog does not hash it again."""
    from infra.swarm import catalog, torrents   # libtorrent: only where torrents are made

    root = cache_dir() if root is None else root
    key = catalog.content_key(video)
    content = root / "media" / video.content_path
    with cache_lock(root, Say(progress)):
        if not torrents.cached_torrent_path(content.name, root / "torrents", key, piece_size).exists():
            Say(progress)(f"hashing {video.size / GIB:.2f} GiB into pieces of {piece_size} B (once) ...")
        cached = torrents.make_torrent(content, root / "torrents", key, piece_size=piece_size).path
    final = torrents.cached_torrent_path(content.name, torrent_dir, key, piece_size)
    install_file(cached, final)
    return final


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m videos.feature_length",
                                     description="Build the feature-length video (>= 4.5 GiB) into the cache.")
    parser.add_argument("--force", action="store_true", help="rebuild even if the cached film is valid")
    parser.add_argument("--jobs", type=int, default=None, help="segments encoded at once (default: min(2, cores))")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)   # `kill` cleans up like Ctrl-C
    try:
        video = ensure_feature_length(progress=not args.quiet, force=args.force, jobs=args.jobs)
    except (FfmpegError, FeatureLengthError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, SystemExit) as exc:
        print("interrupted: finished segments are kept, partial files were removed", file=sys.stderr)
        return exc.code if isinstance(exc, SystemExit) and isinstance(exc.code, int) else 130
    print(video.main_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
