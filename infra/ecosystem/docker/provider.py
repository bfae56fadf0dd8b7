"""The Docker provider: the same swarm (`infra.ecosystem.SERVICES`) as containers,
driven by the docker SDK.

`up()`: an engine (`engine`), the images (`images`), the prepared files, the run's
network with an explicit subnet, then the containers (`layout`) wave by wave, each wave
healthy (`service`) before the next. `down()` removes everything labelled with the run
(`reaper`); leftovers of killed runs are removed before each `up()`.

    python -m infra.ecosystem.docker build     # build the images, print their references
    python -m infra.ecosystem.docker cleanup   # remove leftovers of runs whose owner died
"""

from __future__ import annotations

import ipaddress
import uuid
from pathlib import Path

from infra.config import Settings
from infra.ecosystem import clock, ports
from infra.ecosystem import services as ecosystem
from infra.ecosystem import credentials
from infra.ecosystem.contract import Capability, DeclaredFaults, Fault
from infra.ecosystem.docker import reaper
from infra.ecosystem.docker.engine import DockerUnavailable, connect, ensure_engine, say, sdk
from infra.ecosystem.docker.images import build_images
from infra.ecosystem.docker.layout import DockerLayout, alias, container_config, fixed_address, host_paths
from infra.ecosystem.docker.reaper import LABEL_SERVICE, quietly, signals_deferred
from infra.ecosystem.docker.service import DockerService, ServiceFailed
from infra.ecosystem.endpoints import Endpoints
from infra.ecosystem.watchdog import Watchdog, WatchedRun
from infra.swarm import tracker
from infra.ecosystem.user_backend import UserBackend

__all__ = ["DockerProvider", "DockerUnavailable", "ServiceFailed", "start_waves"]

PORT_ATTEMPTS = 4


class NotSupportedHere(RuntimeError):
    """Asked for something this provider cannot run (not a missing engine: no SKIPPED)."""


def start_waves(extras: tuple[str, ...] = (), added: tuple[ecosystem.ServiceSpec, ...] = ()
                ) -> list[list[ecosystem.ServiceSpec]]:
    """`ecosystem.start_order(extras, added)` grouped: a wave starts once every earlier one is healthy."""
    level: dict[str, int] = {}
    waves: list[list[ecosystem.ServiceSpec]] = []
    for spec in ecosystem.start_order(extras, added):
        level[spec.name] = 1 + max((level[d] for d in spec.depends_on), default=-1)
        while len(waves) <= level[spec.name]:
            waves.append([])
        waves[level[spec.name]].append(spec)
    return waves


def refuse_unpublishable(extras: tuple[str, ...]) -> None:
    """NotSupportedHere for an optional service whose streaming ports cannot be published
    ahead (peerflix opens one HTTP port per torrent, chosen at random): the suite on the
    host could not reach its stream URLs."""
    unpublishable = [name for name in extras if ecosystem.spec(name).stream_ports == "per-torrent"]
    if unpublishable:
        raise NotSupportedHere(
            f"the docker provider cannot run {', '.join(unpublishable)}: it opens one HTTP port per torrent, chosen "
            f"at random, which cannot be published on the host ahead; judge it with the local provider "
            f"(-D ecosystem=local)")


