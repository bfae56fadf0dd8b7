"""python -m infra.measure.fuzz [--target reference] [--examples 10000] [--seed 0] [--provider local]

Fuzz a target with hostile input and print the figures: examples and requests, server
errors, framing errors, byte mismatches, answers that never came, every distinct failure
with its first example, how oversized requests were refused, RSS and open fds of the
target's service before and after, and whether it is healthy afterwards. Exits 1 when
there is a failure, a leak or an unhealthy service (contract deviations are graded,
not failures: a third-party server may answer as RFC 9110 allows).

Starts its own ecosystem (with the target's service when it is an optional one), or
attaches to one started by `python -m infra up` with --endpoints .run/endpoints.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

from infra.config import Settings
from infra.ecosystem.endpoints import Endpoints
from infra.ecosystem.providers import make_provider
from infra.measure.fuzz import invariants
from infra.measure.fuzz.campaign import Campaign, Figures
from infra.suite.targets import load_credentials
from infra.suite.targets.registry import optional_services


def report(figures: Figures) -> str:
    lines = [f"fuzz {figures.target} ({figures.provider} provider, seed {figures.seed}): "
             f"{sum(figures.examples.values())} examples "
             f"({', '.join(f'{k} {v}' for k, v in figures.examples.items())}), "
             f"{figures.requests} requests in {figures.seconds:.0f} s"]
    for kind in (*invariants.KINDS, invariants.CONTRACT):
        lines.append(f"  {kind:<22} {figures.count(kind)}" + ("   (graded, not a failure)"
                                                                if kind == invariants.CONTRACT else ""))
    lines.append(f"  {'distinct failures':<22} {len(figures.failures())}")
    for finding in sorted(figures.findings.values(), key=lambda f: (f.problem.kind, -f.count)):
        detail = " ".join(finding.problem.detail.split())[:160]
        lines.append(f"    [{finding.problem.kind}] {finding.problem.signature} x{finding.count}: {detail}")
        lines.append(f"        first input: {finding.example[:200]}")
    if figures.refusals:
        lines.append("  oversized requests: " + "; ".join(f"{k} x{v}" for k, v in sorted(figures.refusals.items())))
    if figures.before:
        after = figures.after
        lines.append(f"  RSS  {figures.before.rss_mib:7.1f} MiB before, "
                     + (f"{after.rss_mib:7.1f} MiB after" if after else "(no process after)"))
        lines.append(f"  fds  {figures.before.fds:7d}     before, " + (f"{after.fds:7d}     after" if after else "-"))
    lines += [f"  note: {note}" for note in figures.notes]
    lines.append(f"  healthy afterwards: {'yes' if figures.healthy_after else 'NO'}"
                 + (f"; leaked: {', '.join(figures.leaked)}" if figures.leaked else ""))
    lines.append(f"  verdict: {'PASS' if figures.passed else 'FAIL'}")
    return "\n".join(lines)


def as_json(figures: Figures) -> dict:
    return {"target": figures.target, "provider": figures.provider, "seed": figures.seed,
            "examples": dict(figures.examples), "requests": figures.requests, "seconds": round(figures.seconds, 1),
            "counts": {kind: figures.count(kind) for kind in (*invariants.KINDS, invariants.CONTRACT)},
            "findings": [{"kind": f.problem.kind, "signature": f.problem.signature, "count": f.count,
                          "detail": f.problem.detail, "example": f.example} for f in figures.findings.values()],
            "refusals": dict(figures.refusals),
            "rss_mib": [round(u.rss_mib, 1) if u else None for u in (figures.before, figures.after)],
            "fds": [u.fds if u else None for u in (figures.before, figures.after)],
            "healthy_after": figures.healthy_after, "leaked": figures.leaked, "passed": figures.passed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.measure.fuzz", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default="reference", help="reference, range-server, webtorrent, peerflix, a file")
    parser.add_argument("--examples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--provider", default=None, help="local or docker (default: SWARMSPEC_PROVIDER or local)")
    parser.add_argument("--endpoints", type=Path, default=None, help="attach to a running ecosystem")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)

    def say(line: str) -> None:
        print(f"[fuzz] {line}", file=sys.stderr, flush=True)

    settings = Settings.from_env()
    provider = None
    if args.endpoints:
        endpoints = Endpoints.read(args.endpoints)
    else:
        extras = optional_services(args.target)
        settings = dataclasses.replace(settings, extra_services=",".join(extras))
        provider = make_provider(args.provider or settings.provider, settings)
    try:
        if provider is not None:
            endpoints = provider.up()
        credentials = load_credentials(endpoints.credentials_file, dict(os.environ))
        figures = Campaign(endpoints, args.target, credentials, args.seed, say).run(args.examples)
    finally:
        if provider is not None:
            provider.down()
    print(report(figures))
    if args.json:
        args.json.write_text(json.dumps(as_json(figures), indent=2))
    return 0 if figures.passed else 1


if __name__ == "__main__":
    sys.exit(main())
