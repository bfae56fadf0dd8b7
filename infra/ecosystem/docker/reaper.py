"""Nothing of a run is left behind: the labels every container and network of a run
carries, removing them, and removing the leftovers of runs whose owner was killed.

Labels: ``swarmspec.run`` / ``swarmspec.service`` / ``swarmspec.owner``, the owner
being pid:start-time@host of the process that owns the run, so leftovers of a killed
run can be told from a live one (`cleanup_stale`). Creations and removals defer
SIGINT/SIGTERM (`signals_deferred`): a Ctrl-C in the middle of a create would leave the
engine to finish it after the clean-up looked.

    python -m infra.ecosystem.docker cleanup   # remove leftovers of runs whose owner died
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import threading
from pathlib import Path
from typing import Iterator

from infra.config import Settings
from infra.ecosystem import processes
from infra.ecosystem.docker.engine import connect, say, sdk
from infra.ecosystem.docker.images import HOLD_REPO
from infra.ecosystem.docker.layout import backend_data_dir, secrets_dir

LABEL_RUN = "swarmspec.run"
LABEL_SERVICE = "swarmspec.service"
LABEL_OWNER = "swarmspec.owner"          # "<pid>:<start time>@<host>" of the owning process


def run_labels(run_id: str) -> dict[str, str]:
    """The labels of everything a run creates (containers add LABEL_SERVICE)."""
    return {LABEL_RUN: run_id, LABEL_OWNER: owner_token()}


def owner_token(pid: int | None = None) -> str:
    pid = pid or os.getpid()
    return f"{pid}:{_start_time(pid) or 0}@{socket.gethostname()}"


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]   # field 22: start time in clock ticks


def owner_alive(token: str) -> bool:
    """Is the process named by an owner label still the one that started the run?"""
    match = re.fullmatch(r"(\d+):(\d+)@(.*)", token or "")
    if not match:
        return False
    pid, started, host = int(match[1]), match[2], match[3]
    if host != socket.gethostname():
        return True           # another machine's run on a shared engine: not ours to judge
    now = _start_time(pid)
    if now is None:
        state = processes.probe(pid)
        return state == "foreign" or (state == "ours" and started == "0")
    return started in ("0", now)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Let a creation or clean-up finish: SIGINT/SIGTERM that arrive meanwhile are
    re-raised after it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[sig] = signal.signal(sig, lambda signum, frame: received.append(signum))
        except (ValueError, OSError):
            pass
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if received:
            raise KeyboardInterrupt(f"signal {received[0]} during clean-up")


def quietly():
    """Suppress what the engine says about something already gone or going."""
    docker = sdk()
    return contextlib.suppress(docker.errors.NotFound, docker.errors.APIError)


def remove_run(client, run_id: str) -> None:
    """Force-remove every container, then every network, labelled with this run."""
    selector = {"label": f"{LABEL_RUN}={run_id}"}
    for container in client.containers.list(all=True, filters=selector, ignore_removed=True):
        with quietly():
            container.remove(force=True)
    for network in client.networks.list(filters=selector):
        with quietly():
            network.remove()
    # the run's holds on its images (images.hold): untagged, or removed if nothing else names them
    for image in client.images.list(filters={"reference": f"{HOLD_REPO}/*:{run_id}"}):
        for tag in image.tags:
            if tag.startswith(f"{HOLD_REPO}/") and tag.endswith(f":{run_id}"):
                with quietly():
                    client.images.remove(tag)


def run_data_dirs(settings: Settings, run_id: str) -> tuple[Path, Path, Path]:
    """The run's host directories: the backend's SQLite, the secret files it mounts, the
    extra peers' copies of the content."""
    return backend_data_dir(settings, run_id), secrets_dir(settings, run_id), peers_dir(settings, run_id)


def remove_run_data(settings: Settings, run_id: str) -> None:
    """The run's host directories (`run_data_dirs`)."""
    for path in run_data_dirs(settings, run_id):
        shutil.rmtree(path, ignore_errors=True)


def peers_dir(settings: Settings, run_id: str) -> Path:
    """Where the run's extra peers keep their copy of the content."""
    return settings.run_dir / "docker" / f"peers-{run_id}"


def cleanup_stale(settings: Settings | None = None, client=None, progress: bool = True) -> list[str]:
    """Remove containers and networks of runs whose owner process is gone (a killed
    run). Returns the run ids removed."""
    settings = settings or Settings.from_env()
    own_client = client is None
    client = client or connect()
    try:
        owners: dict[str, str] = {}
        for obj in [*client.containers.list(all=True, filters={"label": LABEL_RUN}, ignore_removed=True),
                    *client.networks.list(filters={"label": LABEL_RUN})]:
            labels = obj.attrs.get("Labels") or obj.attrs.get("Config", {}).get("Labels") or {}
            owners.setdefault(labels.get(LABEL_RUN, ""), labels.get(LABEL_OWNER, ""))
        stale = sorted(run for run, owner in owners.items() if run and not owner_alive(owner))
        for run in stale:
            remove_run(client, run)
            remove_run_data(settings, run)
            say(progress, f"removed the leftovers of run {run} (owner {owners[run] or '?'} is gone)")
        return stale
    finally:
        if own_client:
            client.close()
