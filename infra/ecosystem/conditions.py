"""Network conditions on one peer's own interface: added round-trip time, jitter, loss
and bandwidth, applied inside the peer's own network namespace (a namespace the local
provider created, or the peer's container), never on a shared interface.

Two ways to the same conditions, chosen by what the kernel has:

* **netem** (`tc qdisc ... netem delay D J loss L rate R`, Debian `iproute2`) on the
  peer's interface, when the kernel has `sch_netem`;
* **a delay line** where it does not (kernels built without `CONFIG_NET_SCH_NETEM`,
  such as this project's CI machine): `tbf` for the bandwidth, an iptables
  `statistic` rule for the loss, and `infra.swarm.delay_line` behind an `NFQUEUE` rule
  for the delay. The delay holds the packets coming *in* to the peer (requests and
  acknowledgements), not those it sends: a sender's own packets held in a queue still
  count against its TCP small-queue budget and would cap it at two packets per round
  trip, which netem avoids by orphaning them and a queue cannot. The round trip is the
  same either way.

In both, `latency_ms` is what the peer's round trip gains, loss and rate apply to what
the peer sends (the data a viewer waits for). With loss, the peer's interface sends one
TCP segment per packet buffer (`gso_max_segs 1`): a qdisc or a rule drops whole buffers,
and a 64 KiB GSO buffer is 45 packets, so "2 % packet loss" would otherwise be 2 % of
bursts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

QUEUE = 0
GSO_MAX_SEGS = 65535          # the kernel's default
TBF_LATENCY_MS = 100          # the link's buffer: how long tbf lets a packet wait for tokens before dropping it


class BadConditions(ValueError):
    """Conditions that make no sense (negative delay, loss over 100 %...)."""


@dataclass(frozen=True)
class NetworkConditions:
    latency_ms: float = 0.0       # added round-trip time
    jitter_ms: float = 0.0        # +- per packet, uniform
    loss_pct: float = 0.0         # of the packets the peer sends
    rate_bytes: int = 0           # bytes/s the peer can send; 0: the interface's own speed

    def __post_init__(self) -> None:
        if min(self.latency_ms, self.jitter_ms, self.loss_pct, self.rate_bytes) < 0:
            raise BadConditions(f"conditions cannot be negative: {self}")
        if self.loss_pct > 100 or self.jitter_ms > self.latency_ms:
            raise BadConditions(f"loss is at most 100 % and jitter at most the latency: {self}")

    @property
    def delays(self) -> bool:
        return bool(self.latency_ms or self.jitter_ms or self.loss_pct)

    def describe(self) -> str:
        parts = []
        if self.latency_ms:
            parts.append(f"{self.latency_ms:g} ms away" + (f" (+-{self.jitter_ms:g} ms)" if self.jitter_ms else ""))
        if self.loss_pct:
            parts.append(f"{self.loss_pct:g} % loss")
        if self.rate_bytes:
            parts.append(f"{self.rate_bytes / 1e6:g} MB/s")
        return ", ".join(parts) or "no conditions"

    @classmethod
    def parse(cls, text: str) -> "NetworkConditions":
        """"200 ms away with 2 % packet loss", "20 ms away at 2 MB/s", "at 512 KB/s"."""
        latency = re.search(r"(\d+(?:\.\d+)?)\s*ms away", text)
        jitter = re.search(r"(?:\+-|±)\s*(\d+(?:\.\d+)?)\s*ms", text)
        loss = re.search(r"(\d+(?:\.\d+)?)\s*% (?:packet )?loss", text)
        rate = re.search(r"(\d+(?:\.\d+)?)\s*(KB|MB)/s", text)
        if not (latency or loss or rate):
            raise BadConditions(f"no condition in {text!r}: say 'N ms away', 'N % packet loss' or 'N MB/s'")
        return cls(float(latency[1]) if latency else 0.0, float(jitter[1]) if jitter else 0.0,
                   float(loss[1]) if loss else 0.0,
                   int(float(rate[1]) * (1e6 if rate[2] == "MB" else 1e3)) if rate else 0)


def _ms(value: float) -> str:
    return f"{value:g}ms"


def _segments(dev: str, c: NetworkConditions) -> list[list[str]]:
    return [["ip", "link", "set", "dev", dev, "gso_max_segs", "1"]] if c.loss_pct else []


def netem_commands(dev: str, c: NetworkConditions) -> list[list[str]]:
    """With sch_netem: one qdisc does it all."""
    argv = ["tc", "qdisc", "replace", "dev", dev, "root", "netem", "limit", "100000"]
    if c.latency_ms:
        argv += ["delay", _ms(c.latency_ms)] + ([_ms(c.jitter_ms)] if c.jitter_ms else [])
    if c.loss_pct:
        argv += ["loss", f"{c.loss_pct:g}%"]
    if c.rate_bytes:
        argv += ["rate", f"{c.rate_bytes * 8}bit"]
    return _segments(dev, c) + [argv]


def fallback_commands(dev: str, c: NetworkConditions) -> list[list[str]]:
    """Without sch_netem: tbf for the rate, a statistic rule for the loss, and the rule that
    hands incoming packets to the delay line (started before, see `delay_line_argv`)."""
    commands = _segments(dev, c)
    if c.rate_bytes:
        burst = max(32 * 1024, c.rate_bytes // 50)
        commands.append(["tc", "qdisc", "replace", "dev", dev, "root", "tbf", "rate", f"{c.rate_bytes * 8}bit",
                         "burst", str(burst), "latency", _ms(TBF_LATENCY_MS)])
    if c.loss_pct:
        commands.append(["iptables", "-w", "5", "-A", "OUTPUT", "-o", dev, "-m", "statistic", "--mode", "random",
                         "--probability", f"{c.loss_pct / 100:.6f}", "-j", "DROP"])
    if c.latency_ms:
        # --queue-bypass: with the delay line gone (a run killed with SIGKILL), packets pass
        # instead of vanishing, so the peer's closing connections finish and its namespace can go
        commands.append(["iptables", "-w", "5", "-t", "mangle", "-A", "PREROUTING", "-i", dev,
                         "-j", "NFQUEUE", "--queue-num", str(QUEUE), "--queue-bypass"])
    return commands


def clear_commands(dev: str) -> list[list[str]]:
    """Back to no conditions (each may fail harmlessly when there was nothing to remove)."""
    return [["tc", "qdisc", "del", "dev", dev, "root"], ["iptables", "-w", "5", "-F", "OUTPUT"],
            ["iptables", "-w", "5", "-t", "mangle", "-F", "PREROUTING"],
            ["ip", "link", "set", "dev", dev, "gso_max_segs", str(GSO_MAX_SEGS)]]


def delay_line_argv(python: str, c: NetworkConditions, run_id: str) -> list[str] | None:
    """The delay line the fallback needs (None when there is no delay to add)."""
    if not c.latency_ms:
        return None
    return [python, "-m", "infra.swarm.delay_line", "--queue", str(QUEUE), "--delay-ms", f"{c.latency_ms:g}",
            "--jitter-ms", f"{c.jitter_ms:g}", "--run-id", run_id]


def netem_probe_commands(dev: str = "lo") -> list[list[str]]:
    """Does this kernel have sch_netem? (run inside a namespace of the run's own)"""
    return [["tc", "qdisc", "add", "dev", dev, "root", "netem", "delay", "1ms"], ["tc", "qdisc", "del", "dev", dev, "root"]]
