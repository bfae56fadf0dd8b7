"""The `swarmspec` command: the suite, the matrix, the swarm, the measurements and the
target scaffold, from any directory (`pip install .` or a wheel gives it; in a checkout,
`.venv/bin/python -m infra.cli` is the same command).

A thin layer: each subcommand forwards to the module or script the repository already
uses (`infra/run-matrix.sh` and `infra.suite.matrix`, `python -m infra up|status|down`,
`infra.measure.bench`, `infra.measure.capacity`), after pointing it at this home
(`home.py`: where the shipped suite, the caches and the reports are).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from infra.cli.home import NODE_BACKENDS, Home, HomeError

EXAMPLES = """\
examples:
  swarmspec doctor                                   what this machine lacks, and the package that brings it
  swarmspec run --target webtorrent                  judge a bundled backend; reports under ./reports
  swarmspec run                                      judge the one *.toml target file in this directory
  swarmspec run --target my.toml --backend-command "node server.js" --tags @needs.playback
  swarmspec run --target my.toml --backend-image my-backend:ci --ecosystem docker
  swarmspec run --target reference -- -n "A viewer seeks"     (after --: behave's own options)
  swarmspec init http://127.0.0.1:8080 --user admin@example.com --password secret -o my.toml
  swarmspec check-target my.toml                     per capability: implemented or not, and why
  swarmspec matrix                                   every bundled target graded: reports/matrix/
  swarmspec matrix --shard 1/2 --out reports/matrix-1    one CI job's share of the rows (--balance-from HISTORY)
  swarmspec matrix merge reports/matrix-1 reports/matrix-2   the shards as one matrix, Allure report and history record
  swarmspec matrix report --runs reports/matrix/runs --out reports/matrix   the matrix of runs made with --reports
  swarmspec up  /  swarmspec status  /  swarmspec down
  swarmspec bench --trials 1 --servers reference
"""


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    args, rest = parser.parse_known_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if rest and args.command not in ("run", "matrix", "up", "status", "down", "bench", "capacity"):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        home = Home.find()
        keep_separator = args.command in ("run", "matrix")      # matrix: `-- behave args`, as run-matrix.sh reads them
        return COMMANDS[args.command](home, args, rest if keep_separator else [a for a in rest if a != "--"])
    except HomeError as exc:
        print(f"swarmspec: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="swarmspec", description=__doc__.split("\n\n")[0], epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", help="run the suite against a target (other arguments go to behave)",
                         epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--target", help="reference | range-server | webtorrent | peerflix | FILE.toml | module:Class "
                                      "(default: the one *.toml here, else reference)")
    run.add_argument("--backend-command", help="start your backend as this process inside the ecosystem")
    run.add_argument("--backend-image", help="start your backend from this Docker image (with --ecosystem docker)")
    run.add_argument("--backend-env", help="dotenv file mapping the swarm's variables onto your backend's names")
    run.add_argument("--backend-url", help="send the target's requests to this running server")
    run.add_argument("--ecosystem", choices=("local", "docker"), help="who runs the swarm (default local)")
    run.add_argument("--contract", choices=("strict", "rfc9110"), help="what fails the run (default: the target's)")
    run.add_argument("--endpoints", help="attach to a swarm started by `swarmspec up` (its endpoints.json)")
    run.add_argument("--reports", help="where the reports go (default ./reports)")
    run.add_argument("--tags", action="append", default=[], help="behave tag expression (repeatable)")
    sub.add_parser("matrix", help="grade every bundled target; --shard i/n, merge DIR... (infra/run-matrix.sh's spellings)")
    for name, text in (("up", "start the swarm and keep it up (Ctrl-C stops)"), ("status", "health of every service"),
                       ("down", "stop the swarm started by up")):
        sub.add_parser(name, help=text)
    sub.add_parser("bench", help="the benchmark (infra.measure.bench's options)")
    sub.add_parser("capacity", help="the capacity knee (infra.measure.capacity's options), where this version has it")
    sub.add_parser("doctor", help="what is missing on this machine and the package that brings it")
    init = sub.add_parser("init", help="probe a running backend and write a target TOML skeleton")
    init.add_argument("url")
    init.add_argument("--user", help="login (e-mail or name)")
    init.add_argument("--password")
    init.add_argument("--token", help="a bearer token to send instead of logging in")
    init.add_argument("--magnet", help="a magnet the backend can fetch, to follow the stream flow to a URL")
    init.add_argument("--name", help="the target's name (default: from the URL)")
    init.add_argument("-o", "--output", help="where to write it (default: <name>.toml; - for stdout)")
    check = sub.add_parser("check-target", help="a fast smoke subset: per capability, implemented or not and why")
    check.add_argument("file")
    check.add_argument("--backend-url", help="send the target's requests to this running server")
    check.add_argument("--endpoints", help="attach to a swarm started by `swarmspec up` (its endpoints.json)")
    return parser


def _run(home: Home, args: argparse.Namespace, rest: list[str]) -> int:
    from infra.cli.run import RunRequest, run

    request = RunRequest(target=args.target, backend_command=args.backend_command, backend_image=args.backend_image,
                         backend_env=args.backend_env, backend_url=args.backend_url, ecosystem=args.ecosystem,
                         contract=args.contract, endpoints=args.endpoints, reports=args.reports, tags=args.tags,
                         behave_args=[a for a in rest if a != "--"])
    return run(home, request)


def _matrix(home: Home, args: argparse.Namespace, rest: list[str]) -> int:
    if rest[:1] == ["report"]:           # build the matrix from run directories (e.g. a CI's own runs)
        return _call(home, [sys.executable, "-m", "infra.suite.matrix", "--require", "", *rest[1:]])
    if home.checkout:
        return _call(home, ["bash", str(home.package_root / "infra" / "run-matrix.sh"), *rest], cwd=home.package_root)
    from infra.cli.matrix import run_matrix

    return run_matrix(home, rest)


def _module(module: str, *defaults: str):
    def forward(home: Home, args: argparse.Namespace, rest: list[str]) -> int:
        return _call(home, [sys.executable, "-m", module, *defaults, *rest])
    return forward


def _bench(home: Home, args: argparse.Namespace, rest: list[str]) -> int:
    for name in NODE_BACKENDS:
        home.ensure_node_backend(name)
    out = [] if "--out" in rest else ["--out", str(home.reports / "bench")]
    return _call(home, [sys.executable, "-m", "infra.measure.bench", *out, *rest])


def _capacity(home: Home, args: argparse.Namespace, rest: list[str]) -> int:
    if importlib.util.find_spec("infra.measure.capacity") is None:
        print("swarmspec capacity: not in this version of swarmspec (infra.measure.capacity is not installed)",
              file=sys.stderr)
        return 2
    return _call(home, [sys.executable, "-m", "infra.measure.capacity", *rest])


def _doctor(home: Home, args: argparse.Namespace, rest: list[str]) -> int:
    from infra.cli.doctor import report

    return report(home)


def _init(home: Home, args: argparse.Namespace, rest: list[str]) -> int:
    from infra.cli.scaffold import init

    return init(args.url, user=args.user, password=args.password, token=args.token, magnet=args.magnet,
                name=args.name, output=args.output)


def _check_target(home: Home, args: argparse.Namespace, rest: list[str]) -> int:
    from infra.cli.check import check_target

    return check_target(home, Path(args.file), backend_url=args.backend_url, endpoints=args.endpoints)


def _call(home: Home, argv: list[str], cwd: Path | None = None) -> int:
    """Run a forwarded command with this home's variables; its exit status is ours."""
    env = {**os.environ, **home.environ()}
    return subprocess.run(argv, cwd=cwd or home.work, env=env).returncode


COMMANDS = {
    "run": _run, "matrix": _matrix, "bench": _bench, "capacity": _capacity, "doctor": _doctor,
    "init": _init, "check-target": _check_target,
    "up": _module("infra", "up"), "status": _module("infra", "status"), "down": _module("infra", "down"),
}
