"""The conformance matrix: scenario × target, each cell a grade, built only from the
`grades.json` files that runs of the suite wrote (never edited by hand), after
Autobahn|Testsuite's side-by-side report and wpt.fyi.

python -m infra.suite.matrix --runs reports/matrix/runs --out reports/matrix [--readme README.md]
                             [--require reference,range-server]

Writes `index.html` (each cell links to the failure detail), `matrix.md` and
`matrix.json`; with --readme, replaces the README's section between the matrix markers.
Exits 1 when a required target (our own servers) has a grade other than strict,
informational or not run, so CI notices when the reference backend slips.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
from dataclasses import dataclass
from pathlib import Path

GRADES = ("strict", "non-strict", "failed", "unimplemented", "informational", "not run")
# Plain words: the cell's colour carries the grade at a glance, and no emoji font is needed
# (headless browsers and many terminals have none and show empty boxes).
SYMBOL = {"strict": "strict", "non-strict": "NON-STRICT", "failed": "FAILED",
          "unimplemented": "unimplemented", "informational": "info", "not run": "not run"}
COLOUR = {"strict": "#c8f0c8", "non-strict": "#fff0a8", "failed": "#f6b8b8", "unimplemented": "#e4e4e4",
          "informational": "#cfe3ff", "not run": "#ffffff"}
ACCEPTABLE_FOR_REQUIRED = {"strict", "informational", "not run", "unimplemented"}   # a lacking capability is no slip
README_START, README_END = "<!-- matrix:start -->", "<!-- matrix:end -->"


@dataclass(frozen=True)
class Run:
    """One target's run, read from its grades.json (and wall time, when recorded)."""

    label: str
    target: str
    contract: str
    provider: str
    counts: dict[str, int]
    scenarios: list[dict]
    wall_seconds: float | None
    exit_status: int | None
    skipped: str = ""               # why the row was not run (e.g. no checkout of the backend configured)
    broken: bool = False            # it was run, but ended before grading (a required target's is a failure)


def load_runs(runs_dir: Path) -> list[Run]:
    runs = []
    for grades in sorted(runs_dir.glob("*/grades.json")):
        data = json.loads(grades.read_text())
        meta_file = grades.parent / "run.json"
        meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
        runs.append(Run(grades.parent.name, data["target"], data["contract"], data["provider"], data["counts"],
                        data["scenarios"], meta.get("wall_seconds"), meta.get("exit_status")))
    graded = {run.label for run in runs}
    for meta_file in sorted(runs_dir.glob("*/run.json")):
        meta, label = json.loads(meta_file.read_text()), meta_file.parent.name
        if label in graded:
            continue
        if meta.get("skipped"):
            runs.append(Run(label, meta.get("target", label), "–", "–", {}, [], None, None, skipped=meta["skipped"]))
        elif "exit_status" in meta:     # run, but no grades: said in the matrix, not left out of it
            runs.append(Run(label, meta.get("target", label), "–", "–", {}, [], meta.get("wall_seconds"),
                            meta["exit_status"], broken=True,
                            skipped=f"not graded: the run ended (exit {meta['exit_status']}) before grading; "
                                    f"runs/{label}/console.log says why"))
    order = ["reference", "range-server"]
    runs.sort(key=lambda r: (order.index(r.target) if r.target in order else len(order), r.label))
    return runs


def rows(runs: list[Run]) -> list[tuple[str, str, str]]:
    """(feature, scenario, clauses) in first-seen order over every run."""
    seen: dict[tuple[str, str], str] = {}
    for run in runs:
        for item in run.scenarios:
            key = (item["feature"], item["scenario"].split(" -- @")[0] + _example_suffix(item["scenario"]))
            seen.setdefault(key, ", ".join(item["clauses"]))
    return [(f, s, c) for (f, s), c in seen.items()]


def _example_suffix(name: str) -> str:
    return " [" + name.split(" -- @", 1)[1].strip() + "]" if " -- @" in name else ""


def cell(run: Run, feature: str, scenario: str) -> dict | None:
    for item in run.scenarios:
        name = item["scenario"].split(" -- @")[0] + _example_suffix(item["scenario"])
        if item["feature"] == feature and name == scenario:
            return item
    return None


def to_json(runs: list[Run]) -> dict:
    return {
        "targets": [{"label": r.label, "target": r.target, "contract": r.contract, "provider": r.provider,
                     "counts": r.counts, "wall_seconds": r.wall_seconds, **({"skipped": r.skipped} if r.skipped else {}),
                     **({"broken": True} if r.broken else {})}
                    for r in runs],
        "scenarios": [{"feature": f, "scenario": s, "clauses": c,
                       "grades": {r.label: (cell(r, f, s) or {}).get("grade") for r in runs}}
                      for f, s, c in rows(runs)],
    }


