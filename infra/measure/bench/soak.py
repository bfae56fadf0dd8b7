"""Soak: the reference backend for many minutes with viewers coming and going, its RSS
sampled all along. Memory must level off after the first minutes: a cache that is
bounded, torrents that are dropped when idle, buffers that are released.

Viewers (seeded pseudo-randomly, so two runs do the same) open a video and hang up,
seek, read a whole video, or come as a small crowd, on every test video; between bursts
the backend is sometimes left alone longer than its idle time, so torrents are removed
and added again. Every body is compared with the file.
"""

from __future__ import annotations

import random
import statistics
import tempfile
from dataclasses import replace
from pathlib import Path

from infra.measure import procstat
from infra.measure.bench import probes
from infra.measure.bench.contenders import stream
from infra.measure.bench.runner import log, reachable
from infra.config import Settings
from infra.ecosystem import clock
from infra.ecosystem.local import LocalProvider
from infra.suite.http import Client
from infra.suite.library import FRIENDLY_NAMES, Library, VideoRef
from infra.suite.targets import load_credentials, make_target, urls_of

SAMPLE_EVERY = 5.0
SETTLE = 120.0      # the first minutes: caches fill, the allocator finds its size
FLAT_MIB = 8.0      # growth after SETTLE below this is flat


def _visit(rng: random.Random, target, client: Client, video: VideoRef) -> int:
    """One viewer's visit; returns the bytes it received (all checked)."""
    url, headers = stream(target, client, video)
    kind = rng.choice(("open", "open", "seek", "seek", "whole", "crowd"))
    if kind == "open":
        exchange = client.request("GET", url, headers={**headers, "Range": "bytes=0-"}, read_limit=256 * 1024,
                                  record=False)
        probes.check(exchange, "reference", video, 0, video.size - 1, 206)
        return len(exchange.body)
    if kind == "seek":
        start = rng.randrange(0, max(1, video.size - probes.MIB))
        end = min(video.size - 1, start + probes.MIB - 1)
        exchange = client.request("GET", url, headers={**headers, "Range": f"bytes={start}-{end}"}, record=False)
        probes.check(exchange, "reference", video, start, end, 206)
        return len(exchange.body)
    if kind == "whole":
        exchange = client.request("GET", url, headers=headers, record=False)
        probes.check(exchange, "reference", video, 0, video.size - 1, 200)
        return len(exchange.body)
    if video.size < 2 * probes.MIB:
        return 0
    viewers = rng.randint(5, 20)
    probes.crowd("reference", target, client, video, viewers)
    return viewers * probes.MIB


def soak(minutes: float, base: Settings, reports_dir: Path) -> dict:
    """Run the soak; the samples and the verdict (flat or not) as a dict."""
    rng = random.Random(20260612)
    samples: list[tuple[float, float]] = []
    served = 0
    with tempfile.TemporaryDirectory(prefix="swarmspec-soak-") as tmp:
        settings = replace(base, run_dir=reachable(tmp) / "run", reports_dir=reports_dir, extra_services="")
        provider = LocalProvider(settings, progress=False)
        client = Client()
        try:
            endpoints = provider.up()
            target = make_target("reference", urls_of(endpoints), load_credentials(endpoints.credentials_file, {}))
            library = Library.of_running(endpoints, client)
            videos = [library[label] for label in FRIENDLY_NAMES if library[label].seeded]
            pid = provider.service("backend").pid
            started = next_sample = clock.monotonic()
            deadline = started + minutes * 60
            log(f"soak: {minutes:g} minutes against the reference backend (pid {pid}), idle time "
                f"{settings.idle_timeout:g} s")
            while clock.monotonic() < deadline:
                for _ in range(rng.randint(1, 6)):
                    served += _visit(rng, target, client, rng.choice(videos))
                pause = rng.choice((0.2, 0.5, 1.0, 2.0, settings.idle_timeout + 2.0))
                clock.SYSTEM.sleep(pause)
                now = clock.monotonic()
                if now >= next_sample:
                    samples.append((now - started, procstat.usage(pid).rss_mib))
                    next_sample = now + SAMPLE_EVERY
                    if len(samples) % 12 == 0:
                        log(f"soak: {samples[-1][0] / 60:.1f} min, RSS {samples[-1][1]:.1f} MiB, "
                            f"{served / 1e9:.2f} GB served")
            peak = procstat.usage(pid).peak_rss_mib
        finally:
            client.close()
            provider.down()
    return verdict(samples, served, peak, minutes)


def verdict(samples: list[tuple[float, float]], served: int, peak: float, minutes: float) -> dict:
    """Flat: the RSS of the last third is no more than FLAT_MIB above the RSS once settled."""
    settled = [rss for t, rss in samples if SETTLE <= t < SETTLE + 60] or [rss for _, rss in samples[:3]]
    tail = [rss for _, rss in samples[-max(1, len(samples) // 3):]]
    growth = statistics.median(tail) - statistics.median(settled)
    return {"minutes": minutes, "servedBytes": served, "peakRssMiB": peak,
            "settledRssMiB": statistics.median(settled), "finalRssMiB": statistics.median(tail),
            "growthMiB": growth, "flat": growth <= FLAT_MIB, "samples": samples}


def chart(result: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    times = [t / 60 for t, _ in result["samples"]]
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.plot(times, [rss for _, rss in result["samples"]], color="#2ca02c")
    ax.axvline(SETTLE / 60, linestyle="--", color="grey", linewidth=1)
    ax.set_xlabel("minutes")
    ax.set_ylabel("RSS (MiB)")
    ax.set_ylim(bottom=0)
    ax.set_title(f"reference backend, soak of {result['minutes']:g} min: settled {result['settledRssMiB']:.0f} MiB, "
                 f"end {result['finalRssMiB']:.0f} MiB, peak {result['peakRssMiB']:.0f} MiB", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)

