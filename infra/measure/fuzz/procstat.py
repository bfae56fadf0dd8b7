"""A service's resident memory and open file descriptors, read from /proc/<pid>: the
fuzzer's evidence that hostile input leaks neither. The local provider reports each
service's pid in the endpoints; under Docker it is the container's main process as the
host sees it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from infra.ecosystem.endpoints import Endpoints


@dataclass(frozen=True)
class Usage:
    rss_bytes: int
    fds: int

    @property
    def rss_mib(self) -> float:
        return self.rss_bytes / 2**20


def _tree(pid: int) -> list[int]:
    """The process and its descendants (a node server's workers, a container's init's child)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo += children.get(current, [])
    return out


def usage(pid: int) -> Usage:
    """RSS and open fds of `pid` and its descendants; raises ProcessLookupError if it is gone."""
    rss = fds = 0
    for member in _tree(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
            rss += next(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS:"))
            fds += len(os.listdir(f"/proc/{member}/fd"))
        except (OSError, StopIteration):
            if member == pid:
                raise ProcessLookupError(f"process {pid} is gone") from None
    return Usage(rss, fds)


def service_pid(endpoints: Endpoints, service: str) -> int | None:
    """The pid of a service of a running ecosystem as this host sees it, or None if unknown."""
    info = endpoints.services.get(service, {})
    if info.get("pid"):
        return int(info["pid"])
    if info.get("container"):
        try:
            from infra.ecosystem.docker.engine import connect

            client = connect()
            try:
                return int(client.containers.get(info["container"]).attrs["State"]["Pid"]) or None
            finally:
                client.close()
        except Exception:   # no engine, no container: no figures, said by the caller
            return None
    return None
