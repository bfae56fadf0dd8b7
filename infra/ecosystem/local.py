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

import os
import shutil
import signal
import subprocess
import uuid
from pathlib import Path

from infra.config import Settings
from infra.ecosystem import services as ecosystem
from infra.ecosystem.contract import Capability, DeclaredFaults, Fault
from infra.ecosystem.endpoints import Endpoints
from infra.ecosystem.health import tracker_accepts
from infra.ecosystem.local_peers import LocalPeers
from infra.ecosystem.local_service import (  # noqa: F401  (also importable from here, as before)
    LocalLayout, LocalService, ServiceFailed, run_as, unreachable_by_others,
)
from infra.ecosystem.logs import tail
from infra.ecosystem.prepare import Prepared, prepare
from infra.ecosystem.user_backend import BackendConfigError, UserBackend
from infra.ecosystem.waits import Wait
from infra.ecosystem.watchdog import Watchdog, WatchedRun
from infra.swarm import tracker

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
        self.peers: LocalPeers | None = None  # made by up()

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
