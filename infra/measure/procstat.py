"""What a server process costs, read from /proc: resident memory now and at its peak, CPU
time and open file descriptors, of the process and every descendant (so a server cannot look
lean by doing its work in a child: a node server's workers, a container's init's child).
One reader for the whole measuring wing: the bench's cost figures and the fuzzer's evidence
that hostile input leaks neither memory nor descriptors. Linux only, like the local provider.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from infra.ecosystem.endpoints import Endpoints

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Usage:
    rss_bytes: int = 0        # resident now
    peak_rss_bytes: int = 0   # VmHWM: the most each process was ever resident, summed
    cpu_seconds: float = 0.0  # user + system
    fds: int = 0              # open file descriptors

    @property
    def rss_mib(self) -> float:
        return self.rss_bytes / 2**20

    @property
    def peak_rss_mib(self) -> float:
        return self.peak_rss_bytes / 2**20


def tree(pid: int) -> list[int]:
    """The process and its descendants, by each process's parent in /proc/<pid>/stat."""
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


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _cpu_ticks(pid: int) -> int:
    # Fields after the command name (which may hold spaces, hence the rpartition): utime is 14th, stime 15th.
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])


def usage(pid: int, must_exist: bool = False) -> Usage:
    """The process and its descendants now. A process that is gone counts as nothing, or,
    with `must_exist`, raises ProcessLookupError (the fuzzer: a server that died is a finding)."""
    rss = peak = ticks = fds = 0
    for member in tree(pid):
        try:
            rss += _status_kib(member, "VmRSS")
            peak += _status_kib(member, "VmHWM")
            ticks += _cpu_ticks(member)
            fds += len(os.listdir(f"/proc/{member}/fd"))
        except (OSError, ValueError, IndexError):
            if must_exist and member == pid:
                raise ProcessLookupError(f"process {pid} is gone") from None
    return Usage(rss * 1024, peak * 1024, ticks / CLOCK_TICKS, fds)


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
