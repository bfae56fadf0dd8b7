"""What a server process costs, read from /proc: resident memory now and at its peak, and
CPU time. Linux only, like the local provider that starts the processes.

A service's process may have children (none of ours do today, but a wrapper could
fork); the figures add up the process and every descendant, so a server cannot look
lean by doing its work in a child.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Usage:
    rss_mib: float        # resident now
    peak_rss_mib: float   # VmHWM: the most the process was ever resident
    cpu_seconds: float    # user + system


def _descendants(pid: int) -> list[int]:
    """The pid and its descendants (via /proc/<pid>/task/*/children)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                continue
    return found


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _cpu_ticks(pid: int) -> int:
    # Fields after the command name (which may hold spaces, hence the rpartition): utime is 14th, stime 15th.
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])


def usage(pid: int) -> Usage:
    """The process and its descendants now; a process that is gone counts as nothing."""
    rss = peak = ticks = 0
    for each in _descendants(pid):
        try:
            rss += _status_kib(each, "VmRSS")
            peak += _status_kib(each, "VmHWM")
            ticks += _cpu_ticks(each)
        except (OSError, ValueError, IndexError):
            continue
    return Usage(rss / 1024, peak / 1024, ticks / CLOCK_TICKS)