def to_markdown(runs: list[Run], detail_rows: bool = True) -> str:
    head = "| target | provider | contract | " + " | ".join(GRADES) + " | wall time |"
    lines = [head, "|" + "---|" * (len(GRADES) + 4)]
    for r in runs:
        if r.skipped:
            lines.append(f"| {r.label} | – | – | skipped: {r.skipped.replace('|', '/')} |" + " |" * len(GRADES))
            continue
        wall = f"{r.wall_seconds:.0f} s" if r.wall_seconds is not None else "–"
        lines.append(f"| {r.label} | {r.provider} | {r.contract} | "
                     + " | ".join(str(r.counts.get(g, 0)) for g in GRADES) + f" | {wall} |")
    if not detail_rows:
        return "\n".join(lines) + "\n"
    runs = [r for r in runs if not r.skipped]
    lines += ["", "| feature | scenario | clauses | " + " | ".join(r.label for r in runs) + " |",
              "|" + "---|" * (len(runs) + 3)]
    for feature, scenario, clauses in rows(runs):
        grades = [(cell(r, feature, scenario) or {}).get("grade") for r in runs]
        lines.append(f"| {feature} | {scenario.replace('|', '/')} | {clauses} | "
                     + " | ".join(SYMBOL.get(g, "–") if g else "–" for g in grades) + " |")
    return "\n".join(lines) + "\n"


def to_html(runs: list[Run]) -> str:
    summary = _summary_table(runs)
    runs = [r for r in runs if not r.skipped]      # a skipped row has no scenarios
    out = ["<!doctype html><meta charset='utf-8'><title>swarmspec conformance matrix</title>",
           "<style>body{font:14px sans-serif;margin:1.5em}table{border-collapse:collapse}"
           "td,th{border:1px solid #bbb;padding:3px 6px;vertical-align:top}th{background:#eee}"
           "a{color:inherit}pre{white-space:pre-wrap;max-width:110em;background:#f7f7f7;padding:.5em}</style>",
           "<h1>swarmspec conformance matrix</h1>",
           "<p>Generated from the runs' grades.json by <code>infra/run-matrix.sh</code>; never edited by hand. "
           "Grades: strict (meets swarmspec's contract), non-strict (RFC 9110 allows it, swarmspec's contract is "
           "stricter), failed (an RFC MUST/SHOULD is broken, wrong bytes, 5xx or a hang), unimplemented (the "
           "target lacks the capability), informational (figures).</p>",
           "<h2>Summary</h2>", summary, "<h2>Scenarios</h2><table><tr><th>feature</th><th>scenario"
           "</th><th>clauses</th>" + "".join(f"<th>{html.escape(r.label)}</th>" for r in runs) + "</tr>"]
    details = []
    for index, (feature, scenario, clauses) in enumerate(rows(runs)):
        cells = []
        for r in runs:
            item = cell(r, feature, scenario)
            grade = item["grade"] if item else None
            if grade is None:
                cells.append("<td>–</td>")
                continue
            anchor = f"d{index}-{r.label}"
            text = html.escape(SYMBOL[grade])
            if item.get("detail"):
                text = f"<a href='#{anchor}'>{text}</a>"
                details.append(f"<h3 id='{anchor}'>{html.escape(r.label)}: {html.escape(scenario)} — "
                               f"{html.escape(grade)}</h3><p>{html.escape(item.get('location', ''))} · "
                               f"{html.escape(clauses)} · <a href='runs/{html.escape(r.label)}/allure-report/"
                               f"index.html'>Allure report</a></p><pre>{html.escape(item['detail'])}</pre>")
            cells.append(f"<td style='background:{COLOUR[grade]}'>{text}</td>")
        out.append(f"<tr><td>{html.escape(feature)}</td><td>{html.escape(scenario)}</td>"
                   f"<td>{html.escape(clauses)}</td>{''.join(cells)}</tr>")
    out.append("</table><h2>Details</h2>")
    out += details
    return "\n".join(out) + "\n"


def _summary_table(runs: list[Run]) -> str:
    head = "".join(f"<th>{g}</th>" for g in GRADES)
    body = []
    for r in runs:
        if r.skipped:
            body.append(f"<tr><td>{html.escape(r.label)}</td><td colspan='{len(GRADES) + 3}'>skipped: "
                        f"{html.escape(r.skipped)}</td></tr>")
            continue
        wall = f"{r.wall_seconds:.0f} s" if r.wall_seconds is not None else "–"
        body.append(f"<tr><td>{html.escape(r.label)}</td><td>{r.provider}</td><td>{r.contract}</td>"
                    + "".join(f"<td>{r.counts.get(g, 0)}</td>" for g in GRADES) + f"<td>{wall}</td></tr>")
    return (f"<table><tr><th>target</th><th>provider</th><th>contract</th>{head}<th>wall time</th></tr>"
            + "".join(body) + "</table>")


