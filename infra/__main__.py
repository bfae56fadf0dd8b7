"""python -m infra {up,status,down,config}

up      prepare the videos and torrents, start the ecosystem, print its endpoints as JSON,
        write them to <run_dir>/endpoints.json, and keep running until Ctrl-C, SIGTERM,
        SIGHUP or `down` (if it is SIGKILLed, the run's watchdog removes what it started).
status  check every service of the running ecosystem (exit 1 if one is unhealthy).
down    stop the ecosystem started by `up` (signals its process, waits for it to exit);
        with --provider docker also remove the containers and networks of killed runs.
config  print the configuration variables with their values.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from infra.config import Settings, describe
from infra.ecosystem import clock
from infra.ecosystem import services as ecosystem
from infra.ecosystem.endpoints import Endpoints
from infra.ecosystem.providers import UnknownProvider, make_provider, remove_leftovers
from infra.ecosystem.waits import NotReady, Wait, WaitTimeout


def endpoints_path(settings: Settings) -> Path:
    return settings.run_dir / "endpoints.json"


class Interrupted(Exception):
    pass


#: The signals that stop `up`. Each gets its handler explicitly: a background job of a
#: non-interactive shell starts with SIGINT ignored, and Python then keeps it ignored.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _raise_interrupted(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


def _handle_stop_signals(handler) -> None:
    for sig in STOP_SIGNALS:
        signal.signal(sig, handler)


def cmd_up(settings: Settings, provider_name: str) -> int:
    path = endpoints_path(settings)
    if path.exists():
        old = Endpoints.read(path)
        if old.pid and _alive(old.pid):
            print(f"an ecosystem is already running (pid {old.pid}); `python -m infra down` first", file=sys.stderr)
            return 1
    try:
        provider = make_provider(provider_name, settings)
    except UnknownProvider as exc:
        raise SystemExit(str(exc)) from None
    _handle_stop_signals(_raise_interrupted)
    started = clock.monotonic()
    try:
        endpoints = provider.up()
        endpoints.write(path)
        provider.owns(path)      # removed by the run's watchdog if this process is killed
        print(endpoints.to_json(), flush=True)
        print(f"# ecosystem up in {clock.monotonic() - started:.1f}s; endpoints written to {path}; "
              f"Ctrl-C or `python -m infra down` stops it", file=sys.stderr, flush=True)
        while True:
            clock.sleep(3600)
    except Interrupted as exc:
        print(f"# {exc}: stopping the ecosystem", file=sys.stderr, flush=True)
    finally:
        # A second signal must not cut the clean-up short (a SIGKILL is the watchdog's business).
        _handle_stop_signals(signal.SIG_IGN)
        path.unlink(missing_ok=True)
        provider.down()
    return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def cmd_status(settings: Settings) -> int:
    from infra.ecosystem.health import http_ok

    try:
        endpoints = Endpoints.read(endpoints_path(settings))
    except FileNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 1
    report, ok = {}, True
    for name in ("backend", "seeder", "range_server", "tracker"):
        url = endpoints.url_of(name)
        try:
            http_ok(url + ecosystem.spec(name).host_health_path, timeout=2.0)()
            report[name] = {"url": url, "healthy": True}
        except NotReady as exc:
            ok = False
            report[name] = {"url": url, "healthy": False, "error": str(exc)}
    print(json.dumps({"provider": endpoints.provider, "run_id": endpoints.run_id, "pid": endpoints.pid,
                      "services": report}, indent=2))
    return 0 if ok else 1


def cmd_down(settings: Settings, timeout: float = 30.0) -> int:
    path = endpoints_path(settings)
    try:
        endpoints = Endpoints.read(path)
    except FileNotFoundError:
        print("no ecosystem is running (no endpoints file)", file=sys.stderr)
        return 0
    if not endpoints.pid or not _alive(endpoints.pid):
        print(f"the owner process {endpoints.pid} is gone; removing the stale endpoints file", file=sys.stderr)
        path.unlink(missing_ok=True)
        return 0
    os.kill(endpoints.pid, signal.SIGTERM)

    def gone() -> None:
        if _alive(endpoints.pid):
            raise NotReady(f"pid {endpoints.pid} is alive")

    try:
        Wait(service="ecosystem", what=f"its owner (pid {endpoints.pid}) to exit after SIGTERM", probe=gone,
             timeout=timeout, interval=0.1).run()
    except WaitTimeout:
        print(f"pid {endpoints.pid} did not stop within {timeout:g}s; killing it", file=sys.stderr)
        os.kill(endpoints.pid, signal.SIGKILL)
    print("ecosystem stopped", file=sys.stderr)
    return 0


def cmd_config() -> int:
    settings = Settings.from_env()
    for var, default, doc in describe():
        value = getattr(settings, var.removeprefix("SWARMSPEC_").lower())
        print(f"{var}={value}    # default {default}: {doc}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "status", "down", "config"])
    parser.add_argument("--provider", default=None, help="local or docker (default: SWARMSPEC_PROVIDER or local)")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    provider = args.provider or settings.provider
    if args.command == "up":
        return cmd_up(settings, provider)
    if args.command == "status":
        return cmd_status(settings)
    if args.command == "down":
        status = cmd_down(settings)
        why_not = remove_leftovers(provider, settings)   # also what killed runs left behind
        if why_not:
            print(why_not, file=sys.stderr)
        return status
    return cmd_config()


if __name__ == "__main__":
    sys.exit(main())
