"""The matrix remembers: every full matrix (unsharded, or merged from its shards) is kept as
one record in a history directory with the versions it judged (each row's target, swarmspec's
version and commit, the date), and a history page shows each target's grades run after run,
as wpt.fyi shows browsers over time. The page is generated from the records, never edited.

python -m infra.suite.matrix_history record --out reports/matrix [--history reports/matrix/history]
python -m infra.suite.matrix_history page --history reports/matrix/history

The history directory is the thing a CI caches or uploads between pipelines: records are
plain JSON, one a run, named by date and commit so directories from several jobs can be
poured together.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

from infra.suite import versions
from infra.suite.matrix import COLOUR

SHOWN = ("strict", "non-strict", "failed", "unimplemented")   # the counts a history cell spells out


def record(out: Path, history: Path, now: datetime | None = None) -> Path:
    """Write the matrix in `out` (matrix.json, runs/*/run.json) as one history record."""
    matrix = json.loads((out / "matrix.json").read_text())
    now = now or datetime.now(timezone.utc)
    own = versions.swarmspec()
    rows = []
    for row in matrix["targets"]:
        meta_file = out / "runs" / row["label"] / "run.json"
        meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
        rows.append({**row, "version": meta.get("version", "unknown")})
    data = {"date": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "swarmspec": own, "targets": rows,
            "scenarios": matrix["scenarios"]}
    history.mkdir(parents=True, exist_ok=True)
    path = history / f"{now.strftime('%Y%m%dT%H%M%SZ')}-{own['commit']}.json"
    path.write_text(json.dumps(data, indent=2))
    return path


def load(history: Path) -> list[dict]:
    """Every record, oldest first."""
    records = [json.loads(p.read_text()) for p in sorted(history.glob("*.json"))]
    return sorted(records, key=lambda r: r["date"])


def changes(before: dict, after: dict) -> list[tuple[str, str, str, str, str]]:
    """(target, feature, scenario, grade before, grade after) for every cell that moved."""
    old = {(s["feature"], s["scenario"]): s["grades"] for s in before["scenarios"]}
    out = []
    for scenario in after["scenarios"]:
        key = (scenario["feature"], scenario["scenario"])
        for label, grade in scenario["grades"].items():
            was = old.get(key, {}).get(label)
            if label in old.get(key, {}) and was != grade:
                out.append((label, key[0], key[1], was or "–", grade or "–"))
    return out


def page(records: list[dict]) -> str:
    """Targets down, runs across (newest right); each cell the run's counts and version."""
    labels: dict[str, None] = {}
    for rec in records:
        labels.update({row["label"]: None for row in rec["targets"]})
    head = "".join(f"<th>{html.escape(r['date'])}<br><small>swarmspec {html.escape(r['swarmspec']['version'])} "
                   f"{html.escape(r['swarmspec']['commit'])}</small></th>" for r in records)
    body = []
    for label in labels:
        cells = []
        for rec in records:
            row = next((t for t in rec["targets"] if t["label"] == label), None)
            cells.append(_cell(row))
        body.append(f"<tr><th>{html.escape(label)}</th>{''.join(cells)}</tr>")
    moved = []
    for before, after in zip(records, records[1:]):
        for label, feature, scenario, was, now in changes(before, after):
            moved.append(f"<tr><td>{html.escape(after['date'])}</td><td>{html.escape(label)}</td>"
                         f"<td>{html.escape(feature)}</td><td>{html.escape(scenario)}</td>"
                         f"<td>{html.escape(was)}</td><td>{html.escape(now)}</td></tr>")
    return "\n".join([
        "<!doctype html><meta charset='utf-8'><title>swarmspec matrix history</title>",
        "<style>body{font:14px sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:1.5em}"
        "td,th{border:1px solid #bbb;padding:3px 6px;vertical-align:top}th{background:#eee}</style>",
        "<h1>swarmspec conformance matrix: history</h1>",
        f"<p>{len(records)} runs, generated from the records in this directory by "
        "<code>python -m infra.suite.matrix_history</code>; never edited by hand. Each cell: "
        + ", ".join(SHOWN) + " scenario counts, then the target's version. The colour is the worst grade "
        "present.</p>",
        f"<table><tr><th>target</th>{head}</tr>{''.join(body)}</table>",
        "<h2>Scenarios whose grade changed from one run to the next</h2>",
        ("<table><tr><th>run</th><th>target</th><th>feature</th><th>scenario</th><th>before</th><th>after</th></tr>"
         + "".join(moved) + "</table>") if moved else "<p>none</p>",
    ]) + "\n"


def _cell(row: dict | None) -> str:
    if row is None:
        return "<td>–</td>"
    if row.get("skipped"):
        word = "not graded" if row.get("broken") else "skipped"
        return f"<td title='{html.escape(row['skipped'])}'>{word}</td>"
    counts = row.get("counts", {})
    worst = next((g for g in ("failed", "non-strict", "unimplemented", "strict") if counts.get(g)), "not run")
    text = " / ".join(str(counts.get(g, 0)) for g in SHOWN)
    return (f"<td style='background:{COLOUR[worst]}'>{text}<br><small>{html.escape(row.get('version', ''))}"
            "</small></td>")


def write_page(history: Path) -> Path:
    path = history / "index.html"
    path.write_text(page(load(history)))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    keep = sub.add_parser("record", help="keep the matrix in --out as a history record, then rewrite the page")
    keep.add_argument("--out", type=Path, required=True)
    keep.add_argument("--history", type=Path)
    show = sub.add_parser("page", help="rewrite the history page from the records")
    show.add_argument("--history", type=Path, required=True)
    args = parser.parse_args(argv)
    history = args.history or args.out / "history"
    if args.command == "record":
        print(f"[matrix] history record: {record(args.out, history)}")
    records = load(history)
    if not records:
        print(f"[matrix] no history records in {history}", file=sys.stderr)
        return 2
    print(f"[matrix] history ({len(records)} runs): {write_page(history)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
