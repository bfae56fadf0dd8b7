"""The catalog: which torrents the swarm has, prepared once before any service starts.

Built from the video manifest: one deterministic .torrent per video plus the unseeded
one. The tracker's whitelist, the seeder, the range server and the suite all read this
one list, so they agree on info hashes; the torrent's facts (info hash, piece length,
files) are read here once, so nobody opens a .torrent again to learn them. Paths are
relative to the media and torrent folders, so the same catalog works for local
processes and for containers that mount those folders.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from infra.swarm import torrents
from infra.swarm.content import Content, ContentFile

if TYPE_CHECKING:   # only for the annotation: the swarm's images do not carry videos/
    from videos import Manifest


@dataclass(frozen=True)
class CatalogEntry(Content):
    """A torrent the swarm has: its content (for a test video: the manifest's name, paths
    and size; its files as the torrent lists them) plus the facts of its .torrent."""

    info_hash: str
    torrent_file: str     # file name inside the torrent folder
    piece_length: int
    seeded: bool          # False for the torrent no peer has


@dataclass(frozen=True)
class Catalog:
    entries: list[CatalogEntry]

    def get(self, name: str) -> CatalogEntry:
        for entry in self.entries:
            if entry.name == name or entry.info_hash == name:
                return entry
        raise KeyError(f"{name!r} is not in the catalog; known: {', '.join(e.name for e in self.entries)}")

    @property
    def info_hashes(self) -> list[str]:
        return [e.info_hash for e in self.entries]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps([e.to_dict() for e in self.entries], indent=2))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, media_dir: Path = Path(".")) -> Catalog:
        """The saved catalog; `media_dir` is where this reader finds the content."""
        return cls([CatalogEntry.from_dict(raw, media_dir) for raw in json.loads(path.read_text())])


def _entry(info: torrents.TorrentInfo, name: str, content_path: str, main_file: str, size: int,
           media_dir: Path) -> CatalogEntry:
    return CatalogEntry(
        name=name, content_path=content_path, main_file=main_file, size=size,
        files=tuple(ContentFile(f["path"], f["length"]) for f in info.files),
        info_hash=info.info_hash, torrent_file=info.path.name,
        piece_length=info.piece_length,
        seeded=info.seeded, media_dir=media_dir,
    )


def content_key(video) -> str:
    """The torrent cache key of a manifest video: its files and their sha256 (a regenerated
    video gets a new torrent). `videos.feature_length` pre-places its film's torrent under it."""
    return json.dumps(sorted((f.path, f.sha256) for f in video.files))


def build(manifest: Manifest, media_dir: Path, torrent_dir: Path, scratch_dir: Path,
          piece_size: int = torrents.PIECE_SIZE) -> Catalog:
    """Make (or reuse) every torrent for the manifest's videos, plus the unseeded one, with
    pieces of `piece_size` (the suite's 256 KiB unless the benchmark asks for another)."""
    entries = []
    for video in manifest.videos:
        info = torrents.make_torrent(media_dir / video.content_path, torrent_dir, content_key(video),
                                     piece_size=piece_size)
        entries.append(_entry(info, video.name, video.content_path, video.main_file, video.size, media_dir))
    unseeded = torrents.make_unseeded(scratch_dir, torrent_dir, piece_size=piece_size)
    path = unseeded.files[0]["path"]
    entries.append(_entry(unseeded, torrents.UNSEEDED_NAME, path, path, unseeded.size, media_dir))
    return Catalog(entries)
