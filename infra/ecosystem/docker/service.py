"""The Docker provider: the same swarm (`infra.ecosystem.SERVICES`) as containers,
driven by the docker SDK.

One run = one private bridge network ``swarmspec-<runid>`` and one container per
service, ``swarmspec-<runid>-<service>``, reachable inside the network by the
service's name (network alias), labelled ``swarmspec.run`` / ``swarmspec.service``
/ ``swarmspec.owner`` (pid:start-time@host of the process that owns the run, so
leftovers of a killed run can be told from a live one: `cleanup_stale`).

Images: the runtime image comes from ``infra/ecosystem/docker/build-images.sh``; each
service role has a small image from ``infra/ecosystem/docker/Dockerfile.<role>``
built FROM it. The build context holds exactly the files the Dockerfile's COPY
lines name, and the tag is the content hash of Dockerfile + files + runtime
image, so a warm run builds nothing.

What the services see (`DockerLayout`): they bind 0.0.0.0 on fixed container
ports (tracker 6969 tcp+udp, the others 8080), read the videos, torrents,
catalog, whitelist and credentials from read-only bind mounts under
/srv/swarmspec and keep the backend's SQLite in a per-run host directory
(read-write), so a restarted backend keeps its sources. Only the HTTP ports the
suite uses are published, on 127.0.0.1, on host ports chosen here and given
explicitly, so they stay the same across restart and reconnect (checked after
every start/restart/reconnect). Each container also gets a fixed address in the
run's subnet (the network is created with the subnet Docker itself picks), so a
service that is disconnected and reconnected comes back at the same address:
the peers' libtorrent caches tracker DNS answers for 20 minutes and the tracker
keeps the seeder's old address.

Readiness = the container's own Docker HEALTHCHECK (curl of the service's
health_path every 0.5 s) passed after the action, the published port is the
one chosen, and the service answers through it.

    python -m infra.ecosystem.docker.provider build     # build the images, print their references
    python -m infra.ecosystem.docker.provider cleanup   # remove leftovers of runs whose owner died
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import ipaddress
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from infra import PROJECT_ROOT
from infra.ecosystem import ports
from infra.ecosystem import services as ecosystem
from infra.swarm import tracker
from infra.config import Settings
from infra.ecosystem.endpoints import Endpoints
from infra.ecosystem.health import http_ok
from infra.ecosystem.waits import NotReady, Wait, WaitTimeout

DOCKER_DIR = PROJECT_ROOT / "infra" / "ecosystem" / "docker"
ENSURE_ENGINE = DOCKER_DIR / "ensure-engine.sh"
BUILD_RUNTIME = DOCKER_DIR / "build-images.sh"
EXIT_NO_ENGINE = 3

LABEL_RUN = "swarmspec.run"
LABEL_SERVICE = "swarmspec.service"
LABEL_OWNER = "swarmspec.owner"          # "<pid>:<start time>@<host>" of the owning process
LABEL_CONTENT = "org.swarmspec.role.content-hash"
IMAGE_REPO = "swarmspec"

API_TIMEOUT_S = 30                        # every SDK call (docker stop adds its own timeout)
ENGINE_DEADLINE_S = 180                   # ensure-engine.sh (apt + dockerd start when cold)
RUNTIME_BUILD_DEADLINE_S = 1800           # build-images.sh (debootstrap + wheels when cold)
ROLE_BUILD_DEADLINE_S = 300               # one service-role image
PORT_ATTEMPTS = 4

# What the services see inside their containers.
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
#: Settings that are host paths or host-only: not handed to containers.
HOST_ONLY_SETTINGS = ("SWARMSPEC_RUN_DIR", "SWARMSPEC_REPORTS_DIR", "SWARMSPEC_HOST")

HEALTH_INTERVAL_S = 0.5
HEALTH_TIMEOUT_S = 2.0
HEALTH_RETRIES = 3


class DockerUnavailable(RuntimeError):
    """No Docker engine can be reached or started here; the message says how to get one."""


class ImageBuildFailed(RuntimeError):
    """An image could not be built; the message carries the build output's tail."""


class ServiceFailed(RuntimeError):
    """A container did not become healthy; the message names the service and carries its log tail."""


# --------------------------------------------------------------------------- the layout

