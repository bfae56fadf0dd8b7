"""What a torrent carries on disk, declared once for the whole way from the manifest to a step.

`videos.Video` (the manifest's record of a generated video) extends `Content` with what
the encoder made; `infra.swarm.catalog.CatalogEntry` extends it with the facts of its
.torrent; the suite's `infra.suite.library.VideoRef` extends the entry with a friendly
label and the run's magnet. So the name, the paths, the sizes and the byte oracle are
declared here and nowhere else, and a record read from JSON is the same type all along.

Standard library only: the swarm's Docker images carry `infra/swarm/*.py` but neither
`videos/` nor `infra/suite/`, and libtorrent must not be needed to read a manifest.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

#: Field types a record's JSON may carry as another scalar type ("10" for 10): converted on load.
_SCALARS = (str, int, float, bool)


def _load_fields(cls: type, data: dict[str, Any], skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The init fields of dataclass `cls` from `data`, scalars converted to their declared type.
    One loader for every record (content, its files, catalog entries, the manifest's videos),
    so a new field is declared once and read without another line of parsing."""
    hints = typing.get_type_hints(cls)
    values = {}
    for f in fields(cls):
        if not f.init or f.name in skip:
            continue
        raw = data[f.name]
        values[f.name] = hints[f.name](raw) if hints[f.name] in _SCALARS else raw
    return values


@dataclass(frozen=True)
class ContentFile:
    """One file of a torrent's content; `path` is relative to the media folder."""

    path: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ContentFile:
        return cls(**_load_fields(cls, data))


@dataclass(frozen=True)
class Content:
    """A torrent's content: its name, where it lies under the media folder, its files and
    the one video a backend must stream (with the bytes every answer is compared with)."""

    name: str             # test-small-720p, ...
    content_path: str     # file (single-file torrent) or folder (multi-file), relative to the media folder
    main_file: str        # the video a backend must stream, relative to the media folder
    files: tuple[ContentFile, ...]
    size: int             # of main_file
    # Where the media folder is for whoever reads the bytes: not part of the record (a
    # container mounts the same files elsewhere), so it is neither compared nor saved.
    media_dir: Path = field(default=Path("."), kw_only=True, compare=False, repr=False)

    #: The record type of `files` when read from JSON (a subclass may carry more per file).
    file_type: ClassVar[type[ContentFile]] = ContentFile
    #: What `from_dict` raises on a bad record (a subclass may name its own ValueError).
    error_type: ClassVar[type[ValueError]] = ValueError

    @property
    def main_path(self) -> Path:
        return (self.media_dir / self.main_file).absolute()

    @property
    def content_abspath(self) -> Path:
        return (self.media_dir / self.content_path).absolute()

    @property
    def is_multi_file(self) -> bool:
        return self.content_path != self.main_file

    @property
    def total_size(self) -> int:
        """Of every file: what the torrent holds."""
        return sum(f.size for f in self.files)

    def read(self, start: int, end: int) -> bytes:
        """Bytes start..end, both included as in an HTTP byte range, of the main file
        (shorter at its end): the oracle every served byte is compared with."""
        if start < 0 or end < start - 1:
            raise ValueError(f"invalid range {start}-{end}")
        with open(self.main_path, "rb") as handle:
            handle.seek(start)
            return handle.read(end - start + 1)

    def whole(self) -> bytes:
        return self.read(0, self.size - 1)

    def to_dict(self) -> dict[str, Any]:
        """Every declared field but `media_dir`, in declaration order (stable, diffable JSON)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "media_dir":
                continue
            value = getattr(self, f.name)
            out[f.name] = [item.to_dict() for item in value] if f.name == "files" else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], media_dir: Path = Path(".")) -> typing.Self:
        """The record `to_dict` wrote; a missing or mistyped field raises `error_type`."""
        try:
            values = _load_fields(cls, data, skip=("media_dir", "files"))
            files = tuple(cls.file_type.from_dict(item) for item in data["files"])
            return cls(**values, files=files, media_dir=media_dir)
        except (KeyError, TypeError, ValueError) as exc:
            name = data.get("name", "?") if isinstance(data, dict) else "?"
            raise cls.error_type(f"bad {cls.__name__} record {name!r}: {exc!r}") from exc
