"""The local provider's processes: one service as a subprocess on 127.0.0.1 (`LocalService`)
and where things are for them (`LocalLayout`). The provider (`infra.ecosystem.local`) and
its extra peers (`infra.ecosystem.local_peers`) both build on these; they live apart from
the provider so that the peers need not import the provider that starts them.

Each process gets its own process group (so a stop reaches its children) and
PR_SET_PDEATHSIG (SIGTERM when the provider's process dies, even by SIGKILL); as root,
opentracker is started as nobody before that signal is set (see `infra.ecosystem.local`).
"""

from __future__ import annotations

import ctypes
import os
import pwd
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from infra.config import Settings
from infra.ecosystem import clock, ports
from infra.ecosystem import services as ecosystem
from infra.ecosystem.health import http_ok
from infra.ecosystem.logs import tail
from infra.ecosystem.prepare import Prepared
from infra.ecosystem.waits import Wait, WaitTimeout
from infra.ecosystem.watchdog import Watchdog
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
