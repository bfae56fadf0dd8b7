"""`swarmspec matrix` from an installed package: what `infra/run-matrix.sh` does in a checkout.

Each target is one `swarmspec run` into `reports/matrix/runs/<target>[@docker]` (its own
ecosystem, its default contract, `run.json` beside its grades), then `infra.suite.matrix`
builds the matrix from those runs. In a checkout the command forwards to
`infra/run-matrix.sh` instead, so its options (sharding and merging included) are the script's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from infra.cli.home import Home
from infra.cli.run import RunRequest, run

BUNDLED = ("reference", "range-server", "webtorrent", "webtorrent2", "peerflix")


def run_matrix(home: Home, argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="swarmspec matrix")
    parser.add_argument("--ecosystem", choices=("local", "docker"), default="local")
    parser.add_argument("--targets", default=os.environ.get("SWARMSPEC_MATRIX_TARGETS", ""),
                        help=f"space-separated names or target files (default: {' '.join(BUNDLED)})")
    parser.add_argument("behave_args", nargs="*", help="after --: behave's options and feature files")
    args = parser.parse_args(argv)
    targets = args.targets.split() or [t for t in BUNDLED if not (args.ecosystem == "docker" and t == "peerflix")]
    out = home.work / "reports" / "matrix"
    suffix = "" if args.ecosystem == "local" else f"@{args.ecosystem}"
    for target in targets:
        label = target.removesuffix(".toml").rsplit("/", 1)[-1] + suffix
        print(f"=== matrix: {label}", flush=True)
        run(home, RunRequest(target=target, ecosystem=args.ecosystem, reports=str(out / "runs" / label),
                             behave_args=args.behave_args))
    return subprocess.run([sys.executable, "-m", "infra.suite.matrix", "--runs", str(out / "runs"), "--out", str(out)],
                          cwd=home.work).returncode
