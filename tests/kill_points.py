"""Kill a run at a chosen point and see what it left: the driver of
tests/test_kill_points.py (and of the before/after figures in its docstring).

A run is `python -m infra up` or behave, started in its own session (as a CI job or a
terminal would) with its run and reports directories under a fresh base directory, so
`tests.leftovers` can tell what belongs to it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from infra import PROJECT_ROOT
from infra.ecosystem import clock
from infra.ecosystem.waits import NotReady, Wait
from tests import leftovers

START_TIMEOUT = {"local": 90.0, "docker": 300.0}
#: How long what a killed run leaves may take to go away by itself (a service stopping
#: after SIGTERM, the watchdog removing containers).
SETTLE = {"local": 20.0, "docker": 60.0}


def base_dir() -> Path:
    """World-traversable: the tracker runs as nobody and reads the whitelist under it."""
    path = Path(tempfile.mkdtemp(prefix="swarmspec-kill-"))
    path.chmod(0o755)
    return path


def env_for(base: Path, provider: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWARMSPEC_")}
    env.update(SWARMSPEC_RUN_DIR=str(base / "run"), SWARMSPEC_REPORTS_DIR=str(base / "reports"),
               SWARMSPEC_PROVIDER=provider, PYTHONUNBUFFERED="1")
    return env


@dataclass
class Run:
    kind: str          # "up" or "behave"
    provider: str
    base: Path
    process: subprocess.Popen
    output: Path
    settled_after: float = 0.0     # seconds from the SIGKILL until nothing was left (or the grace ran out)

    @property
    def pid(self) -> int:
        return self.process.pid

    def text(self) -> str:
        return self.output.read_text(errors="replace") if self.output.exists() else ""


def start(kind: str, provider: str, base: Path, shell_background: bool = False,
          features: tuple[str, ...] = ("features/seeking.feature",)) -> Run:
    """`up` or behave in a session of its own. `shell_background`: as a background job of
    a non-interactive shell, which starts it with SIGINT ignored."""
    python = sys.executable
    if kind == "up":
        argv = [python, "-m", "infra", "up", "--provider", provider]
    else:
        argv = [python, "-m", "behave", "-f", "plain", "--no-capture", "-D", f"ecosystem={provider}", *features]
    output = base / f"{kind}.out"
    if shell_background:
        quoted = " ".join(f"'{a}'" for a in argv)
        argv = ["bash", "-c", f"{quoted} & echo $! > {base}/pid; wait"]
    with output.open("wb") as out:
        process = subprocess.Popen(argv, cwd=PROJECT_ROOT, env=env_for(base, provider), stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    return Run(kind, provider, base, process, output)


def wait_until(run: Run, what: str, ready: Callable[[], bool], timeout: float) -> None:
    def probe() -> None:
        if not ready():
            raise NotReady(f"not yet; output tail: {run.text()[-300:]!r}")

    def exited() -> str | None:
        code = run.process.poll()
        return None if code is None else f"{run.kind} exited with {code}: {run.text()[-1500:]}"

    Wait(service=run.kind, what=what, probe=probe, timeout=timeout, interval=0.1, bail_out=exited).run()


# -- the points -----------------------------------------------------------------------

def starting(run: Run) -> bool:
    """Some services are up and the rest are starting."""
    if run.provider == "docker":
        containers, _ = leftovers.docker_of({run.pid})
        return len(containers) >= 2
    return (run.base / "reports" / "logs" / "seeder.log").exists()


def up(run: Run) -> bool:
    if run.kind == "up":
        return (run.base / "run" / "endpoints.json").exists()
    return " ... passed" in run.text()      # behave: a scenario is under way


POINTS: dict[str, Callable[[Run], bool]] = {"starting": starting, "up": up}


def kill_at(kind: str, provider: str, point: str, grace: float | None = None,
            stop_first: bool = False) -> tuple[Run, leftovers.Leftovers]:
    """Start, reach `point`, SIGKILL (after SIGTERM when `stop_first`: killed during its
    own clean-up), then return what is left once it had `grace` seconds to go away."""
    base = base_dir()
    run = start(kind, provider, base)
    try:
        wait_until(run, f"the point {point!r}", lambda: POINTS[point](run), START_TIMEOUT[provider])
        if stop_first:
            os.kill(run.pid, signal.SIGTERM)
            wait_until(run, "its clean-up to begin", lambda: "stopping" in run.text() or
                       run.process.poll() is not None, 30.0)
        run.process.send_signal(signal.SIGKILL)
        run.process.wait(10)
    except BaseException:
        _force_clean(run)
        raise
    killed = clock.monotonic()
    found = settle(run, SETTLE[provider] if grace is None else grace)
    run.settled_after = clock.monotonic() - killed
    return run, found


def settle(run: Run, grace: float) -> leftovers.Leftovers:
    """Leftovers after at most `grace` seconds (sooner if nothing is left)."""
    docker = run.provider == "docker"
    found: list[leftovers.Leftovers] = []

    def gone() -> None:
        found[:] = [leftovers.scan(run.base, {run.pid}, docker)]
        if not found[0].empty():
            raise NotReady(found[0].describe())

    try:
        Wait(service=run.kind, what="what the killed run left to go away", probe=gone, timeout=grace,
             interval=0.5).run()
    except Exception:
        pass
    return found[0]


def _force_clean(run: Run) -> None:
    if run.process.poll() is None:
        run.process.kill()
        run.process.wait(10)
    leftovers.remove(leftovers.scan(run.base, {run.pid}, run.provider == "docker"))


def clean(run: Run, found: leftovers.Leftovers) -> None:
    """Remove what a test found, then the base directory."""
    leftovers.remove(found)
    import shutil

    shutil.rmtree(run.base, ignore_errors=True)


def watchdog_log(run: Run) -> str:
    path = run.base / "reports" / "logs" / "watchdog.log"
    return path.read_text() if path.exists() else ""


def endpoints_pid(run: Run) -> int:
    return json.loads((run.base / "run" / "endpoints.json").read_text())["pid"]


if __name__ == "__main__":   # python -m tests.kill_points KIND PROVIDER POINT [stop-first]: print the leftovers
    kind, provider, point = sys.argv[1:4]
    run, found = kill_at(kind, provider, point, stop_first="stop-first" in sys.argv[4:])
    print(f"{kind} {provider} killed at {point}{' during its clean-up' if 'stop-first' in sys.argv else ''}: "
          f"left {found.describe()} (after {run.settled_after:.1f}s)")
    print("watchdog:", watchdog_log(run).strip().replace("\n", " | ")[-400:])
    clean(run, found)
