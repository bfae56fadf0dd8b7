"""Where things are in a Docker run: the network and container names, the addresses,
the ports and paths the services see inside their containers, and what is published on
the host.

One run = one private bridge network ``swarmspec-<runid>`` and one container per
service, ``swarmspec-<runid>-<service>``, reachable inside the network by the service's
name (network alias). The services bind 0.0.0.0 on fixed container ports (tracker 6969
tcp+udp, the others 8080; a third-party backend's streaming server 8081), read the videos, torrents, catalog, whitelist and
credentials from read-only bind mounts under /srv/swarmspec and keep the backend's
SQLite in a per-run host directory (read-write), so a restarted backend keeps its
sources. Only the HTTP ports the suite uses are published, on 127.0.0.1, on host ports
chosen by the provider and given explicitly, so they stay the same across restart and
reconnect. Each container also gets a fixed address in the run's subnet, so a service
that is disconnected and reconnected comes back at the same address: the peers'
libtorrent caches tracker DNS answers for 20 minutes and the tracker keeps the seeder's
old address.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from infra.config import Settings
from infra.ecosystem import services as ecosystem
from infra.swarm import tracker

HOST_IP = "127.0.0.1"                     # published ports listen here only
CONTAINER_PORTS = {"tracker": 6969}
DEFAULT_CONTAINER_PORT = 8080
STREAM_CONTAINER_PORT = 8081              # a backend's own streaming server (ServiceSpec.stream_ports "fixed")
CONTAINER_PATHS = {
    "media": "/srv/swarmspec/media",
    "torrents": "/srv/swarmspec/torrents",
    "run": "/srv/swarmspec/run",
    "catalog": "/srv/swarmspec/run/catalog.json",
    "credentials": "/srv/swarmspec/run/credentials.json",
    # opentracker (as root) chroots to the whitelist's directory: keep it alone there
    "whitelist": "/srv/swarmspec/tracker/whitelist.txt",
    "backend-data": "/srv/swarmspec/backend-data",
    "backends": "/app/infra/backends",    # in the image: the third-party backends and their node_modules
}
#: What each service mounts (all read-only except WRITABLE).
MOUNTS = {
    "tracker": ("whitelist",),
    "seeder": ("catalog", "media", "torrents"),
    "range_server": ("catalog", "media"),
    "backend": ("credentials", "backend-data"),
    "webtorrent": (),
    "webtorrent2": (),
    "peerflix": (),
    "catalog_service": ("catalog", "torrents"),
}
WRITABLE = frozenset({"backend-data"})
#: Settings that are host paths or host-only (which optional services the provider
#: starts): not handed to containers.
HOST_ONLY_SETTINGS = ("SWARMSPEC_RUN_DIR", "SWARMSPEC_REPORTS_DIR", "SWARMSPEC_HOST", "SWARMSPEC_EXTRA_SERVICES",
                      "SWARMSPEC_BACKEND_COMMAND", "SWARMSPEC_BACKEND_IMAGE", "SWARMSPEC_BACKEND_ENV",
                      "SWARMSPEC_BACKEND_HEALTH", "SWARMSPEC_BACKEND_SERVICE",
                      "SWARMSPEC_PIECE_SIZE", "SWARMSPEC_LARGE_VIDEO")   # the host makes the torrents
#: Settings that are secrets: never in a container's environment, where `docker inspect`
#: shows them to anyone who may talk to the engine. The backend reads the admin login
#: from a mounted file instead (`secret_credentials`).
SECRET_SETTINGS = ("SWARMSPEC_ADMIN_EMAIL", "SWARMSPEC_ADMIN_PASSWORD")
USER_DATA_PATH = "/srv/swarmspec/user-data"   # your backend's SWARMSPEC_DATA_DIR in its container
FIRST_ADDRESS = 10                        # services get subnet + 10, + 11, ... in SERVICES order

HEALTH_INTERVAL_S = 0.5
HEALTH_TIMEOUT_S = 2.0
HEALTH_RETRIES = 3


@dataclass(frozen=True)
class DockerLayout:
    """`ecosystem.Layout` as seen from inside the containers, and the run's names."""

    run_id: str
    python: str = "python"
    opentracker: str = "opentracker"
    node: str = "node"
    tracker_as_root: bool = True
    bind_host: str = "0.0.0.0"
    admin_ip: str = "127.0.0.1"        # the container's own health check reads /stats
    published: Mapping[str, int] = field(default_factory=dict)   # service -> host port of its stream port
    peer_hub: str = ""                  # peers are containers on the run's network: no hub

    def port(self, service: str) -> int:
        return container_port(service)

    def path(self, what: str) -> str:
        return CONTAINER_PATHS[what]

    def url(self, service: str) -> str:
        return f"http://{alias(service)}:{self.port(service)}"

    def stream_port(self, service: str) -> int:
        return STREAM_CONTAINER_PORT

    def public_url(self, service: str) -> str:
        """Stream URLs must name the port as published on the host, where the suite is."""
        port = self.published.get(service)
        return host_url(port) if port else ""

    def announce_url(self) -> str:
        return tracker.announce_url(self.url("tracker"))

    @property
    def network_name(self) -> str:
        return f"swarmspec-{self.run_id}"

    def container_name(self, service: str) -> str:
        return f"{self.network_name}-{service}"


