"""The figures of one benchmark run, their physical limits and the reference backend's
targets, all as ratios within the run (figures from different runs on a shared machine
are not comparable; ratios taken in one run are).

A figure is kept as every sample of every trial, so the report can show min, median and
max. The limit of a figure is what no server can beat: on an unthrottled swarm the plain
file server (same machine, same client, same request); on a throttled one also the bytes
the swarm must deliver divided by its rate (a piece is usable only once all of it has
arrived and its hash matches).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

MIB = 1024 * 1024


@dataclass(frozen=True)
class Figure:
    key: str
    title: str
    unit: str          # of the stored samples
    scale: float = 1.0  # display = sample * scale
    shown: str = ""    # display unit
    peak: bool = False  # aggregate by the maximum (memory), not the median

    @property
    def display_unit(self) -> str:
        return self.shown or self.unit


FIGURES = (
    Figure("cold_first_byte", "cold first byte (bytes=0-)", "s", 1000, "ms"),
    Figure("cold_seek", "cold seek, 1 MiB at 75 %", "s", 1000, "ms"),
    Figure("full_get", "full GET of a fresh torrent", "s"),
    Figure("warm_range", "warm range, 1 MiB", "s", 1000, "ms"),
    Figure("crowd_p50", "viewers at once, p50", "s", 1000, "ms"),
    Figure("crowd_p95", "viewers at once, p95", "s", 1000, "ms"),
    Figure("peak_rss", "peak RSS", "MiB", peak=True),
    Figure("cpu_fresh", "CPU per GB, fresh full GET", "s/GB"),
    Figure("cpu_warm", "CPU per GB, warm viewers", "s/GB"),
)
BY_KEY = {f.key: f for f in FIGURES}
BY_KEY["swarm_full"] = Figure("swarm_full", "libtorrent alone, whole torrent", "s")
#: libtorrent alone downloading the whole torrent (bench.swarm): the unthrottled swarm's limit.
SWARM_FULL, SWARM = "swarm_full", "libtorrent alone"
THIRD_PARTY = ("webtorrent", "peerflix")
FILE_SERVER = "file server"
REFERENCE = "reference"


@dataclass
class Condition:
    """One swarm set-up: the torrents' piece size and the seeder's upload limit."""

    piece_size: int
    rate: int                   # bytes/s, 0 = unthrottled
    video: str
    size: int                   # of the video measured
    viewers: int
    seek: tuple[int, int]       # the cold seek's span (start, end inclusive)
    samples: dict[str, dict[str, list[float]]] = field(default_factory=dict)   # figure -> server -> values

    @property
    def label(self) -> str:
        pieces = f"{self.piece_size // 1024} KiB pieces" if self.piece_size < MIB else f"{self.piece_size // MIB} MiB pieces"
        return f"{pieces}, " + (f"seeder at {self.rate / 1e6:g} MB/s" if self.rate else "unthrottled")

    def add(self, figure: str, server: str, *values: float) -> None:
        self.samples.setdefault(figure, {}).setdefault(server, []).extend(values)

    def value(self, figure: str, server: str) -> float | None:
        """The figure's median over the trials (its maximum for memory); None if not measured."""
        values = self.samples.get(figure, {}).get(server)
        if not values:
            return None
        return max(values) if BY_KEY[figure].peak else statistics.median(values)

    def spread(self, figure: str, server: str) -> tuple[float, float, float] | None:
        values = self.samples.get(figure, {}).get(server)
        return (min(values), statistics.median(values), max(values)) if values else None

    def pieces_bytes(self, start: int, end: int) -> int:
        """Bytes of the pieces holding start..end (of a single-file torrent), clipped to the file."""
        first, last = start // self.piece_size, end // self.piece_size
        return min(self.size, (last + 1) * self.piece_size) - first * self.piece_size

    def transfer_limit(self, figure: str) -> float | None:
        """Bytes the swarm must deliver for the figure ÷ its rate, in seconds. Unthrottled,
        only the full GET has one: libtorrent alone downloading the torrent (median)."""
        if not self.rate:
            return self.value(SWARM_FULL, SWARM) if figure == "full_get" else None
        needed = {"cold_first_byte": self.pieces_bytes(0, 0), "cold_seek": self.pieces_bytes(*self.seek),
                  "full_get": self.size}.get(figure)
        return needed / self.rate if needed else None

    def best_third_party(self, figure: str) -> float | None:
        values = [v for v in (self.value(figure, s) for s in THIRD_PARTY) if v is not None]
        return min(values) if values else None


@dataclass(frozen=True)
class Goal:
    """A target of the reference backend: its figure ≤ ratio × a basis in the same run."""

    figure: str
    throttled: bool
    basis: str          # "webtorrent", "best third party", "file server", "transfer limit"
    ratio: float

    def describe(self) -> str:
        return f"{BY_KEY[self.figure].title} ≤ {self.ratio:g}× {self.basis}"


GOALS = (
    Goal("full_get", False, "webtorrent", 0.5),            # ≥ 2× WebTorrent's throughput
    Goal("full_get", True, "transfer limit", 1.1),         # within 1.1× of the swarm rate
    Goal("cold_first_byte", False, "best third party", 0.5),
    Goal("cold_first_byte", True, "transfer limit", 1.5),  # the first piece's transfer time
    Goal("cold_seek", False, "best third party", 0.5),
    Goal("cold_seek", True, "transfer limit", 1.2),
    Goal("crowd_p95", False, "file server", 1.5),
    Goal("peak_rss", False, "webtorrent", 0.5),
)


@dataclass(frozen=True)
class Verdict:
    goal: Goal
    condition: str
    value: float | None
    basis: float | None

    @property
    def ratio(self) -> float | None:
        return self.value / self.basis if self.value is not None and self.basis else None

    @property
    def met(self) -> bool | None:
        return None if self.ratio is None else self.ratio <= self.goal.ratio


def judge(condition: Condition) -> list[Verdict]:
    verdicts = []
    for goal in GOALS:
        if goal.throttled != bool(condition.rate):
            continue
        basis = {
            "webtorrent": lambda: condition.value(goal.figure, "webtorrent"),
            "best third party": lambda: condition.best_third_party(goal.figure),
            "file server": lambda: condition.value(goal.figure, FILE_SERVER),
            "transfer limit": lambda: condition.transfer_limit(goal.figure),
        }[goal.basis]()
        verdicts.append(Verdict(goal, condition.label, condition.value(goal.figure, REFERENCE), basis))
    return verdicts
