"""Extra peers of the local provider: each a process (`infra.swarm.peer`), in a network
namespace of its own when the provider runs as root (`infra.ecosystem.netns`), so that
it has an address and an interface of its own to apply network conditions to
(`infra.ecosystem.conditions`). Without root, peers share 127.0.0.1 like every other
service and conditions are unavailable (scenarios that need them are skipped with the
reason).
"""

from __future__ import annotations

import select
import shutil
import signal
import subprocess
from pathlib import Path

from infra.ecosystem import conditions as cond
from infra.ecosystem import netns
from infra.ecosystem.local_service import LocalLayout, LocalService, ServiceFailed, _die_with_parent
from infra.ecosystem.peers import CONTROL_PORT, PeerSpec, peer_command, peer_service_spec
from infra.ecosystem.waits import WaitTimeout
from infra.ecosystem.watchdog import Watchdog
from infra.swarm import tracker

READY_TIMEOUT = 10.0


class LocalPeer(LocalService):
    """One extra peer as a process: a `contract.PeerService`."""

    def __init__(self, spec: PeerSpec, layout: LocalLayout, log_path: Path, env: dict[str, str],
                 work_dir: Path, namespace: netns.Namespace | None, conditions_kind: str | None,
                 watchdog: Watchdog | None = None) -> None:
        super().__init__(peer_service_spec(spec, self._command), layout, log_path, env, watchdog)
        self.peer = spec
        self.work_dir = work_dir
        self.namespace = namespace
        self.conditions_kind = conditions_kind      # "netem", "delay line" or None (no namespace)
        self.delay_line: subprocess.Popen | None = None
        if namespace is not None:
            self.host = namespace.address

    @property
    def address(self) -> str:
        return self.host

    def _command(self, layout: LocalLayout) -> list[str]:
        if self.namespace is None:
            announce = layout.announce_url()
        else:   # the tracker listens on the hub too, which is all a peer's namespace can reach
            announce = tracker.announce_url(f"http://{layout.peer_hub}:{layout.port('tracker')}")
        argv = peer_command(self.peer, layout, self.host, layout.port(self.name), str(self.peer.torrent.resolve()),
                            str(self.work_dir), announce)
        return self.namespace.wrap(argv) if self.namespace else argv

    def start_first(self) -> None:
        """First start: in its namespace on the fixed control port, else on a free port of 127.0.0.1."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        if self.namespace is None:
            self.start_on_free_port()
            return
        self.log_path.unlink(missing_ok=True)
        self.layout.ports[self.name] = CONTROL_PORT
        self.start()

    # -- network conditions -------------------------------------------------------------

    def condition(self, conditions: cond.NetworkConditions) -> str:
        """Apply `conditions` to the peer's own interface (replacing any before); returns how."""
        if self.namespace is None or self.conditions_kind is None:
            raise netns.NetnsError(f"{self.name} has no interface of its own (the provider runs without namespaces)")
        self.clear_conditions()
        ns = self.namespace
        if self.conditions_kind == "netem":
            commands = cond.netem_commands(ns.dev, conditions)
        else:
            line = cond.delay_line_argv(self.layout.python, conditions, self.layout.run_id)
            if line:
                self._start_delay_line(ns.wrap(line))
            commands = cond.fallback_commands(ns.dev, conditions)
        for argv in commands:
            ns.run(argv)
        self._note(f"network conditions: {conditions.describe()} ({self.conditions_kind})")
        return self.conditions_kind

    def clear_conditions(self) -> None:
        """Lift the conditions; ServiceFailed if the delay line had died meanwhile (the packets
        then passed undelayed, and the figures measured under the conditions are void)."""
        if self.namespace is None:
            return
        for argv in cond.clear_commands(self.namespace.dev):
            self.namespace.run(argv, check=False)
        died = self.delay_line is not None and self.delay_line.poll() is not None
        if died:
            code, self.delay_line = self.delay_line.returncode, None
            raise ServiceFailed(f"{self.name}: the delay line exited (status {code}) while its conditions were "
                                f"in force\n{self.log_tail(10)}")
        if self.delay_line is not None:
            self.delay_line.send_signal(signal.SIGTERM)
            try:
                self.delay_line.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.delay_line.kill()
                self.delay_line.wait(timeout=5)
            self.delay_line = None

    def _start_delay_line(self, argv: list[str]) -> None:
        with self.log_path.open("ab") as log:
            self.delay_line = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                                               start_new_session=True, preexec_fn=_die_with_parent)
        if self.watchdog is not None:
            self.watchdog.group(self.delay_line.pid)
        ready, _, _ = select.select([self.delay_line.stdout], [], [], READY_TIMEOUT)
        line = self.delay_line.stdout.readline().decode(errors="replace").strip() if ready else ""
        if line != "ready":
            self.clear_conditions()
            raise ServiceFailed(f"{self.name}: the delay line did not bind its queue within {READY_TIMEOUT:g}s "
                                f"(said {line!r})\n{self.log_tail(10)}")

    def _note(self, message: str) -> None:
        with self.log_path.open("a") as log:
            log.write(f"--- {message}\n")

    def remove(self) -> None:
        """Stop it for good: the process, its conditions, its namespace and its files (the
        namespace goes even when lifting the conditions reports a problem)."""
        try:
            self.stop()
            self.clear_conditions()
        finally:
            if self.namespace is not None:
                self.namespace.close()
            shutil.rmtree(self.work_dir, ignore_errors=True)


