"""The Docker provider's command line.

    python -m infra.ecosystem.docker build     # build the images, print their references
    python -m infra.ecosystem.docker cleanup   # remove leftovers of runs whose owner died

Exit 3 (with "SKIPPED: <reason>") when no Docker engine can be had here, 1 when an
image cannot be built.
"""

from __future__ import annotations

import argparse
import sys

from infra.ecosystem import clock
from infra.ecosystem.docker.engine import EXIT_NO_ENGINE, DockerUnavailable, connect, ensure_engine, say
from infra.ecosystem.docker.images import ImageBuildFailed, build_images
from infra.ecosystem.docker.reaper import cleanup_stale


def build() -> None:
    ensure_engine()
    client = connect()
    try:
        started = clock.monotonic()
        for role, ref in build_images(client).items():
            size = client.images.get(ref).attrs["Size"] / 1e6
            print(f"{role}\t{ref}\t{size:.0f} MB")
        say(True, f"images ready in {clock.monotonic() - started:.1f}s")
    finally:
        client.close()


def cleanup() -> None:
    removed = cleanup_stale()
    say(True, f"removed leftovers of {len(removed)} run(s)" if removed else "no leftovers")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.ecosystem.docker", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["build", "cleanup"])
    args = parser.parse_args(argv)
    try:
        build() if args.command == "build" else cleanup()
    except DockerUnavailable as exc:
        print(f"SKIPPED: {exc}", file=sys.stderr)
        return EXIT_NO_ENGINE
    except ImageBuildFailed as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
