"""Where things are in a Docker run: the network and container names, the addresses,
the ports and paths the services see inside their containers, and what is published on
the host.

One run = one private bridge network ``swarmspec-<runid>`` and one container per
service, ``swarmspec-<runid>-<service>``, reachable inside the network by the service's
name (network alias). The services bind 0.0.0.0 on fixed container ports (tracker 6969
tcp+udp, the others 8080), read the videos, torrents, catalog, whitelist and
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

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from infra.config import Settings
from infra.ecosystem import services as ecosystem
from infra.swarm import tracker

HOST_IP = "127.0.0.1"                     # published ports listen here only
CONTAINER_PORTS = {"tracker": 6969}
DEFAULT_CONTAINER_PORT = 8080
CONTAINER_PATHS = {
    "media": "/srv/swarmspec/media",
    "torrents": "/srv/swarmspec/torrents",
    "run": "/srv/swarmspec/run",
    "catalog": "/srv/swarmspec/run/catalog.json",
    "credentials": "/srv/swarmspec/run/credentials.json",
    # opentracker (as root) chroots to the whitelist's directory: keep it alone there
    "whitelist": "/srv/swarmspec/tracker/whitelist.txt",
    "backend-data": "/srv/swarmspec/backend-data",
}
#: What each service mounts (all read-only except WRITABLE).
MOUNTS = {
    "tracker": ("whitelist",),
    "seeder": ("catalog", "media", "torrents"),
    "range_server": ("catalog", "media"),
    "backend": ("credentials", "backend-data"),
}
WRITABLE = frozenset({"backend-data"})
#: Settings that are host paths or host-only (which optional services the provider
#: starts): not handed to containers.
HOST_ONLY_SETTINGS = ("SWARMSPEC_RUN_DIR", "SWARMSPEC_REPORTS_DIR", "SWARMSPEC_HOST", "SWARMSPEC_EXTRA_SERVICES")
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
    peer_hub: str = ""                  # peers are containers on the run's network: no hub

    def port(self, service: str) -> int:
        return container_port(service)

    def path(self, what: str) -> str:
        return CONTAINER_PATHS[what]

    def url(self, service: str) -> str:
        return f"http://{alias(service)}:{self.port(service)}"

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
    """The service's address in the run's subnet, the same after every reconnect."""
    index = [s.name for s in ecosystem.SERVICES].index(service)
    return str(subnet.network_address + FIRST_ADDRESS + index)


def container_user(service: str) -> str | None:
    """The host user, so files written to the bind mounts are ours; opentracker chroots: root."""
    return None if service == "tracker" else f"{os.getuid()}:{os.getgid()}"


def published_ports(spec: ecosystem.ServiceSpec) -> list[str]:
    """Container ports published on 127.0.0.1: each service's HTTP port (the tracker's for
    scrape). Not the tracker's UDP port, not the BitTorrent peer ports."""
    return [f"{container_port(spec.name)}/tcp"]


def port_bindings(spec: ecosystem.ServiceSpec, host_port: int) -> dict[str, tuple[str, int]]:
    return {published_ports(spec)[0]: (HOST_IP, host_port)}


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
    env = {k: v for k, v in settings.as_env().items() if k not in HOST_ONLY_SETTINGS}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def host_paths(settings: Settings, prepared, run_id: str) -> dict[str, Path]:
    return {
        "media": Path(prepared.media_dir), "torrents": Path(prepared.torrent_dir),
        "catalog": Path(prepared.catalog_file), "credentials": Path(prepared.credentials_file),
        "whitelist": Path(prepared.whitelist), "backend-data": backend_data_dir(settings, run_id),
    }


def backend_data_dir(settings: Settings, run_id: str) -> Path:
    return settings.run_dir / "docker" / f"backend-{run_id}"


def volumes(service: str, paths: dict[str, Path]) -> dict[str, dict]:
    return {str(paths[what].resolve()): {"bind": CONTAINER_PATHS[what], "mode": "rw" if what in WRITABLE else "ro"}
            for what in MOUNTS[service]}


def container_config(spec: ecosystem.ServiceSpec, layout: DockerLayout, settings: Settings,
                     paths: dict[str, Path], host_port: int) -> dict:
    """The arguments of `containers.create` for one service, but for the image, labels and
    network endpoint (the provider's)."""
    return dict(
        entrypoint=spec.command(layout),       # init=True: docker-init is PID 1, forwards SIGTERM
        command=[],
        name=layout.container_name(spec.name),
        user=container_user(spec.name),
        init=True,
        environment=container_env(settings),
        volumes=volumes(spec.name, paths),
        ports=port_bindings(spec, host_port),
        healthcheck=healthcheck(spec),
        stop_signal="SIGTERM",
        network=layout.network_name,
    )