@dataclass(frozen=True)
class DockerLayout:
    """`ecosystem.Layout` as seen from inside the containers."""

    run_id: str
    python: str = "python"
    opentracker: str = "opentracker"
    tracker_as_root: bool = True
    bind_host: str = "0.0.0.0"
    admin_ip: str = "127.0.0.1"        # the container's own health check reads /stats

    def port(self, service: str) -> int:
        return container_port(service)

    def path(self, what: str) -> str:
        return CONTAINER_PATHS[what]

    def url(self, service: str) -> str:
        return f"http://{alias(service)}:{self.port(service)}"

    def announce_url(self) -> str:
        return tracker.announce_url(self.url("tracker"))


def container_port(service: str) -> int:
    return CONTAINER_PORTS.get(service, DEFAULT_CONTAINER_PORT)


def alias(service: str) -> str:
    """The name other containers reach the service by."""
    return service


def image_repo(spec: ecosystem.ServiceSpec) -> str:
    return f"{IMAGE_REPO}/{spec.image}"


def dockerfile(spec_or_role) -> Path:
    role = getattr(spec_or_role, "image", spec_or_role)
    return DOCKER_DIR / f"Dockerfile.{role}"


def published_ports(spec: ecosystem.ServiceSpec) -> list[str]:
    """Container ports published on 127.0.0.1: each service's HTTP port (the tracker's for
    scrape). Not the tracker's UDP port, not the BitTorrent peer ports."""
    return [f"{container_port(spec.name)}/tcp"]


def health_url(spec: ecosystem.ServiceSpec) -> str:
    return f"http://127.0.0.1:{container_port(spec.name)}{spec.health_path}"


def healthcheck_test(spec: ecosystem.ServiceSpec) -> list[str]:
    return ["CMD", "curl", "-fsS", "-o", "/dev/null", "--max-time", f"{HEALTH_TIMEOUT_S:g}", health_url(spec)]


def healthcheck(spec: ecosystem.ServiceSpec) -> dict:
    ns = 1_000_000_000
    return {"test": healthcheck_test(spec), "interval": int(HEALTH_INTERVAL_S * ns),
            "timeout": int((HEALTH_TIMEOUT_S + 1) * ns), "retries": HEALTH_RETRIES, "start_period": 0}


def host_probe_path(spec: ecosystem.ServiceSpec) -> str:
    """What the host asks through the published port. opentracker answers /stats only to
    its admin address (127.0.0.1 inside the container); through the port it is reached
    from the bridge's gateway, so the host asks for a scrape instead."""
    return "/scrape" if spec.name == "tracker" else spec.health_path


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


def start_waves() -> list[list[ecosystem.ServiceSpec]]:
    """`ecosystem.start_order()` grouped: a wave starts once every earlier one is healthy."""
    level: dict[str, int] = {}
    waves: list[list[ecosystem.ServiceSpec]] = []
    for spec in ecosystem.start_order():
        level[spec.name] = 1 + max((level[d] for d in spec.depends_on), default=-1)
        while len(waves) <= level[spec.name]:
            waves.append([])
        waves[level[spec.name]].append(spec)
    return waves


# --------------------------------------------------------------------------- helpers

def _say(enabled: bool, message: str) -> None:
    if enabled:
        print(f"[docker] {message}", file=sys.stderr, flush=True)


def _sdk():
    try:
        import docker
    except ImportError as exc:  # pragma: no cover - docker is in requirements.txt
        raise DockerUnavailable("the docker SDK is not installed: pip install -r requirements.txt") from exc
    return docker


def connect(timeout: float = API_TIMEOUT_S):
    """A docker client with an explicit timeout, or DockerUnavailable."""
    docker = _sdk()
    try:
        client = docker.from_env(timeout=int(timeout))
        client.ping()
        return client
    except Exception as exc:  # DockerException, requests errors
        raise DockerUnavailable(f"no Docker engine answers ({type(exc).__name__}: {str(exc)[:200]}); "
                                f"start one with `sudo {ENSURE_ENGINE.relative_to(PROJECT_ROOT)}`, "
                                "or install Docker and join the docker group") from None


