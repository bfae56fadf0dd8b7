"""Real decoders against the stream: ffprobe and ffmpeg read the target's stream URL the
way a media tool does (their own HTTP client, their own ranges), and what they decode is
compared with what they decode from the local file.

A backend can serve the right bytes to the suite's client and still confuse a demuxer
(a range it answers wrongly only when asked mid-file, a length that disagrees with the
body); a decoded frame that hashes the same as the local one proves the whole chain.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from dataclasses import dataclass

from videos.ffmpeg import find_ffmpeg, stderr_tail

#: A probe or a one-frame decode of a test video takes well under a second; a backend
#: that stalls gets this long before the step fails with ffmpeg's last words.
DECODE_TIMEOUT = 60.0
RW_TIMEOUT_US = 15_000_000    # ffmpeg's own network read deadline (-rw_timeout, microseconds)


class DecoderError(AssertionError):
    """ffprobe or ffmpeg could not read the source (the message carries its stderr)."""


@dataclass(frozen=True)
class Probe:
    duration: float
    video_codec: str | None
    audio_codec: str | None


def find_ffprobe() -> str:
    found = shutil.which("ffprobe")
    if not found:
        raise DecoderError("ffprobe not found on PATH: install the Debian package `ffmpeg` (apt-get install ffmpeg)")
    return found


def _network_args(source: str, headers: dict[str, str]) -> list[str]:
    """Deadlines and request headers for a URL (none for a local file)."""
    if not source.startswith(("http://", "https://")):
        return []
    args = ["-rw_timeout", str(RW_TIMEOUT_US)]
    if headers:
        args += ["-headers", "".join(f"{name}: {value}\r\n" for name, value in headers.items())]
    return args


def _run(args: list[str], what: str) -> bytes:
    try:
        proc = subprocess.run(args, capture_output=True, timeout=DECODE_TIMEOUT, check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise DecoderError(f"{what}: no answer within {DECODE_TIMEOUT:g}s") from None
    if proc.returncode != 0:
        raise DecoderError(f"{what} failed (exit {proc.returncode}):\n{stderr_tail(proc.stderr.decode(errors='replace'))}")
    return proc.stdout


def probe(source: str, headers: dict[str, str] | None = None, label: str = "") -> Probe:
    """What ffprobe reports of a file or URL: the container's duration, the first video
    and audio streams' codecs."""
    out = _run([find_ffprobe(), "-v", "error", *_network_args(source, headers or {}),
                "-show_entries", "format=duration:stream=codec_name,codec_type", "-of", "json", source],
               f"ffprobe {label or source}")
    data = json.loads(out)
    codecs = {s.get("codec_type"): s.get("codec_name") for s in reversed(data.get("streams", []))}
    return Probe(float(data["format"]["duration"]), codecs.get("video"), codecs.get("audio"))


@dataclass(frozen=True)
class Frame:
    at: float          # seconds, where ffmpeg was asked to seek
    size: int          # bytes of the raw decoded picture
    sha256: str


def frame_at(source: str, at: float, headers: dict[str, str] | None = None, label: str = "") -> Frame:
    """The first video frame at or after `at` seconds, decoded to raw pixels (the stream's
    own pixel format, one thread: the same bytes in always give the same pixels out).
    ffmpeg seeks in the input, so through a URL it asks for the range of the seek point."""
    out = _run([find_ffmpeg(), "-v", "error", "-nostdin", "-threads", "1", *_network_args(source, headers or {}),
                "-ss", f"{at:.3f}", "-i", source, "-map", "0:v:0", "-frames:v", "1", "-f", "rawvideo", "-"],
               f"ffmpeg decoding the frame at {at:.3f}s of {label or source}")
    if not out:
        raise DecoderError(f"ffmpeg decoded no frame at {at:.3f}s of {label or source}")
    return Frame(at, len(out), hashlib.sha256(out).hexdigest())


@dataclass(frozen=True)
class Packet:
    pts: float         # seconds
    pos: int           # byte offset in the file
    size: int
    key: bool


def video_packets(path: str, interval: tuple[float, float] | None = None) -> list[Packet]:
    """Where each video packet of a local file lies (ffprobe): what a budget needs to know
    which bytes a frame depends on. With `interval` (seconds), only the packets from the key
    frame at or before its start to its end: ffprobe seeks there through the index instead
    of reading the whole file (5 GB for the feature-length video)."""
    window = ["-read_intervals", f"{interval[0]:.3f}%{interval[1]:.3f}"] if interval else []
    out = _run([find_ffprobe(), "-v", "error", "-select_streams", "v:0", *window, "-show_entries",
                "packet=pts_time,pos,size,flags", "-of", "json", path], f"ffprobe listing the packets of {path}")
    return [Packet(float(p["pts_time"]), int(p["pos"]), int(p["size"]), "K" in p.get("flags", ""))
            for p in json.loads(out).get("packets", []) if p.get("pos") not in (None, "N/A")]
