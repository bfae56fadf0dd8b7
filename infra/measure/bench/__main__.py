"""python -m infra.measure.bench [--trials 3] [--viewers 50] [--rate 2000000] [--piece-sizes 262144,1048576]
                         [--servers webtorrent,peerflix,reference] [--out reports/bench]
python -m infra.measure.bench --soak MINUTES
python -m infra.measure.bench --crowd ROUNDS [--viewers 50] [--piece-sizes 262144] [--servers reference]

Prints the side-by-side table and the reference backend's targets, writes
<out>/compare.json and <out>/compare.png (or soak.json and soak.png; or, with --crowd,
the crowd figure alone over many rounds and crowd.json: see bench/crowd.py).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from infra.measure.bench import contenders, crowd, report, runner, soak
from infra.config import Settings
from infra.ecosystem import clock


class Interrupted(Exception):
    """SIGTERM or SIGHUP: unwind like Ctrl-C, so every service is stopped and temp dirs go."""


def _interrupted(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


def _sizes(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: piece sizes are comma-separated byte counts") from None


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m infra.measure.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=3, help="trials per server and condition (default 3)")
    parser.add_argument("--viewers", type=int, default=50, help="viewers at once (default 50)")
    parser.add_argument("--rate", type=int, default=2_000_000,
                        help="throttled seeder's upload limit in bytes/s (default 2000000; 0: unthrottled only)")
    parser.add_argument("--piece-sizes", type=_sizes, default=(256 * 1024, 1024 * 1024),
                        help="comma-separated piece sizes in bytes (default 262144,1048576)")
    parser.add_argument("--servers", default="webtorrent,peerflix,reference",
                        help="servers besides the file server (default webtorrent,peerflix,reference)")
    parser.add_argument("--out", type=Path, default=runner.default_reports_dir(), help="where JSON and PNG go")
    parser.add_argument("--capacity", action="store_true",
                        help="then ramp Locust viewers against each server (python -m infra.measure.capacity) "
                             "and add its capacity column")
    parser.add_argument("--soak", type=float, metavar="MINUTES", help="run the memory soak instead")
    parser.add_argument("--crowd", type=int, metavar="ROUNDS",
                        help="only the crowd, ROUNDS times per server, side by side (first piece size only)")
    args = parser.parse_args(argv)
    if args.trials < 1 or args.viewers < 2:
        parser.error("--trials must be at least 1 and --viewers at least 2")
    if args.crowd is not None and args.crowd < 1:
        parser.error("--crowd takes at least 1 round")
    return args


def machine() -> dict:
    load = os.getloadavg()
    return {"cpus": os.cpu_count(), "loadAverage": [round(x, 2) for x in load], "started": clock.stamp()}


def main(argv: list[str]) -> int:
    args = parse(argv)
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGHUP, _interrupted)
    base = Settings.from_env()
    logs = args.out / "logs"
    try:
        if args.soak is not None:
            result = {"machine": machine(), **soak.soak(args.soak, base, args.out)}
            (args.out / "soak.json").write_text(json.dumps(result, indent=1))
            soak.chart(result, args.out / "soak.png")
            print(f"soak of {args.soak:g} min: RSS settled {result['settledRssMiB']:.1f} MiB, end "
                  f"{result['finalRssMiB']:.1f} MiB, growth {result['growthMiB']:+.1f} MiB "
                  f"({'flat' if result['flat'] else 'GROWING'}), peak {result['peakRssMiB']:.1f} MiB, "
                  f"{result['servedBytes'] / 1e9:.2f} GB served; {args.out / 'soak.png'}")
            return 0
        servers = tuple(s.strip() for s in args.servers.split(",") if s.strip())
        if args.crowd is not None:
            return crowd_only(args, servers, base)
        rates = (0, args.rate) if args.rate else (0,)
        plan = runner.Plan(args.piece_sizes, rates, args.trials, args.viewers,
                           tuple(contenders.all_contenders(servers)))
        started, before = clock.monotonic(), machine()
        conditions = runner.run(plan, base, args.out)
        after = machine()
        info = {"machineBefore": before, "machineAfter": after, "trials": args.trials,
                "wallSeconds": round(clock.monotonic() - started, 1)}
        runner.save(conditions, args.out / "compare.json", info)
        labels = [c.label for c in plan.contenders]
        report.chart(conditions, labels, args.out / "compare.png")
        header = (f"## swarmspec benchmark: {args.trials} trials, load average {before['loadAverage']} before, "
                  f"{after['loadAverage']} after, {info['wallSeconds']:.0f} s; {os.cpu_count()} CPUs\n"
                  f"Cold = a freshly restarted server. "
                  f"Chart: {args.out / 'compare.png'}; figures: {args.out / 'compare.json'}")
        print(report.text(conditions, labels, header))
        if args.capacity:
            from infra.measure.capacity import runner as capacity

            targets = tuple("range-server" if label == "file server" else label for label in labels)
            results = capacity.run(targets, capacity.Ramp(capacity.levels_between(10, 300, 1.5), 15.0), base,
                                   args.out / "capacity")
            print("\n### Capacity (python -m infra.measure.capacity, same machine, right after)\n")
            print(report.capacity_table(results, labels))
        return 0
    except (KeyboardInterrupt, Interrupted) as exc:
        print(f"[bench] interrupted ({exc or 'Ctrl-C'}); services stopped. Logs: {logs}", file=sys.stderr)
        return 130


def crowd_only(args: argparse.Namespace, servers: tuple[str, ...], base: Settings) -> int:
    """--crowd: print the crowd table, write <out>/crowd.json."""
    chosen = contenders.all_contenders(servers)
    before = machine()
    started = clock.monotonic()
    samples = crowd.run(chosen, args.crowd, args.viewers, args.piece_sizes[0], base, args.out)
    after = machine()
    figures = crowd.summary(samples, chosen[0].label)
    info = {"machineBefore": before, "machineAfter": after, "rounds": args.crowd, "viewers": args.viewers,
            "pieceSize": args.piece_sizes[0], "wallSeconds": round(clock.monotonic() - started, 1)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "crowd.json").write_text(json.dumps({**info, "servers": figures}, indent=1))
    header = (f"## swarmspec crowd benchmark: {args.crowd} rounds, load average {before['loadAverage']} before, "
              f"{after['loadAverage']} after, {info['wallSeconds']:.0f} s; {os.cpu_count()} CPUs\n"
              f"Figures: {args.out / 'crowd.json'}")
    print(crowd.text(figures, chosen[0].label, args.viewers, args.piece_sizes[0], header))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
