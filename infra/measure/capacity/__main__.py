"""python -m infra.measure.capacity [--targets reference,range-server,webtorrent,peerflix]
       [--levels 10,20,40,80 | --start 10 --stop 160 --factor 1.5] [--level-seconds 15]
       [--workers N | --workers 1,2] [--remote-workers M --master-bind 0.0.0.0 --master-port 5557]
       [--ecosystem docker] [--bitrate 8Mbit] [--web-port 8089] [--out reports/capacity]

Ramps Locust viewers of the large video against each target, one after the other in one
ecosystem, and finds each one's knee. Prints the table, writes <out>/capacity.json and
<out>/capacity.png, and each target's Locust CSV/HTML report under <out>/<target>-<mode>/.
Warm: the target already holds the video; cold: every viewing starts on a fresh copy
(a new info hash) the target has never seen, and its startup includes the target's stream flow.
`--workers 1,2` ramps each target once with each worker count, one after the other, and
compares the knees: a knee that moves with the generator's processes was the generator's.
Example (a quick look): python -m infra.measure.capacity --targets range-server,reference --stop 40
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from infra import PROJECT_ROOT
from infra.config import Settings
from infra.measure.capacity import report, runner


class Interrupted(Exception):
    """SIGTERM or SIGHUP: unwind like Ctrl-C, so Locust and every service are stopped."""


def _interrupted(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


def bitrate(text: str) -> float:
    """'8Mbit', '2500kbit', '1000000' (bits/s) -> bytes per second."""
    units = {"gbit": 1e9, "mbit": 1e6, "kbit": 1e3, "bit": 1.0}
    lowered = text.strip().lower()
    for unit, scale in units.items():
        if lowered.endswith(unit):
            lowered, factor = lowered[: -len(unit)], scale
            break
    else:
        factor = 1.0
    try:
        value = float(lowered) * factor / 8
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: a bitrate like 8Mbit, 2500kbit or 1000000") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: the bitrate must be positive")
    return value


def _levels(text: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: levels are comma-separated viewer counts") from None
    if not levels or levels != tuple(sorted(set(levels))) or levels[0] < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: levels must rise and be at least 1")
    return levels


def _worker_counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: a number of workers, or several to compare (1,2)") from None
    if not counts or min(counts) < 0 or len(set(counts)) != len(counts):
        raise argparse.ArgumentTypeError(f"{text!r}: worker counts are distinct and ≥ 0")
    return counts


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m infra.measure.capacity", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", default="reference,range-server,webtorrent,peerflix",
                        help="comma-separated targets (default: reference,range-server,webtorrent,peerflix)")
    parser.add_argument("--levels", type=_levels, help="the ramp's levels, viewers at once (overrides --start/--stop)")
    parser.add_argument("--start", type=int, default=10, help="first level (default 10)")
    parser.add_argument("--stop", type=int, default=300, help="last level at most (default 300)")
    parser.add_argument("--factor", type=float, default=1.5, help="each level × this (default 1.5)")
    parser.add_argument("--level-seconds", type=float, default=15.0, help="how long each level holds (default 15)")
    parser.add_argument("--workers", type=_worker_counts, default=(0,),
                        help="Locust workers on this machine (default 0: one Locust process, no master); "
                             "several (1,2): one ramp per count, knees compared")
    parser.add_argument("--remote-workers", type=int, default=0,
                        help="workers that join from other machines (the master waits for them 60 s)")
    parser.add_argument("--master-bind", default="127.0.0.1",
                        help="address the Locust master listens on (0.0.0.0 for workers on other machines)")
    parser.add_argument("--master-port", type=int, help="the master's port (default: a free one, printed)")
    parser.add_argument("--ecosystem", choices=("local", "docker"), default="local",
                        help="who runs the swarm and the targets (docker: the --workers are containers too)")
    parser.add_argument("--modes", default="warm,cold",
                        help="warm (the target holds the video), cold (every viewing a fresh torrent); default both")
    parser.add_argument("--cold-max", type=int, default=80,
                        help="a cold ramp's last level at most (each viewing needs a fresh copy seeded first; default 80)")
    parser.add_argument("--cold-pool", type=int,
                        help="fresh copies to seed for a cold ramp (default: enough for the whole ramp's viewings)")
    parser.add_argument("--bitrate", type=bitrate, help="playback bitrate, e.g. 8Mbit (default: the video's own)")
    parser.add_argument("--web-port", type=int, help="show Locust's web UI on this port (the ramp still starts itself)")
    parser.add_argument("--min-capacity", type=int, default=0,
                        help="exit 1 if a target holds fewer viewers than this (a smoke test's floor)")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "reports" / "capacity", help="where results go")
    args = parser.parse_args(argv)
    if args.remote_workers < 0 or args.level_seconds < 3 or args.factor <= 1 or args.start < 1:
        parser.error("--remote-workers ≥ 0, --level-seconds ≥ 3, --factor > 1, --start ≥ 1")
    return args


def verdict(results, floor: int) -> int:
    """1 when a viewer got a wrong byte anywhere, or a target held fewer than `floor` viewers."""
    problems = [f"{r.target}: {sum(lv.wrong_bytes for lv in r.levels)} chunks of wrong bytes"
                for r in results if any(lv.wrong_bytes for lv in r.levels)]
    problems += [f"{r.target} ({r.mode}): capacity {r.capacity} < {floor} viewers" for r in results
                 if r.capacity < floor]
    problems += [f"{r.target} ({r.mode}): {note}" for r in results for note in r.notes]
    for problem in problems:
        print(f"[capacity] FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


def ramp_of(args: argparse.Namespace, levels: tuple[int, ...], modes: tuple[str, ...]) -> runner.Ramp:
    compare = args.workers if len(args.workers) > 1 else ()
    return runner.Ramp(levels, args.level_seconds, args.workers[0], bitrate=args.bitrate, web_port=args.web_port,
                       remote_workers=args.remote_workers, master_bind=args.master_bind,
                       master_port=args.master_port, ecosystem=args.ecosystem, modes=modes,
                       cold_max=args.cold_max, cold_pool=args.cold_pool, compare_workers=compare)


def main(argv: list[str]) -> int:
    args = parse(argv)
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGHUP, _interrupted)
    targets = tuple(t.strip() for t in args.targets.split(",") if t.strip())
    levels = args.levels or runner.levels_between(args.start, args.stop, args.factor)
    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    if not modes or set(modes) - {"warm", "cold"}:
        print(f"--modes {args.modes!r}: choose warm, cold or warm,cold", file=sys.stderr)
        return 2
    ramp = ramp_of(args, levels, modes)
    try:
        before = report.machine()
        results = runner.run(targets, ramp, Settings.from_env(), args.out)
        after = report.machine()
        report.save(results, ramp, before, after, args.out / "capacity.json")
        report.chart(results, args.out / "capacity.png")
        print(report.text(results, ramp, before, after, args.out))
        return verdict(results, args.min_capacity)
    except (KeyboardInterrupt, Interrupted) as exc:
        print(f"[capacity] interrupted ({str(exc) or 'Ctrl-C'}); Locust and the services stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
