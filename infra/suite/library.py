"""The test videos as the suite sees them: friendly names ("the large video") mapped to
the file on disk (the byte-for-byte oracle), its torrent and its magnet."""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from infra.swarm.catalog import Catalog, CatalogEntry

FRIENDLY_NAMES = {
    "the small video": "test-small-720p",
    "the medium video": "test-medium-1080p",
    "the large video": "test-large-4k",
    "the multi-file torrent": "test-multi-file",
    "the multi-file torrent's video": "test-multi-file",
    "the unseeded torrent": "test-unseeded",
}
VIDEO_PATTERN = "|".join(sorted(FRIENDLY_NAMES, key=len, reverse=True))


@dataclass(frozen=True)
class VideoRef:
    label: str               # "the large video"
    entry: CatalogEntry
    path: Path | None        # the main file on disk; None for the unseeded torrent
    piece_length: int
    magnet: str

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def size(self) -> int:
        return self.entry.size

    @property
    def info_hash(self) -> str:
        return self.entry.info_hash

    def read(self, start: int, end: int) -> bytes:
        """Bytes start..end (inclusive) of the source file: the oracle."""
        return _read(self.path, start, end)

    def whole(self) -> bytes:
        return _read(self.path, 0, self.size - 1)

    def positions(self) -> dict[str, int]:
        """Names usable in range expressions: size, last, middle, piece."""
        return {"size": self.size, "last": self.size - 1, "middle": self.size // 2, "piece": self.piece_length}


@lru_cache(maxsize=16)
def _read(path: Path, start: int, end: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(start)
        return handle.read(end - start + 1)


class Library:
    def __init__(self, catalog: Catalog, media_dir: Path, torrent_dir: Path, magnets: dict[str, str]) -> None:
        import libtorrent as lt

        self.refs: dict[str, VideoRef] = {}
        for label, name in FRIENDLY_NAMES.items():
            entry = catalog.get(name)
            ti = lt.torrent_info(str(torrent_dir / entry.torrent_file))
            path = media_dir / entry.main_file if entry.seeded else None
            self.refs[label] = VideoRef(label, entry, path, ti.piece_length(), magnets[entry.info_hash])

    def seeded(self) -> list[VideoRef]:
        """Each seeded torrent once."""
        return list({ref.name: ref for ref in self.refs.values() if ref.entry.seeded}.values())

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
