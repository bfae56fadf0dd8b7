"""One service as a container: start/stop/restart/kill, the faults (pause/unpause,
disconnect/reconnect, heal), readiness, logs, and where it listens on the run's network
(the kernel's /proc/net/tcp of its network namespace).

Readiness = the container's own Docker HEALTHCHECK (curl of the service's health_path
every 0.5 s) passed after the action, the published port is the one chosen, and the
service answers through it.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timezone
from pathlib import Path

from infra.config import Settings
from infra.ecosystem import clock
from infra.ecosystem import services as ecosystem
from infra.ecosystem.docker.layout import alias, host_url, published_ports
from infra.ecosystem.health import http_ok
from infra.ecosystem.logs import tail
from infra.ecosystem.waits import NotReady, Wait, WaitTimeout

TCP_LISTEN = "0A"


class ServiceFailed(RuntimeError):
    """A container did not become healthy; the message names the service and carries its log tail."""


class DockerService:
    """One service as a container (`contract.FaultyService`). Every start, restart, unpause
    and reconnect returns once the service is healthy again."""

    def __init__(self, spec: ecosystem.ServiceSpec, container, network, host_port: int, address: str,
                 settings: Settings, image: str = "?") -> None:
        self.spec = spec
        self.name = spec.name
        self.container = container
        self.network = network            # the run's network (docker SDK object)
        self.host_port = host_port
        self.address = address            # fixed address in the run's network
        self.settings = settings
        self.image = image
        self.log_path = settings.logs_dir / f"{spec.name}.log"
        self._listening_before: set[int] = set()
        self._was_cut_off = False         # since the last heal(): see heal()

    @property
    def url(self) -> str:
        return host_url(self.host_port)

    @property
    def _stop_timeout(self) -> int:
        return max(1, int(round(self.settings.stop_timeout)))

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
        return self.network.name in (self.container.attrs["NetworkSettings"].get("Networks") or {})

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        since = clock.wall()
        self.container.start()
        self.wait_ready(since, "start")

    def stop(self) -> None:
        if not self.is_running():
            return
        if self.is_paused():
            self.container.unpause()
        self.container.stop(timeout=self._stop_timeout)

    def kill(self) -> None:
        """Stop abruptly: SIGKILL to the container's init, as a crash would (its processes die with it)."""
        if self.is_running():
            self.container.kill()

    def restart(self) -> None:
        since = clock.wall()
        if self.is_paused():
            self.container.unpause()
        self.container.restart(timeout=self._stop_timeout)
        self.wait_ready(since, "restart")

    def reload(self) -> None:
        """SIGHUP to the service (docker-init passes it on): opentracker re-reads its whitelist."""
        if self.is_running():
            self.container.kill(signal="SIGHUP")

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
        since = clock.wall()
        self.container.unpause()
        self.wait_ready(since, "unpause")

    def disconnect(self) -> None:
        """Cut the container off the run's network (and so off its published port): Docker
        removes its network interface."""
        if not self.is_connected():
            return
        self._listening_before = self.listening_ports()
        self._was_cut_off = True
        self.network.disconnect(self.container)
        if self.is_connected():
            raise ServiceFailed(f"{self.name}: still on {self.network.name} after docker network disconnect")

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
        since = clock.wall()
        if atomic:
            self.container.pause()
        try:
            self._attach()
        finally:
            if atomic:
                self.container.unpause()
        self.wait_ready(since, "reconnect")
        before = self._listening_before
        self._wait(f"its processes to listen on {self.address} again (before the disconnect: "
                   f"{len(before)} TCP socket(s), ports {sorted(before)})",
                   lambda: self._listens_again(len(before)), interval=0.05,
                   hint="a service that binds each interface (libtorrent) must notice the interface coming back")
        # NB libtorrent reopens its listen socket on a fresh ephemeral port: the tracker
        # lists the old one until the service announces again (see peer_endpoints).

    def _attach(self) -> None:
        self.network.connect(self.container, aliases=[alias(self.name)], ipv4_address=self.address)

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

    # -- where it listens ---------------------------------------------------------------

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
        return listening_ports(table, self.address)

    # -- readiness ----------------------------------------------------------------------

    def wait_ready(self, since: float, after: str) -> None:
        """Healthy by a health check that started after `since` (epoch seconds), published on
        the same host port, and answering through it; on failure the log is saved and
        ServiceFailed names the service, what was awaited and the log tail."""
        if self.spec.user is None:   # your image need not have curl: it is probed from the host only
            self._wait(f"its Docker health check (GET {self.spec.health_path} inside the container) to pass after "
                       f"{after}", lambda: self._healthy_since(since),
                       hint=f"container {self.container.name}; full log: {self.log_path}")
        published = self.published_port()
        if published != self.host_port:
            raise ServiceFailed(f"{self.name}: after {after} the published port is {published}, not "
                                f"{self.host_port}: the endpoints the suite holds would be stale")
        probe = self.url + self.spec.host_health_path
        self._wait(f"GET {probe} (published port) to answer", http_ok(probe))

    def _wait(self, what: str, probe, interval: float = 0.1, hint: str = ""):
        try:
            return Wait(service=self.name, what=what, probe=probe, timeout=self.settings.start_timeout,
                        interval=interval, bail_out=self._exit_reason, log_tail=self.log_tail, hint=hint).run()
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
        if docker_timestamp(last.get("Start", "")) < since:
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
            return tail(self.log_path, lines)

    def save_log(self) -> None:
        try:
            data = self.container.logs()
        except Exception:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        header = f"--- container {self.container.name} ({self.image})\n"
        self.log_path.write_bytes(header.encode() + data)


def listening_ports(table: str, address: str) -> set[int]:
    """Ports in LISTEN state bound to exactly `address` in a /proc/net/tcp table."""
    want = "%08X" % int.from_bytes(ipaddress.ip_address(address).packed, "little")
    ports = set()
    for row in table.splitlines()[1:]:
        fields = row.split()
        if len(fields) > 3 and fields[3] == TCP_LISTEN:
            local, port = fields[1].split(":")
            if local == want:
                ports.add(int(port, 16))
    return ports


def docker_timestamp(text: str) -> float:
    """Docker's RFC 3339 nanosecond timestamps as epoch seconds."""
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?", text or "")
    if not match:
        return 0.0
    base = datetime.strptime(match[1], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
    return base + float(match[2] or 0)