class DockerProvider(DeclaredFaults, WatchedRun):
    name = "docker"
    faults = frozenset({Fault.KILL, Fault.RESTART, Fault.PAUSE, Fault.DISCONNECT})
    capabilities = frozenset({Capability.PEERS, Capability.NETEM})

    def __init__(self, settings: Settings | None = None, progress: bool = True) -> None:
        self.settings = settings or Settings.from_env()
        self.progress = progress
        self.run_id = uuid.uuid4().hex[:8]
        self.layout = DockerLayout(self.run_id)
        self.network_name = self.layout.network_name
        self.labels = reaper.run_labels(self.run_id)
        self.client = None
        self.network = None
        self.subnet: ipaddress.IPv4Network | None = None
        self.services: dict[str, DockerService] = {}
        self.images: dict[str, str] = {}
        self.endpoints: Endpoints | None = None
        self.timings: dict[str, float] = {}
        self.watchdog: Watchdog | None = None
        self.prepared = None
        self.user: UserBackend | None = None
        self.peers: dict = {}                     # service name -> docker.peers.DockerPeer
        self._conditions_kind: str | None = None  # "netem" or "delay line", probed in the first peer

    # -- up -----------------------------------------------------------------------------

    def up(self) -> Endpoints:
        """Engine, images, prepared files, network, then the containers wave by wave, each
        wave healthy before the next. On any failure (Ctrl-C included) everything of the
        run is removed before the error propagates."""
        started = clock.monotonic()
        refuse_unpublishable(self.settings.extras)
        self.user = UserBackend.from_settings(self.settings)
        if self.user is not None and not self.user.image:
            raise NotSupportedHere("backend_command starts a process, which the local provider runs; "
                                   "under docker give your backend as an image: -D backend_image=IMAGE")
        ensure_engine(self.progress)
        self.client = connect()
        # Containers outlive a killed owner: the watchdog removes them (and the run's data) then.
        self.watchdog = Watchdog(self.run_id, self.settings.stop_timeout, self.settings.logs_dir / "watchdog.log",
                                 self.settings.run_dir)
        self.watchdog.docker_run(self.run_id)
        for path in reaper.run_data_dirs(self.settings, self.run_id):
            self.watchdog.path(path)
        self.cleanup_stale(self.settings, self.client, self.progress)
        self.images = self._timed("images_s", build_images, self.client, self.progress, self.settings.extras,
                                  self.run_id)
        from infra.ecosystem.prepare import prepare

        prepared = self.prepared = self._timed("prepare_s", prepare, self.settings, progress=self.progress)
        try:
            self._timed("containers_s", self._start_all, prepared)
        except BaseException:
            for service in self.services.values():
                service.save_log()
            self.down()
            raise
        self.timings["up_s"] = clock.monotonic() - started
        say(self.progress, f"ecosystem {self.run_id} up in {self.timings['up_s']:.1f}s "
                           f"(images {self.timings['images_s']:.1f}s, prepare {self.timings['prepare_s']:.1f}s, "
                           f"containers {self.timings['containers_s']:.1f}s)")
        self.endpoints = self._endpoints(prepared)
        return self.endpoints

    def _timed(self, key: str, step, *args, **kwargs):
        mark = clock.monotonic()
        result = step(*args, **kwargs)
        self.timings[key] = clock.monotonic() - mark
        return result

    def _start_all(self, prepared) -> None:
        # A Ctrl-C in the middle of a create would leave the engine to finish it after
        # our clean-up looked: creations are not interrupted, the signal is raised after.
        with signals_deferred():
            self._create_network()
        paths = host_paths(self.settings, prepared, self.run_id)
        paths["backend-data"].mkdir(parents=True, exist_ok=True)
        paths["credentials"].parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        credentials.write(paths["credentials"], prepared.admin)
        for wave in start_waves(self.settings.extras, (self.user.spec(),) if self.user else ()):
            for spec in wave:
                with signals_deferred():
                    self._start_container(spec, paths)
            for spec in wave:
                self.services[spec.name].wait_ready(0.0, "start")

    def _endpoints(self, prepared) -> Endpoints:
        return Endpoints.build(
            self.name, self.run_id, urls={name: s.url for name, s in self.services.items()},
            announce=self.layout.announce_url(), prepared=prepared, logs_dir=self.settings.logs_dir,
            services={name: {"container": s.container.name, "image": s.image, "address": s.address}
                      for name, s in self.services.items()},
            settings=self.settings)

    def _create_network(self) -> None:
        """A bridge network with an explicit subnet (the one Docker picks for a probe
        network), so containers can keep fixed addresses across disconnect/reconnect."""
        docker = sdk()
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

    def _start_container(self, spec: ecosystem.ServiceSpec, paths: dict[str, Path]) -> None:
        """Create and start the service's container on a free host port; another port when
        something took the chosen one meanwhile."""
        docker = sdk()
        address = fixed_address(self.subnet, spec.name)
        image = spec.user.image if spec.user is not None else self.images[spec.image]
        for attempt in range(PORT_ATTEMPTS):
            host_port = ports.free_port("127.0.0.1")
            stream_host_port = ports.free_port("127.0.0.1") if spec.stream_ports == "fixed" else None
            container = self.client.containers.create(
                image, labels={**self.labels, LABEL_SERVICE: spec.name},
                networking_config={self.network_name: self.client.api.create_endpoint_config(
                    aliases=[alias(spec.name)], ipv4_address=address)},
                **container_config(spec, self.layout, self.settings, paths, host_port, stream_host_port))
            service = DockerService(spec, container, self.network, host_port, address, self.settings, image)
            self.services[spec.name] = service
            try:
                container.start()
                return
            except docker.errors.APIError as exc:
                lost_race = "address already in use" in str(exc) or "port is already allocated" in str(exc)
                container.remove(force=True)
                del self.services[spec.name]
                if not lost_race or attempt == PORT_ATTEMPTS - 1:
                    raise ServiceFailed(f"{spec.name}: docker could not start {container.name}: {exc}") from None

    def service(self, name: str) -> DockerService:
        return self.peers[name] if name in self.peers else self.services[name]

    # -- extra peers (infra.ecosystem.docker.peers) -----------------------------------------

    def _capability_problem(self, capability: Capability) -> str | None:
        return None if self.network is not None else "the ecosystem is not up"

    def start_peer(self, spec):
        """An extra peer (`infra.ecosystem.peers.PeerSpec`) as a container, running and announced."""
        from infra.ecosystem.docker.peers import start_peer
        from infra.ecosystem.conditions import netem_probe_commands

        self.require_capability(Capability.PEERS)
        if spec.service_name in self.peers:
            raise ValueError(f"a peer called {spec.name!r} runs already")
        with signals_deferred():
            peer = start_peer(spec, self.client, self.network, self.layout, self.settings, self.images["seeder"],
                              self.labels, self.prepared.media_dir, reaper.peers_dir(self.settings, self.run_id),
                              self._conditions_kind or "delay line")
        self.peers[spec.service_name] = peer
        if self._conditions_kind is None:     # does the kernel have netem? ask from inside a peer
            probe, undo = netem_probe_commands()
            self._conditions_kind = "netem" if peer._exec(probe, check=False).exit_code == 0 else "delay line"
            if self._conditions_kind == "netem":
                peer._exec(undo, check=False)
            peer.kind = self._conditions_kind
        return peer

    def stop_peer(self, name: str) -> None:
        peer = self.peers.pop(f"peer-{name}", None)
        if peer is not None:
            with signals_deferred():
                peer.remove()

    def admit(self, info_hashes: list[str]) -> None:
        """The tracker accepts these torrents from now on: added in place to the whitelist
        its container mounts (one file), which it re-reads on SIGHUP."""
        tracker.add_to_whitelist(self.prepared.whitelist, info_hashes)
        service = self.services["tracker"]
        service.reload()
        if service.is_running():   # asked until it accepts them: a peer announcing next is not refused
            from infra.ecosystem.health import tracker_accepts
            from infra.ecosystem.waits import Wait

            for info_hash in info_hashes:
                Wait(service="tracker", what=f"the tracker to accept {info_hash} (whitelist reloaded on SIGHUP)",
                     probe=tracker_accepts(service.url, info_hash), timeout=10, interval=0.1,
                     log_tail=service.log_tail).run()

    # -- down ---------------------------------------------------------------------------

    def down(self) -> None:
        """Remove every container and the network of this run (logs saved first), then
        anything else labelled with this run. Idempotent."""
        if self.client is None:
            return
        self._down_watched(self._remove_all)

    def _remove_all(self) -> None:
        with signals_deferred():
            for peer in self.peers.values():
                peer.remove()
            self.peers.clear()
            for service in reversed(list(self.services.values())):
                with quietly():
                    service.stop()
                service.save_log()
                with quietly():
                    service.container.remove(force=True)
            self.services.clear()
            reaper.remove_run(self.client, self.run_id)
            self.network = None
            reaper.remove_run_data(self.settings, self.run_id)

    # -- leftovers ----------------------------------------------------------------------

    @staticmethod
    def cleanup_stale(settings: Settings | None = None, client=None, progress: bool = True) -> list[str]:
        """Remove containers and networks of runs whose owner process is gone (a killed
        run). Returns the run ids removed."""
        return reaper.cleanup_stale(settings, client, progress)
