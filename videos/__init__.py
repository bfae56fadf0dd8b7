"""Deterministic test videos: where they live and what the manifest says about them.

This is the read-side API the suite uses (`load_manifest(...).get(name)`); the
files themselves are produced by `python -m videos.generate`. A `Video` is the shared
`infra.swarm.content.Content` (name, paths, files, size, the byte oracle) plus what the
encoder made, so the catalog and the suite carry the same record instead of copies.
The MP4 box walker is `videos.mp4`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from infra.swarm.content import Content, ContentFile

#: Where the generated videos, their manifest and torrents live: this folder in a checkout;
#: the installed `swarmspec` command points SWARMSPEC_VIDEOS_DIR at a user cache instead
#: (site-packages is no place for 100 MB of media).
VIDEOS_DIR = Path(os.environ.get("SWARMSPEC_VIDEOS_DIR") or Path(__file__).parent)
MEDIA_DIR = VIDEOS_DIR / "media"
MANIFEST_PATH = VIDEOS_DIR / "manifest.json"
SCHEMA_VERSION = 1

__all__ = [
    "MANIFEST_PATH",
    "MEDIA_DIR",
    "VIDEOS_DIR",
    "Manifest",
    "ManifestError",
    "Video",
    "VideoFile",
    "load_manifest",
]


class ManifestError(ValueError):
    """The manifest is missing, malformed or from an unknown schema."""


@dataclass(frozen=True)
class VideoFile(ContentFile):
    """One file of a video's content, with the digest the generator's cache checks."""

    sha256: str


@dataclass(frozen=True)
class Video(Content):
    """One test torrent's content plus facts measured from the produced file."""

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

    file_type: ClassVar[type[ContentFile]] = VideoFile
    error_type: ClassVar[type[ValueError]] = ManifestError


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
