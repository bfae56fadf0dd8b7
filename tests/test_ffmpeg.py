"""The ffmpeg wrapper (videos.ffmpeg): bit-exact arguments, finding a binary, running and
cancelling an encode, reading ffprobe-style output. No real ffmpeg runs here."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

from videos import ffmpeg as ff
from videos.recipes import Recipe

#: 1 s, so progress is out_time / 1 s.
TINY = Recipe(name="tiny", duration=1.0, width=64, height=64, fps=10, video_bitrate_kbps=50, faststart=True)


def tiny(**overrides: object) -> Recipe:
    return dataclasses.replace(TINY, **overrides)


def test_encode_args_are_bitexact_single_threaded() -> None:
    args = ff.encode_args(tiny(), Path("out.mp4"))
    joined = " ".join(args)
    for flag in (
        "-fflags +bitexact",
        "-flags:v +bitexact",
        "-flags:a +bitexact",
        "-map_metadata -1",
        "-map_chapters -1",
        "-threads 1",
        "-filter_complex_threads 1",
        "-c:v libx264",
        "-c:a aac",
        "-movflags +faststart",
    ):
        assert flag in joined
    assert "+faststart" not in " ".join(ff.encode_args(tiny(faststart=False), Path("out.mp4")))


def test_find_ffmpeg_prefers_system(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ff.shutil, "which", lambda name: "/usr/bin/ffmpeg")
    assert ff.find_ffmpeg() == "/usr/bin/ffmpeg"


def test_find_ffmpeg_error_names_both_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ff.shutil, "which", lambda name: None)
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # import fails
    with pytest.raises(ff.FfmpegNotFoundError) as err:
        ff.find_ffmpeg()
    message = str(err.value)
    assert "Debian package `ffmpeg`" in message and "PyPI package `imageio-ffmpeg`" in message


def test_find_ffmpeg_error_when_imageio_has_no_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    def no_binary() -> str:
        raise RuntimeError("No ffmpeg exe could be found")

    monkeypatch.setattr(ff.shutil, "which", lambda name: None)
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", types.SimpleNamespace(get_ffmpeg_exe=no_binary))
    with pytest.raises(ff.FfmpegNotFoundError, match="imageio-ffmpeg"):
        ff.find_ffmpeg()


def fake_exe(tmp_path: Path, body: str) -> str:
    script = tmp_path / "ffmpeg"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(0o755)
    return str(script)


def test_run_encode_failure_includes_stderr_tail(tmp_path: Path) -> None:
    exe = fake_exe(tmp_path, "echo 'first line' >&2; echo 'Unknown encoder libx264' >&2; exit 3")
    with pytest.raises(ff.FfmpegError, match=r"(?s)exit 3.*Unknown encoder libx264"):
        ff.run_encode(exe, tiny(), tmp_path / "out.mp4", timeout=10)


def test_run_encode_timeout(tmp_path: Path) -> None:
    exe = fake_exe(tmp_path, "echo 'stuck' >&2; exec sleep 30")
    with pytest.raises(ff.FfmpegError, match=r"(?s)timed out.*stuck"):
        ff.run_encode(exe, tiny(), tmp_path / "out.mp4", timeout=0.5)


def test_run_encode_cancel_kills_ffmpeg(tmp_path: Path) -> None:
    import threading

    exe = fake_exe(tmp_path, "exec sleep 30")
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(ff.FfmpegError, match="cancelled"):
        ff.run_encode(exe, tiny(), tmp_path / "out.mp4", timeout=60, cancel=cancel)


def test_run_encode_reports_progress(tmp_path: Path) -> None:
    exe = fake_exe(tmp_path, "printf 'frame=5\\nout_time_us=500000\\nprogress=continue\\n'; exit 0")
    seen: list[float] = []
    ff.run_encode(exe, tiny(), tmp_path / "out.mp4", timeout=10, on_progress=seen.append)
    assert seen == [0.5, 1.0]


def test_parse_probe() -> None:
    stderr = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'x.mp4':
  Duration: 00:00:10.03, start: 0.000000, bitrate: 847 kb/s
  Stream #0:0[0x1](und): Video: h264 (Constrained Baseline) (avc1 / 0x31637661), yuv420p(progressive), 1280x720, 780 kb/s, 24 fps
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, mono, fltp, 64 kb/s (default)
At least one output file must be specified"""
    assert ff.parse_probe(stderr) == ff.ProbeResult(10.03, "h264", "aac", 1280, 720)
    with pytest.raises(ff.FfmpegError):
        ff.parse_probe("garbage")
