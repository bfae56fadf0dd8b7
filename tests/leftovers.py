"""What a run left behind, found from the outside: the kill-point tests SIGKILL a run and
then ask this module what of it remains.

A run is identified by the base directory the test gave it (its run dir and reports dir
live there): a process belongs to it when its command line, working directory or root
names that directory; a port belongs to it when a service log of the run says it was
started on it; a temporary directory is a per-run directory under the run dir; a
container or network carries the owner label of the killed process.
"""

from __future__ import annotations

import os
import re
import signal
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from infra.ecosystem import ports

PORT_ARGS = re.compile(r"(?:--port|-p) (\d+)")


@dataclass
class Leftovers:
    processes: dict[int, str] = field(default_factory=dict)    # pid -> command line
    ports: list[int] = field(default_factory=list)             # still listening on 127.0.0.1
    paths: list[str] = field(default_factory=list)              # per-run directories and files
    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.processes or self.ports or self.paths or self.containers or self.networks)

    def describe(self) -> str:
        if self.empty():
            return "nothing"
        parts = []
        if self.processes:
            parts.append("processes: " + "; ".join(f"{pid} {cmd[:90]}" for pid, cmd in self.processes.items()))
        if self.ports:
            parts.append(f"listening ports: {self.ports}")
        if self.paths:
            parts.append(f"paths: {self.paths}")
        if self.containers:
            parts.append(f"containers: {self.containers}")
        if self.networks:
            parts.append(f"networks: {self.networks}")
        return "\n".join(parts)


def _belongs(pid: str, base: str) -> str | None:
    proc = Path("/proc") / pid
    try:
        argv = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return None
    if not argv:
        return None     # a zombie or a kernel thread
    try:
        cwd, root = os.readlink(proc / "cwd"), os.readlink(proc / "root")
    except OSError:
        cwd = root = ""
    if base in argv or cwd.startswith(base) or root.startswith(base):
        return argv
    return None


def processes_of(base: Path, exclude: set[int] = frozenset()) -> dict[int, str]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) not in exclude and int(entry.name) != os.getpid():
            argv = _belongs(entry.name, str(base))
            if argv is not None:
                found[int(entry.name)] = argv
    return found


def ports_of(base: Path) -> list[int]:
    """The ports the run's services were started on (their logs' first lines) that still listen."""
    started = set()
    for log in (base / "reports" / "logs").glob("*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if " starting: " in line:
                started.update(int(p) for p in PORT_ARGS.findall(line))
    return sorted(p for p in started if ports.is_listening("127.0.0.1", p))


def paths_of(base: Path) -> list[str]:
    run = base / "run"
    found = [*(run / "runs").glob("*"), *(run / "docker").glob("backend-*"), *(run / "docker").glob("secrets-*")]
    if (run / "endpoints.json").exists():
        found.append(run / "endpoints.json")
    return sorted(str(p) for p in found)


def docker_of(owner_pids: set[int]) -> tuple[list[str], list[str]]:
    """Containers and networks whose owner label names one of these (killed) processes."""
    try:
        from infra.ecosystem.docker.engine import connect
        from infra.ecosystem.docker.reaper import LABEL_OWNER, LABEL_RUN

        client = connect()
    except Exception:
        return [], []
    try:
        def owned(obj) -> bool:
            labels = obj.attrs.get("Labels") or obj.attrs.get("Config", {}).get("Labels") or {}
            return labels.get(LABEL_OWNER, "").split(":", 1)[0] in {str(p) for p in owner_pids}
        containers = [c.name for c in client.containers.list(all=True, filters={"label": LABEL_RUN},
                                                             ignore_removed=True) if owned(c)]
        networks = [n.name for n in client.networks.list(filters={"label": LABEL_RUN}) if owned(n)]
        return containers, networks
    finally:
        client.close()


def scan(base: Path, owner_pids: set[int] = frozenset(), docker: bool = False) -> Leftovers:
    found = Leftovers(processes_of(base, set(owner_pids)), ports_of(base), paths_of(base))
    if docker:
        found.containers, found.networks = docker_of(set(owner_pids))
    return found


def remove(found: Leftovers, owner_pids: set[int] = frozenset()) -> None:
    """Clean up after a test whatever it found (so a failing test leaves nothing either)."""
    for pid in found.processes:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for path in found.paths:
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            Path(path).unlink(missing_ok=True)
    if found.containers or found.networks:
        from infra.ecosystem.docker.engine import connect

        client = connect()
        try:
            for name in found.containers:
                try:
                    client.containers.get(name).remove(force=True)
                except Exception:
                    pass
            for name in found.networks:
                try:
                    client.networks.get(name).remove()
                except Exception:
                    pass
        finally:
            client.close()
