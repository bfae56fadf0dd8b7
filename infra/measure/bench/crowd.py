"""python -m infra.measure.bench --crowd ROUNDS: the crowd figure alone, many times, side by side.

The full benchmark takes one crowd per server and trial; on a shared machine one p95 of
50 viewers swings by 2x from one crowd to the next (load average 5-20 here), so a change
to a server's read path cannot be judged from it. This mode starts the ecosystem once,
warms every server with a full GET of the video, then takes ROUNDS rounds, each a crowd
on the file server and one on every other server in turn (alternating, so load falls on
all of them alike). Per server it reports the median over rounds of the p50 and p95, the
median and quartiles of the per-round ratio of its p95 to the file server's (taken in
the same round, a minute apart at most), and its CPU time per crowd (user + system, all
threads: far steadier than latency on a loaded machine). Every body is compared with the
file (`probes.crowd`).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

from infra.config import Settings
from infra.measure.bench import probes
from infra.measure.bench.contenders import Contender
from infra.measure.bench.runner import ecosystem, log


@dataclass
class Samples:
    """One server's crowds: p50 and p95 seconds and CPU seconds of each round."""

    p50: list[float] = field(default_factory=list)
    p95: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def percentile(values: list[float], fraction: float) -> float:
    """The bench's percentile (nearest rank, as in runner.Session.one_trial)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run(contenders: list[Contender], rounds: int, viewers: int, piece_size: int, base: Settings,
        reports_dir: Path) -> dict[str, Samples]:
    """ROUNDS crowds of VIEWERS per server, in one ecosystem; the file server comes first."""
    samples = {c.label: Samples() for c in contenders}
    with ecosystem(contenders, piece_size, base, reports_dir) as (provider, client, session):
        targets = {}
        for contender in contenders:
            targets[contender.label] = contender.fresh(provider, session.urls, session.credentials, client)
            if contender.is_torrent_server:
                probes.full_get(contender.label, targets[contender.label], client, session.video)
        for number in range(rounds):
            log(f"round {number + 1}/{rounds}")
            for contender in contenders:
                before = contender.usage(provider).cpu_seconds
                seconds = probes.crowd(contender.label, targets[contender.label], client, session.video, viewers)
                got = samples[contender.label]
                got.cpu.append(contender.usage(provider).cpu_seconds - before)
                got.p50.append(percentile(seconds, 0.5))
                got.p95.append(percentile(seconds, 0.95))
    return samples


def summary(samples: dict[str, Samples], limit: str) -> dict[str, dict]:
    """Per server: medians, the p95 ratio to `limit` round by round, CPU per crowd."""
    out = {}
    for label, got in samples.items():
        ratios = [p / q for p, q in zip(got.p95, samples[limit].p95)]
        quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
        out[label] = {
            "p50Ms": round(statistics.median(got.p50) * 1000, 1),
            "p95Ms": round(statistics.median(got.p95) * 1000, 1),
            "p95Ratio": round(statistics.median(ratios), 3),
            "p95RatioQuartiles": [round(quartiles[0], 3), round(quartiles[2], 3)],
            "cpuMsPerCrowd": round(statistics.median(got.cpu) * 1000, 1),
            "rounds": {"p50": got.p50, "p95": got.p95, "cpu": got.cpu},
        }
    return out


def text(figures: dict[str, dict], limit: str, viewers: int, piece_size: int, header: str) -> str:
    lines = [header, "",
             f"### {viewers} viewers at once, 1 MiB each, {piece_size // 1024} KiB pieces (medians over rounds)", "",
             f"| server | p50 | p95 | p95 / {limit}'s, same round (quartiles) | CPU per crowd |",
             "|---|---|---|---|---|"]
    for label, f in figures.items():
        low, high = f["p95RatioQuartiles"]
        lines.append(f"| {label} | {f['p50Ms']:.0f} ms | {f['p95Ms']:.0f} ms | {f['p95Ratio']:.2f}x "
                     f"({low:.2f}-{high:.2f}) | {f['cpuMsPerCrowd']:.0f} ms |")
    return "\n".join(lines)
