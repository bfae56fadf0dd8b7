"""`swarmspec check-target FILE`: a fast smoke subset, and per capability a verdict.

One real scenario per capability (the suite's own, judged by its own grading), run in one
behave run against the target; the grades of those scenarios become "implemented",
"not implemented" (the file does not claim it, or the suite found it missing) or
"broken" (claimed, and the scenario failed: the reason is the failure's first line).
Nothing is inferred from the file alone: a capability is implemented only if its
scenario passed against the running backend.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from infra.cli.home import Home, HomeError
from infra.cli.run import RunRequest, run
from infra.suite.targets import declarative
from infra.suite.targets.base import ALL_CAPABILITIES


@dataclass(frozen=True)
class Smoke:
    feature: str
    scenario: str        # the start of the scenario's name (a Scenario Outline's examples all count)


#: One quick scenario per capability (none of them needs a fault, a browser or root).
SMOKE: dict[str, Smoke] = {
    "playback": Smoke("streaming.feature", "A viewer plays"),
    "seeking": Smoke("seeking.feature", "A viewer seeks forward and back"),
    "ranges": Smoke("malformed_ranges.feature", "An unsatisfiable range"),
    "concurrency": Smoke("concurrent_viewers.feature", "Ten viewers on the same range"),
    "performance": Smoke("performance.feature", "A range already downloaded is served"),
    "fresh-torrents": Smoke("peer_diversity.feature", "Two peers that each hold half"),
    "sources": Smoke("sources.feature", "A source created from a magnet"),
    "auth": Smoke("auth.feature", "A stream token in the URL plays the video"),
    "torrents": Smoke("missing_torrents.feature", "An unknown info hash is answered 404"),
    "metadata": Smoke("torrent_lifecycle.feature", "The metadata of a magnet lists"),
    "lifecycle": Smoke("torrent_lifecycle.feature", "A torrent nobody watches is cleaned up"),
    "file-choice": Smoke("multi_file_torrents.feature", "A viewer who chooses"),
    "subtitle-files": Smoke("multi_file_torrents.feature", "The subtitles of the pack stream as text"),
}
#: Capabilities no smoke scenario can check quickly, and what does check them (reported, never a failure).
NOT_SMOKED: dict[str, str] = {
    "large-files": "needs the 5.1 GiB feature-length video (built once, minutes): swarmspec run --target FILE -- "
                   "large_files.feature grades it",
}
IMPLEMENTED = ("strict", "non-strict", "informational")


def verdicts(claimed: set[str], grades: list[dict]) -> list[tuple[str, str, str]]:
    """(capability, verdict, why) for every capability the suite knows, from the smoke run's grades."""
    rows = []
    for capability in [*SMOKE, *sorted(ALL_CAPABILITIES - SMOKE.keys())]:
        smoke = SMOKE.get(capability)
        mine = [g for g in grades if smoke and Path(g["location"].split(":")[0]).name == smoke.feature
                and g["scenario"].startswith(smoke.scenario)] if smoke else []
        if capability not in claimed:
            rows.append((capability, "not implemented", "the target file does not claim it"))
        elif smoke is None:
            rows.append((capability, "not checked", NOT_SMOKED.get(capability, "no smoke scenario for it")))
        elif not mine:
            rows.append((capability, "not checked", f"{smoke.feature}: \"{smoke.scenario}…\" was not graded"))
        else:
            bad = [g for g in mine if g["grade"] not in IMPLEMENTED]
            if not bad:
                kinds = sorted({g["grade"] for g in mine})
                rows.append((capability, "implemented", f"{len(mine)} scenario(s) {', '.join(kinds)}"))
            else:
                first = bad[0]
                verdict = {"unimplemented": "not implemented", "not run": "not checked"}.get(first["grade"], "broken")
                detail = (first.get("detail") or "").strip().splitlines()
                rows.append((capability, verdict, f"\"{first['scenario']}\" {first['grade']}"
                             + (f": {detail[0][:200]}" if detail else "")))
    return rows


def check_target(home: Home, path: Path, backend_url: str | None = None, endpoints: str | None = None) -> int:
    """Run the smoke subset; print the verdicts; 0 when every claimed capability it checks is implemented."""
    path = (home.work / path).resolve()
    try:
        spec = declarative.load(path)
    except declarative.TargetFileError as exc:
        print(f"swarmspec check-target: {exc}", file=sys.stderr)
        return 2
    claimed = set(spec.capabilities)
    reports = home.reports / "check-target"
    names = [arg for capability in sorted(claimed) if capability in SMOKE
             for arg in ("-n", "^" + re.escape(SMOKE[capability].scenario))]
    features = sorted({str(home.features / SMOKE[c].feature) for c in claimed if c in SMOKE})
    if not features:
        raise HomeError(f"{path}: claims no capability the smoke subset checks ({', '.join(sorted(claimed)) or 'none'})")
    os.environ["SWARMSPEC_REPORTS_DIR"] = str(reports)
    run(home, RunRequest(target=str(path), backend_url=backend_url, endpoints=endpoints, behave_args=[*names, *features]))
    grades_file = reports / "grades.json"
    if not grades_file.is_file():
        print(f"swarmspec check-target: the run wrote no grades ({grades_file}); see {reports}/logs", file=sys.stderr)
        return 2
    rows = verdicts(claimed, json.loads(grades_file.read_text())["scenarios"])
    print(f"\n{spec.name}: capabilities (smoke subset; report: {reports}/allure-report/index.html)")
    width = max(len(c) for c, _, _ in rows)
    for capability, verdict, why in rows:
        print(f"  {capability:<{width}}  {verdict:<15}  {why}")
    claimed_bad = [c for c, v, _ in rows if c in claimed and c not in NOT_SMOKED and v != "implemented"]
    return 1 if claimed_bad else 0