def figures_markdown(runs: list[Run], runs_dir: Path) -> str:
    """The figures of the informational (budget) scenarios, target by target, from each
    run's figures.json, plus the stall detector's longest pause over every stream exchange."""
    measured = {}
    for run in runs:
        path = runs_dir / run.label / "figures.json"
        measured[run.label] = json.loads(path.read_text()) if path.exists() else {"scenarios": {}, "stalls": {}}
    keys: dict[tuple[str, str], None] = {}
    for run in runs:
        informational = {item["scenario"] for item in run.scenarios if item["grade"] == "informational"}
        for scenario, values in measured[run.label]["scenarios"].items():
            if scenario in informational:
                keys.update({(scenario.strip(), name): None for name in values})
    if not keys:
        return ""
    lines = ["| scenario | figure | " + " | ".join(r.label for r in runs) + " |", "|" + "---|" * (len(runs) + 2)]
    for scenario, name in keys:
        values = [next((v.get(name) for s, v in measured[r.label]["scenarios"].items() if s.strip() == scenario), None)
                  for r in runs]
        lines.append(f"| {scenario} | {name} | " + " | ".join("–" if v is None else f"{v:g}" for v in values) + " |")
    stall = "longest pause between two body chunks (s)"
    lines.append(f"| every stream exchange of the run | {stall} | "
                 + " | ".join(str(measured[r.label]["stalls"].get(stall, "–")) for r in runs) + " |")
    return "\n".join(lines) + "\n"


def capacities(path: Path) -> dict[str, str]:
    """Each target's capacity (viewers at once) from the last capacity run's JSON
    (`python -m infra.measure.capacity`), "≥ N" where no level of its ramp failed."""
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    found = {}
    for result in data.get("targets", []):
        value = str(result["capacity"]) if result.get("failed_level") else f"≥ {result['capacity']}"
        found.setdefault(result["target"], f"{value} ({result['mode']})")
    return found


def with_capacity_column(markdown: str, found: dict[str, str]) -> str:
    """The summary table with a capacity column (from a capacity run, not from the suite's
    grades: the ramp runs separately, and its JSON says when and how)."""
    if not found:
        return markdown
    lines = markdown.split("\n")
    for index, line in enumerate(lines):
        if not line.strip():
            break                                   # the summary table ends at the first blank line
        if line.startswith("| target |"):
            lines[index] = line + " capacity |"
        elif line.startswith("|---"):
            lines[index] = line + "---|"
        else:
            label = line.split("|")[1].strip()      # "reference", "reference@docker": the ramp runs locally
            lines[index] = line + f" {found.get(label, '–')} |"
    return "\n".join(lines)


def violations(runs: list[Run], required: set[str]) -> list[str]:
    """Scenarios where a required target (our own servers) is graded below strict."""
    out = []
    for run in runs:
        if run.target not in required:
            continue
        if run.broken:
            out.append(f"{run.label}: {run.skipped}")
        for item in run.scenarios:
            if item["grade"] not in ACCEPTABLE_FOR_REQUIRED:
                out.append(f"{run.label}: {item['scenario']} ({item['location']}) is {item['grade']}")
    return out


def update_readme(readme: Path, runs: list[Run], capacity: dict[str, str] | None = None) -> None:
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        raise SystemExit(f"{readme}: no {README_START} … {README_END} section to replace")
    before, rest = text.split(README_START, 1)
    _, after = rest.split(README_END, 1)
    summary = with_capacity_column(to_markdown(runs, detail_rows=False), capacity or {})
    readme.write_text(before + README_START + "\n" + summary
                      + "\nEvery scenario's grade per target: `reports/matrix/index.html` (or `matrix.md`).\n"
                      + README_END + after)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=Path, default=Path("reports/matrix/runs"))
    parser.add_argument("--out", type=Path, default=Path("reports/matrix"))
    parser.add_argument("--readme", type=Path)
    parser.add_argument("--require", default="reference,range-server")
    parser.add_argument("--capacity", type=Path, default=Path("reports/capacity/capacity.json"),
                        help="a capacity run's JSON: its figures become the summary's capacity column")
    args = parser.parse_args(argv)
    runs = load_runs(args.runs)
    if not runs:
        print(f"no grades.json under {args.runs}: run infra/run-matrix.sh", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "matrix.json").write_text(json.dumps(to_json(runs), indent=2))
    figures = figures_markdown(runs, args.runs)
    found = capacities(args.capacity)
    (args.out / "matrix.md").write_text(with_capacity_column(to_markdown(runs), found)
                                        + (f"\n## Figures\n\n{figures}" if figures else ""))
    (args.out / "index.html").write_text(to_html(runs))
    if args.readme:
        update_readme(args.readme, runs, found)
    print(with_capacity_column(to_markdown(runs, detail_rows=False), found))
    if figures:
        print(figures)
    print(f"matrix: {args.out / 'index.html'}")
    problems = violations(runs, set(filter(None, args.require.split(","))))
    for problem in problems:
        print(f"NOT STRICT: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
