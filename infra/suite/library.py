"""The test videos as the suite sees them: friendly names ("the large video") mapped to
the catalog's entries, each with the run's magnet. An entry already carries the file on
disk (the byte-for-byte oracle) and its torrent's facts, so a `VideoRef` adds only what
belongs to a run: the label a feature uses and the magnet naming the run's tracker."""

from __future__ import annotations

import ast
import dataclasses
import operator
from dataclasses import dataclass, fields
from pathlib import Path

from infra.ecosystem.endpoints import Endpoints
from infra.suite.http import Client
from infra.suite.swarm_control import SwarmControl
from infra.swarm.catalog import Catalog, CatalogEntry
from videos import MEDIA_DIR

FRIENDLY_NAMES = {
    "the small video": "test-small-720p",
    "the medium video": "test-medium-1080p",
    "the large video": "test-large-4k",
    "the multi-file torrent": "test-multi-file",
    "the multi-file torrent's video": "test-multi-file",
    "the unseeded torrent": "test-unseeded",
    "the Matroska video": "test-matroska-360p",
    "the WebM video": "test-webm-360p",
    "the season pack": "test-season-pack",
    "the feature-length video": "test-feature-length",
}
#: Videos a swarm may be started without (SWARMSPEC_LARGE_VIDEO=0): their scenarios are not run.
OPTIONAL_NAMES = frozenset({"test-feature-length"})
#: Files of a multi-file torrent a viewer chooses: label -> (torrent, path as the torrent lists it).
CHOSEN_FILES = {
    "episode 1 of the season pack": ("test-season-pack", "test-season-pack/Swarmspec.S01E01.mp4"),
    "episode 2 of the season pack": ("test-season-pack", "test-season-pack/Swarmspec.S01E02.mp4"),
    "episode 3 of the season pack": ("test-season-pack", "test-season-pack/Swarmspec.S01E03.mkv"),
    "the sample of the season pack": ("test-season-pack", "test-season-pack/Sample/Swarmspec.S01E02.sample.mp4"),
    "the subtitles of the season pack": ("test-season-pack", "test-season-pack/Swarmspec.S01E02.srt"),
}
VIDEO_PATTERN = "|".join(sorted([*FRIENDLY_NAMES, *CHOSEN_FILES], key=len, reverse=True))


@dataclass(frozen=True)
class VideoRef(CatalogEntry):
    """A catalog entry as a feature names it, with the magnet a viewer hands the target."""

    label: str               # "the large video"
    magnet: str              # names the run's tracker as the swarm reaches it
    #: A file the viewer chose, by its index in the torrent's file list (`main_file` and
    #: `size` are then that file's); None: whatever the target streams when nobody chooses.
    file_index: int | None = None

    @classmethod
    def of(cls, entry: CatalogEntry, label: str, magnet: str, media_dir: Path) -> VideoRef:
        """The entry as it is (every catalog field), read from `media_dir`, plus a run's facts."""
        values = {f.name: getattr(entry, f.name) for f in fields(CatalogEntry) if f.init}
        return cls(**{**values, "media_dir": media_dir}, label=label, magnet=magnet)

    def variant(self, info_hash: str, magnet: str) -> VideoRef:
        """The same video as a fresh torrent (`SwarmControl.fresh_variant`): the same file on
        disk, so every byte check still compares with the source file."""
        return dataclasses.replace(self, info_hash=info_hash, magnet=magnet, label=f"a fresh copy of {self.label}")

    def chosen(self, path: str, label: str) -> VideoRef:
        """One file of this torrent as a viewer picks it (`path` as the torrent lists it,
        which is also its place under the media folder): the byte oracle reads that file."""
        paths = [f.path for f in self.files]
        if path not in paths:
            raise KeyError(f"{self.name} has no file {path!r}; its files: {', '.join(paths)}")
        index = paths.index(path)
        return dataclasses.replace(self, main_file=path, size=self.files[index].size, file_index=index, label=label)

    def positions(self) -> dict[str, int]:
        """Names usable in range expressions: size, last, middle, piece."""
        return {"size": self.size, "last": self.size - 1, "middle": self.size // 2, "piece": self.piece_length}


class Library:
    def __init__(self, catalog: Catalog, media_dir: Path, torrent_dir: Path | None, magnets: dict[str, str]) -> None:
        """`magnets` maps info hashes to the seeder's magnets. `torrent_dir` is no longer
        read (the catalog carries each torrent's piece length); it stays until callers stop
        passing it."""
        self.refs: dict[str, VideoRef] = {}
        for label, name in FRIENDLY_NAMES.items():
            if name in OPTIONAL_NAMES and name not in {e.name for e in catalog.entries}:
                continue
            entry = catalog.get(name)
            self.refs[label] = VideoRef.of(entry, label, magnets[entry.info_hash], media_dir)
        for label, (name, path) in CHOSEN_FILES.items():
            self.refs[label] = self.refs[next(k for k, v in FRIENDLY_NAMES.items() if v == name)].chosen(path, label)

    @classmethod
    def of_running(cls, endpoints: Endpoints, client: Client) -> Library:
        """The library of a running ecosystem: its catalog, the videos on this host, the seeder's magnets."""
        return cls(Catalog.load(Path(endpoints.catalog_file)), MEDIA_DIR, None, SwarmControl(endpoints).magnets(client))

    def has(self, label: str) -> bool:
        """Whether this swarm seeds the video (an optional one may have been left out)."""
        return label in self.refs

    def seeded(self) -> list[VideoRef]:
        """Each seeded torrent once (as a whole, not a file chosen from it)."""
        return list({ref.name: ref for ref in self.refs.values() if ref.seeded and ref.file_index is None}.values())

    def __getitem__(self, label: str) -> VideoRef:
        try:
            return self.refs[label]
        except KeyError:
            raise KeyError(f"no test video called {label!r}; known: {', '.join(self.refs)}") from None


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv}


def evaluate(expression: str, names: dict[str, int]) -> int:
    """Integer arithmetic over the names of `VideoRef.positions` (e.g. ``size-8192``,
    ``3*piece-1``): lets a feature say "the last byte" without hard-coding a file size."""

    def walk(node: ast.AST) -> int:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name) and node.id in names:
            return names[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        raise ValueError(f"unsupported expression {expression!r}; use integers, + - * // and {sorted(names)}")

    return walk(ast.parse(expression.strip(), mode="eval"))


def expand(template: str, names: dict[str, int]) -> str:
    """Replace every {expression} in a header template: "bytes={size-100}-" -> "bytes=1060867-"."""
    import re

    return re.sub(r"\{([^{}]+)\}", lambda m: str(evaluate(m.group(1), names)), template)
