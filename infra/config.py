"""All configuration in one place: environment variables with documented defaults.

The defaults are the test swarm's: timeouts and idle time of a few seconds, so that the scenarios about them take seconds, both when the suite starts
the swarm and when it attaches to one started by `python -m infra up`.

Every knob is a ``SWARMSPEC_*`` environment variable; `Settings.from_env` reads them
once and the rest of the code receives typed values. The README's configuration
table is generated from `FIELDS` (``python -m infra config``), so the two cannot drift.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Mapping

from infra import PROJECT_ROOT


class ConfigError(ValueError):
    """A SWARMSPEC_* variable holds a value of the wrong type."""


@dataclass(frozen=True)
class Settings:
    #: Where the run keeps its state: credentials, endpoints file, whitelist, torrents.
    run_dir: Path = PROJECT_ROOT / ".run"
    #: Where service logs (logs/) and behave's results go.
    reports_dir: Path = PROJECT_ROOT / "reports"
    #: Host the local provider binds every service to. Loopback only.
    host: str = "127.0.0.1"
    #: Deadline for one service to become healthy, in seconds.
    start_timeout: float = 30.0
    #: Deadline for a service to exit after SIGTERM before it is killed.
    stop_timeout: float = 5.0
    #: Backend: seconds to wait for torrent metadata or the first piece of a range before 504.
    stream_timeout: float = 3.0
    #: Backend: seconds to wait for metadata in POST /api/torrents/metadata before 504.
    metadata_timeout: float = 3.0
    #: Backend: a torrent not streamed for this many seconds is removed.
    idle_timeout: float = 3.0
    #: Backend: lifetime of a login JWT, in seconds.
    token_ttl: float = 3600.0
    #: Backend: lifetime of a stream token (?token=), in seconds.
    stream_token_ttl: float = 300.0
    #: Backend admin login. Empty: generated into <run_dir>/credentials.json.
    admin_email: str = ""
    #: Backend admin password. Empty: generated into <run_dir>/credentials.json.
    admin_password: str = ""
    #: Seeder upload rate limit in bytes/s (0 = unlimited); simulates a slow swarm.
    upload_rate_limit: int = 0
    #: Which provider runs the ecosystem: local (subprocesses) or docker.
    provider: str = "local"
    #: Piece size of the swarm's torrents in bytes (a power of two, at least 16384); the benchmark varies it.
    piece_size: int = 262144
    #: 1: the swarm also seeds the feature-length video (>= 4.5 GiB, built once into SWARMSPEC_VIDEO_CACHE); 0: not.
    large_video: int = 1
    #: Optional services to start too, comma-separated (third-party backends: webtorrent, peerflix).
    extra_services: str = ""
    #: Your backend as a process started inside the ecosystem: its command line (-D backend_command).
    backend_command: str = ""
    #: Your backend as a Docker image on the swarm's network, docker provider (-D backend_image).
    backend_image: str = ""
    #: A dotenv file of your backend's environment; ${SWARMSPEC_...} swarm variables expand (-D backend_env).
    backend_env: str = ""
    #: The path of your backend that answers 200 once it is ready (-D backend_health).
    backend_health: str = "/health"
    #: Your backend's service name (default: the target file's `service`, else user_backend).
    backend_service: str = ""

    @property
    def extras(self) -> tuple[str, ...]:
        return tuple(name.strip() for name in self.extra_services.split(",") if name.strip())

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        environ = os.environ if environ is None else environ
        values = {}
        for field in fields(cls):
            raw = environ.get(env_name(field.name))
            if raw is None or raw == "":
                continue
            values[field.name] = _convert(field.name, field.type, raw)
        return cls(**values)

    @property
    def logs_dir(self) -> Path:
        return self.reports_dir / "logs"

    def service_timeouts(self) -> dict[str, float]:
        """The values a suite attaching to this ecosystem must know."""
        return {name: getattr(self, name) for name in
                ("stream_timeout", "metadata_timeout", "idle_timeout", "stream_token_ttl", "token_ttl")}

    def as_env(self) -> dict[str, str]:
        """The settings as SWARMSPEC_* variables, to hand down to child services."""
        return {env_name(f.name): str(getattr(self, f.name)) for f in fields(self)}


def env_name(field_name: str) -> str:
    return "SWARMSPEC_" + field_name.upper()


def _convert(name: str, type_name: object, raw: str) -> object:
    kind = str(type_name)
    try:
        if kind == "Path":
            return Path(raw).expanduser().resolve()
        if kind == "float":
            return float(raw)
        if kind == "int":
            return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{env_name(name)}={raw!r} is not a valid {kind}") from exc
    return raw


def describe() -> list[tuple[str, str, str]]:
    """(variable, default, meaning) rows for the README, read from the comments above."""
    import inspect
    import re

    source = inspect.getsource(Settings)
    docs = dict(re.findall(r"#: (.+)\n\s+(\w+):", source))
    docs = {name: text for text, name in docs.items()}
    defaults = Settings()
    rows = []
    for f in fields(Settings):
        default = getattr(defaults, f.name)
        if isinstance(default, Path):
            default = os.path.relpath(default, PROJECT_ROOT)
        rows.append((env_name(f.name), str(default), docs.get(f.name, "")))
    return rows