def container_port(service: str) -> int:
    return CONTAINER_PORTS.get(service, DEFAULT_CONTAINER_PORT)


def alias(service: str) -> str:
    """The name other containers reach the service by."""
    return service


def fixed_address(subnet: ipaddress.IPv4Network, service: str) -> str:
    """The service's address in the run's subnet, the same after every reconnect (your
    backend, not one of ours, comes after all of ours)."""
    names = [s.name for s in ecosystem.SERVICES]
    index = names.index(service) if service in names else len(names)
    return str(subnet.network_address + FIRST_ADDRESS + index)


def container_user(service: str) -> str | None:
    """The host user, so files written to the bind mounts are ours; opentracker chroots: root."""
    return None if service == "tracker" else f"{os.getuid()}:{os.getgid()}"


def published_ports(spec: ecosystem.ServiceSpec) -> list[str]:
    """Container ports published on 127.0.0.1: each service's HTTP port (the tracker's for
    scrape), then a backend's streaming port. Not the tracker's UDP port, not the BitTorrent
    peer ports."""
    stream = [f"{STREAM_CONTAINER_PORT}/tcp"] if spec.stream_ports == "fixed" else []
    return [f"{container_port(spec.name)}/tcp", *stream]


def port_bindings(spec: ecosystem.ServiceSpec, host_port: int,
                  stream_host_port: int | None = None) -> dict[str, tuple[str, int]]:
    ports = published_ports(spec)
    if len(ports) > 1 and stream_host_port is None:
        raise ValueError(f"{spec.name} serves streams on a port of its own: it needs a host port for it")
    return dict(zip(ports, [(HOST_IP, host_port), (HOST_IP, stream_host_port)]))


def host_url(host_port: int) -> str:
    return f"http://{HOST_IP}:{host_port}"


def health_url(spec: ecosystem.ServiceSpec) -> str:
    return f"http://127.0.0.1:{container_port(spec.name)}{spec.health_path}"


def healthcheck_test(spec: ecosystem.ServiceSpec) -> list[str]:
    return ["CMD", "curl", "-fsS", "-o", "/dev/null", "--max-time", f"{HEALTH_TIMEOUT_S:g}", health_url(spec)]


def healthcheck(spec: ecosystem.ServiceSpec) -> dict:
    ns = 1_000_000_000
    return {"test": healthcheck_test(spec), "interval": int(HEALTH_INTERVAL_S * ns),
            "timeout": int((HEALTH_TIMEOUT_S + 1) * ns), "retries": HEALTH_RETRIES, "start_period": 0}


def container_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in settings.as_env().items() if k not in HOST_ONLY_SETTINGS + SECRET_SETTINGS}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def host_paths(settings: Settings, prepared, run_id: str) -> dict[str, Path]:
    return {
        "media": Path(prepared.media_dir), "torrents": Path(prepared.torrent_dir),
        "catalog": Path(prepared.catalog_file), "credentials": secret_credentials(settings, run_id),
        "whitelist": Path(prepared.whitelist), "backend-data": backend_data_dir(settings, run_id),
    }


