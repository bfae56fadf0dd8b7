"""The capacity run as a reader sees it: a table (capacity; per-viewer throughput; range
latency p50/p95/p99 at ¼, ½, ¾ and all of capacity; the target's CPU and peak RSS; the
generator's CPU per process and what saturated), capacity.json, and a PNG chart (viewers
vs p95 range latency and rebuffer ratio, one line per target; the file server is the limit)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from infra.ecosystem import clock
from infra.measure.capacity import workers
from infra.suite.crowd.knee import Level, nearest_at_or_below

LIMIT = "range-server"     # the file server: the limit line


def machine() -> dict:
    return {"cpus": os.cpu_count(), "loadAverage": [round(x, 2) for x in os.getloadavg()], "at": clock.stamp()}


def save(results, ramp, before: dict, after: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machineBefore": before, "machineAfter": after,
                                "ramp": {"levels": list(ramp.levels), "levelSeconds": ramp.level_seconds,
                                         "workers": list(ramp.worker_counts()), "bitrate": ramp.bitrate},
                                "targets": [r.to_json() for r in results],
                                "workersCompared": [{"target": c.target, "mode": c.mode,
                                                     "workers": [c.baseline.workers, c.other.workers],
                                                     "knees": [c.baseline.capacity, c.other.capacity],
                                                     "ratio": c.ratio, "sameKnee": c.same_knee,
                                                     "verdict": workers.verdict(c)}
                                                    for c in workers.compare(results)]}, indent=1))


def _latency(level: Level | None) -> str:
    if level is None or level.range_p50 is None:
        return "–"
    return f"{level.range_p50:.0f}/{level.range_p95:.0f}/{level.range_p99:.0f} @{level.viewers}"


def _cores(cores: float | None) -> str:
    return "–" if cores is None else f"{cores:.2f}"


def row(result, compared: bool = False) -> str:
    at = {share: nearest_at_or_below(result.levels, result.capacity * share) if result.capacity else None
          for share in (0.25, 0.5, 0.75, 1.0)}
    top = at[1.0]
    capacity = f"{result.capacity}" if result.failed_level else f"≥ {result.capacity}"
    generator = ", ".join(f"{name} {cores:.2f}" for name, cores in ((top.generator_cpu or {}) if top else {}).items())
    rss = "–" if result.backend_peak_rss_mib is None else f"{result.backend_peak_rss_mib:.0f}"
    mode = f"{result.mode}, {result.workers} workers" if compared else result.mode
    return (f"| {result.target} | {mode} | {capacity} | "
            f"{top.per_viewer_mbps if top else '–'} | "
            + " | ".join(_latency(at[s]) for s in (0.25, 0.5, 0.75, 1.0))
            + f" | {_cores(top.backend_cpu if top else None)} | {rss} | {generator or '–'} | "
              f"{result.failed_level or '–'}: {result.saturated} |")


def text(results, ramp, before: dict, after: dict, out: Path) -> str:
    limit = next((r for r in results if r.target == LIMIT), None)
    counts = " then ".join(str(n or "no") for n in ramp.worker_counts())
    lines = [f"## swarmspec capacity: levels {', '.join(map(str, ramp.levels))} viewers, {ramp.level_seconds:g} s "
             f"each, {counts} Locust workers; load average {before['loadAverage']} before, "
             f"{after['loadAverage']} after; {before['cpus']} CPUs",
             "Capacity: the most viewers at once for which ≥ 99 % never rebuffer ≥ 1 s and start within 2 s "
             "(≥ N: no level failed). Range latency ms p50/p95/p99 @ viewers, at ¼, ½, ¾ and all of capacity.",
             "",
             "| target | mode | capacity | Mbit/s per viewer | ¼ | ½ | ¾ | all | target CPU (cores) | "
             "target peak RSS MiB | generator CPU (cores) | first failed level: saturated |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += [row(r, bool(ramp.compare_workers)) for r in results]
    if limit is not None and limit.capacity:
        ratios = [f"{r.target} ({r.mode}) {'≥ ' if not r.failed_level else ''}{r.capacity / limit.capacity:.2f}×"
                  for r in results if r.target != LIMIT]
        lines.append(f"\nCapacity relative to the file server (the limit): {', '.join(ratios) or '–'}")
    lines += workers.table(results)
    lines.append(f"Chart: {out / 'capacity.png'}; figures: {out / 'capacity.json'}; "
                 f"Locust reports: {out}/<target>-<mode>/locust.html")
    return "\n".join(lines)


def chart(results, path: Path) -> None:
    """Viewers vs p95 range latency (left) and rebuffer ratio (right), one line per target."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    from matplotlib.ticker import NullFormatter, ScalarFormatter

    figure, (latency, stalls) = pyplot.subplots(1, 2, figsize=(12, 4.5))
    ticks = sorted({lv.viewers for r in results for lv in r.levels})
    for result in results:
        levels = [lv for lv in result.levels if lv.range_p95 is not None]
        style = {"linestyle": "--", "color": "black"} if result.target == LIMIT else {}
        twins = sum(r.target == result.target and r.mode == result.mode for r in results) > 1   # --workers 1,2
        label = f"{result.target} ({result.mode}{f', {result.workers} workers' if twins else ''}): {result.capacity}"
        line, = latency.plot([lv.viewers for lv in levels], [lv.range_p95 for lv in levels], marker="o", label=label,
                             **style)
        stalls.plot([lv.viewers for lv in result.levels], [lv.rebuffer_ratio for lv in result.levels], marker="o",
                    label=label, color=line.get_color(), linestyle=line.get_linestyle())
        failed = [lv for lv in levels if not lv.passed]          # levels past the knee: hollow
        latency.plot([lv.viewers for lv in failed], [lv.range_p95 for lv in failed], linestyle="none", marker="o",
                     markersize=9, markerfacecolor="white", color=line.get_color())
    latency.set(xlabel="viewers at once", ylabel="p95 range latency (ms)", title="Range latency", xscale="log")
    stalls.set(xlabel="viewers at once", ylabel="stalled s / watched s", title="Rebuffer ratio", xscale="log")
    for axis in (latency, stalls):
        axis.set_xticks(ticks)
        axis.xaxis.set_major_formatter(ScalarFormatter())
        axis.xaxis.set_minor_formatter(NullFormatter())
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle("swarmspec capacity (file server dashed: the limit; hollow: a level that failed)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
