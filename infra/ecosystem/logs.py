"""Service logs as files: the tail of one, and the log of a service of an ecosystem the
suite attached to (named in its endpoints file), which no provider object answers for."""

from __future__ import annotations

import os
from pathlib import Path

from infra.ecosystem.endpoints import Endpoints

TAIL_BYTES = 16384


def tail(path: Path, lines: int = 40) -> str:
    """The last `lines` lines of a log file ("" when there is none yet)."""
    try:
        with Path(path).open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - TAIL_BYTES))
            return b"\n".join(handle.read().splitlines()[-lines:]).decode(errors="replace")
    except FileNotFoundError:
        return ""


def service_log_tail(endpoints: Endpoints, service: str, lines: int = 40) -> str:
    """The tail of a service's log as the endpoints file names it ("" when it names none)."""
    log = endpoints.services.get(service, {}).get("log")
    return tail(Path(log), lines) if log else ""
