"""What a capacity run asks Locust to do, as one JSON document: the streams, the video's
size and chunk digests, the viewers' habits, the ramp's levels and the knee's criteria.

The parent (`locust_run`) writes it; Locust's master reads it (`--plan`) and sends it to
every worker as a message when the worker connects, so a worker on another machine needs
nothing but this package. Pure data, no Locust import.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from infra.suite.crowd.digests import ChunkTable
from infra.suite.crowd.model import Habits


NO_FRESH_TORRENT = "no fresh torrent left"     # a cold viewer's error when the pool of fresh copies ran out


@dataclass(frozen=True)
class Criteria:
    """The knee: at least `share` of the viewers at a level never rebuffer for
    `rebuffer_seconds` or more and start within `startup_seconds`."""

    share: float = 0.99
    rebuffer_seconds: float = 1.0
    startup_seconds: float = 2.0


@dataclass(frozen=True)
class Plan:
    streams: list[dict]              # [{"url": ..., "headers": {...}}]: viewer i plays streams[i % len]
    size: int
    chunk: int
    digests: list[int]
    habits: Habits
    levels: list[int]                # viewers at once, one step of the ramp each
    level_seconds: float             # how long each level holds
    spawn_rate: float = 50.0         # viewers started per second when a level begins
    # Or: a level's new viewers arrive spread over its first `arrival_seconds` (at least
    # one a second), so a level's startups are judged on that many viewers at once, not on
    # how many the ramp's step added in the same instant. None: `spawn_rate`.
    arrival_seconds: float | None = None
    criteria: Criteria = field(default_factory=Criteria)
    stop_after_failure: bool = True  # end the ramp once a level fails (the knee is behind it)
    seed: int = 16
    flush_seconds: float = 20.0      # at most this long for the last level's records
    # Cold: every viewing starts on a torrent the target has never seen. The viewer runs the
    # target's stream flow itself (part of its startup) for the next of these fresh variants:
    # {"target": name, "urls": {...}, "credentials": {...}, "video": {"name", "size"},
    #  "variants": [{"hash", "magnet"}, ...]}; None: warm, `streams` as they are.
    cold: dict | None = None

    @property
    def table(self) -> ChunkTable:
        return ChunkTable(self.size, self.chunk, tuple(self.digests))

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Plan:
        data = dict(data)
        data["habits"] = Habits(**data["habits"])
        data["criteria"] = Criteria(**data["criteria"])
        return cls(**data)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json()))

    @classmethod
    def load(cls, path: Path) -> Plan:
        return cls.from_json(json.loads(Path(path).read_text()))

    def with_urls_mapped(self, mapping: dict[str, str]) -> Plan:
        """The plan with each stream URL's prefix replaced as `mapping` says (a worker in a
        container reaches the host's published ports at in-network addresses)."""
        return replace(self, streams=[{**stream, "url": mapped(stream["url"], mapping)} for stream in self.streams])

    def spawn_rate_at(self, step: int) -> float:
        """Viewers started per second when the ramp enters level `step`."""
        if self.arrival_seconds is None:
            return self.spawn_rate
        added = self.levels[step] - (self.levels[step - 1] if step > 0 else 0)
        return max(1.0, added / self.arrival_seconds)

    def schedule_seconds(self) -> float:
        """The ramp's longest run, flush included: the parent's deadline is built on it."""
        return len(self.levels) * self.level_seconds + self.flush_seconds


def mapped(url: str, mapping: dict[str, str]) -> str:
    for prefix, replacement in mapping.items():
        if url == prefix or url.startswith(prefix + "/"):
            return replacement + url[len(prefix):]
    return url
