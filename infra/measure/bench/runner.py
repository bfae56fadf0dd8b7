"""One benchmark run: for each piece size an ecosystem (the swarm, the file server and
every server compared), and in it each condition (unthrottled, throttled seeder), each
trial, each server in turn, so that load on a shared machine spreads over all of them
rather than falling on one.

Per server and trial: a cold first byte, a cold seek and a cold full GET (each on a
freshly restarted server, see `contenders`), then on the server that now holds the video
a warm range and a crowd of viewers; CPU time is read around the full GET and the crowd,
the peak RSS at the end. Then the server stops, so it seeds nothing to the next one.
"""

from __future__ import annotations

import json
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

from infra import PROJECT_ROOT
from infra.measure.bench import probes, swarm
from infra.measure.bench.contenders import Contender
from infra.measure.bench.figures import MIB, SWARM, SWARM_FULL, Condition
from infra.config import Settings
from infra.ecosystem.local import LocalProvider
from infra.ecosystem.logs import tail
from infra.ecosystem.waits import NotReady, Wait
from infra.suite.http import Client
from infra.suite.library import Library, VideoRef
from infra.suite.swarm_control import SwarmControl
from infra.suite.targets import load_credentials, urls_of

VIDEO = "the large video"


@dataclass(frozen=True)
class Plan:
    piece_sizes: tuple[int, ...]
    rates: tuple[int, ...]          # 0 = unthrottled
    trials: int
    viewers: int
    contenders: tuple[Contender, ...]


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def set_rate(client: Client, seeder: str, rate: int) -> None:
    exchange = client.request("PUT", f"{seeder}/settings", json_body={"uploadRateLimit": rate}, record=False)
    if exchange.status != 200:
        raise RuntimeError(f"seeder: PUT /settings uploadRateLimit={rate} -> {exchange.status} {exchange.error or ''}")


class Session:
    """A running ecosystem for one piece size and what the probes need from it."""

    def __init__(self, provider: LocalProvider, client: Client) -> None:
        self.provider = provider
        self.client = client
        endpoints = provider.endpoints
        self.urls = urls_of(endpoints)
        self.credentials = load_credentials(endpoints.credentials_file, {})
        self.seeder = endpoints.seeder
        self.video: VideoRef = Library.of_running(endpoints, client)[VIDEO]

    def quiet(self) -> None:
        """Wait until the seeder serves nobody the video: no peer, nothing uploaded for a
        moment. A server just stopped may leave a connection the seeder is still feeding
        (measured: the next cold first byte on a 2 MB/s swarm took 0.86 s instead of 0.18),
        so every cold measurement starts from the same quiet swarm."""
        last: list[int | None] = [None]

        def probe() -> None:
            state = next(t for t in SwarmControl(self.provider.endpoints).torrents(self.client)
                         if t["hash"] == self.video.info_hash)
            uploaded, last[0] = last[0], state["uploaded"]
            if state["peers"] or uploaded != state["uploaded"]:
                raise NotReady(f"{state['peers']} peers, {state['uploaded']} bytes uploaded so far")

        Wait(service="seeder", what=f"no peer of {self.video.name} and no upload for 0.2 s", probe=probe,
             timeout=20, interval=0.2, log_tail=lambda: tail(self.provider.service("seeder").log_path)).run()

    def one_trial(self, contender: Contender, condition: Condition) -> None:
        """Every figure of one trial of one server, added to `condition`."""
        name, client, video = contender.label, self.client, self.video

        def fresh():
            target = contender.fresh(self.provider, self.urls, self.credentials, client)
            if contender.is_torrent_server:
                self.quiet()
            return target

        condition.add("cold_first_byte", name, probes.cold_first_byte(name, fresh(), client, video))
        condition.add("cold_seek", name, probes.cold_seek(name, fresh(), client, video))
        target = fresh()
        before = contender.usage(self.provider)
        condition.add("full_get", name, probes.full_get(name, target, client, video))
        after = contender.usage(self.provider)
        condition.add("cpu_fresh", name, (after.cpu_seconds - before.cpu_seconds) / (video.size / 1e9))
        condition.add("warm_range", name, *probes.warm_ranges(name, target, client, video))
        before = contender.usage(self.provider)
        seconds = probes.crowd(name, target, client, video, condition.viewers)
        after = contender.usage(self.provider)
        condition.add("cpu_warm", name, (after.cpu_seconds - before.cpu_seconds) / (condition.viewers * MIB / 1e9))
        seconds.sort()
        condition.add("crowd_p50", name, seconds[len(seconds) // 2])
        condition.add("crowd_p95", name, seconds[min(len(seconds) - 1, round(0.95 * (len(seconds) - 1)))])
        condition.add("peak_rss", name, after.peak_rss_mib)
        contender.stop(self.provider)


def run(plan: Plan, base: Settings, reports_dir: Path) -> list[Condition]:
    """Every condition of the plan, measured; one ecosystem per piece size."""
    conditions: list[Condition] = []
    for piece_size in plan.piece_sizes:
        with ecosystem(plan.contenders, piece_size, base, reports_dir) as (provider, client, session):
            for contender in plan.contenders:
                contender.stop(provider)   # one torrent server at a time (see contenders)
            for rate in plan.rates:
                set_rate(client, session.seeder, rate)
                video = session.video
                condition = Condition(piece_size, rate, video.name, video.size, plan.viewers,
                                      probes.seek_span(video))
                for trial in range(plan.trials):
                    log(f"{condition.label}: trial {trial + 1}/{plan.trials}, libtorrent alone")
                    session.quiet()
                    condition.add(SWARM_FULL, SWARM, swarm.raw_download(session.video.magnet))
                    for contender in plan.contenders:
                        log(f"{condition.label}: trial {trial + 1}/{plan.trials}, {contender.label}")
                        session.one_trial(contender, condition)
                conditions.append(condition)
    return conditions


@contextmanager
def ecosystem(contenders: list[Contender], piece_size: int, base: Settings,
              reports_dir: Path) -> Iterator[tuple[LocalProvider, Client, Session]]:
    """One local ecosystem for a measurement (its run folder temporary, no upload limit,
    the contenders' torrent servers as extra services), always taken down again."""
    extras = ",".join(c.service for c in contenders if c.service in ("webtorrent", "peerflix"))
    with tempfile.TemporaryDirectory(prefix="swarmspec-bench-") as tmp:
        settings = replace(base, run_dir=reachable(tmp) / "run", reports_dir=reports_dir, piece_size=piece_size,
                           extra_services=extras, upload_rate_limit=0)
        provider = LocalProvider(settings, progress=False)
        client = Client()
        try:
            log(f"{piece_size // 1024} KiB pieces: starting the ecosystem ({', '.join(c.label for c in contenders)})")
            provider.up()
            yield provider, client, Session(provider, client)
        finally:
            client.close()
            provider.down()


def reachable(tmp: str) -> Path:
    """A temporary folder the tracker can read its whitelist in: run as root, the local
    provider starts opentracker as 'nobody' (a TemporaryDirectory is 0700)."""
    path = Path(tmp)
    path.chmod(0o755)
    return path


def save(conditions: list[Condition], path: Path, extra: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {**extra, "conditions": [{"label": c.label, "pieceSize": c.piece_size, "rate": c.rate, "video": c.video,
                                     "size": c.size, "viewers": c.viewers, "seek": list(c.seek),
                                     "samples": c.samples} for c in conditions]}
    path.write_text(json.dumps(data, indent=1))


def default_reports_dir() -> Path:
    return PROJECT_ROOT / "reports" / "bench"
