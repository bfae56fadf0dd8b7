"""From what a ramp recorded to a capacity: each level judged on its viewers' tallies, the
knee (the most viewers at once before the first level that fails), and the figures the
table prints at ¼, ½, ¾ and all of it. Pure functions over the run's files: the viewers'
tallies (JSONL), Locust's stats CSV and the CPU samples."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from infra.suite.crowd.plan import Criteria


def viewer_ok(tally: dict, criteria: Criteria) -> bool:
    """Never rebuffered for `rebuffer_seconds` or more, every startup within
    `startup_seconds`, and no wrong byte."""
    return (not tally["wrong_bytes"]
            and all(stall < criteria.rebuffer_seconds for stall in tally["rebuffers"])
            and all(startup <= criteria.startup_seconds for startup in tally["startups"]))


def level_passes(tallies: list[dict], criteria: Criteria) -> bool:
    if not tallies:
        return False
    good = sum(viewer_ok(t, criteria) for t in tallies)
    return good / len(tallies) >= criteria.share


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


@dataclass(frozen=True)
class Level:
    """One step of the ramp, as its viewers saw it."""

    viewers: int                      # the level: viewers at once
    tallies: int                      # viewings seen in it (a seat whose viewer left counts twice)
    passed: bool
    good_share: float
    startup_p50: float | None
    startup_p95: float | None
    seek_p95: float | None
    rebuffers: int                    # stalls of any length
    long_rebuffers: int               # stalls of rebuffer_seconds or more
    rebuffer_ratio: float             # stalled seconds / watched seconds
    per_viewer_mbps: float            # mean per viewer: megabits per second received
    errors: int
    wrong_bytes: int
    range_p50: float | None = None    # ms, from Locust's stats ("range @N")
    range_p95: float | None = None
    range_p99: float | None = None
    startup_requests_p95: float | None = None
    backend_cpu: float | None = None  # cores, mean over the level
    generator_cpu: dict | None = None  # process label -> cores, mean over the level
    load_average: float | None = None  # the machine's 1-min load average, mean over the level
    busy_seconds: dict | None = None   # process label -> seconds of the level at ≥ 0.9 cores (host samples)
    seeder_cpu: float | None = None    # cores, mean over the level (cold ramps: the swarm serves every viewer)

    def to_json(self) -> dict:
        return asdict(self)


def read_tallies(path: Path) -> dict[int, list[dict]]:
    by_level: dict[int, list[dict]] = {}
    for line in Path(path).read_text().splitlines():
        if line.strip():
            tally = json.loads(line)
            if tally["level"] > 0:
                by_level.setdefault(tally["level"], []).append(tally)
    return by_level


def judge(level: int, tallies: list[dict], criteria: Criteria) -> Level:
    startups = [s for t in tallies for s in t["startups"]]
    seeks = [s for t in tallies for s in t["seeks"]]
    stalls = [s for t in tallies for s in t["rebuffers"]]
    watched = sum(t["watched"] for t in tallies)
    rates = [t["bytes"] * 8 / 1e6 / t["watched"] for t in tallies if t["watched"] > 0.5]
    good = sum(viewer_ok(t, criteria) for t in tallies)
    return Level(
        viewers=level, tallies=len(tallies), passed=level_passes(tallies, criteria),
        good_share=round(good / len(tallies), 4) if tallies else 0.0,
        startup_p50=_round(percentile(startups, 0.5)), startup_p95=_round(percentile(startups, 0.95)),
        seek_p95=_round(percentile(seeks, 0.95)), rebuffers=len(stalls),
        long_rebuffers=sum(s >= criteria.rebuffer_seconds for s in stalls),
        rebuffer_ratio=round(sum(stalls) / watched, 4) if watched else 0.0,
        per_viewer_mbps=round(sum(rates) / len(rates), 2) if rates else 0.0,
        errors=sum(len(t["errors"]) for t in tallies), wrong_bytes=sum(len(t["wrong_bytes"]) for t in tallies))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def capacity(levels: list[Level]) -> tuple[int, bool]:
    """The knee: the largest level below the first failing one; and whether a level
    failed at all (if none did, the capacity is at least the largest level run)."""
    best = 0
    for level in sorted(levels, key=lambda lv: lv.viewers):
        if not level.passed:
            return best, True
        best = level.viewers
    return best, False


def nearest_at_or_below(levels: list[Level], viewers: float) -> Level | None:
    below = [lv for lv in levels if lv.viewers <= viewers]
    return max(below, key=lambda lv: lv.viewers) if below else None


def locust_latencies(stats_csv: Path) -> dict[str, dict[str, float]]:
    """Locust's stats CSV by request name: {"range @40": {"p50": ms, "p95": ms, "p99": ms, "count": n}}."""
    found = {}
    if not Path(stats_csv).exists():
        return found
    with Path(stats_csv).open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("Name") and row["Name"] != "Aggregated":
                found[row["Name"]] = {"p50": _number(row.get("50%")), "p95": _number(row.get("95%")),
                                      "p99": _number(row.get("99%")), "count": _number(row.get("Request Count"))}
    return found


def answered(stats_csv: Path) -> int:
    """Requests answered without failure so far, by Locust's (periodically rewritten) stats CSV."""
    try:
        with Path(stats_csv).open(newline="") as handle:
            for row in csv.DictReader(handle):
                if row.get("Name") == "Aggregated":
                    return int(row["Request Count"]) - int(row["Failure Count"])
    except (OSError, ValueError, KeyError):
        pass
    return 0


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "", "N/A") else None
    except ValueError:
        return None
