"""Where a running ecosystem can be reached: written by `python -m infra up`, read by
the suite (`-D endpoints=FILE`) to attach to a swarm that is already running."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Endpoints:
    provider: str
    run_id: str
    backend: str                 # base URL of the streaming backend
    seeder: str                  # seeder control API
    tracker: str                 # tracker base URL (stats, scrape) as reachable from this host
    tracker_announce: str        # announce URL the swarm itself uses
    range_server: str
    credentials_file: str
    catalog_file: str
    logs_dir: str
    pid: int = 0                 # the process that owns the ecosystem (python -m infra up)
    services: dict[str, dict] = field(default_factory=dict)
    settings: dict[str, float] = field(default_factory=dict)   # the timeouts the services run with

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.to_json())
        tmp.replace(path)

    @classmethod
    def read(cls, path: Path) -> "Endpoints":
        try:
            raw = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise FileNotFoundError(f"no endpoints file at {path}: start a swarm with `python -m infra up`") from None
        return cls(**raw)
