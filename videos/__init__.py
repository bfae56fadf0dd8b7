"""Deterministic test videos: where they live and what the manifest says about them.

This is the read-side API the suite uses (`load_manifest(...).get(name)`); the
files themselves are produced by `python -m videos.generate`. The small MP4 box
walker is here too because steps may want to check the layout of served bytes.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Iterator

VIDEOS_DIR = Path(__file__).parent
MEDIA_DIR = VIDEOS_DIR / "media"
MANIFEST_PATH = VIDEOS_DIR / "manifest.json"
SCHEMA_VERSION = 1

__all__ = [
    "MANIFEST_PATH",
    "MEDIA_DIR",
    "VIDEOS_DIR",
    "Manifest",
    "ManifestError",
    "Mp4Box",
    "Video",
    "VideoFile",
    "iter_mp4_boxes",
    "load_manifest",
    "moov_at_end",
]


class ManifestError(ValueError):
    """The manifest is missing, malformed or from an unknown schema."""


@dataclass(frozen=True)
class VideoFile:
    """One file of a torrent's content; `path` is relative to the media dir."""

    path: str
    size: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True)
class Video:
    """One test torrent's content plus facts measured from the produced file."""

    name: str
    content_path: str  # file (single-file torrent) or folder (multi-file), relative to media dir
    main_file: str  # the video a backend must stream, relative to media dir
    files: tuple[VideoFile, ...]
    size: int  # of main_file
    sha256: str  # of main_file
    duration: float
    width: int
    height: int
    resolution: str
    video_codec: str
    audio_codec: str
    container: str
    content_type: str
    moov_at_end: bool
    recipe_hash: str
    media_dir: Path = field(default=MEDIA_DIR, kw_only=True, compare=False, repr=False)

    @property
    def main_path(self) -> Path:
        return (self.media_dir / self.main_file).absolute()

    @property
    def content_abspath(self) -> Path:
        return (self.media_dir / self.content_path).absolute()

    @property
    def is_multi_file(self) -> bool:
        return self.content_path != self.main_file

    def read(self, start: int, length: int) -> bytes:
        """Bytes [start, start+length) of the main file (shorter at EOF): the reference for range checks."""
        if start < 0 or length < 0:
            raise ValueError(f"invalid range start={start} length={length}")
        with open(self.main_path, "rb") as f:
            f.seek(start)
            return f.read(length)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "content_path": self.content_path,
            "main_file": self.main_file,
            "files": [f.to_dict() for f in self.files],
            "size": self.size,
            "sha256": self.sha256,
            "duration": self.duration,
            "width": self.width,
            "height": self.height,
            "resolution": self.resolution,
            "video_codec": self.video_codec,
            "audio_codec": self.audio_codec,
            "container": self.container,
            "content_type": self.content_type,
            "moov_at_end": self.moov_at_end,
            "recipe_hash": self.recipe_hash,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], media_dir: Path = MEDIA_DIR) -> Video:
        try:
            return cls(
                name=str(data["name"]),
                content_path=str(data["content_path"]),
                main_file=str(data["main_file"]),
                files=tuple(
                    VideoFile(path=str(f["path"]), size=int(f["size"]), sha256=str(f["sha256"]))
                    for f in data["files"]
                ),
                size=int(data["size"]),
                sha256=str(data["sha256"]),
                duration=float(data["duration"]),
                width=int(data["width"]),
                height=int(data["height"]),
                resolution=str(data["resolution"]),
                video_codec=str(data["video_codec"]),
                audio_codec=str(data["audio_codec"]),
                container=str(data["container"]),
                content_type=str(data["content_type"]),
                moov_at_end=bool(data["moov_at_end"]),
                recipe_hash=str(data["recipe_hash"]),
                media_dir=media_dir,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ManifestError(f"bad manifest entry {data.get('name', '?')!r}: {exc!r}") from exc


@dataclass(frozen=True)
class Manifest:
    """All generated videos, in recipe order."""

    ffmpeg: str
    videos: tuple[Video, ...]

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.videos]

    def get(self, name: str) -> Video:
        for video in self.videos:
            if video.name == name:
                return video
        raise KeyError(f"no video {name!r} in manifest; known: {', '.join(self.names) or '<none>'}")

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA_VERSION, "ffmpeg": self.ffmpeg, "videos": [v.to_dict() for v in self.videos]}

    def to_json(self) -> str:
        """Stable text: fixed key order, indent 2, trailing newline (diff- and hash-friendly)."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any], media_dir: Path = MEDIA_DIR) -> Manifest:
        if not isinstance(data, dict) or data.get("schema") != SCHEMA_VERSION:
            schema = data.get("schema") if isinstance(data, dict) else None
            raise ManifestError(f"unsupported manifest schema {schema!r} (expected {SCHEMA_VERSION})")
        return cls(
            ffmpeg=str(data.get("ffmpeg", "")),
            videos=tuple(Video.from_dict(v, media_dir) for v in data.get("videos", [])),
        )


def load_manifest(path: Path | str = MANIFEST_PATH, media_dir: Path | None = None) -> Manifest:
    """Read the manifest; media files are resolved against `media_dir` (default: `<manifest dir>/media`)."""
    path = Path(path)
    media_dir = path.parent / "media" if media_dir is None else Path(media_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(f"{path} not found; run `python -m videos.generate` first") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path} is not valid JSON: {exc}") from exc
    return Manifest.from_dict(data, media_dir)


# --- MP4 layout -------------------------------------------------------------


@dataclass(frozen=True)
class Mp4Box:
    """A top-level ISO-BMFF box: its four-character type, offset and total size (header included)."""

    type: str
    offset: int
    size: int


def iter_mp4_boxes(f: BinaryIO, length: int | None = None) -> Iterator[Mp4Box]:
    """Walk top-level boxes by seeking over their payloads (never reads mdat).

    Raises ValueError on a truncated or malformed box, so a half-written file
    can never look like a valid layout.
    """
    if length is None:
        length = f.seek(0, os.SEEK_END)
    offset = 0
    while offset < length:
        f.seek(offset)
        header = f.read(8)
        if len(header) < 8:
            raise ValueError(f"truncated box header at offset {offset}")
        size, raw_type = struct.unpack(">I4s", header)
        box_type = raw_type.decode("latin-1")
        header_len = 8
        if size == 1:  # 64-bit largesize follows the type
            large = f.read(8)
            if len(large) < 8:
                raise ValueError(f"truncated largesize of {box_type!r} at offset {offset}")
            (size,) = struct.unpack(">Q", large)
            header_len = 16
        elif size == 0:  # box extends to end of file
            size = length - offset
        if size < header_len:
            raise ValueError(f"box {box_type!r} at offset {offset} has invalid size {size}")
        if offset + size > length:
            raise ValueError(f"box {box_type!r} at offset {offset} (size {size}) runs past end of file ({length})")
        yield Mp4Box(box_type, offset, size)
        offset += size


def moov_at_end(source: Path | str | BinaryIO) -> bool:
    """True if the `moov` index comes after `mdat` (players must fetch the tail first).

    `source` is a path or a seekable binary file object (e.g. io.BytesIO).
    """
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:
            return moov_at_end(f)
    order = [box.type for box in iter_mp4_boxes(source) if box.type in ("moov", "mdat")]
    if "moov" not in order or "mdat" not in order:
        raise ValueError(f"expected top-level moov and mdat boxes, found {order}")
    return order.index("moov") > order.index("mdat")
