"""One capacity run: one ecosystem (the swarm, the file server and every target compared),
and in it, target after target, a Locust ramp of viewers of the large video, so load on a
shared machine falls on all of them alike.

Under the docker provider (`--ecosystem docker`) the swarm and the targets are containers,
and so are the Locust workers (`docker_workers`), on the run's network; the master stays
on this host, where the results are written.

Warm: the target already holds the video (one whole GET through it before the ramp), so
the ramp measures serving, not the swarm. Only one torrent server runs at a time (the
others are stopped), so none seeds to the next or competes for the CPU.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from infra.config import Settings
from infra.ecosystem import clock
from infra.ecosystem.providers import make_provider
from infra.suite.crowd import knee, launch
from infra.suite.crowd.digests import ChunkTable
from infra.suite.crowd.model import Habits
from infra.suite.crowd.plan import NO_FRESH_TORRENT, Criteria, Plan
from infra.suite.http import Client
from infra.suite.library import Library, VideoRef
from infra.suite.swarm_control import SwarmControl
from infra.suite.targets import load_credentials, make_target, urls_of
from videos import load_manifest

VIDEO = "the large video"
TORRENT_SERVERS = ("backend", "webtorrent", "peerflix")
MIB = 1024 * 1024
CPUS = os.cpu_count() or 1
ARRIVAL_SHARE = 1 / 3      # a level's new viewers arrive over its first third: the knee is viewers at once,
                           # not the size of the ramp's step (a flash crowd is capacity.feature's joiner)
BURST_SECONDS = 3          # a process at ≥ 0.9 cores this long in a level was a limit in it


def log(message: str) -> None:
    print(f"[capacity] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Ramp:
    levels: tuple[int, ...]
    level_seconds: float
    workers: int = 0
    bitrate: float | None = None        # bytes/s; None: the video's own
    web_port: int | None = None
    remote_workers: int = 0             # workers joining from other machines (Locust's --worker --master-host)
    master_bind: str = "127.0.0.1"
    master_port: int | None = None
    ecosystem: str = "local"            # docker: the swarm and the targets are containers
    modes: tuple[str, ...] = ("warm",)  # warm, cold
    cold_max: int = 80                  # a cold ramp's levels stop here: each viewing needs a fresh torrent
    cold_pool: int | None = None        # fresh copies seeded for a cold ramp (None: `cold_pool_size`)
    compare_workers: tuple[int, ...] = ()   # ramp each target once per worker count, one after the other

    def worker_counts(self) -> tuple[int, ...]:
        return self.compare_workers or (self.workers,)


@dataclass
class TargetResult:
    target: str
    mode: str                           # warm | cold
    capacity: int
    failed_level: int | None            # the first level that failed (None: the ramp never failed)
    levels: list[knee.Level]
    backend_peak_rss_mib: float | None
    generator_peak_rss_mib: dict[str, float]
    saturated: str                      # which side was busy at the first failed level
    folder: str
    notes: list[str] = field(default_factory=list)
    workers: int = 0                    # Locust workers of this ramp (0: one local Locust process)

    def to_json(self) -> dict:
        return {**asdict(self), "levels": [lv.to_json() for lv in self.levels]}


def habits_for(video: VideoRef, bitrate: float | None) -> Habits:
    """The viewers' habits at `bitrate` bytes/s, by default the video's own (size ÷ duration)."""
    return Habits(bitrate=bitrate or video.size / load_manifest().get(video.name).duration)


def cold_pool_size(levels: list[int], level_seconds: float, habits: Habits, size: int) -> int:
    """Fresh copies a cold ramp may use if it never fails a level: a copy per seat to begin
    with, and one per new viewing after: a viewing ends when the video does (its length at
    the playback bitrate) or when the viewer leaves; 10 % to spare."""
    ends_per_second = habits.bitrate / size + habits.leave_chance / 10.0
    viewings = max(levels) + sum(levels) * level_seconds * ends_per_second
    return round(viewings * 1.1) + 5


def levels_between(start: int, stop: int, factor: float) -> tuple[int, ...]:
    """A geometric ramp: start, start×factor, ... up to stop (each a whole number, rising)."""
    levels, current = [], float(start)
    while round(current) <= stop:
        if not levels or round(current) > levels[-1]:
            levels.append(round(current))
        current *= factor
    return tuple(levels)


def warm_up(target_name: str, url: str, headers: dict[str, str], client: Client, video: VideoRef) -> None:
    """One whole GET through the target, checked: afterwards it holds every piece."""
    exchange = client.request("GET", url, headers=headers, record=False, deadline=180, read_timeout=60)
    if exchange.status != 200 or exchange.body != video.whole():
        raise RuntimeError(f"{target_name}: warming up with a whole GET of {video.name} gave {exchange.status} "
                           f"{exchange.error or ''} with {len(exchange.body)} of {video.size} bytes")


def saturation(level: knee.Level | None) -> str:
    """Which side was busy at a level: a process using ≥ 0.9 of a core is saturated
    (Locust and our servers are single-threaded event loops), over the level or for
    `BURST_SECONDS` of it (a level's new viewers fill their buffers at once, and their
    startups are judged in that burst); or the machine, when more processes wanted a CPU
    than it has (the 1-min load average over its CPUs)."""
    if level is None:
        return "nothing (no level failed)"
    busy = []
    bursts = level.busy_seconds or {}
    if level.backend_cpu is not None and level.backend_cpu >= 0.9:
        busy.append(f"the target ({level.backend_cpu:.2f} cores)")
    elif bursts.get("target", 0) >= BURST_SECONDS:
        busy.append(f"the target (≥ 0.9 cores for {bursts['target']} s of the level)")
    if level.seeder_cpu is not None and level.seeder_cpu >= 0.9:
        busy.append(f"the swarm's seeder ({level.seeder_cpu:.2f} cores)")
    elif bursts.get("seeder", 0) >= BURST_SECONDS:
        busy.append(f"the swarm's seeder (≥ 0.9 cores for {bursts['seeder']} s of the level)")
    for name, cores in (level.generator_cpu or {}).items():
        if cores >= 0.9:
            busy.append(f"the generator's {name} ({cores:.2f} cores)")
        elif bursts.get(name, 0) >= BURST_SECONDS:
            busy.append(f"the generator's {name} (≥ 0.9 cores for {bursts[name]} s of the level, "
                        f"{cores:.2f} on average)")
    load = level.load_average
    if load is not None and load > 2 * CPUS:
        busy.append(f"the machine (load average {load:.1f} on {CPUS} CPUs)")
    if level.errors:
        busy.append(f"the target's answers ({level.errors} failed requests)")
    return ", ".join(busy) or "no process and not the machine: the swarm, the disk or the network"


def analyse(plan: Plan, outputs: launch.Outputs, target: str, mode: str, peaks: dict[str, float]) -> TargetResult:
    by_level = knee.read_tallies(outputs.tallies)
    ran_out = {level for level, tallies in by_level.items()
               if any(error.startswith(NO_FRESH_TORRENT) for t in tallies for error in t["errors"])}
    latencies = knee.locust_latencies(outputs.stats_csv)
    cpu = launch.read_samples(outputs.samples)
    usage = launch.read_usage(outputs.usage)
    spans = {lv: (i * plan.level_seconds, (i + 1) * plan.level_seconds) for i, lv in enumerate(plan.levels)}
    levels = []
    for level, tallies in sorted(by_level.items()):
        judged = knee.judge(level, tallies, plan.criteria)
        ranges, startups = latencies.get(f"range @{level}", {}), latencies.get(f"startup @{level}", {})
        means = launch.mean_cores(cpu, *spans[level]) if level in spans else {}
        backend, load, seeder = means.pop("target", None), means.pop("load", None), means.pop("seeder", None)
        # The generator's CPU as each Locust process measured itself over the level (remote
        # and container workers included); the host's samples where a process sent none.
        generator = usage.get(level) or means or None
        busy = launch.busy_seconds(cpu, *spans[level]) if level in spans else {}
        judged = replace(judged, range_p50=ranges.get("p50"), range_p95=ranges.get("p95"),
                         range_p99=ranges.get("p99"), startup_requests_p95=startups.get("p95"),
                         backend_cpu=backend, load_average=load, generator_cpu=generator,
                         busy_seconds={k: v for k, v in busy.items() if v} or None, seeder_cpu=seeder)
        levels.append(judged)
    exhausted = next((lv.viewers for lv in levels if lv.viewers in ran_out), None)
    if exhausted is not None:           # the tool's limit, not the target's: not judged from there
        levels = [lv for lv in levels if lv.viewers < exhausted]
    best, failed = knee.capacity(levels)
    first_failed = next((lv for lv in levels if not lv.passed), None) if failed else None
    if first_failed is not None:       # later levels ran only while the ramp was stopping: partial, left out
        levels = [lv for lv in levels if lv.viewers <= first_failed.viewers]
    if not levels:                      # nobody played: a broken run, not a capacity of zero
        why = ("the pool of fresh copies ran out in the first level: raise --cold-pool" if exhausted is not None
               else f"no viewer reported back: see {outputs.folder}/*.log")
        return TargetResult(target, mode, 0, plan.levels[0], [], peaks.get("target"), {}, why.split(":")[0],
                            str(outputs.folder), [why])
    why = saturation(first_failed)
    if exhausted is not None and first_failed is None:
        why = (f"nothing up to {best}; at {exhausted} the pool of fresh copies ran out (not judged from there: "
               f"--cold-pool, or a lower --cold-max)")
    return TargetResult(target, mode, best, first_failed.viewers if first_failed else None, levels,
                        peaks.get("target"), {k: v for k, v in peaks.items() if k != "target"},
                        why, str(outputs.folder))


class Session:
    """The running ecosystem and what every ramp needs from it."""

    def __init__(self, provider, client: Client, worker_launcher=None) -> None:
        self.provider, self.client, self.worker_launcher = provider, client, worker_launcher
        endpoints = provider.endpoints
        self.urls = urls_of(endpoints)
        self.credentials = load_credentials(endpoints.credentials_file, {})
        self.video = Library.of_running(endpoints, client)[VIDEO]
        self.swarm = SwarmControl(endpoints, provider)
        self.table = ChunkTable.of_file(self.video.main_path)

    def fresh(self, name: str):
        """The service restarted with empty storage. On a free port where the provider can
        (a crowd's thousands of client sockets may hold the old one: seen, EADDRINUSE), so
        the target is made afterwards, from the service's current URL."""
        service = self.provider.service(name)
        service.stop()
        if hasattr(service, "start_on_free_port"):
            service.start_on_free_port()
        else:
            service.start()
        self.urls = {**self.urls, name: service.url}
        return service

    def ramp(self, target_name: str, ramp: Ramp, out: Path, criteria: Criteria, mode: str = "warm") -> TargetResult:
        name = make_target(target_name, self.urls, self.credentials).services[0]
        service = self.fresh(name) if name in TORRENT_SERVERS else self.provider.service(name)
        target = make_target(target_name, self.urls, self.credentials)   # empty storage: warm-up only / nothing seen
        plan = Plan(streams=[], size=self.video.size, chunk=self.table.chunk,
                    digests=list(self.table.digests), habits=habits_for(self.video, ramp.bitrate),
                    levels=list(ramp.levels), level_seconds=ramp.level_seconds, criteria=criteria,
                    arrival_seconds=ramp.level_seconds * ARRIVAL_SHARE)
        variants: list[str] = []
        if mode == "warm":
            url, headers = target.stream_url(self.client, self.video), target.auth_headers(self.client)
            warm_up(target_name, url, headers, self.client, self.video)
            plan = replace(plan, streams=[{"url": url, "headers": headers}])
        else:
            levels = [level for level in ramp.levels if level <= ramp.cold_max] or [min(ramp.levels)]
            pool = self.fresh_variants(ramp.cold_pool or cold_pool_size(levels, ramp.level_seconds, plan.habits,
                                                                         self.video.size))
            variants = [v["hash"] for v in pool]
            plan = replace(plan, levels=levels, cold={
                "target": target_name, "urls": dict(self.urls), "credentials": dict(self.credentials),
                "video": {"name": self.video.name, "size": self.video.size}, "workers": max(1, ramp.workers),
                "variants": [{"hash": v["hash"], "magnet": v["magnetURI"]} for v in pool]})
        folder = f"{target_name}-{mode}" + (f"-{ramp.workers}w" if ramp.compare_workers else "")
        outputs = launch.Outputs(out / folder)
        log(f"{target_name} ({mode}): levels {', '.join(map(str, plan.levels))}, {ramp.level_seconds:g} s each, "
            f"{ramp.workers or 'no'} workers")
        watch = {"target": self.target_pid(service)}
        if mode == "cold":              # the swarm serves every fresh torrent: is the seeder the limit?
            watch["seeder"] = self.target_pid(self.provider.service("seeder"))
        peaks = launch.run(plan, outputs, ramp.workers, watch, web_port=ramp.web_port,
                           worker_launcher=self.worker_launcher, remote_workers=ramp.remote_workers,
                           master_bind=ramp.master_bind, master_port=ramp.master_port)
        result = replace(analyse(plan, outputs, target_name, mode, peaks), workers=ramp.workers)
        if target.services[0] in TORRENT_SERVERS:
            service.stop()
        for info_hash in variants:
            self.swarm.remove_variant(info_hash)
        return result

    @staticmethod
    def target_pid(service) -> int | None:
        """The target's process: a local service's, or a container's main process as the host sees it."""
        if hasattr(service, "pid"):
            return service.pid
        from infra.measure.capacity.docker_workers import container_pid

        return container_pid(service)

    def fresh_variants(self, count: int) -> list[dict]:
        """`count` fresh copies of the video (new info hashes, the same bytes), admitted to
        the tracker at once and announced, before the ramp starts."""
        log(f"seeding {count} fresh copies of {self.video.name} for a cold ramp")
        started = clock.monotonic()
        made = []
        for _ in range(count):
            exchange = self.client.request("POST", f"{self.provider.endpoints.seeder}/torrents/{self.video.name}/variants",
                                           record=False)
            if exchange.status != 201:
                raise RuntimeError(f"seeder: POST /torrents/{self.video.name}/variants -> "
                                   f"{exchange.status or exchange.error} {exchange.body[:200]!r}")
            made.append(json.loads(exchange.body))
        self.provider.admit([v["hash"] for v in made])
        for variant in made:
            self.swarm.set_seeding(self.client, variant["hash"], True)
        for variant in made:
            self.swarm.wait_until_tracker_knows(self.client, variant["hash"])
        log(f"{count} fresh copies seeded and announced in {clock.monotonic() - started:.0f} s")
        return made


def run(targets: tuple[str, ...], ramp: Ramp, base: Settings, out: Path,
        criteria: Criteria = Criteria()) -> list[TargetResult]:
    extras = ",".join(t for t in targets if t in ("webtorrent", "peerflix"))
    results = []
    with tempfile.TemporaryDirectory(prefix="swarmspec-capacity-") as tmp:
        Path(tmp).chmod(0o755)          # opentracker runs as 'nobody' when we are root
        settings = replace(base, run_dir=Path(tmp) / "run", reports_dir=out, extra_services=extras)
        provider = make_provider(ramp.ecosystem, settings, progress=False)
        client = Client()
        try:
            log(f"starting the ecosystem ({', '.join(targets)}; {ramp.ecosystem} provider)")
            provider.up()
            launcher = None
            if ramp.ecosystem == "docker" and ramp.workers:
                from infra.measure.capacity import docker_workers

                launcher = docker_workers.launcher(provider)
            session = Session(provider, client, launcher)
            for name in TORRENT_SERVERS:
                if name == "backend" or name in extras.split(","):
                    provider.service(name).stop()      # one torrent server at a time
            for target_name in targets:
                for mode in ramp.modes:
                    if mode == "cold" and target_name == "range-server":
                        continue                 # a file server has no torrents: cold is warm
                    if mode == "cold" and launcher is not None:
                        log(f"{target_name} (cold): not run with worker containers, which carry the crowd's "
                            f"modules but not the suite's target adapters that run each viewer's stream flow; "
                            f"run cold with the local provider, or without --workers")
                        continue
                    for workers in ramp.worker_counts():
                        try:
                            results.append(session.ramp(target_name, replace(ramp, workers=workers), out, criteria,
                                                        mode))
                        except (RuntimeError, OSError, launch.LocustFailed) as exc:   # one ramp's failure, not the run's
                            log(f"{target_name} ({mode}, {workers} workers) FAILED: {exc}")
                            results.append(TargetResult(target_name, mode, 0, ramp.levels[0], [], None, {},
                                                        "the ramp failed", str(out), [f"ramp failed: {str(exc)[:300]}"],
                                                        workers))
        finally:
            client.close()
            provider.down()
    return results
