"""The local provider: every service is a subprocess on 127.0.0.1 on a free port.

Nothing outlives the run, however it ends. Each process gets its own process group (so
a stop reaches its children) and PR_SET_PDEATHSIG (SIGTERM when the provider's process
dies, even by SIGKILL). The kernel clears that signal when a process changes its user,
which opentracker does when started as root (it chroots and becomes nobody): so as root
the provider starts it as nobody itself, before the signal is set, and opentracker,
seeing no root, neither chroots nor switches. Last, the run's watchdog
(`infra.ecosystem.watchdog`) stops every process group and removes the run's
directories if the provider dies without its own clean-up.

Logs go to reports/logs/<service>.log; a service that fails to become healthy is
reported by name with what was awaited and the tail of its log.

Of the faults of `infra.ecosystem.contract` it declares kill and restart: a process can
be killed and started again on its port. It does not pause or disconnect a service (all
of them share the host's loopback); scenarios that need those are skipped under it.
It starts extra peers on request (`infra.ecosystem.local_peers`), in network namespaces
of the run's own when it runs as root, which is what network conditions need.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import shutil
import signal
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from infra.config import Settings
from infra.ecosystem import clock, ports
from infra.ecosystem import services as ecosystem
from infra.ecosystem.contract import Capability, DeclaredFaults, Fault
from infra.ecosystem.endpoints import Endpoints
from infra.ecosystem.health import http_ok, tracker_accepts
from infra.ecosystem.logs import tail
from infra.ecosystem.prepare import Prepared, prepare
from infra.ecosystem.user_backend import BackendConfigError, UserBackend
from infra.ecosystem.waits import Wait, WaitTimeout
from infra.ecosystem.watchdog import Watchdog, WatchedRun
from infra.swarm import tracker

PR_SET_PDEATHSIG = 1
BIND_FAILED = 98  # our services' exit status when the port is taken (see infra.swarm.service.run)
PORT_ATTEMPTS = 4
#: Services that would change their user if started as root (which clears PDEATHSIG):
#: as root, the provider starts them as this user instead.
UNPRIVILEGED = {"tracker": "nobody"}


class ServiceFailed(RuntimeError):
    """A service did not start; the message names it and carries its log tail."""


def _die_with_parent() -> None:  # runs in the child between fork and exec, after any change of user
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def run_as(service: str) -> pwd.struct_passwd | None:
    """The user to start `service` as: None (ours) unless we are root and it would switch itself."""
    name = UNPRIVILEGED.get(service)
    return pwd.getpwnam(name) if name and os.geteuid() == 0 else None


def unreachable_by_others(path: Path) -> Path | None:
    """The first directory on the way to `path` that other users cannot search (or the
    file itself if they cannot read it); None if they can reach it."""
    path = path.resolve()
    for parent in reversed(path.parents):
        if not parent.stat().st_mode & 0o001:
            return parent
    return None if path.stat().st_mode & 0o004 else path


@dataclass
class LocalLayout:
    prepared: Prepared
    settings: Settings
    run_id: str
    ports: dict[str, int] = field(default_factory=dict)
    python: str = field(default_factory=ecosystem.local_python)
    opentracker: str = field(default_factory=tracker.opentracker_binary)
    node: str = field(default_factory=lambda: shutil.which("node") or "node")
    tracker_as_root: bool = False     # as root the tracker is started as nobody (see run_as)
    peer_hub: str = ""              # set when the run has network namespaces for peers (infra.ecosystem.netns)

    @property
    def bind_host(self) -> str:
        return self.settings.host

    @property
    def admin_ip(self) -> str:
        return self.settings.host

    @property
    def run_state_dir(self) -> Path:
        """State of this run only (the backend's SQLite and downloads), so two runs on one
        machine never share a database; removed by down()."""
        return self.prepared.run_dir / "runs" / self.run_id

    def port(self, service: str) -> int:
        return self.ports[service]

    def path(self, what: str) -> str:
        p = self.prepared
        paths = {
            "catalog": p.catalog_file, "media": p.media_dir, "torrents": p.torrent_dir,
            "whitelist": p.whitelist, "run": p.run_dir, "credentials": p.credentials_file,
            "backend-data": self.run_state_dir / "backend",
            # the Node backends with their node_modules: here in a checkout, a user cache
            # for the installed `swarmspec` command (infra/cli/home.py)
            "backends": os.environ.get("SWARMSPEC_BACKENDS_DIR") or Path(__file__).resolve().parents[1] / "backends",
        }
        return str(Path(paths[what]).resolve())

    def url(self, service: str) -> str:
        return f"http://{self.bind_host}:{self.ports[service]}"

    def stream_port(self, service: str) -> int:
        return 0                          # any free port: the suite reaches it where it listens

    def public_url(self, service: str) -> str:
        return ""

    def announce_url(self) -> str:
        return tracker.announce_url(self.url("tracker"))


class LocalService:
    """One service as a subprocess: a `contract.Service` that can also be killed."""

    def __init__(self, spec: ecosystem.ServiceSpec, layout: LocalLayout, log_path: Path, env: dict[str, str],
                 watchdog: Watchdog | None = None) -> None:
        self.spec = spec
        self.name = spec.name
        self.layout = layout
        self.log_path = log_path
        self.env = env
        self.watchdog = watchdog
        self.cwd = layout.prepared.run_dir
        self.host = layout.bind_host          # a peer in a namespace of its own listens on its address there
        self.process: subprocess.Popen | None = None
        if spec.user is not None:
            # the user's backend keeps its state in a directory of this run and starts there
            self.cwd = layout.run_state_dir / spec.name
            self.cwd.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.layout.ports[self.name]}"

    def start(self) -> None:
        """Start on the current port (a restart keeps it: magnets embed the tracker's URL)."""
        port = self.layout.ports[self.name]
        if ports.is_listening(self.host, port):
            # Somebody else answers there: a health probe would take them for us.
            message = f"{self.name}: port {port} is already in use by another program (address already in use)"
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a") as log:
                log.write(f"--- {clock.stamp()} {message}\n")
            raise ServiceFailed(message)
        self._spawn()
        try:
            self._wait_healthy()
        except WaitTimeout as exc:
            self.stop()
            raise ServiceFailed(str(exc)) from None

    def _wait_healthy(self) -> None:
        """Returns once the health path answers 200 and our process still runs."""
        Wait(
            service=self.name,
            what=f"GET {self.url}{self.spec.health_path} to answer 200",
            probe=http_ok(self.url + self.spec.health_path),
            timeout=self.layout.settings.start_timeout,
            interval=0.05,
            bail_out=self._exit_reason,
            log_tail=lambda: tail(self.log_path),
            hint=f"full log: {self.log_path}",
        ).run()
        reason = self._exit_reason()
        if reason:  # healthy, yet our process is gone: what answered was not us
            raise WaitTimeout(f"{self.name}: a health check passed but {reason}\n{tail(self.log_path)}")

    def heal(self) -> None:
        """Undo any fault: running (started again on its port if it was stopped or killed)
        and healthy."""
        if not self.is_running():
            self.start()
            return
        try:
            self._wait_healthy()
        except WaitTimeout as exc:
            raise ServiceFailed(str(exc)) from None

    def start_on_free_port(self) -> None:
        """First start: a fresh log, a free port; if somebody takes the port first, another."""
        self.log_path.unlink(missing_ok=True)
        for attempt in range(PORT_ATTEMPTS):
            self.layout.ports[self.name] = ports.free_port(self.layout.bind_host, udp_too=self.spec.udp)
            try:
                self.start()
                return
            except ServiceFailed as exc:
                if attempt == PORT_ATTEMPTS - 1 or not self._lost_port_race(str(exc)):
                    raise

    def _lost_port_race(self, error: str) -> bool:
        if self.process is not None and self.process.returncode == BIND_FAILED:
            return True
        return "address already in use" in (error + tail(self.log_path, 10)).lower()

    def _spawn(self) -> None:
        argv = self.spec.command(self.layout)
        user = run_as(self.name)
        as_user = {}
        if user is not None:
            self._check_reachable(user.pw_name)
            as_user = dict(user=user.pw_uid, group=user.pw_gid, extra_groups=[])
        env = self.env
        if self.spec.user is not None:   # the swarm's addresses exist now (its port too)
            env = {**env, **self.spec.user.environment(self.layout, self.cwd)}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"--- {clock.stamp()} starting{f' as {user.pw_name}' if user else ''}: {' '.join(argv)}\n".encode())
            log.flush()
            try:
                self.process = subprocess.Popen(
                    argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    env=env, cwd=self.cwd,
                    start_new_session=True, preexec_fn=_die_with_parent, **as_user,
                )
            except OSError as exc:   # the command is not there, not executable...
                message = f"{self.name}: cannot run {argv[0]!r} ({exc.strerror or exc}); command: {' '.join(argv)}"
                log.write(f"--- {message}\n".encode())
                raise ServiceFailed(message) from None
        if self.watchdog is not None:
            self.watchdog.group(self.process.pid)

    def _check_reachable(self, user: str) -> None:
        """A service started as another user must still read its files (the tracker, its whitelist)."""
        blocked = unreachable_by_others(Path(self.layout.path("whitelist")))
        if blocked is not None:
            raise ServiceFailed(f"{self.name} runs as {user} (we are root) and cannot reach its whitelist: {blocked} "
                                f"is not searchable/readable by other users; chmod o+rx it or set SWARMSPEC_RUN_DIR "
                                f"to a directory others can reach")

    def _exit_reason(self) -> str | None:
        if self.process is not None and self.process.poll() is not None:
            return f"the process exited with status {self.process.returncode}"
        return None

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int:
        return self.process.pid if self.process else 0

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self._signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=self.layout.settings.stop_timeout)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.process.wait(timeout=5)

    def kill(self) -> None:
        """Stop abruptly (SIGKILL), as a crash would."""
        if self.is_running():
            self._signal(signal.SIGKILL)
            self.process.wait(timeout=5)

    def restart(self) -> None:
        self.stop()
        self.start()

    def reload(self) -> None:
        """SIGHUP: opentracker re-reads its whitelist."""
        if self.is_running():
            self._signal(signal.SIGHUP)

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass

    def log_tail(self, lines: int = 40) -> str:
        return tail(self.log_path, lines)