def backend_data_dir(settings: Settings, run_id: str) -> Path:
    return settings.run_dir / "docker" / f"backend-{run_id}"


def secrets_dir(settings: Settings, run_id: str) -> Path:
    """The run's secret files (the admin login the backend mounts), readable by their owner only."""
    return settings.run_dir / "docker" / f"secrets-{run_id}"


def secret_credentials(settings: Settings, run_id: str) -> Path:
    """The admin login the backend's container mounts read-only: the provider writes the
    login in force (from the variables or the run dir's file) there, mode 0600, since the
    variables themselves are not passed (SECRET_SETTINGS)."""
    return secrets_dir(settings, run_id) / "credentials.json"


def volumes(service: str, paths: dict[str, Path]) -> dict[str, dict]:
    return {str(paths[what].resolve()): {"bind": CONTAINER_PATHS[what], "mode": "rw" if what in WRITABLE else "ro"}
            for what in MOUNTS[service]}


def linked_media_mounts(media_dir: Path) -> dict[str, dict]:
    """Read-only mounts, each at its own path, of the folders outside `media_dir` that its
    symlinks point into (the feature-length video lives in a cache outside the checkout and
    is linked into the media folder): mounted, not copied into an image, and the link
    resolves inside the container as on the host."""
    if not media_dir.is_dir():
        return {}
    inside = media_dir.resolve()
    targets = {child.resolve().parent for child in media_dir.iterdir() if child.is_symlink()}
    return {str(t): {"bind": str(t), "mode": "ro"} for t in sorted(targets) if not t.is_relative_to(inside)}


def user_data_dir(settings: Settings, run_id: str, service: str) -> Path:
    """Your backend's state on the host: inside the run's data directory, removed with it."""
    return backend_data_dir(settings, run_id) / f"user-{service}"


def user_container_config(spec: ecosystem.ServiceSpec, layout: DockerLayout, settings: Settings,
                          host_port: int) -> dict:
    """Your backend's container: the image's own entrypoint (your command as its arguments,
    if given), its own user and health check; the swarm variables and your environment
    file; an empty writable directory of the run at SWARMSPEC_DATA_DIR."""
    data = user_data_dir(settings, layout.run_id, spec.name)
    data.mkdir(parents=True, exist_ok=True)
    data.chmod(0o777)                      # the image's user is not ours
    config = dict(
        name=layout.container_name(spec.name), init=True,
        environment=spec.user.environment(layout, USER_DATA_PATH),
        volumes={str(data.resolve()): {"bind": USER_DATA_PATH, "mode": "rw"}},
        ports=port_bindings(spec, host_port), stop_signal="SIGTERM", network=layout.network_name,
    )
    if spec.user.command:
        config["command"] = list(spec.user.command)
    return config


def container_config(spec: ecosystem.ServiceSpec, layout: DockerLayout, settings: Settings,
                     paths: dict[str, Path], host_port: int, stream_host_port: int | None = None) -> dict:
    """The arguments of `containers.create` for one service, but for the image, labels and
    network endpoint (the provider's)."""
    if spec.user is not None:
        return user_container_config(spec, layout, settings, host_port)
    if stream_host_port is not None:
        layout = dataclasses.replace(layout, published={spec.name: stream_host_port})
    return dict(
        entrypoint=spec.command(layout),       # init=True: docker-init is PID 1, forwards SIGTERM
        command=[],
        name=layout.container_name(spec.name),
        user=container_user(spec.name),
        init=True,
        environment=container_env(settings),
        volumes={**volumes(spec.name, paths),
                 **(linked_media_mounts(paths["media"]) if "media" in MOUNTS[spec.name] else {})},
        ports=port_bindings(spec, host_port, stream_host_port),
        healthcheck=healthcheck(spec),
        stop_signal="SIGTERM",
        network=layout.network_name,
    )
