"""`swarmspec matrix` from an installed package: what `infra/run-matrix.sh` does in a checkout,
with the same spellings.

    swarmspec matrix [--ecosystem local|docker] [--targets "a b"] [--out DIR] [--history DIR] [-- behave args]
    swarmspec matrix --shard i/n [--balance-from HISTORY_DIR] --out DIR     one CI job's share of the rows
    swarmspec matrix merge [--out DIR] [--history DIR] SHARD_DIR...        the shards joined into one matrix

Each target is one `swarmspec run` into `OUT/runs/<target>[@docker]` (its own ecosystem,
its default contract, `run.json` beside its grades with the version judged). The split, the
join and every report come from the same modules the script calls (`infra.suite.matrix_shards`,
`infra.suite.matrix`, `infra.suite.matrix_allure`, `infra.suite.matrix_history`): a shard
builds only its own rows' matrix; a full matrix (unsharded, or merged) also gets one Allure
report of every row and a history record (OUT/history unless --history). In a checkout the
command forwards to `infra/run-matrix.sh` instead.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from infra.cli.home import Home
from infra.cli.run import RunRequest, allure_generate, run
from infra.suite import matrix_shards, versions

BUNDLED = ("reference", "range-server", "webtorrent", "webtorrent2", "peerflix")
USAGE = ("swarmspec matrix [--ecosystem local|docker] [--shard i/n [--balance-from HISTORY_DIR]] [--out DIR] "
         "[--history DIR] [-- behave args]\n       swarmspec matrix merge [--out DIR] [--history DIR] SHARD_DIR...")


def run_matrix(home: Home, argv: list[str]) -> int:
    if argv[:1] == ["merge"]:
        return merge(home, argv[1:])
    parser = argparse.ArgumentParser(prog="swarmspec matrix", usage=USAGE)
    parser.add_argument("--ecosystem", choices=("local", "docker"), default="local")
    parser.add_argument("--targets", default=os.environ.get("SWARMSPEC_MATRIX_TARGETS", ""),
                        help=f"space-separated names or target files (default: {' '.join(BUNDLED)})")
    parser.add_argument("--shard", help="i/n: run only this share of the rows (a CI job of n)")
    parser.add_argument("--balance-from", type=Path, help="a history directory: split the rows by their wall times")
    parser.add_argument("--out", default="reports/matrix", help="where runs/ and the matrix go")
    parser.add_argument("--history", help="where the history record goes (default OUT/history)")
    parser.add_argument("behave_args", nargs="*", help="after --: behave's options and feature files")
    args = parser.parse_args(argv)
    if args.balance_from and not args.shard:
        parser.error("--balance-from splits shards: give --shard i/n too")
    targets = args.targets.split() or [t for t in BUNDLED if not (args.ecosystem == "docker" and t == "peerflix")]
    out = (home.work / args.out).resolve()
    suffix = "" if args.ecosystem == "local" else f"@{args.ecosystem}"
    if args.shard:
        try:
            targets = matrix_shards.record(out / "shard.json", targets, args.shard, suffix,
                                           (home.work / args.balance_from).resolve() if args.balance_from else None)
        except matrix_shards.ShardError as exc:
            print(f"[matrix] {exc}", file=sys.stderr)
            return 2
        print(f"=== matrix shard {args.shard}: {' '.join(targets)}", flush=True)
        (out / "runs").mkdir(parents=True, exist_ok=True)   # an empty share is still a shard merge can count
        if not targets:
            print(f"[matrix] shard {args.shard} has no rows (more shards than rows): nothing to run")
            return 0
    for target in targets:
        label = _label(target) + suffix
        print(f"=== matrix: {label}", flush=True)
        row = out / "runs" / label
        shutil.rmtree(row, ignore_errors=True)
        run(home, RunRequest(target=target, ecosystem=args.ecosystem, reports=str(row), behave_args=args.behave_args))
        _note_version(row, target)
    if args.shard:         # a shard's own rows only: the full matrix, report and history come with merge
        return _module(home, "infra.suite.matrix", "--runs", str(out / "runs"), "--out", str(out))
    return finish(home, out, _history(home, out, args.history))


def merge(home: Home, argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="swarmspec matrix merge", usage=USAGE)
    parser.add_argument("--out", default="reports/matrix")
    parser.add_argument("--history", help="where the history record goes (default OUT/history)")
    parser.add_argument("shards", nargs="+", type=Path, help="the --out directories of the shard jobs")
    args = parser.parse_args(argv)
    out = (home.work / args.out).resolve()
    try:
        rows = matrix_shards.gather(out, [(home.work / shard).resolve() for shard in args.shards])
    except matrix_shards.ShardError as exc:
        print(f"[matrix] {exc}", file=sys.stderr)
        return 2
    print(f"[matrix] merged rows: {' '.join(rows)}", flush=True)
    return finish(home, out, _history(home, out, args.history))


def finish(home: Home, out: Path, history: Path) -> int:
    """infra/matrix-finish.sh: the matrix, one Allure report of every row, the history record;
    the matrix's status (1 when our own servers slipped below strict) once all are written."""
    status = _module(home, "infra.suite.matrix", "--runs", str(out / "runs"), "--out", str(out))
    if status > 1:                           # 2: nothing to build from
        return status
    _module(home, "infra.suite.matrix_allure", "--runs", str(out / "runs"), "--results", str(out / "allure-results"))
    home.ensure_allure()
    shutil.rmtree(out / "allure-report", ignore_errors=True)
    if allure_generate(home, out / "allure-results", out / "allure-report"):
        return 3
    print(f"[matrix] one Allure report of every row: {out / 'allure-report' / 'index.html'}")
    recorded = _module(home, "infra.suite.matrix_history", "record", "--out", str(out), "--history", str(history))
    return status or recorded


def _label(target: str) -> str:
    return target.removesuffix(".toml").rsplit("/", 1)[-1]


def _history(home: Home, out: Path, history: str | None) -> Path:
    return (home.work / history).resolve() if history else out / "history"


def _note_version(row: Path, target: str) -> None:
    """run.json as the script leaves it: the target and the version judged beside the wall time."""
    path = row / "run.json"
    meta = json.loads(path.read_text()) if path.is_file() else {}
    meta.update(target=_label(target), version=versions.target(_label(target)))
    row.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(meta) + "\n")


def _module(home: Home, module: str, *args: str) -> int:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=home.work,
                          env={**os.environ, **home.environ()}).returncode
