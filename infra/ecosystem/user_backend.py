"""Your backend, started inside the ecosystem: a process (``-D backend_command=...``) or
a Docker image (``-D backend_image=...``), so a team's CI can judge the build it just made.

It becomes one more service of the run, named after the target file's ``service`` (so
``service = "miauflix"`` runs it as ``miauflix``, logs to ``reports/logs/miauflix.log``,
and that log is what a failed scenario attaches). It learns where the swarm is from its
environment (`SWARM_VARIABLES`), and an environment file (``-D backend_env=FILE``, dotenv
syntax) maps those onto whatever names the backend reads::

    PORT=${SWARMSPEC_LISTEN_PORT}
    STATIC_TRACKERS=${SWARMSPEC_ANNOUNCE_URL}

Only ``${SWARMSPEC_...}`` names of the swarm (and names the file defined above) expand;
a name that is neither is an error naming the file and the line, never an empty string.
Nothing else of the host's environment is read into the file, so a run is the same on
every machine.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping

from dotenv import dotenv_values

from infra.config import Settings
from infra.ecosystem import credentials
from infra.ecosystem.services import Layout, ServiceSpec
from infra.swarm.tracker import udp_twin

DEFAULT_NAME = "user_backend"
#: What the backend is told, with what it means (the README's table is this one).
SWARM_VARIABLES = {
    "SWARMSPEC_LISTEN_HOST": "the address to listen on (127.0.0.1; 0.0.0.0 in a container)",
    "SWARMSPEC_LISTEN_PORT": "the port to listen on (free, chosen by the ecosystem; 8080 in a container)",
    "SWARMSPEC_ANNOUNCE_URL": "the swarm tracker's announce URL (http://...:port/announce)",
    "SWARMSPEC_ANNOUNCE_URL_UDP": "the same tracker over UDP (udp://...:port/announce)",
    "SWARMSPEC_TRACKER_URL": "the tracker's base URL",
    "SWARMSPEC_SEEDER_URL": "the seeder's control API",
    "SWARMSPEC_RANGE_SERVER_URL": "the range server (plain HTTP copies of the videos)",
    "SWARMSPEC_CATALOG_URL": "the catalog service (YTS- and TMDB-shaped listings, the tracker list)",
    "SWARMSPEC_DATA_DIR": "an empty directory of this run for the backend's state, removed afterwards",
    "SWARMSPEC_RUN_ID": "the run's id",
    "SWARMSPEC_ADMIN_EMAIL": "the admin login the suite will use (create it, or accept it)",
    "SWARMSPEC_ADMIN_PASSWORD": "its password",
}
_REFERENCE = re.compile(r"\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_NAME = re.compile(r"[a-z][a-z0-9_]*")


class BackendConfigError(ValueError):
    """The options that describe the user's backend cannot be used as they are."""


def read_env_file(path: Path, swarm: Mapping[str, str]) -> dict[str, str]:
    """The file's variables with ``${NAME}`` expanded from `swarm` and the file's earlier lines."""
    if not path.is_file():
        raise BackendConfigError(f"backend_env: no such file {path}")
    raw = dotenv_values(path, interpolate=False)
    values: dict[str, str] = {}
    for key, value in raw.items():
        if value is None:
            raise BackendConfigError(f"{path}: {key} has no value (write {key}=... )")

        def expand(match: re.Match, key: str = key) -> str:
            name = match.group(1) if match.group(1) is not None else match.group(2)
            if name in values:
                return values[name]
            if name in swarm:
                return swarm[name]
            raise BackendConfigError(f"{path}: {key} uses ${{{name}}}, which is neither a swarm variable "
                                     f"({', '.join(sorted(swarm))}) nor defined above it")
        values[key] = _REFERENCE.sub(expand, value)
    return values


