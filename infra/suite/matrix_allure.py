"""One Allure report for the whole matrix: every row's allure-results poured into one
directory, each result marked with its row (a `target` parameter, the row as parent suite)
so Allure keeps the same scenario of two targets apart instead of folding them as retries.
The same function serves an unsharded matrix and one merged from shards, so both give the
same report.

python -m infra.suite.matrix_allure --runs reports/matrix/runs --results reports/matrix/allure-results
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

#: Files of a results directory that describe the run rather than a test: kept from each
#: row under a row-prefixed name (environment) or from the first row (categories).
RUN_FILES = ("environment.properties", "executor.json", "categories.json")


def mark(result: dict, label: str) -> dict:
    """A copy of one `*-result.json` that belongs to the row `label`."""
    out = dict(result)
    out["parameters"] = [*result.get("parameters", []), {"name": "target", "value": label}]
    labels = [item for item in result.get("labels", []) if item.get("name") != "parentSuite"]
    out["labels"] = [*labels, {"name": "parentSuite", "value": label}, {"name": "tag", "value": f"target:{label}"}]
    for key in ("historyId", "testCaseId"):
        if key in result:
            out[key] = hashlib.md5(f"{label}\0{result[key]}".encode()).hexdigest()
    if "fullName" in result:
        out["fullName"] = f"{label}: {result['fullName']}"
    return out


def combine(runs: Path, results: Path) -> int:
    """Rewrite `results` from every `runs/<label>/allure-results`; how many results it holds."""
    if results.exists():
        shutil.rmtree(results)
    results.mkdir(parents=True)
    count = 0
    environment: list[str] = []
    for row in sorted(p for p in runs.iterdir() if (p / "allure-results").is_dir()):
        for item in sorted((row / "allure-results").iterdir()):
            if item.is_dir():          # history/ of the row's own previous report: not the matrix's
                continue
            if item.name.endswith("-result.json"):
                data = mark(json.loads(item.read_text()), row.name)
                (results / item.name).write_text(json.dumps(data))
                count += 1
            elif item.name == "environment.properties":
                environment += [f"{row.name}.{line}" for line in item.read_text().splitlines() if line.strip()]
            elif item.name in RUN_FILES:
                if not (results / item.name).exists():
                    shutil.copyfile(item, results / item.name)
            else:                      # containers and attachments: uuid-named, unique across rows
                shutil.copyfile(item, results / item.name)
    if environment:
        (results / "environment.properties").write_text("\n".join(sorted(environment)) + "\n")
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=Path, required=True)
    parser.add_argument("--results", type=Path, required=True)
    args = parser.parse_args(argv)
    count = combine(args.runs, args.results)
    print(f"[matrix] {count} Allure results of every row in {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
