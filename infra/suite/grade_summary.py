"""The run's grades on the console, printed by the run script after behave exits
(`infra/behave-run.sh`): behave captures what its hooks print, so a summary printed from
`after_all` never reaches the terminal. Read from the grades.json the run wrote.

python -m infra.suite.grade_summary reports/grades.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

LISTED = ("failed", "non-strict")      # the grades worth a line each: what to look at first
MOST = 25                              # lines per grade; the rest are counted


def lines(data: dict) -> list[str]:
    """The summary line (the same words as `GradeBook.summary`), then a line per failed and
    non-strict scenario with its place in the feature files."""
    shown = ", ".join(f"{n} {grade}" for grade, n in data["counts"].items() if n)
    out = [f"grades for {data['target']} (contract {data['contract']}): {shown or 'nothing graded'}"]
    for grade in LISTED:
        items = [s for s in data["scenarios"] if s["grade"] == grade]
        for item in items[:MOST]:
            out.append(f"  {grade.upper():<10} {item['location']:<36} {item['scenario']}")
        if len(items) > MOST:
            out.append(f"  {grade.upper():<10} … and {len(items) - MOST} more (grades.json, the Allure report)")
    return out


def main(argv: list[str]) -> int:
    """Always 0: a missing summary is said, and the run's own status is the verdict."""
    path = Path(argv[0] if argv else "reports/grades.json")
    try:
        text = path.read_text()
    except FileNotFoundError:
        text = ""
    print("\n".join(lines(json.loads(text))) if text else f"[grades] no {path}: the run did not get to grading")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
