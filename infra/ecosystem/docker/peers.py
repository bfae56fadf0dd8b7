"""Extra peers of the docker provider: each a container of the seeder image on the run's
network (`infra.swarm.peer`), with `NET_ADMIN`, so network conditions go on its own
`eth0` from inside (`tc` and `iptables` are in the runtime image; the delay line, where
the kernel lacks netem, runs in the container too: infra/ecosystem/conditions.py).

A peer's container carries the run's labels like every service, so `down()` and the
reaper remove it with the rest; its copy of the content lives in a per-run host folder.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from infra.config import Settings
from infra.ecosystem import clock, ports
from infra.ecosystem import conditions as cond
from infra.ecosystem.docker.layout import (CONTAINER_PATHS, DockerLayout, container_env, healthcheck,
                                           linked_media_mounts, port_bindings)
from infra.ecosystem.docker.reaper import LABEL_SERVICE, quietly
from infra.ecosystem.docker.service import DockerService, ServiceFailed
from infra.ecosystem.peers import CONTROL_PORT, PeerSpec, peer_command, peer_service_spec
from infra.ecosystem.waits import NotReady, WaitTimeout

PEER_PATHS = {"torrent": "/srv/swarmspec/peer/torrent", "work": "/srv/swarmspec/peer/work"}
READY_FILE = "/tmp/swarmspec-delay-line.pid"
DEV = "eth0"


class DockerPeer(DockerService):
    """One extra peer as a container: a `contract.PeerService`."""

    def __init__(self, peer: PeerSpec, container, network, host_port: int, settings: Settings, image: str,
                 work_dir: Path, kind: str) -> None:
        super().__init__(peer_service_spec(peer, lambda layout: []), container, network, host_port, "", settings, image)
        self.peer, self.work_dir, self.kind = peer, work_dir, kind
        self.delay_line = False

    def refresh_address(self) -> None:
        """Its address on the run's network, which Docker gives it (a restart may change it)."""
        self.container.reload()
        self.address = self.container.attrs["NetworkSettings"]["Networks"][self.network.name]["IPAddress"]

    def start(self) -> None:
        super().start()
        self.delay_line = False          # a new network namespace: the conditions went with the old one
        self.refresh_address()

    def _exec(self, argv: list[str], check: bool = True):
        result = self.container.exec_run(argv, user="root")
        if check and result.exit_code:
            raise ServiceFailed(f"{self.name}: {' '.join(argv)} -> exit {result.exit_code}: "
                                f"{result.output.decode(errors='replace').strip()[-300:]}")
        return result

    def condition(self, conditions: cond.NetworkConditions) -> str:
        """Apply `conditions` to the container's own interface; returns how."""
        self.clear_conditions()
        if self.kind == "netem":
            commands = cond.netem_commands(DEV, conditions)
        else:
            line = cond.delay_line_argv("python", conditions, self.peer.name)
            if line:
                self._exec(["rm", "-f", READY_FILE])
                self.container.exec_run(line + ["--ready-file", READY_FILE], user="root", detach=True)
                self.delay_line = True
                self._wait("the delay line to bind its queue", self._delay_line_pid, interval=0.05)
            commands = cond.fallback_commands(DEV, conditions)
        for argv in commands:
            self._exec(argv)
        return self.kind

    def _delay_line_pid(self) -> str:
        result = self.container.exec_run(["cat", READY_FILE], user="root")
        pid = result.output.decode(errors="replace").strip()
        if result.exit_code or not pid.isdigit():
            raise NotReady(f"no pid in {READY_FILE} yet")
        return pid

    def clear_conditions(self) -> None:
        """Lift the conditions; ServiceFailed if the delay line had died meanwhile (the
        figures measured under the conditions are then void)."""
        if not self.is_running():
            self.delay_line = False
            return
        for argv in cond.clear_commands(DEV):
            self._exec(argv, check=False)
        if self.delay_line:
            self.delay_line = False
            result = self.container.exec_run(["sh", "-c", f"kill $(cat {READY_FILE})"], user="root")
            if result.exit_code:
                raise ServiceFailed(f"{self.name}: the delay line was not running any more when its conditions "
                                    f"were lifted: {result.output.decode(errors='replace').strip()}")

    def remove(self) -> None:
        """The container (its log saved first) and its copy of the content."""
        self.save_log()
        try:
            with quietly():
                self.container.remove(force=True)
        finally:
            shutil.rmtree(self.work_dir, ignore_errors=True)


def start_peer(spec: PeerSpec, client, network, layout: DockerLayout, settings: Settings, image: str,
               labels: dict[str, str], media_dir: Path, work_root: Path, kind: str) -> DockerPeer:
    """Create and start the peer's container; returns once it has announced (healthy)."""
    work_dir = work_root / spec.name
    work_dir.mkdir(parents=True, exist_ok=True)
    service_spec = peer_service_spec(spec, lambda _: [])
    argv = peer_command(spec, layout, "0.0.0.0", CONTROL_PORT, f"{PEER_PATHS['torrent']}/{spec.torrent.name}",
                        PEER_PATHS["work"], layout.announce_url())
    host_port = ports.free_port("127.0.0.1")
    container = client.containers.create(
        image, entrypoint=argv, command=[], name=layout.container_name(spec.service_name),
        labels={**labels, LABEL_SERVICE: spec.service_name}, user=f"{os.getuid()}:{os.getgid()}", init=True,
        environment=container_env(settings), cap_add=["NET_ADMIN"], network=layout.network_name,
        volumes={str(spec.torrent.parent.resolve()): {"bind": PEER_PATHS["torrent"], "mode": "ro"},
                 str(work_dir.resolve()): {"bind": PEER_PATHS["work"], "mode": "rw"},
                 str(media_dir.resolve()): {"bind": CONTAINER_PATHS["media"], "mode": "ro"},
                 **linked_media_mounts(media_dir)},
        ports=port_bindings(service_spec, host_port), healthcheck=healthcheck(service_spec), stop_signal="SIGTERM")
    peer = DockerPeer(spec, container, network, host_port, settings, image, work_dir, kind)
    try:
        since = clock.wall()
        container.start()
        peer.wait_ready(since, "start")
        peer.refresh_address()
    except (ServiceFailed, WaitTimeout):
        peer.remove()
        raise
    return peer