class LocalPeers:
    """The run's extra peers, and the namespaces they live in when the provider can make them."""

    def __init__(self, layout: LocalLayout, env: dict[str, str], logs_dir: Path,
                 watchdog: Watchdog | None = None) -> None:
        self.layout, self.env, self.logs_dir = layout, env, logs_dir
        self.watchdog = watchdog   # every process group a peer needs goes with the run, even after a SIGKILL
        self.peers: dict[str, LocalPeer] = {}
        self.network: netns.PeerNetwork | None = None
        self.no_network = netns.why_unavailable()
        self.conditions_kind: str | None = None

    def open(self) -> None:
        """Before the tracker starts: the hub it will also listen on (when namespaces are possible)."""
        if self.no_network:
            return
        self.network = netns.PeerNetwork(self.layout.run_id, self.layout.python, self._spawn)
        try:
            self.network.open()
            self.conditions_kind = self._probe_netem()
        except (netns.NetnsError, WaitTimeout) as exc:
            self.network.close()
            self.network, self.no_network = None, f"the run's network namespaces could not be made: {exc}"
            return
        self.layout.peer_hub = self.network.hub

    def _probe_netem(self) -> str:
        hub = self.network.namespaces["hub"]
        added = hub.run(cond.netem_probe_commands()[0], check=False)
        if added.returncode == 0:
            hub.run(cond.netem_probe_commands()[1], check=False)
            return "netem"
        return "delay line"

    def _spawn(self, argv: list[str]) -> subprocess.Popen:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True, preexec_fn=_die_with_parent)
        if self.watchdog is not None:
            self.watchdog.group(process.pid)   # a namespace's holder: the namespace goes with it
        return process

    def netem_problem(self) -> str | None:
        return self.no_network

    def start(self, spec: PeerSpec) -> LocalPeer:
        if spec.service_name in self.peers:
            raise ValueError(f"a peer called {spec.name!r} runs already")
        namespace = self.network.namespace(spec.name) if self.network else None
        work_dir = self.layout.run_state_dir / "peers" / spec.name
        peer = LocalPeer(spec, self.layout, self.logs_dir / f"{spec.service_name}.log", self.env, work_dir,
                         namespace, self.conditions_kind, self.watchdog)
        self.peers[spec.service_name] = peer
        try:
            peer.start_first()
        except BaseException:
            self.stop(spec.name)
            raise
        return peer

    def stop(self, name: str) -> None:
        peer = self.peers.pop(f"peer-{name}", None)
        if peer is not None:
            peer.remove()
            if self.network is not None:
                self.network.remove(name)

    def close(self) -> None:
        for name in [p.peer.name for p in self.peers.values()]:
            self.stop(name)
        if self.network is not None:
            self.network.close()
            self.network = None
