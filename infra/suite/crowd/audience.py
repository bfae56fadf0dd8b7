"""A crowd for a scenario: N Locust viewers playing one stream for a while, in Locust's
own processes in the background, while the scenario does other things (a viewer joins,
the seeder dies); then what each viewer saw, read back from the tallies.

Steps use `Audience` (start, wait, stop); nothing here imports Locust.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from infra.ecosystem.logs import tail
from infra.ecosystem.waits import NotReady, Wait
from infra.suite.crowd import knee, launch
from infra.suite.crowd.digests import ChunkTable
from infra.suite.crowd.model import Habits
from infra.suite.crowd.plan import Criteria, Plan


@dataclass(frozen=True)
class Outcome:
    """What the crowd saw: one tally per viewing (a seat whose viewer left has two)."""

    viewers: int
    tallies: list[dict]
    latencies: dict[str, dict[str, float]]
    folder: Path

    def with_long_rebuffers(self, seconds: float) -> list[dict]:
        return [t for t in self.tallies if any(stall >= seconds for stall in t["rebuffers"])]

    def slow_starters(self, seconds: float) -> list[dict]:
        return [t for t in self.tallies if any(s > seconds for s in t["startups"])]

    def with_wrong_bytes(self) -> list[dict]:
        return [t for t in self.tallies if t["wrong_bytes"]]

    def hung(self, seconds: float) -> list[dict]:
        """Viewers who waited longer than `seconds` for one answer (data or error)."""
        return [t for t in self.tallies if t["slowest"] > seconds]

    @property
    def received_bytes(self) -> int:
        return sum(t["bytes"] for t in self.tallies)

    @property
    def errors(self) -> list[str]:
        return [e for t in self.tallies for e in t["errors"]]

    def summary(self) -> str:
        return (f"{len(self.tallies)} viewings by {self.viewers} viewers, {self.received_bytes / 1e6:.1f} MB checked, "
                f"{sum(len(t['rebuffers']) for t in self.tallies)} stalls, {len(self.errors)} failed requests; "
                f"Locust report {self.folder / 'locust.html'}")


class Audience:
    """`viewers` viewers of `url` for `seconds` (then they leave)."""

    def __init__(self, viewers: int, seconds: float, url: str, headers: dict[str, str], source: Path,
                 bitrate: float, folder: Path) -> None:
        table = ChunkTable.of_file(source)
        self.viewers = viewers
        self.plan = Plan(streams=[{"url": url, "headers": headers}], size=table.size, chunk=table.chunk,
                         digests=list(table.digests), habits=Habits(bitrate=bitrate), levels=[viewers],
                         level_seconds=seconds, spawn_rate=max(10.0, viewers / 2), criteria=Criteria(),
                         stop_after_failure=False)
        self.outputs = launch.Outputs(folder)
        self.locust = launch.LocustRun(self.plan, self.outputs)

    def start(self) -> "Audience":
        self.locust.start()
        return self

    def wait_until_playing(self, timeout: float = 60.0) -> None:
        """Until the viewers have had answers, as many as there are viewers (Locust rewrites
        its stats CSV every few seconds): Locust's start-up takes seconds on a loaded machine,
        and a scenario that breaks something "while the crowd plays" must not break it before."""
        def probe() -> int:
            answered = knee.answered(self.outputs.stats_csv)
            if answered < self.viewers:
                raise NotReady(f"{answered} answered requests so far")
            return answered

        def exited() -> str | None:
            main = self.locust.processes[0][1] if self.locust.processes else None
            return f"Locust exited with {main.returncode}" if main is not None and main.poll() is not None else None

        Wait(service="locust", what=f"{self.viewers} viewers playing", probe=probe, timeout=timeout, interval=0.5,
             bail_out=exited, log_tail=lambda: tail(self.outputs.log(self.locust.processes[0][0]))).run()

    def wait(self) -> Outcome:
        """Until every viewer has left (the plan's schedule, with its deadline)."""
        self.locust.finish()
        tallies = knee.read_tallies(self.outputs.tallies).get(self.viewers, [])
        return Outcome(self.viewers, tallies, knee.locust_latencies(self.outputs.stats_csv), self.outputs.folder)

    def stop(self) -> None:
        self.locust.stop()