def ensure_engine(progress: bool = True) -> None:
    """Run ensure-engine.sh: exit 3 means no engine here and no way to start one."""
    try:
        proc = subprocess.run([str(ENSURE_ENGINE)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=ENGINE_DEADLINE_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise DockerUnavailable(f"{ENSURE_ENGINE.name} did not finish within {ENGINE_DEADLINE_S}s") from None
    if proc.returncode == EXIT_NO_ENGINE:
        raise DockerUnavailable("no Docker engine: " + (proc.stderr.strip()[-600:] or "ensure-engine.sh exited 3")
                                + f"\n  get one: run `sudo {ENSURE_ENGINE.relative_to(PROJECT_ROOT)}` (installs "
                                "Debian's docker.io and starts dockerd), or install Docker and add yourself to "
                                "the docker group; or use the local provider (-D ecosystem=local)")
    if proc.returncode != 0:
        raise DockerUnavailable(f"{ENSURE_ENGINE.name} failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    if progress and proc.stderr.strip():
        print(proc.stderr.rstrip(), file=sys.stderr, flush=True)


def _owner_token(pid: int | None = None) -> str:
    pid = pid or os.getpid()
    return f"{pid}:{_start_time(pid) or 0}@{socket.gethostname()}"


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]   # field 22: start time in clock ticks


def owner_alive(token: str) -> bool:
    """Is the process named by an owner label still the one that started the run?"""
    match = re.fullmatch(r"(\d+):(\d+)@(.*)", token or "")
    if not match:
        return False
    pid, started, host = int(match[1]), match[2], match[3]
    if host != socket.gethostname():
        return True           # another machine's run on a shared engine: not ours to judge
    now = _start_time(pid)
    if now is None:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return started == "0"
    return started in ("0", now)


def _timestamp(text: str) -> float:
    """Docker's RFC 3339 nanosecond timestamps as epoch seconds."""
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?", text or "")
    if not match:
        return 0.0
    base = datetime.strptime(match[1], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
    return base + float(match[2] or 0)


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Let a clean-up finish: SIGINT/SIGTERM that arrive meanwhile are re-raised after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[sig] = signal.signal(sig, lambda signum, frame: received.append(signum))
        except (ValueError, OSError):
            pass
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if received:
            raise KeyboardInterrupt(f"signal {received[0]} during clean-up")


# --------------------------------------------------------------------------- images

def copy_sources(dockerfile_path: Path, root: Path = PROJECT_ROOT) -> list[Path]:
    """The files the Dockerfile's COPY lines take from the build context (globs, dirs)."""
    files: set[Path] = set()
    for line in dockerfile_path.read_text().splitlines():
        words = line.split()
        if not words or words[0].upper() not in ("COPY", "ADD"):
            continue
        args = [w for w in words[1:] if not w.startswith("--")]
        if any(w.startswith("--from") for w in words[1:]):
            continue
        for source in args[:-1]:
            matches = sorted(root.glob(source.rstrip("/"))) if any(c in source for c in "*?[") else [root / source]
            for match in matches:
                if match.is_dir():
                    files.update(p for p in match.rglob("*")
                                 if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
                elif match.is_file():
                    files.add(match)
                else:
                    raise ImageBuildFailed(f"{dockerfile_path.name}: COPY source {source!r} not found under {root}")
    return sorted(files)


def role_context(role: str, root: Path = PROJECT_ROOT) -> tuple[bytes, str]:
    """(tar of the build context, content hash) for a role's image: the Dockerfile at its
    repository path and exactly the files it copies."""
    path = dockerfile(role)
    files = [path, *copy_sources(path, root)]
    digest = hashlib.sha256()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for file in files:
            rel = file.relative_to(root).as_posix()
            data = file.read_bytes()
            digest.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
            info = tarfile.TarInfo(rel)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue(), digest.hexdigest()


def build_runtime_image(progress: bool = True) -> str:
    """infra/ecosystem/docker/build-images.sh: prints the runtime image reference on stdout."""
    try:
        proc = subprocess.run([str(BUILD_RUNTIME)], stdout=subprocess.PIPE, stderr=None if progress else subprocess.PIPE,
                              text=True, timeout=RUNTIME_BUILD_DEADLINE_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise ImageBuildFailed(f"{BUILD_RUNTIME.name} did not finish within {RUNTIME_BUILD_DEADLINE_S}s") from None
    if proc.returncode == EXIT_NO_ENGINE:
        raise DockerUnavailable(f"{BUILD_RUNTIME.name}: no Docker engine ({(proc.stderr or '').strip()[-300:]})")
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise ImageBuildFailed(f"{BUILD_RUNTIME.name} failed (exit {proc.returncode}); "
                               f"log: .run/logs/build-images.log\n{(proc.stderr or '')[-2000:]}")
    return lines[-1].strip()


def build_role_image(client, role: str, runtime: str, progress: bool = True) -> str:
    """swarmspec/<role>:<content hash>, built unless it exists. Also tagged :latest (what
    docker-compose.yml names); superseded hash tags are removed."""
    docker = _sdk()
    runtime_id = client.images.get(runtime).id
    context, files_hash = role_context(role)
    tag = hashlib.sha256(f"{files_hash} {runtime_id}".encode()).hexdigest()[:12]
    repo = f"{IMAGE_REPO}/{role}"
    ref = f"{repo}:{tag}"
    try:
        client.images.get(ref)
    except docker.errors.ImageNotFound:
        started = time.monotonic()
        _say(progress, f"building {ref} from {runtime}")
        output: list[str] = []
        builder = docker.from_env(timeout=ROLE_BUILD_DEADLINE_S)   # one read may take long: a RUN step
        api = builder.api
        try:
            stream = api.build(fileobj=io.BytesIO(context), custom_context=True, dockerfile=dockerfile(role).relative_to(
                PROJECT_ROOT).as_posix(), tag=ref, buildargs={"RUNTIME_IMAGE": runtime}, rm=True, forcerm=True,
                pull=False, decode=True, labels={LABEL_CONTENT: tag, "org.swarmspec.runtime": runtime})
            for chunk in stream:
                if "stream" in chunk:
                    output.append(chunk["stream"])
                if "error" in chunk:
                    raise ImageBuildFailed(f"docker build of {ref} failed: {chunk['error']}\n{''.join(output)[-3000:]}")
                if time.monotonic() - started > ROLE_BUILD_DEADLINE_S:
                    raise ImageBuildFailed(f"docker build of {ref} exceeded {ROLE_BUILD_DEADLINE_S}s "
                                           f"(closing the connection cancels it)\n{''.join(output)[-3000:]}")
        finally:
            builder.close()
        client.images.get(ref)   # ImageNotFound here means the build said nothing but made nothing
        _say(progress, f"built {ref} in {time.monotonic() - started:.1f}s")
    client.images.get(ref).tag(repo, "latest")
    for image in client.images.list(name=repo):
        for old in image.tags:
            if old not in (ref, f"{repo}:latest"):
                with contextlib.suppress(docker.errors.APIError):
                    client.images.remove(old, noprune=False)
    return ref


def build_images(client, progress: bool = True) -> dict[str, str]:
    """The runtime image (build-images.sh), then one image per service role."""
    runtime = build_runtime_image(progress)
    roles = sorted({spec.image for spec in ecosystem.SERVICES})
    return {role: build_role_image(client, role, runtime, progress) for role in roles}


# --------------------------------------------------------------------------- services

class DockerService:
    """One service as a container; start/stop/restart plus fault injection
    (pause/unpause, disconnect/reconnect). Every start, restart, unpause and reconnect
    returns once the service is healthy again."""

    def __init__(self, provider: "DockerProvider", spec: ecosystem.ServiceSpec, container, host_port: int,
                 address: str) -> None:
        self.provider = provider
        self.spec = spec
        self.name = spec.name
        self.container = container
        self.host_port = host_port
        self.address = address            # fixed address in the run's network
        self.log_path = provider.settings.logs_dir / f"{spec.name}.log"
        self._listening_before: set[int] = set()
        self._was_cut_off = False         # since the last heal(): see heal()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.host_port}"

    @property
    def _stop_timeout(self) -> int:
        return max(1, int(round(self.provider.settings.stop_timeout)))

    # -- state --------------------------------------------------------------------------

    def _state(self) -> dict:
        self.container.reload()
        return self.container.attrs["State"]

    def is_running(self) -> bool:
        try:
            return bool(self._state().get("Running"))
        except Exception:   # the container is gone
            return False

    def is_paused(self) -> bool:
        return bool(self._state().get("Paused"))

    def is_connected(self) -> bool:
        self.container.reload()
        return self.provider.network_name in (self.container.attrs["NetworkSettings"].get("Networks") or {})

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        since = time.time()
        self.container.start()
        self.wait_ready(since, "start")

    def stop(self) -> None:
        if not self.is_running():
            return
        if self.is_paused():
            self.container.unpause()
        self.container.stop(timeout=self._stop_timeout)

    def kill(self) -> None:
        """Stop abruptly (SIGKILL), as a crash would."""
        if self.is_running():
            self.container.kill()

    def restart(self) -> None:
        since = time.time()
        if self.is_paused():
            self.container.unpause()
        self.container.restart(timeout=self._stop_timeout)
        self.wait_ready(since, "restart")

    # -- faults -------------------------------------------------------------------------

    def pause(self) -> None:
        """Freeze every process of the container (cgroup freezer): it keeps its address and
        open connections but answers nothing."""
        self.container.pause()
        if not self.is_paused():
            raise ServiceFailed(f"{self.name}: docker pause returned but the container is not paused")

    def unpause(self) -> None:
        if not self.is_paused():
            return
        since = time.time()
        self.container.unpause()
        self.wait_ready(since, "unpause")

    def disconnect(self) -> None:
        """Cut the container off the run's network (and so off its published port): Docker
        removes its network interface."""
        if not self.is_connected():
            return
        self._listening_before = self.listening_ports()
        self._was_cut_off = True
        self.provider.network.disconnect(self.container)
        if self.is_connected():
            raise ServiceFailed(f"{self.name}: still on {self.provider.network_name} after docker network disconnect")

    def reconnect(self, atomic: bool = True) -> None:
        """Back on the run's network with its alias and its address of before; returns once
        it is healthy and listens on that address as it did before the disconnect.

        atomic: attach while the container is frozen, so its processes see the interface
        appear fully configured (address and link up), as when a cable is plugged back
        into a configured NIC. Docker's attach gives the interface its address before its
        link is up; libtorrent 2.1.1 (seeder, backend) re-enumerates interfaces on the
        address event and so, measured here, missed the returning interface in about half
        of the attempts: it never listened (nor announced) on the network again.
        atomic=False attaches as Docker does, to reproduce that."""
        if self.is_connected():
            return
        if self.is_paused():   # frozen by a pause(): attached now, healthy once unpause()d
            self._attach()
            return
        since = time.time()
        if atomic:
            self.container.pause()
        try:
            self._attach()
        finally:
            if atomic:
                self.container.unpause()
        self.wait_ready(since, "reconnect")
        before = self._listening_before
        try:
            Wait(service=self.name, what=f"its processes to listen on {self.address} again (before the disconnect: "
                                         f"{len(before)} TCP socket(s), ports {sorted(before)})",
                 probe=lambda: self._listens_again(len(before)), timeout=self.provider.settings.start_timeout,
                 interval=0.05, bail_out=self._exit_reason, log_tail=self.log_tail,
                 hint="a service that binds each interface (libtorrent) must notice the interface coming back").run()
        except WaitTimeout as exc:
            self.save_log()
            raise ServiceFailed(str(exc)) from None
        # NB libtorrent reopens its listen socket on a fresh ephemeral port: the tracker
        # lists the old one until the service announces again (see peer_endpoints).

    def _attach(self) -> None:
        self.provider.network.connect(self.container, aliases=[alias(self.name)], ipv4_address=self.address)

    def peer_endpoints(self) -> set[tuple[str, int]]:
        """(address, port) where the service listens on the run's network: for the seeder,
        what the tracker must hand out for peers to reach it."""
        return {(self.address, port) for port in self.listening_ports()}

    def _listens_again(self, count: int) -> set[int]:
        now = self.listening_ports()
        if len(now) < count:
            raise NotReady(f"{len(now)} TCP socket(s) listen on {self.address}")
        return now

    def listening_ports(self) -> set[int]:
        """TCP ports the container's processes listen on at its network address (not the
        wildcard sockets, not loopback), from the kernel's table of its network namespace."""
        self.container.reload()
        pid = self.container.attrs["State"].get("Pid") or 0
        try:
            table = Path(f"/proc/{pid}/net/tcp").read_text() if pid else ""
        except OSError:   # not allowed to read it from here: ask inside the container
            table = self.container.exec_run(["cat", "/proc/net/tcp"]).output.decode(errors="replace")
        want = "%08X" % int.from_bytes(ipaddress.ip_address(self.address).packed, "little")
        ports = set()
        for row in table.splitlines()[1:]:
            fields = row.split()
            if len(fields) > 3 and fields[3] == "0A":   # LISTEN
                address, port = fields[1].split(":")
                if address == want:
                    ports.add(int(port, 16))
        return ports

    def heal(self) -> None:
        """Undo whatever fault is in place: started, thawed and connected, and healthy.

        A service that was cut off the network is restarted as well: a libtorrent that saw
        its interface go and come back kept serving the peers it knew, but in one CI run
        new peers could not connect to it seconds later, which broke the next feature.
        The fault scenarios check the reconnect itself; later scenarios get fresh sockets."""
        if not self.is_running():
            if not self.is_connected():
                self._attach()
            self.start()
            self._was_cut_off = False
            return
        self.unpause()
        self.reconnect()
        if self._was_cut_off:
            self.restart()
            self._was_cut_off = False

    # -- readiness ----------------------------------------------------------------------

    def wait_ready(self, since: float, after: str) -> None:
        """Healthy by a health check that started after `since`, published on the same host
        port, and answering through it; on failure the log is saved and ServiceFailed names
        the service, what was awaited and the log tail."""
        timeout = self.provider.settings.start_timeout
        try:
            Wait(service=self.name, what=f"its Docker health check (GET {self.spec.health_path} inside the "
                                         f"container) to pass after {after}",
                 probe=lambda: self._healthy_since(since), timeout=timeout, interval=0.1,
                 bail_out=self._exit_reason, log_tail=self.log_tail,
                 hint=f"container {self.container.name}; full log: {self.log_path}").run()
            published = self.published_port()
            if published != self.host_port:
                raise ServiceFailed(f"{self.name}: after {after} the published port is {published}, not "
                                    f"{self.host_port}: the endpoints the suite holds would be stale")
            Wait(service=self.name, what=f"GET {self.url}{host_probe_path(self.spec)} (published port) to answer",
                 probe=http_ok(self.url + host_probe_path(self.spec)), timeout=timeout, interval=0.1,
                 bail_out=self._exit_reason, log_tail=self.log_tail).run()
        except WaitTimeout as exc:
            self.save_log()
            raise ServiceFailed(str(exc)) from None

    def _healthy_since(self, since: float) -> str:
        state = self._state()
        health = state.get("Health") or {}
        status = health.get("Status", "none")
        log = health.get("Log") or []
        last = log[-1] if log else {}
        if state.get("Paused"):
            raise NotReady("the container is paused")
        if status != "healthy":
            output = (last.get("Output") or "").strip()[-200:]
            raise NotReady(f"health {status}; last check exit {last.get('ExitCode', '-')}"
                           + (f": {output}" if output else ""))
        if _timestamp(last.get("Start", "")) < since:
            raise NotReady("healthy, but no check has run since the " + "action yet")
        return status

    def _exit_reason(self) -> str | None:
        try:
            state = self._state()
        except Exception as exc:
            return f"the container is gone ({type(exc).__name__})"
        if state.get("Status") in ("exited", "dead"):
            why = f"the container exited with status {state.get('ExitCode')}"
            if state.get("OOMKilled"):
                why += " (OOM killed)"
            if state.get("Error"):
                why += f": {state['Error']}"
            return why
        return None

    def published_port(self) -> int | None:
        self.container.reload()
        bindings = (self.container.attrs["NetworkSettings"].get("Ports") or {}).get(published_ports(self.spec)[0])
        return int(bindings[0]["HostPort"]) if bindings else None

    # -- logs ---------------------------------------------------------------------------

    def log_tail(self, lines: int = 40) -> str:
        try:
            return self.container.logs(tail=lines).decode(errors="replace")
        except Exception:   # the container is gone: what was saved at down()
            from infra.ecosystem.local import tail

            return tail(self.log_path, lines)

    def save_log(self) -> None:
        try:
            data = self.container.logs()
        except Exception:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        header = f"--- container {self.container.name} ({self.provider.images.get(self.spec.image, '?')})\n"
        self.log_path.write_bytes(header.encode() + data)


# --------------------------------------------------------------------------- the provider

class DockerProvider:
    name = "docker"

    def __init__(self, settings: Settings | None = None, progress: bool = True) -> None:
        self.settings = settings or Settings.from_env()
        self.progress = progress
        self.run_id = uuid.uuid4().hex[:8]
        self.network_name = f"swarmspec-{self.run_id}"
        self.labels = {LABEL_RUN: self.run_id, LABEL_OWNER: _owner_token()}
        self.client = None
        self.network = None
        self.services: dict[str, DockerService] = {}
        self.images: dict[str, str] = {}
        self.endpoints: Endpoints | None = None
        self.timings: dict[str, float] = {}

    # -- up -----------------------------------------------------------------------------

    def up(self) -> Endpoints:
        """Engine, images, prepared files, network, then the containers wave by wave, each
        wave healthy before the next. On any failure (Ctrl-C included) everything of the
        run is removed before the error propagates."""
        started = time.monotonic()
        ensure_engine(self.progress)
        self.client = connect()
        self.cleanup_stale(self.settings, self.client, self.progress)
        mark = time.monotonic()
        self.images = build_images(self.client, self.progress)
        self.timings["images_s"] = time.monotonic() - mark
        from infra.ecosystem.prepare import prepare

        mark = time.monotonic()
        prepared = prepare(self.settings, progress=self.progress)
        self.timings["prepare_s"] = time.monotonic() - mark
        layout = DockerLayout(self.run_id)
        try:
            mark = time.monotonic()
            # A Ctrl-C in the middle of a create would leave the engine to finish it after
            # our clean-up looked: creations are not interrupted, the signal is raised after.
            with _signals_deferred():
                self._create_network()
            paths = host_paths(self.settings, prepared, self.run_id)
            paths["backend-data"].mkdir(parents=True, exist_ok=True)
            for wave in start_waves():
                for spec in wave:
                    with _signals_deferred():
                        self._start_container(spec, layout, paths)
                for spec in wave:
                    self.services[spec.name].wait_ready(0.0, "start")
            self.timings["containers_s"] = time.monotonic() - mark
        except BaseException:
            for service in self.services.values():
                service.save_log()
            self.down()
            raise
        self.timings["up_s"] = time.monotonic() - started
        _say(self.progress, f"ecosystem {self.run_id} up in {self.timings['up_s']:.1f}s "
                            f"(images {self.timings['images_s']:.1f}s, prepare {self.timings['prepare_s']:.1f}s, "
                            f"containers {self.timings['containers_s']:.1f}s)")
        url = lambda name: self.services[name].url  # noqa: E731
        self.endpoints = Endpoints(
            provider=self.name, run_id=self.run_id,
            backend=url("backend"), seeder=url("seeder"), tracker=url("tracker"),
            tracker_announce=layout.announce_url(), range_server=url("range_server"),
            credentials_file=str(prepared.credentials_file), catalog_file=str(prepared.catalog_file),
            logs_dir=str(self.settings.logs_dir), pid=os.getpid(),
            services={name: {"url": s.url, "container": s.container.name, "image": self.images[s.spec.image],
                             "address": s.address, "log": str(s.log_path)} for name, s in self.services.items()},
            settings=self.settings.service_timeouts(),
        )
        return self.endpoints

    def _create_network(self) -> None:
        """A bridge network with an explicit subnet (the one Docker picks for a probe
        network), so containers can keep fixed addresses across disconnect/reconnect."""
        docker = _sdk()
        probe = self.client.networks.create(f"{self.network_name}-probe", driver="bridge",
                                            labels={**self.labels, "swarmspec.probe": "1"})
        try:
            probe.reload()
            config = probe.attrs["IPAM"]["Config"][0]
        finally:
            probe.remove()
        ipam = docker.types.IPAMConfig(pool_configs=[
            docker.types.IPAMPool(subnet=config["Subnet"], gateway=config.get("Gateway"))])
        self.network = self.client.networks.create(self.network_name, driver="bridge", ipam=ipam,
                                                   labels=dict(self.labels))
        self.subnet = ipaddress.ip_network(config["Subnet"])

    def _address(self, index: int) -> str:
        return str(self.subnet.network_address + 10 + index)

    def _start_container(self, spec: ecosystem.ServiceSpec, layout: DockerLayout, paths: dict[str, Path]) -> None:
        docker = _sdk()
        name = f"swarmspec-{self.run_id}-{spec.name}"
        address = self._address([s.name for s in ecosystem.SERVICES].index(spec.name))
        user = None if spec.name == "tracker" else f"{os.getuid()}:{os.getgid()}"  # opentracker chroots: root
        for attempt in range(PORT_ATTEMPTS):
            host_port = ports.free_port("127.0.0.1")
            container = self.client.containers.create(
                self.images[spec.image],
                entrypoint=spec.command(layout),       # init=True: docker-init is PID 1, forwards SIGTERM
                command=[],
                name=name, user=user,
                labels={**self.labels, LABEL_SERVICE: spec.name},
                init=True,
                environment=container_env(self.settings),
                volumes=volumes(spec.name, paths),
                ports={published_ports(spec)[0]: ("127.0.0.1", host_port)},
                healthcheck=healthcheck(spec),
                stop_signal="SIGTERM",
                network=self.network_name,
                networking_config={self.network_name: self.client.api.create_endpoint_config(
                    aliases=[alias(spec.name)], ipv4_address=address)},
            )
            service = DockerService(self, spec, container, host_port, address)
            self.services[spec.name] = service
            try:
                container.start()
                return
            except docker.errors.APIError as exc:
                lost_race = "address already in use" in str(exc) or "port is already allocated" in str(exc)
                container.remove(force=True)
                del self.services[spec.name]
                if not lost_race or attempt == PORT_ATTEMPTS - 1:
                    raise ServiceFailed(f"{spec.name}: docker could not start {name}: {exc}") from None

    def service(self, name: str) -> DockerService:
        return self.services[name]

    # -- down ---------------------------------------------------------------------------

    def down(self) -> None:
        """Remove every container and the network of this run (logs saved first), then
        anything else labelled with this run. Idempotent."""
        if self.client is None:
            return
        docker = _sdk()
        with _signals_deferred():
            for service in reversed(list(self.services.values())):
                with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                    service.stop()
                service.save_log()
                with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                    service.container.remove(force=True)
            self.services.clear()
            remove_run(self.client, self.run_id)
            self.network = None
            shutil.rmtree(backend_data_dir(self.settings, self.run_id), ignore_errors=True)

    # -- leftovers ----------------------------------------------------------------------

    @classmethod
    def cleanup_stale(cls, settings: Settings | None = None, client=None, progress: bool = True) -> list[str]:
        """Remove containers and networks of runs whose owner process is gone (a killed
        run). Returns the run ids removed."""
        settings = settings or Settings.from_env()
        own_client = client is None
        client = client or connect()
        try:
            owners: dict[str, str] = {}
            for obj in [*client.containers.list(all=True, filters={"label": LABEL_RUN}, ignore_removed=True),
                        *client.networks.list(filters={"label": LABEL_RUN})]:
                labels = obj.attrs.get("Labels") or obj.attrs.get("Config", {}).get("Labels") or {}
                owners.setdefault(labels.get(LABEL_RUN, ""), labels.get(LABEL_OWNER, ""))
            stale = sorted(run for run, owner in owners.items() if run and not owner_alive(owner))
            for run in stale:
                remove_run(client, run)
                shutil.rmtree(backend_data_dir(settings, run), ignore_errors=True)
                _say(progress, f"removed the leftovers of run {run} (owner {owners[run] or '?'} is gone)")
            return stale
        finally:
            if own_client:
                client.close()


def remove_run(client, run_id: str) -> None:
    """Force-remove every container, then every network, labelled with this run."""
    docker = _sdk()
    selector = {"label": f"{LABEL_RUN}={run_id}"}
    for container in client.containers.list(all=True, filters=selector, ignore_removed=True):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            container.remove(force=True)
    for network in client.networks.list(filters=selector):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            network.remove()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m infra.ecosystem.docker.provider", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["build", "cleanup"])
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            ensure_engine()
            client = connect()
            started = time.monotonic()
            refs = build_images(client)
            for role, ref in refs.items():
                size = client.images.get(ref).attrs["Size"] / 1e6
                print(f"{role}\t{ref}\t{size:.0f} MB")
            _say(True, f"images ready in {time.monotonic() - started:.1f}s")
            client.close()
        else:
            removed = DockerProvider.cleanup_stale()
            _say(True, f"removed leftovers of {len(removed)} run(s)" if removed else "no leftovers")
    except DockerUnavailable as exc:
        print(f"SKIPPED: {exc}", file=sys.stderr)
        return EXIT_NO_ENGINE
    except ImageBuildFailed as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
