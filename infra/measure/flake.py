"""python -m infra.measure.flake --runs N [--provider local|docker] [-- behave arguments]

The flake rate as a figure: runs the whole suite N times, one after the other, each with
its own ecosystem and reports directory, and prints how many runs passed, which
scenarios failed in which runs, and the spread of the wall time. A failing run's
reports (JUnit XML, service logs, grades.json) are kept under
<reports>/flake/run-<i> to root-cause it; a passing run's are removed. Exits 1 if any
run failed. Nothing is retried: a scenario that fails once is a flaky one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from infra import PROJECT_ROOT
from infra.config import Settings
from infra.ecosystem import clock

RUN_DEADLINE_S = 1800      # one run of the suite: a hang is a failure, not a wait


@dataclass
class Run:
    index: int
    status: int
    seconds: float
    failed: list[str] = field(default_factory=list)     # "feature: scenario"
    scenarios: int = 0
    skipped: int = 0


def failures_in(junit_dir: Path) -> tuple[list[str], int, int]:
    """(failed scenarios, scenarios, skipped) from behave's JUnit XML."""
    failed, total, skipped = [], 0, 0
    for path in sorted(junit_dir.glob("*.xml")):
        for case in ET.parse(path).getroot().iter("testcase"):
            total += 1
            if case.find("skipped") is not None:
                skipped += 1
            if case.find("failure") is not None or case.find("error") is not None:
                failed.append(f"{case.get('classname', '?')}: {case.get('name', '?')}")
    return failed, total, skipped


def run_once(index: int, provider: str, out: Path, behave_args: list[str]) -> Run:
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SWARMSPEC_REPORTS_DIR": str(out)}
    argv = [sys.executable, "-m", "behave", "-f", "progress", "--junit", "--junit-directory", str(out / "junit"),
            "-D", f"ecosystem={provider}", *behave_args]
    started = clock.monotonic()
    with (out / "behave.out").open("wb") as log:
        try:
            status = subprocess.run(argv, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, timeout=RUN_DEADLINE_S).returncode
        except subprocess.TimeoutExpired:   # subprocess.run killed behave; its watchdog stops the ecosystem
            status = -1
    seconds = clock.monotonic() - started
    failed, total, skipped = failures_in(out / "junit")
    if status != 0 and not failed:
        failed = [f"(behave exited with {status}: see {out / 'behave.out'})"]
    return Run(index, status, seconds, failed, total, skipped)


def summary(runs: list[Run], provider: str, kept: Path) -> str:
    passed = [r for r in runs if r.status == 0]
    times = [r.seconds for r in runs]
    lines = [f"flake: {len(runs)} runs of the whole suite ({provider} provider): {len(passed)} passed, "
             f"{len(runs) - len(passed)} failed",
             f"  scenarios per run: {runs[0].scenarios} ({runs[0].skipped} skipped)" if runs else "",
             f"  wall time: min {min(times):.1f} s, median {statistics.median(times):.1f} s, "
             f"max {max(times):.1f} s" + (f", stdev {statistics.stdev(times):.1f} s" if len(times) > 1 else "")]
    counts = Counter(name for r in runs for name in r.failed)
    if counts:
        lines.append("  per-scenario failures:")
        for name, count in counts.most_common():
            which = [r.index for r in runs if name in r.failed]
            lines.append(f"    {count}/{len(runs)}  {name}  (runs {', '.join(map(str, which))})")
        lines.append(f"  reports of the failing runs: {kept}/run-<i>")
    else:
        lines.append("  per-scenario failures: none")
    return "\n".join(line for line in lines if line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.measure.flake", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--provider", default=None, help="local or docker (default: SWARMSPEC_PROVIDER or local)")
    parser.add_argument("behave_args", nargs="*", help="after --: features or options for behave")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    provider = args.provider or settings.provider
    base = settings.reports_dir / "flake"
    shutil.rmtree(base, ignore_errors=True)
    runs = []
    for index in range(1, args.runs + 1):
        out = base / f"run-{index}"
        run = run_once(index, provider, out, args.behave_args)
        runs.append(run)
        verdict = "passed" if run.status == 0 else f"FAILED ({'; '.join(run.failed)[:300]})"
        print(f"[flake] run {index}/{args.runs}: {verdict} in {run.seconds:.1f} s", file=sys.stderr, flush=True)
        if run.status == 0:
            shutil.rmtree(out, ignore_errors=True)
    print(summary(runs, provider, base))
    return 0 if all(r.status == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
