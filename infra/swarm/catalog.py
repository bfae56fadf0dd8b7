"""The catalog: which torrents the swarm has, prepared once before any service starts.

Built from the video manifest: one deterministic .torrent per video plus the unseeded
one. The tracker's whitelist, the seeder and the suite all read this one list, so they
agree on info hashes. Paths are relative to the media and torrent folders, so the same
catalog works for local processes and for containers that mount those folders.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from infra.swarm import torrents


@dataclass(frozen=True)
class CatalogEntry:
    name: str             # video name from the manifest (test-small-720p, ...)
    info_hash: str
    torrent_file: str     # file name inside the torrent folder
    content_path: str     # file or folder inside the media folder
    main_file: str        # the video a backend must stream, relative to the media folder
    size: int             # size of main_file
    total_size: int
    files: list[dict]     # [{"path", "length"}] as in the torrent
    seeded: bool


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
        tmp.write_text(json.dumps([asdict(e) for e in self.entries], indent=2))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "Catalog":
        return cls([CatalogEntry(**raw) for raw in json.loads(path.read_text())])


def build(manifest, media_dir: Path, torrent_dir: Path, scratch_dir: Path) -> Catalog:
    """Make (or reuse) every torrent for the manifest's videos, plus the unseeded one."""
    entries = []
    for video in manifest.videos:
        key = json.dumps(sorted((f.path, f.sha256) for f in video.files))
        info = torrents.make_torrent(media_dir / video.content_path, torrent_dir, key)
        entries.append(CatalogEntry(
            name=video.name, info_hash=info.info_hash, torrent_file=info.path.name,
            content_path=video.content_path, main_file=video.main_file, size=video.size,
            total_size=info.size, files=info.files, seeded=True,
        ))
    unseeded = torrents.make_unseeded(scratch_dir, torrent_dir)
    entries.append(CatalogEntry(
        name=torrents.UNSEEDED_NAME, info_hash=unseeded.info_hash, torrent_file=unseeded.path.name,
        content_path=unseeded.files[0]["path"], main_file=unseeded.files[0]["path"],
        size=unseeded.size, total_size=unseeded.size, files=unseeded.files, seeded=False,
    ))
    return Catalog(entries)
