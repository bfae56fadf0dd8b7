"""Network namespaces of the run's own, for peers with an interface of their own (local
provider, as root): what network conditions are applied to.

Each namespace is held by a small process started with `unshare --net` (and
PR_SET_PDEATHSIG, like every service): it is not a named `ip netns`, so it disappears
with the last process in it, and a veth pair with an end inside disappears with it.
A run killed with SIGKILL therefore leaves no namespace, no veth pair and no qdisc.

Addresses: the run picks a private /24 (in 10.200.0.0/13) that no route or address of
the host overlaps, and gives namespace k the /30 at k*4: the host end of its veth is .1,
the peer's end .2. The peer's default route is its gateway (libtorrent will not
announce from an interface without one to a tracker outside its /30, such as the host
end of namespace 0, the *hub*, where the tracker also listens); forwarding is switched
off on the host end of every veth the run makes, so the host never forwards what a peer
sends: it reaches the host's own addresses and nothing beyond the machine.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import shutil
import subprocess
from dataclasses import dataclass, field

from infra.ecosystem.waits import NotReady, Wait

#: program -> Debian package
TOOLS = {"ip": "iproute2", "tc": "iproute2", "nsenter": "util-linux", "unshare": "util-linux", "iptables": "iptables",
         "sysctl": "procps"}
POOL = ipaddress.ip_network("10.200.0.0/13")
COMMAND_TIMEOUT = 10.0
PEER_DEV = "eth0"


class NetnsError(RuntimeError):
    """A namespace command failed; the message names the command and what it printed."""


def why_unavailable() -> str | None:
    """Why this process cannot make namespaces, or None."""
    if os.geteuid() != 0:
        return f"network namespaces need root (this process runs as uid {os.geteuid()})"
    missing = [f"{tool} (Debian package {package})" for tool, package in TOOLS.items() if not shutil.which(tool)]
    return f"missing {', '.join(missing)}" if missing else None


def run(argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
    """One short command, bounded in time; NetnsError with its output when it fails."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise NetnsError(f"{' '.join(argv)}: no answer within {COMMAND_TIMEOUT:g}s") from None
    if check and done.returncode:
        raise NetnsError(f"{' '.join(argv)} -> exit {done.returncode}: {(done.stderr or done.stdout).strip()}")
    return done


def taken_networks() -> list[ipaddress.IPv4Network]:
    """Every IPv4 prefix the host routes or holds an address in."""
    nets = []
    for entry in json.loads(run(["ip", "-j", "-4", "route", "show", "table", "all"]).stdout or "[]"):
        dst = entry.get("dst", "")
        if dst and dst != "default" and not dst.startswith(("broadcast", "local")):
            nets.append(ipaddress.ip_network(dst if "/" in dst else f"{dst}/32", strict=False))
    for link in json.loads(run(["ip", "-j", "-4", "addr"]).stdout or "[]"):
        for info in link.get("addr_info", []):
            nets.append(ipaddress.ip_network(f"{info['local']}/{info['prefixlen']}", strict=False))
    return nets


def pick_subnet(taken: list[ipaddress.IPv4Network], seed: str) -> ipaddress.IPv4Network:
    """A /24 of POOL that overlaps nothing the host has (random, so runs rarely collide)."""
    candidates = list(POOL.subnets(new_prefix=24))
    random.Random(seed).shuffle(candidates)
    for subnet in candidates:
        if not any(subnet.overlaps(net) for net in taken):
            return subnet
    raise NetnsError(f"every /24 of {POOL} overlaps a route or address of this host")