@dataclass(frozen=True)
class UserBackend:
    """How to start the user's backend: a command or an image, its environment file and health path."""

    name: str = DEFAULT_NAME
    command: tuple[str, ...] = ()
    image: str = ""
    env_file: Path | None = None
    health_path: str = "/health"
    run_dir: Path = Path(".run")
    admin_email: str = ""
    admin_password: str = ""

    @classmethod
    def from_settings(cls, settings: Settings, name: str = "") -> "UserBackend | None":
        """The backend the settings describe (SWARMSPEC_BACKEND_*), or None if they describe none."""
        if not settings.backend_command and not settings.backend_image:
            if settings.backend_env:
                raise BackendConfigError("backend_env is given without backend_command or backend_image")
            return None
        name = name or settings.backend_service or DEFAULT_NAME
        if not _NAME.fullmatch(name):
            raise BackendConfigError(f"backend service name {name!r}: lower-case letters, digits and _ only")
        try:
            command = tuple(shlex.split(settings.backend_command))
        except ValueError as exc:
            raise BackendConfigError(f"backend_command {settings.backend_command!r}: {exc}") from None
        health = settings.backend_health or "/health"
        if not health.startswith("/"):
            raise BackendConfigError(f"backend_health {health!r} must be a path starting with /")
        env_file = Path(settings.backend_env).expanduser().resolve() if settings.backend_env else None
        backend = cls(name, command, settings.backend_image, env_file, health, settings.run_dir,
                      settings.admin_email, settings.admin_password)
        if env_file is not None:
            backend.environment(_ProbeLayout(), Path("/nonexistent"))    # a bad file fails now, not at start
        return backend

    def named(self, name: str) -> "UserBackend":
        return replace(self, name=name)

    def swarm_variables(self, layout: Layout, data_dir: Path | str) -> dict[str, str]:
        """What the backend is told about the swarm, as seen from where it runs."""
        announce = layout.announce_url()
        url = getattr(layout, "url")
        login = self._login()
        return {
            "SWARMSPEC_LISTEN_HOST": layout.bind_host, "SWARMSPEC_LISTEN_PORT": str(layout.port(self.name)),
            "SWARMSPEC_ANNOUNCE_URL": announce, "SWARMSPEC_ANNOUNCE_URL_UDP": udp_twin(announce),
            "SWARMSPEC_TRACKER_URL": url("tracker"), "SWARMSPEC_SEEDER_URL": url("seeder"),
            "SWARMSPEC_RANGE_SERVER_URL": url("range_server"), "SWARMSPEC_CATALOG_URL": url("catalog_service"),
            "SWARMSPEC_DATA_DIR": str(data_dir), "SWARMSPEC_RUN_ID": layout.run_id,
            "SWARMSPEC_ADMIN_EMAIL": login.email, "SWARMSPEC_ADMIN_PASSWORD": login.password,
        }

    def _login(self) -> credentials.AdminLogin:
        if self.admin_email and self.admin_password:
            return credentials.AdminLogin(self.admin_email, self.admin_password)
        path = self.run_dir / "credentials.json"
        if path.exists():
            return credentials.load_or_create(path, self.admin_email)
        return credentials.AdminLogin("", "")     # only while checking the file, before prepare() ran

    def environment(self, layout: Layout, data_dir: Path | str) -> dict[str, str]:
        """The swarm variables, then the environment file's (which may override them)."""
        swarm = self.swarm_variables(layout, data_dir)
        return {**swarm, **(read_env_file(self.env_file, swarm) if self.env_file else {})}

    def spec(self) -> ServiceSpec:
        """The backend as a service of the ecosystem (optional: started only when asked for)."""
        return ServiceSpec(self.name, self.health_path, ("tracker", "seeder", "catalog_service"),
                           lambda layout: list(self.command), image="", optional=True, user=self)


class _ProbeLayout:
    """A stand-in layout, to check an environment file before the swarm has addresses."""

    python = node = opentracker = ""
    tracker_as_root = False
    bind_host = admin_ip = "127.0.0.1"
    run_id = "check"

    def port(self, service: str) -> int:
        return 1

    def path(self, what: str) -> str:
        return "/nonexistent"

    def url(self, service: str) -> str:
        return f"http://{service}.invalid:1"

    def announce_url(self) -> str:
        return "http://tracker.invalid:1/announce"
