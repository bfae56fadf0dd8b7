"""Is that process (or process group) still there? One answer for every clean-up that
judges leftovers by a recorded pid: the watchdog's process groups, the Docker reaper's run
owners and the Chromium launcher's profile folders."""

from __future__ import annotations

import os
from typing import Literal

State = Literal["gone", "ours", "foreign"]   # foreign: there, but another user's (we may not signal it)


def probe(pid: int, group: bool = False) -> State:
    """Signal 0 to the process (or, with `group`, the process group) `pid`."""
    try:
        (os.killpg if group else os.kill)(pid, 0)
    except ProcessLookupError:
        return "gone"
    except PermissionError:
        return "foreign"
    return "ours"


def alive(pid: int, group: bool = False) -> bool:
    """Whether it is there at all, whoever's it is."""
    return probe(pid, group) != "gone"
