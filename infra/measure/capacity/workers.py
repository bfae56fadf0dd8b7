"""One target's knee with one Locust worker and with more, side by side (`--workers 1,2`).

A knee is the target's only if it does not move when the generator gets more processes:
if it does, the generator (or the machine it shares with the target) was the limit, and
the figure with more workers is the closer one. The comparison says which, with the CPU
each Locust process measured in itself at the knee, and how fine the ramp was there: a
ramp whose step at the knee is coarser than the tolerance cannot show a knee within it.
Pure functions over the ramps' results.
"""

from __future__ import annotations

from dataclasses import dataclass

TOLERANCE = 0.15       # the same knee: within ±15 %
WITHIN = f"±{TOLERANCE * 100:.0f} %"


def _count(workers: int) -> str:
    return {0: "no workers", 1: "1 worker"}.get(workers, f"{workers} workers")


@dataclass(frozen=True)
class Comparison:
    target: str
    mode: str
    baseline: object            # runner.TargetResult with the fewest workers
    other: object               # the same target and mode with more workers

    @property
    def ratio(self) -> float | None:
        if not self.baseline.capacity or not self.other.capacity:
            return None
        return self.other.capacity / self.baseline.capacity

    @property
    def same_knee(self) -> bool | None:
        """True/False when both ramps failed a level (both knees found); None otherwise."""
        if self.ratio is None or not self.baseline.failed_level or not self.other.failed_level:
            return None
        return abs(self.ratio - 1) <= TOLERANCE


def step_at_knee(result) -> float | None:
    """The ramp's resolution at the knee: the first failed level over the knee, minus one."""
    if not result.capacity or not result.failed_level:
        return None
    return result.failed_level / result.capacity - 1


def compare(results) -> list[Comparison]:
    """Per target and mode, the ramp with the fewest workers against each of the others."""
    groups: dict[tuple[str, str], list] = {}
    for result in results:
        groups.setdefault((result.target, result.mode), []).append(result)
    found = []
    for (target, mode), ramps in groups.items():
        ramps = sorted(ramps, key=lambda r: r.workers)
        found += [Comparison(target, mode, ramps[0], other) for other in ramps[1:]]
    return found


def _knee(result) -> str:
    if result.notes and not result.levels:
        return "no knee (the ramp failed)"
    return f"{result.capacity}" if result.failed_level else f"≥ {result.capacity} (no level failed)"


def _generator(result) -> str:
    level = next((lv for lv in result.levels if lv.viewers == result.capacity), None)
    cores = (level.generator_cpu or {}) if level else {}
    return ", ".join(f"{name} {value:.2f}" for name, value in sorted(cores.items())) or "–"


def verdict(comparison: Comparison) -> str:
    base, other = comparison.baseline, comparison.other
    head = (f"{comparison.target} ({comparison.mode}): {_count(base.workers)} {_knee(base)}, "
            f"{_count(other.workers)} {_knee(other)}")
    if comparison.ratio is None:
        return f"{head}: nothing to compare"
    head += f": {comparison.ratio:.2f}×"
    if comparison.same_knee is None:
        return f"{head}; not judged, a ramp never failed a level (raise --stop, or --bitrate)"
    steps = [s for s in (step_at_knee(base), step_at_knee(other)) if s is not None]
    coarse = (f"; the ramp's step at the knee ({max(steps) * 100:.0f} %) is coarser than {WITHIN}: use a smaller "
              f"--factor" if steps and max(steps) > TOLERANCE else "")
    if comparison.same_knee:
        return f"{head}, the same knee within {WITHIN}: the target's, not the generator's{coarse}"
    return (f"{head}, moved by more than {WITHIN}: with {_count(base.workers)} the limit was "
            f"{base.saturated}{coarse}")


def table(results) -> list[str]:
    """The comparison as the capacity report prints it (empty when nothing was compared)."""
    comparisons = compare(results)
    if not comparisons:
        return []
    lines = ["", f"Workers compared (the same knee within {WITHIN} is the target's; the generator's CPU is "
                 "what each Locust process measured in itself over the knee's level):", "",
             "| target | mode | workers | knee | first failed level | step at the knee | generator CPU at the knee "
             "(cores) | saturated at the first failed level |",
             "|---|---|---|---|---|---|---|---|"]
    shown = []
    for comparison in comparisons:
        for result in (comparison.baseline, comparison.other):
            if result in shown:
                continue
            shown.append(result)
            step = step_at_knee(result)
            lines.append(f"| {result.target} | {result.mode} | {result.workers} | {_knee(result)} | "
                         f"{result.failed_level or '–'} | {'–' if step is None else f'{step * 100:.0f} %'} | "
                         f"{_generator(result)} | {result.saturated} |")
    lines.append("")
    lines += [verdict(c) for c in comparisons]
    return lines
