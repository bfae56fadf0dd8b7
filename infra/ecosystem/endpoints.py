"""Where a running ecosystem can be reached: written by `python -m infra up`, read by
the suite (`-D endpoints=FILE`) to attach to a swarm that is already running."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:
    from infra.config import Settings
    from infra.ecosystem.prepare import Prepared

#: The services every endpoints file names (each has a field of its own).
SERVICE_FIELDS = ("backend", "seeder", "tracker", "range_server")


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

    @classmethod
    def build(cls, provider: str, run_id: str, urls: Mapping[str, str], announce: str, prepared: "Prepared",
              logs_dir: Path, services: Mapping[str, Mapping[str, object]], settings: "Settings") -> "Endpoints":
        """The endpoints of a running ecosystem, as every provider reports them.

        urls: service name -> base URL reachable from this host (one for every service);
        announce: the tracker's announce URL as the swarm itself uses it;
        services: per service, what else the provider can tell (pid, container, address...);
        each service's entry also gets its `url` and its `log` (<logs_dir>/<name>.log).
        The owner is this process; `settings` supplies the timeouts the services run with."""
        missing = [name for name in SERVICE_FIELDS if not urls.get(name)]
        if missing:
            raise ValueError(f"endpoints of the {provider} provider lack a URL for: {', '.join(missing)}")
        logs = Path(logs_dir)
        return cls(
            provider=provider, run_id=run_id,
            backend=urls["backend"], seeder=urls["seeder"], tracker=urls["tracker"],
            tracker_announce=announce, range_server=urls["range_server"],
            credentials_file=str(prepared.credentials_file), catalog_file=str(prepared.catalog_file),
            logs_dir=str(logs), pid=os.getpid(),
            services={name: {"url": url, "log": str(logs / f"{name}.log"), **services.get(name, {})}
                      for name, url in urls.items()},
            settings=settings.service_timeouts(),
        )

    def url_of(self, service: str) -> str:
        """The base URL of a service, as reachable from this host (the catalog service, a
        third-party or your own backend: from `services`)."""
        if service in SERVICE_FIELDS:
            return getattr(self, service)
        info = (self.services or {}).get(service)
        if not isinstance(info, dict) or not info.get("url"):
            raise KeyError(f"no service {service!r}; services: {', '.join([*SERVICE_FIELDS, *(self.services or {})])}")
        return info["url"]

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
