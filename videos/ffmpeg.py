"""Locate ffmpeg, build deterministic command lines, run them with timeouts.

Determinism matters because torrents (info-hashes) are built from these files:
the same recipe must give the same bytes on the same ffmpeg build. Hence the
bit-exact flags, a single thread everywhere, and no metadata/chapters/dates.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .recipes import Recipe

VERSION_TIMEOUT_S = 30.0
PROBE_TIMEOUT_S = 30.0
STDERR_TAIL_LINES = 15


class FfmpegError(RuntimeError):
    """An ffmpeg invocation failed, timed out or produced something unexpected."""


class FfmpegNotFoundError(FfmpegError):
    """Neither a system ffmpeg nor the imageio-ffmpeg binary is available."""


def find_ffmpeg() -> str:
    """Return the ffmpeg executable: system one on PATH first, else imageio-ffmpeg's bundled one."""
    system = shutil.which("ffmpeg")
    if system:
        return system
    try:
        import imageio_ffmpeg
    except ImportError:
        bundled_error = "imageio-ffmpeg is not installed"
    else:
        try:
            return imageio_ffmpeg.get_ffmpeg_exe()
        except RuntimeError as exc:  # raised when the bundled binary is missing
            bundled_error = f"imageio-ffmpeg has no usable binary ({exc})"
    raise FfmpegNotFoundError(
        "ffmpeg not found: no `ffmpeg` on PATH and "
        f"{bundled_error}. Install the Debian package `ffmpeg` (apt-get install ffmpeg) "
        "or the PyPI package `imageio-ffmpeg` (pip install imageio-ffmpeg)."
    )


def stderr_tail(text: str, lines: int = STDERR_TAIL_LINES) -> str:
    tail = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return "\n".join(f"    {line}" for line in tail) or "    <no stderr>"


