"""Sources, persisted in SQLite so they survive a restart of the backend."""

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
    resolution: str | None
    size: int | None
    videoCodec: str | None
    createdAt: float

    def to_json(self) -> dict:
        return {**asdict(self), "streamUrl": f"/api/stream/{self.id}"}


class SourceStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS sources (id TEXT PRIMARY KEY, magnet TEXT NOT NULL, info_hash TEXT NOT NULL,"
            " quality TEXT, resolution TEXT, size INTEGER, video_codec TEXT, created_at REAL NOT NULL)")
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

    def close(self) -> None:
        self.db.close()
