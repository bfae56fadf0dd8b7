"""The run's watchdog: a small process that outlives its owner (the CLI or behave) just
long enough to remove what the owner started, when the owner dies without cleaning up.

Why a separate process: a SIGKILLed owner runs no clean-up code at all. PR_SET_PDEATHSIG
covers the local provider's direct children (and only while they keep their user), but
not the run's temporary directories, nor containers, which the Docker engine keeps
running for as long as nobody removes them. So each provider starts one watchdog per run
(testcontainers' Ryuk, as a pipe instead of a socket): the owner holds the write end of
its stdin and tells it, one JSON line at a time, what to remove —

    {"group": PGID}      a process group: SIGTERM, SIGKILL after the stop timeout
    {"docker_run": ID}   every container, then network, labelled with the run
    {"path": PATH}       a file or directory
    {"release": true}    the owner cleaned up itself: exit without touching anything

— and the kernel closes that pipe whenever the owner exits, however it exits. End of
file without a release is the owner's death: the watchdog removes everything it was
told about, in that order, and exits. It is in a session of its own and ignores SIGINT
and SIGHUP, so a Ctrl-C, a closed terminal or a SIGKILL of the owner's process group
does not end it before its work (SIGTERM does: whoever sends it knows what they do).

    python -m infra.ecosystem.watchdog --of-run ID [--stop-timeout S]   (started by the providers)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO, Callable

from infra.ecosystem import clock, processes

DOCKER_SETTLE_S = 2.0      # a creation the engine was still finishing when the owner died


class Watchdog:
    """The owner's end: start the process, tell it what belongs to the run, release it."""

    def __init__(self, run_id: str, stop_timeout: float, log_path: Path, run_dir: Path) -> None:
        """`run_dir` is its working directory, so it is found among the run's processes."""
        log_path.parent.mkdir(parents=True, exist_ok=True)
        run_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path
        root = str(Path(__file__).resolve().parents[2])
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "infra.ecosystem.watchdog", "--of-run", run_id,
                 "--stop-timeout", str(stop_timeout)],
                stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                cwd=run_dir, env={**os.environ, "PYTHONPATH": root})
        self._pipe: IO[bytes] | None = self.process.stdin

    def _tell(self, message: dict) -> None:
        if self._pipe is None:
            return
        try:
            self._pipe.write(json.dumps(message).encode() + b"\n")
            self._pipe.flush()
        except (BrokenPipeError, ValueError):   # the watchdog is gone: nothing else can be done here
            self._pipe = None

    def group(self, pgid: int) -> None:
        self._tell({"group": pgid})

    def docker_run(self, run_id: str) -> None:
        self._tell({"docker_run": run_id})

    def path(self, path: Path | str) -> None:
        self._tell({"path": str(path)})

    def release(self, timeout: float = 5.0) -> None:
        """The owner has removed everything itself: the watchdog exits without acting."""
        self._tell({"release": True})
        self._close()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def hand_over(self) -> None:
        """The owner's clean-up failed: the watchdog removes everything now, as if the
        owner had died (it is not waited for)."""
        self._close()

    def _close(self) -> None:
        if self._pipe is not None:
            try:
                self._pipe.close()
            except BrokenPipeError:
                pass
            self._pipe = None


class WatchedRun:
    """Mixin for providers: the run's paths handed to its watchdog, and a clean-up that
    releases the watchdog when it succeeds or hands everything over to it when it fails."""

    watchdog: Watchdog | None = None

    def owns(self, path: Path) -> None:
        """`path` belongs to the run: removed with it even if this process is killed
        (the caller removes it on a clean stop)."""
        if self.watchdog is not None:
            self.watchdog.path(path)

    def _down_watched(self, clean_up: Callable[[], None]) -> None:
        try:
            clean_up()
        except BaseException:
            if self.watchdog is not None:
                self.watchdog.hand_over()    # it removes what this clean-up could not
                self.watchdog = None
            raise
        if self.watchdog is not None:
            self.watchdog.release()
            self.watchdog = None


# -- the watchdog's side ------------------------------------------------------------------

def stop_groups(groups: list[int], stop_timeout: float) -> None:
    """SIGTERM every group still there; SIGKILL what is left after the stop timeout."""
    alive = [g for g in groups if processes.alive(g, group=True)]
    for pgid in alive:
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = clock.deadline(stop_timeout)
    while alive and not deadline.expired():
        clock.sleep(0.1)
        alive = [g for g in alive if processes.alive(g, group=True)]
    for pgid in alive:
        say(f"process group {pgid} outlived SIGTERM by {stop_timeout:g}s: SIGKILL")
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def remove_docker_runs(run_ids: list[str]) -> None:
    from infra.ecosystem.docker import reaper
    from infra.ecosystem.docker.engine import connect

    client = connect()
    try:
        for _ in range(2):     # again after a moment: a create in flight may have finished meanwhile
            for run_id in run_ids:
                reaper.remove_run(client, run_id)
            clock.sleep(DOCKER_SETTLE_S)
    finally:
        client.close()


def remove_paths(paths: list[str]) -> None:
    for path in paths:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            Path(path).unlink(missing_ok=True)


def say(message: str) -> None:
    print(f"--- {clock.stamp()} watchdog: {message}", flush=True)


def watch(stream: IO[bytes], run_id: str, stop_timeout: float) -> bool:
    """Read the owner's messages until release (True) or end of file (False: clean up)."""
    groups: list[int] = []
    runs: list[str] = []
    paths: list[str] = []
    for line in stream:
        message = json.loads(line)
        if message.get("release"):
            return True
        if "group" in message:
            groups.append(int(message["group"]))
        if "docker_run" in message:
            runs.append(str(message["docker_run"]))
        if "path" in message:
            paths.append(str(message["path"]))
    say(f"the owner of run {run_id} is gone without cleaning up: removing {len(groups)} process groups, "
        f"{len(runs)} docker runs, {len(paths)} paths")
    stop_groups(groups, stop_timeout)
    if runs:
        remove_docker_runs(runs)
    remove_paths(paths)
    say("done")
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--of-run", required=True, help="the run it watches (said in its log)")
    parser.add_argument("--stop-timeout", type=float, default=5.0)
    args = parser.parse_args()
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)   # a terminal's Ctrl-C or hang-up is for the owner, not for us
    watch(sys.stdin.buffer, args.of_run, args.stop_timeout)


if __name__ == "__main__":
    main()