def _run_briefly(args: list[str], timeout: float, what: str) -> subprocess.CompletedProcess[str]:
    """Run a short ffmpeg command to its end (any exit status); a hang or a binary that
    cannot start is an FfmpegError naming `what`, so callers only read the output."""
    try:
        return subprocess.run(args, capture_output=True, text=True, errors="replace", timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise FfmpegError(f"{what} timed out after {timeout:.0f}s") from exc
    except OSError as exc:
        raise FfmpegError(f"cannot run {what}: {exc}") from exc


def ffmpeg_version(exe: str) -> str:
    """First line of `ffmpeg -version`; part of every recipe hash (a new build may encode differently)."""
    proc = _run_briefly([exe, "-hide_banner", "-version"], VERSION_TIMEOUT_S, f"`{exe} -version`")
    first = proc.stdout.strip().splitlines()[0] if proc.stdout.strip() else ""
    if proc.returncode != 0 or not first.startswith("ffmpeg version"):
        raise FfmpegError(
            f"`{exe} -version` failed (exit {proc.returncode}):\n{stderr_tail(proc.stderr or proc.stdout)}"
        )
    return first


def encode_args(recipe: Recipe, output: Path) -> list[str]:
    """ffmpeg arguments (without the executable) that render `recipe`'s video into `output`.

    Also hashed into the recipe hash, so changing a flag here invalidates the cache.
    """
    d = f"{recipe.duration:g}"
    gop = recipe.fps * recipe.gop_seconds
    vrate = recipe.video_bitrate_kbps
    # libopus takes whole 20 ms frames only: the tone is cut into them at the source.
    frames = f":samples_per_frame={recipe.audio_sample_rate // 50}" if recipe.format.audio_codec == "opus" else ""
    graph = (
        f"{recipe.video_source}=size={recipe.width}x{recipe.height}:rate={recipe.fps}:duration={d},"
        "format=yuv420p[v];"
        f"sine=frequency={recipe.audio_frequency_hz}:sample_rate={recipe.audio_sample_rate}"
        f"{frames}:duration={d}[a]"
    )
    args = [
        "-hide_banner", "-nostdin", "-y", "-loglevel", "warning",
        "-nostats", "-progress", "pipe:1",
        "-filter_complex_threads", "1", "-filter_threads", "1",
        "-filter_complex", graph,
        "-map", "[v]", "-map", "[a]",
        "-t", d,
        *_video_codec_args(recipe),
        "-b:v", f"{vrate}k", "-maxrate", f"{vrate}k", "-bufsize", f"{2 * vrate}k",
        "-g", str(gop), "-keyint_min", str(gop),
        *(["-sc_threshold", "0"] if recipe.format.video_codec == "h264" else []),
        "-pix_fmt", "yuv420p",
        "-c:a", AUDIO_ENCODERS[recipe.format.audio_codec], "-b:a", f"{recipe.audio_bitrate_kbps}k", "-ac", "1",
        "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact",
        "-map_metadata", "-1", "-map_chapters", "-1",
    ]
    if recipe.faststart and recipe.format.muxer == "mp4":
        args += ["-movflags", "+faststart"]
    args += ["-f", recipe.format.muxer, str(output)]
    return args


#: ffmpeg's encoder for each audio codec a container uses.
AUDIO_ENCODERS = {"aac": "aac", "opus": "libopus"}


def _video_codec_args(recipe: Recipe) -> list[str]:
    """The video encoder, one thread: x264 at the recipe's preset; VP9 in libvpx's realtime
    mode at its fastest setting, no row multithreading (one thread gives the same bytes)."""
    if recipe.format.video_codec == "vp9":
        return ["-c:v", "libvpx-vp9", "-threads", "1", "-row-mt", "0", "-deadline", "realtime", "-cpu-used", "8"]
    return ["-c:v", "libx264", "-preset", recipe.preset, "-threads", "1"]


_OUT_TIME_RE = re.compile(r"^out_time_(?:us|ms)=(\d+)$")


def run_encode(
    exe: str,
    recipe: Recipe,
    output: Path,
    timeout: float,
    on_progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
) -> None:
    """Encode `recipe` into `output`, reporting the fraction done (0..1) from `-progress pipe:1`."""
    run_ffmpeg([exe, *encode_args(recipe, output)], f"encoding {recipe.name} into {output}",
               recipe.duration, timeout, on_progress, cancel)


def run_ffmpeg(
    cmd: list[str],
    what: str,
    duration: float,
    timeout: float,
    on_progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
) -> None:
    """Run one ffmpeg command line that has `-progress pipe:1`, reporting the fraction of
    `duration` seconds done (0..1). A hang past `timeout`, a non-zero exit or `cancel`
    is an FfmpegError naming `what`, with ffmpeg's stderr tail.

    Setting `cancel` kills ffmpeg promptly (Ctrl-C only reaches the main thread, not this one).
    """
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as err:
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL, text=True)
        except OSError as exc:
            raise FfmpegError(f"cannot start ffmpeg {what}: {exc}") from exc

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                match = _OUT_TIME_RE.match(line.strip())
                if match and on_progress is not None:
                    # out_time_ms is (historically) microseconds as well.
                    on_progress(min(1.0, int(match.group(1)) / 1e6 / duration))

        reader = threading.Thread(target=pump, name="ffmpeg-progress", daemon=True)
        reader.start()
        deadline = time.monotonic() + timeout
        code: int | None = None
        try:
            while code is None:
                try:
                    code = proc.wait(timeout=max(0.0, min(0.25, deadline - time.monotonic())))
                except subprocess.TimeoutExpired:
                    cancelled = cancel is not None and cancel.is_set()
                    if not cancelled and time.monotonic() < deadline:
                        continue
                    proc.kill()
                    proc.wait()
                    reader.join(timeout=5)
                    err.seek(0)
                    how = "was cancelled" if cancelled else f"timed out after {timeout:.0f}s"
                    raise FfmpegError(f"ffmpeg {how} {what}; stderr tail:\n{stderr_tail(err.read())}") from None
        except BaseException:
            if proc.poll() is None:   # Ctrl-C or SIGTERM (SystemExit) in this thread: no ffmpeg outlives us
                proc.kill()
                proc.wait()
            raise
        reader.join(timeout=5)
        err.seek(0)
        stderr = err.read()
    if code != 0:
        raise FfmpegError(
            f"ffmpeg failed (exit {code}) {what}; stderr tail:\n{stderr_tail(stderr)}\ncommand: {' '.join(cmd)}"
        )
    if on_progress is not None:
        on_progress(1.0)


@dataclass(frozen=True)
class ProbeResult:
    """What `ffmpeg -i` says about a file (ffprobe is not shipped by imageio-ffmpeg)."""

    duration: float
    video_codec: str
    audio_codec: str | None
    width: int
    height: int


_DURATION_RE = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
_VIDEO_RE = re.compile(r"Stream #\S+.*?: Video: (\w+).*?, (\d{2,5})x(\d{2,5})")
_AUDIO_RE = re.compile(r"Stream #\S+.*?: Audio: (\w+)")


def parse_probe(stderr: str) -> ProbeResult:
    """Parse the input description `ffmpeg -i` prints to stderr."""
    duration = _DURATION_RE.search(stderr)
    video = _VIDEO_RE.search(stderr)
    audio = _AUDIO_RE.search(stderr)
    if not duration or not video:
        raise FfmpegError(f"could not parse duration/video stream from ffmpeg output:\n{stderr_tail(stderr)}")
    h, m, s = duration.groups()
    return ProbeResult(
        duration=int(h) * 3600 + int(m) * 60 + float(s),
        video_codec=video.group(1),
        audio_codec=audio.group(1) if audio else None,
        width=int(video.group(2)),
        height=int(video.group(3)),
    )


def probe(exe: str, path: Path, timeout: float = PROBE_TIMEOUT_S) -> ProbeResult:
    """Cheap probe: `ffmpeg -i FILE` (exits 1 because no output is given; that is expected)."""
    proc = _run_briefly([exe, "-hide_banner", "-nostdin", "-i", str(path)], timeout, f"ffmpeg to probe {path}")
    try:
        return parse_probe(proc.stderr)
    except FfmpegError as exc:
        raise FfmpegError(f"probing {path} failed: {exc}") from None