class LocalProvider(DeclaredFaults, WatchedRun):
    """A `contract.Provider`: the services as subprocesses of this process."""

    name = "local"
    faults = frozenset({Fault.KILL, Fault.RESTART})
    capabilities = frozenset({Capability.PEERS, Capability.NETEM})

    def __init__(self, settings: Settings | None = None, progress: bool = True) -> None:
        self.settings = settings or Settings.from_env()
        self.progress = progress
        self.run_id = uuid.uuid4().hex[:8]
        self.services: dict[str, LocalService] = {}
        self.endpoints: Endpoints | None = None
        self.layout: LocalLayout | None = None
        self.watchdog: Watchdog | None = None
        self.peers = None                     # infra.ecosystem.local_peers.LocalPeers, made by up()

    def up(self) -> Endpoints:
        """Prepare, then start every service in dependency order. On any failure, what
        was started is stopped again before the error propagates."""
        user = UserBackend.from_settings(self.settings)
        if user is not None and user.image:
            raise BackendConfigError(f"backend_image={user.image}: the local provider runs processes; "
                                     "use -D ecosystem=docker for an image, or -D backend_command for a process")
        prepared = prepare(self.settings, progress=self.progress)
        layout = self.layout = LocalLayout(prepared, self.settings, self.run_id)
        env = {**os.environ, **self.settings.as_env(), "PYTHONUNBUFFERED": "1",
               "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        logs = self.settings.logs_dir
        self.watchdog = Watchdog(self.run_id, self.settings.stop_timeout, logs / "watchdog.log", prepared.run_dir)
        self.watchdog.path(layout.run_state_dir)
        from infra.ecosystem.local_peers import LocalPeers   # it builds on LocalService

        self.peers = LocalPeers(layout, env, logs, self.watchdog)
        try:
            self.peers.open()                 # the hub the tracker also listens on, before it starts
            for spec in ecosystem.start_order(self.settings.extras, (user.spec(),) if user else ()):
                service = LocalService(spec, layout, logs / f"{spec.name}.log", env, self.watchdog)
                self.services[spec.name] = service
                service.start_on_free_port()
        except BaseException:
            self.down()
            raise
        self.endpoints = Endpoints.build(
            self.name, self.run_id, {name: s.url for name, s in self.services.items()}, layout.announce_url(),
            prepared, logs, {name: {"pid": s.pid} for name, s in self.services.items()}, self.settings)
        return self.endpoints

    @property
    def prepared(self) -> Prepared | None:
        return self.layout.prepared if self.layout else None

    def service(self, name: str) -> LocalService:
        if self.peers is not None and name in self.peers.peers:
            return self.peers.peers[name]
        return self.services[name]

    def admit(self, info_hashes: list[str]) -> None:
        """The tracker accepts these torrents from now on: added to its whitelist, which it
        re-reads on SIGHUP (a stopped tracker reads it when it starts). A running tracker
        is asked until it accepts them, so a peer announcing right after is not refused."""
        tracker.add_to_whitelist(self.layout.prepared.whitelist, info_hashes)
        service = self.services["tracker"]
        service.reload()
        if service.is_running():
            for info_hash in info_hashes:
                Wait(service="tracker", what=f"the tracker to accept {info_hash} (whitelist reloaded on SIGHUP)",
                     probe=tracker_accepts(service.url, info_hash), timeout=10, interval=0.1,
                     log_tail=service.log_tail).run()

    def _capability_problem(self, capability: Capability) -> str | None:
        if self.peers is None:
            return "the ecosystem is not up"
        return self.peers.netem_problem() if capability is Capability.NETEM else None

    def start_peer(self, spec):
        """An extra peer (`infra.ecosystem.peers.PeerSpec`), running and announced."""
        self.require_capability(Capability.PEERS)
        return self.peers.start(spec)

    def stop_peer(self, name: str) -> None:
        if self.peers is not None:
            self.peers.stop(name)

    def down(self) -> None:
        self._down_watched(self._stop_all)

    def _stop_all(self) -> None:
        if self.peers is not None:
            self.peers.close()
        for service in reversed(list(self.services.values())):
            service.stop()
        if self.layout is not None:
            shutil.rmtree(self.layout.run_state_dir, ignore_errors=True)
