"""The matrix split over jobs and joined again: `--shard i/n` picks a deterministic subset of
the rows, and `merge` gathers the shards' run directories into one matrix directory, from
which the matrix, the combined Allure report and the history record are built exactly as
after an unsharded run (`infra/run-matrix.sh` does both). The jobs themselves are the CI's
own job matrix (GitHub Actions `strategy.matrix`, GitLab `parallel`): no distribution layer
of our own.

python -m infra.suite.matrix_shards select --shard 2/3 reference range-server webtorrent   # prints row 2's share
python -m infra.suite.matrix_shards gather --out reports/matrix SHARD_DIR...               # copies runs/<label>
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from infra.suite import matrix_history


class ShardError(ValueError):
    """A shard spelled wrongly, or shards that cannot be joined (a row in two of them)."""


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/3"`` -> (2, 3): the second of three shards, counted from 1 as CI job indexes are."""
    index, slash, count = text.partition("/")
    if not slash or not index.isdigit() or not count.isdigit():
        raise ShardError(f"--shard {text!r}: expected i/n, e.g. 1/2")
    i, n = int(index), int(count)
    if not 1 <= i <= n:
        raise ShardError(f"--shard {text!r}: i must be between 1 and n")
    return i, n


def select(rows: list[str], shard: str, weights: dict[str, float] | None = None) -> list[str]:
    """The rows shard i of n runs, in the order given.

    Without weights, round robin: every n-th row, starting with the i-th (a shard's share
    can be read off the list). With weights (each row's wall time in the last matrix, see
    `weights_from`), the longest row first onto the shard with the least so far, so the
    jobs end together. Either way a pure function of its arguments: every job computes the
    same split, and each row lands in exactly one shard."""
    i, n = parse_shard(shard)
    if len(set(rows)) != len(rows):
        raise ShardError(f"a row is listed twice: {rows}")
    if not weights:
        return [row for k, row in enumerate(rows) if k % n == i - 1]
    known = [weights[row] for row in rows if row in weights]
    guess = sum(known) / len(known) if known else 1.0          # a new row: as long as the average
    loads, shares = [0.0] * n, [[] for _ in range(n)]
    for k in sorted(range(len(rows)), key=lambda k: (-weights.get(rows[k], guess), k)):
        lightest = min(range(n), key=lambda j: (loads[j], j))
        shares[lightest].append(k)
        loads[lightest] += weights.get(rows[k], guess)
    return [rows[k] for k in sorted(shares[i - 1])]


def weights_from(history: Path) -> dict[str, float]:
    """Each row label's wall time in the newest history record that ran it."""
    weights: dict[str, float] = {}
    for rec in matrix_history.load(history) if history.is_dir() else []:
        weights.update({row["label"]: row["wall_seconds"] for row in rec["targets"] if row.get("wall_seconds")})
    return weights


def record(path: Path, rows: list[str], shard: str, suffix: str = "", history: Path | None = None) -> list[str]:
    """Select shard's rows (balanced by `history`'s wall times when given) and note in `path`
    (the shard's shard.json) what it was one of and how it was split, so that merge can tell
    a missing or differently split shard from a finished matrix; the rows selected."""
    labels = [row + suffix for row in rows]
    weights = {label: w for label, w in weights_from(history).items() if label in labels} if history else {}
    chosen = select(labels, shard, weights)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"shard": shard, "rows": labels, "weights": weights, "selected": chosen}))
    return [row for row in rows if row + suffix in chosen]


def check_complete(shard_dirs: list[Path]) -> set[str]:
    """Shards that say what they were part of (shard.json) must make up the whole: the same
    rows and count, every index once. The rows they say they ran; none are expected from
    directories without one (a job per target)."""
    notes = {shard: json.loads((shard / "shard.json").read_text())
             for shard in shard_dirs if (shard / "shard.json").exists()}
    if not notes:
        return set()
    if len(notes) != len(shard_dirs):
        raise ShardError("some directories are shards (shard.json) and some are not: "
                         + ", ".join(str(s) for s in shard_dirs if s not in notes))
    rows = {(tuple(note["rows"]), json.dumps(note.get("weights", {}), sort_keys=True)) for note in notes.values()}
    counts = {parse_shard(note["shard"])[1] for note in notes.values()}
    if len(rows) != 1 or len(counts) != 1:
        raise ShardError("the shards come from different matrices (other rows or another shard count): "
                         + "; ".join(f"{s}: {n['shard']} of {' '.join(n['rows'])}" for s, n in notes.items()))
    indexes = sorted(parse_shard(note["shard"])[0] for note in notes.values())
    wanted = list(range(1, counts.pop() + 1))
    if indexes != wanted:
        missing = sorted(set(wanted) - set(indexes))
        raise ShardError(f"shards {indexes} given, {wanted} needed: missing {missing}, or one given twice")
    selected = {label for note in notes.values() for label in note["selected"]}
    unassigned = set(next(iter(rows))[0]) - selected
    if unassigned:
        raise ShardError(f"rows no shard was given: {sorted(unassigned)}")
    return selected


def gather(out: Path, shard_dirs: list[Path]) -> list[str]:
    """Copy each shard's `runs/<label>` under `out/runs/`; the labels gathered, in order.

    A label found in two shards is an error (the shards overlapped, or one directory was
    given twice): joining them would silently keep one of two judgements."""
    expected = check_complete(shard_dirs)
    runs = out / "runs"
    origin: dict[str, Path] = {}
    for shard in shard_dirs:
        shard_runs = shard / "runs"
        if not shard_runs.is_dir():
            raise ShardError(f"{shard}: no runs/ directory (expected the --out directory of a "
                             "`run-matrix.sh --shard i/n` job)")
        if shard_runs.resolve() == runs.resolve():
            raise ShardError(f"{shard}: is the merge's own output directory; merge into another one")
        for row in sorted(p for p in shard_runs.iterdir() if p.is_dir()):
            if row.name in origin:
                raise ShardError(f"row {row.name} is in two shards: {origin[row.name]} and {shard}")
            origin[row.name] = shard
    if not origin:
        raise ShardError(f"no rows in {', '.join(map(str, shard_dirs))}")
    if expected - set(origin):
        raise ShardError(f"rows a shard was to run are not in its runs/: {sorted(expected - set(origin))} "
                         "(the job stopped before them?)")
    runs.mkdir(parents=True, exist_ok=True)
    for label, shard in origin.items():
        target = runs / label
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(shard / "runs" / label, target, symlinks=True)
    return list(origin)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    pick = sub.add_parser("select", help="print the rows of one shard, one a line")
    pick.add_argument("--shard", required=True, help="i/n")
    pick.add_argument("--record", type=Path, help="note the shard in this shard.json (for merge)")
    pick.add_argument("--suffix", default="", help="what the rows' labels add to a target (@docker)")
    pick.add_argument("--balance-from", type=Path, help="a history directory: split by its wall times")
    pick.add_argument("rows", nargs="+")
    pick.set_defaults(run=lambda a: "\n".join(record(a.record, a.rows, a.shard, a.suffix, a.balance_from)
                                              if a.record else select(a.rows, a.shard)))
    join = sub.add_parser("gather", help="copy the shards' runs/<label> into OUT/runs")
    join.add_argument("--out", type=Path, required=True)
    join.add_argument("shards", type=Path, nargs="+")
    join.set_defaults(run=lambda a: "[matrix] merged rows: " + " ".join(gather(a.out, a.shards)))
    args = parser.parse_args(argv)
    try:
        print(args.run(args))
    except ShardError as exc:
        parser.exit(2, f"[matrix] {exc}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
