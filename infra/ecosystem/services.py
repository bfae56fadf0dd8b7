"""The one description of the swarm: its services, how each is started, how its health
is checked and what it depends on. Providers (local processes, Docker containers) turn
this description into running services; they differ only in the `Layout` they supply
(paths, hosts, ports as seen by the services)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Protocol


class Layout(Protocol):
    """Where things are, as seen by the services of one provider."""

    python: str
    node: str
    opentracker: str
    tracker_as_root: bool
    bind_host: str
    admin_ip: str
    run_id: str
    peer_hub: str                                  # another address the tracker listens on ("" if none): see netns

    def port(self, service: str) -> int: ...
    def path(self, what: str) -> str: ...          # catalog, media, torrents, whitelist, run, backend-data, credentials, backends
    def announce_url(self) -> str: ...             # the tracker's announce URL, from inside the swarm
    def stream_port(self, service: str) -> int: ...   # a streaming port of its own (0: any free one)
    def public_url(self, service: str) -> str: ...    # what its stream URLs must name ("": its own address)


class UserService(Protocol):
    """What the providers ask of the user's backend (`infra.ecosystem.user_backend.UserBackend`,
    which builds its ServiceSpec from this module: named here by what it does, so this module
    does not import it back)."""

    image: str
    command: tuple[str, ...]

    def environment(self, layout: Layout, data_dir: Path | str) -> dict[str, str]: ...


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    health_path: str                                # HTTP path that answers 200 when ready
    depends_on: tuple[str, ...]
    command: Callable[[Layout], list[str]]
    image: str                                      # Docker image role (infra/ecosystem/docker/Dockerfile.<image>)
    udp: bool = False                               # also needs the UDP port (tracker)
    outside_health_path: str = ""                   # what the suite's host asks instead, if it must differ
    optional: bool = False                          # started only when asked for (a third-party backend)
    # Where it serves streams besides its URL: "" nowhere, "fixed" one more port for every
    # torrent, "per-torrent" a port per torrent chosen at random (none can be published ahead).
    stream_ports: str = ""
    user: UserService | None = None                 # the user's backend (-D backend_command/backend_image)

    @property
    def host_health_path(self) -> str:
        """The health path as asked from the suite's host, through the service's URL."""
        return self.outside_health_path or self.health_path


def _python_service(name: str, module: str, *args: Callable[[Layout], list[str]]) -> Callable[[Layout], list[str]]:
    def command(layout: Layout) -> list[str]:
        argv = [layout.python, "-m", module, "--host", layout.bind_host, "--port", str(layout.port(name)),
                "--run-id", layout.run_id]
        for part in args:
            argv += part(layout)
        return argv
    return command


def _tracker_command(layout: Layout) -> list[str]:
    port = layout.port("tracker")
    whitelist = PurePosixPath(layout.path("whitelist"))
    if layout.tracker_as_root:
        # As root, opentracker chroots to -d, then drops to "nobody" and reads the whitelist
        # inside the chroot: name it from there, so no directory above it must be public.
        where = ["-d", str(whitelist.parent), "-w", "/" + whitelist.name]
    else:
        where = ["-d", "/", "-w", str(whitelist)]
    hub = ["-i", layout.peer_hub, "-p", str(port), "-P", str(port)] if layout.peer_hub else []
    return [layout.opentracker, "-i", layout.bind_host, "-p", str(port), "-P", str(port), *hub,
            "-A", layout.admin_ip, *where]


SERVICES: tuple[ServiceSpec, ...] = (
    # opentracker answers /stats only to its -A address, which a container's host is not: a scrape instead
    ServiceSpec("tracker", "/stats?mode=everything", (), _tracker_command, "tracker", udp=True,
                outside_health_path="/scrape"),
    ServiceSpec("seeder", "/health", ("tracker",), _python_service(
        "seeder", "infra.swarm.seeder",
        lambda l: ["--catalog", l.path("catalog"), "--media-dir", l.path("media"),
                   "--torrent-dir", l.path("torrents"), "--tracker", l.announce_url()],
    ), "seeder"),
    ServiceSpec("range_server", "/health", (), _python_service(
        "range_server", "infra.swarm.range_server",
        lambda l: ["--media-dir", l.path("media"), "--catalog", l.path("catalog")],
    ), "range_server"),
    ServiceSpec("backend", "/health", ("tracker",), _python_service(
        "backend", "infra.backends.reference",
        lambda l: ["--data-dir", l.path("backend-data"), "--credentials-file", l.path("credentials"),
                   "--tracker", l.announce_url()],
    ), "backend"),
    # the swarm's videos as YTS/TMDB-shaped listings, for backends that find torrents through catalogs
    ServiceSpec("catalog_service", "/health", ("tracker",), _python_service(
        "catalog_service", "infra.swarm.catalog_service",
        lambda l: ["--catalog", l.path("catalog"), "--torrent-dir", l.path("torrents"), "--tracker", l.announce_url()],
    ), "catalog_service"),
)


def _node_backend(name: str) -> Callable[[Layout], list[str]]:
    """A bundled third-party backend (infra/backends/<name>/server.js): its control API on
    the service's port, its streaming server on the layout's stream port (peerflix opens one
    per torrent anyway); the stream URLs it returns name that port, or the layout's public
    URL for it (a container's port as published on the host)."""
    def command(layout: Layout) -> list[str]:
        public = layout.public_url(name)
        return [layout.node, f"{layout.path('backends')}/{name}/server.js", "--host", layout.bind_host,
                "--port", str(layout.port(name)), "--stream-port", str(layout.stream_port(name)),
                "--tracker", layout.announce_url(), "--run-id", layout.run_id,
                *(["--public-url", public] if public else [])]
    return command


SERVICES += (
    ServiceSpec("webtorrent", "/health", ("tracker",), _node_backend("webtorrent"), "webtorrent", optional=True,
                stream_ports="fixed"),
    # WebTorrent 2.8, the engine Miauflix streams with: the same wrapper over another node_modules
    ServiceSpec("webtorrent2", "/health", ("tracker",), _node_backend("webtorrent2"), "webtorrent2", optional=True,
                stream_ports="fixed"),
    ServiceSpec("peerflix", "/health", ("tracker",), _node_backend("peerflix"), "peerflix", optional=True,
                stream_ports="per-torrent"),
)


def spec(name: str) -> ServiceSpec:
    for service in SERVICES:
        if service.name == name:
            return service
    raise KeyError(f"no service {name!r}; services: {', '.join(s.name for s in SERVICES)}")


def start_order(extras: tuple[str, ...] = (), added: tuple[ServiceSpec, ...] = ()) -> list[ServiceSpec]:
    """The services to run — every service that is not optional, the optional ones
    named in `extras` and the `added` ones (the user's backend) — sorted so that each
    comes after what it depends on."""
    unknown = set(extras) - {s.name for s in SERVICES if s.optional}
    if unknown:
        raise KeyError(f"no optional service {sorted(unknown)}; optional services: "
                       f"{', '.join(s.name for s in SERVICES if s.optional)}")
    clash = {s.name for s in added} & {s.name for s in SERVICES}
    if clash:
        raise KeyError(f"your backend cannot be called {sorted(clash)[0]!r}: the ecosystem has a service of that name")
    done: list[ServiceSpec] = []
    pending = [s for s in SERVICES if not s.optional or s.name in extras] + list(added)
    while pending:
        ready = [s for s in pending if all(d in {x.name for x in done} for d in s.depends_on)]
        if not ready:
            raise ValueError(f"dependency cycle among {[s.name for s in pending]}")
        done += ready
        pending = [s for s in pending if s not in ready]
    return done


def local_python() -> str:
    return sys.executable or os.environ.get("PYTHON", "python3")
