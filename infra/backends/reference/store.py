"""Sources, persisted in SQLite so they survive a restart of the backend.

``resolution`` is a number of pixels (the design's shape) or a label string, and must come
back as the type it was given: its column is declared without a type (SQLite's BLOB
affinity stores each value as it is), where the first version declared it TEXT, which
turns 1080 into '1080'. `SourceStore` moves a table of that version to the new shape.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from infra.ecosystem import clock as clocks


@dataclass(frozen=True)
class Source:
    id: str
    magnetUri: str
    infoHash: str
    quality: str | None
    resolution: int | str | None
    size: int | None
    videoCodec: str | None
    createdAt: float

    def to_json(self) -> dict:
        return {**asdict(self), "streamUrl": f"/api/stream/{self.id}"}


_CREATE = ("CREATE TABLE IF NOT EXISTS {table} (id TEXT PRIMARY KEY, magnet TEXT NOT NULL, info_hash TEXT NOT NULL,"
           " quality TEXT, resolution, size INTEGER, video_codec TEXT, created_at REAL NOT NULL)")


class SourceStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        if self._declared_type("resolution") == "TEXT":
            self._untype_resolution()
        self.db.execute(_CREATE.format(table="sources"))
        self.db.execute("CREATE INDEX IF NOT EXISTS sources_info_hash ON sources(info_hash)")

    def add(self, magnet: str, info_hash: str, quality=None, resolution=None, size=None, video_codec=None) -> Source:
        source = Source(str(uuid.uuid4()), magnet, info_hash, quality, resolution, size, video_codec, clocks.wall())
        self.db.execute("INSERT INTO sources VALUES (?,?,?,?,?,?,?,?)",
                        (source.id, magnet, info_hash, quality, resolution, size, video_codec, source.createdAt))
        return source

    def get(self, source_id: str) -> Source | None:
        row = self.db.execute("SELECT * FROM sources WHERE id = ?", (source_id,)).fetchone()
        return Source(*row) if row else None

    def by_info_hash(self, info_hash: str) -> Source | None:
        row = self.db.execute("SELECT * FROM sources WHERE info_hash = ? ORDER BY created_at LIMIT 1",
                              (info_hash,)).fetchone()
        return Source(*row) if row else None

    def _declared_type(self, column: str) -> str | None:
        rows = self.db.execute("PRAGMA table_info(sources)").fetchall()
        return next((row[2].upper() for row in rows if row[1] == column), None)

    def _untype_resolution(self) -> None:
        """Copy a first-version table (resolution TEXT) into the current shape, in one transaction."""
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute(_CREATE.format(table="sources_typed"))
            self.db.execute("INSERT INTO sources_typed SELECT * FROM sources")
            self.db.execute("DROP TABLE sources")
            self.db.execute("ALTER TABLE sources_typed RENAME TO sources")

    def close(self) -> None:
        self.db.close()
