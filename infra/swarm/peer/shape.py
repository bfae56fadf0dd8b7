"""What an extra peer holds and how it misbehaves: which pieces it has, which of them it
tampers with, and its own copy of the content to serve them from.

A peer never serves the media folder itself: the files there are the suite's byte
oracle (and read-only in containers), and a partial libtorrent peer opens its files for
writing. It serves a private copy in its work folder; a tampered piece has 64 bytes
inverted in that copy, so the piece's SHA-1 no longer matches the torrent.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

#: Which pieces a peer holds: every one, or a half that another peer complements.
HOLDINGS = ("all", "even", "odd", "first-half", "second-half")
#: How it serves them: libtorrent, or the peer that hangs up in the middle of a piece.
BEHAVIOURS = ("libtorrent", "cuts-mid-piece")
TAMPER_OFFSET = 1000          # inside the piece, past any box header a player reads first
TAMPER_LENGTH = 64


class BadShape(ValueError):
    """A peer's holdings or tampering cannot be understood."""


@dataclass(frozen=True)
class Shape:
    holds: str = "all"            # one of HOLDINGS
    tamper_every: int = 0         # tamper every n-th held piece (pieces n-1, 2n-1, ...); 0: none

    def __post_init__(self) -> None:
        if self.holds not in HOLDINGS:
            raise BadShape(f"a peer holds one of {', '.join(HOLDINGS)}, not {self.holds!r}")
        if self.tamper_every < 0:
            raise BadShape(f"tamper_every must be >= 0, not {self.tamper_every}")

    def held(self, num_pieces: int) -> list[bool]:
        half = (num_pieces + 1) // 2
        rule = {
            "all": lambda i: True,
            "even": lambda i: i % 2 == 0,
            "odd": lambda i: i % 2 == 1,
            "first-half": lambda i: i < half,
            "second-half": lambda i: i >= half,
        }[self.holds]
        return [rule(i) for i in range(num_pieces)]

    def tampered(self, num_pieces: int) -> list[int]:
        if not self.tamper_every:
            return []
        held = [i for i, has in enumerate(self.held(num_pieces)) if has]
        return [piece for n, piece in enumerate(held) if n % self.tamper_every == self.tamper_every - 1]


@dataclass(frozen=True)
class FileSpan:
    path: str            # relative to the save path, as the torrent names it
    offset: int          # in the torrent's byte stream
    size: int


def copy_content(files: list[FileSpan], content_dir: Path, work_dir: Path, content_name: str = "") -> None:
    """The torrent's files, copied from `content_dir` into `work_dir` (same relative paths).
    `content_name`: what the torrent's top-level name is called in `content_dir` (a variant
    torrent renames the content it shares with its original)."""
    for span in files:
        head, sep, rest = span.path.partition("/")
        source = content_dir / ((content_name or head) + sep + rest)
        target = work_dir / span.path
        if not source.is_file() or source.stat().st_size != span.size:
            raise FileNotFoundError(f"{source}: expected a file of {span.size} bytes for this torrent")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


def tamper(files: list[FileSpan], work_dir: Path, piece_length: int, pieces: list[int]) -> None:
    """Invert TAMPER_LENGTH bytes inside each of `pieces` in the copy under `work_dir`."""
    for piece in pieces:
        at = piece * piece_length + TAMPER_OFFSET
        for span in files:
            if span.offset <= at < span.offset + span.size:
                length = min(TAMPER_LENGTH, span.offset + span.size - at)
                with open(work_dir / span.path, "r+b") as handle:
                    handle.seek(at - span.offset)
                    data = handle.read(length)
                    handle.seek(at - span.offset)
                    handle.write(bytes(b ^ 0xFF for b in data))
                break
        else:
            raise BadShape(f"piece {piece} has no byte at offset {TAMPER_OFFSET} to tamper with")