@dataclass
class Namespace:
    """One namespace: its holder process and the veth pair into it."""

    name: str
    holder: subprocess.Popen
    address: str                    # the peer's end, in the namespace
    gateway: str                    # the host's end
    host_dev: str
    dev: str = PEER_DEV

    @property
    def net_path(self) -> str:
        return f"/proc/{self.holder.pid}/ns/net"

    def wrap(self, argv: list[str]) -> list[str]:
        """`argv` run inside the namespace (nsenter execs it: the pid and PDEATHSIG stay)."""
        return ["nsenter", f"--net={self.net_path}", "--", *argv]

    def run(self, argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
        return run(self.wrap(argv), check)

    def close(self) -> None:
        """Stop the holder; the namespace and its veth pair go with the last process in it."""
        if self.holder.poll() is None:
            self.holder.terminate()
            try:
                self.holder.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.holder.kill()
                self.holder.wait(timeout=5)


@dataclass
class PeerNetwork:
    """The run's namespaces. `open()` makes the hub (namespace 0), whose host end `hub`
    the tracker binds, before the tracker starts."""

    run_id: str
    python: str
    spawn: object                   # callable(argv) -> Popen, with the provider's process hygiene
    subnet: ipaddress.IPv4Network | None = None
    namespaces: dict[str, Namespace] = field(default_factory=dict)
    _next: int = 0

    @property
    def hub(self) -> str:
        return self.namespaces["hub"].gateway

    def open(self) -> None:
        self.subnet = pick_subnet(taken_networks(), self.run_id)
        self.namespace("hub")

    def namespace(self, name: str) -> Namespace:
        """A new namespace with a veth pair and its /30; the peer reaches its gateway and the hub."""
        if name in self.namespaces:
            raise NetnsError(f"namespace {name!r} exists already in run {self.run_id}")
        index, self._next = self._next, self._next + 1
        if index >= 64:
            raise NetnsError(f"a run has at most 64 namespaces ({self.subnet} in /30s)")
        base = self.subnet.network_address + 4 * index
        gateway, address = str(base + 1), str(base + 2)
        holder = self.spawn(["unshare", "--net", "--", self.python, "-c", "import signal; signal.pause()",
                             "swarmspec-netns", self.run_id, name])
        host_dev = f"sw{self.run_id}{index}"
        ns = Namespace(name, holder, address, gateway, host_dev)
        self.namespaces[name] = ns
        own = os.readlink("/proc/self/ns/net")

        def entered() -> str:
            if holder.poll() is not None:
                raise NetnsError(f"unshare --net exited with status {holder.returncode}")
            try:
                theirs = os.readlink(ns.net_path)
            except OSError as exc:
                raise NotReady(str(exc)) from None
            if theirs == own:
                raise NotReady("the holder has not entered its namespace yet")
            return theirs

        Wait(service=f"netns {name}", what="the holder process to enter a new network namespace",
             probe=entered, timeout=10, interval=0.01).run()
        run(["ip", "link", "add", host_dev, "type", "veth", "peer", "name", host_dev + "p"])
        run(["ip", "link", "set", host_dev + "p", "netns", str(holder.pid)])
        # IPv4 forwards what comes in on an interface only if that interface forwards
        for setting, value in ((f"ipv4/conf/{host_dev}/forwarding", "0"), (f"ipv6/conf/{host_dev}/disable_ipv6", "1")):
            with open(f"/proc/sys/net/{setting}", "w") as knob:
                knob.write(value)
        run(["ip", "addr", "add", f"{gateway}/30", "dev", host_dev])
        run(["ip", "link", "set", host_dev, "up"])
        for argv in (["ip", "link", "set", host_dev + "p", "name", ns.dev],
                     ["ip", "addr", "add", f"{address}/30", "dev", ns.dev],
                     ["ip", "link", "set", ns.dev, "up"], ["ip", "link", "set", "lo", "up"]):
            ns.run(argv)
        ns.run(["ip", "route", "add", "default", "via", gateway, "dev", ns.dev])
        # A closed connection still holds its namespace (and the veth pair) until it is done:
        # when a whole run is killed at once, the far end is gone too and an orphan would wait
        # a minute. These two are per namespace: only ours change.
        ns.run(["sysctl", "-q", "-w", "net.ipv4.tcp_fin_timeout=1", "net.ipv4.tcp_orphan_retries=1"])
        return ns

    def remove(self, name: str) -> None:
        ns = self.namespaces.pop(name, None)
        if ns is not None:
            ns.close()

    def close(self) -> None:
        for name in reversed(list(self.namespaces)):
            self.remove(name)
