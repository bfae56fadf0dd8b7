"""The one place where code under `infra/` reads the time or sleeps.

Why one place: waits, deadlines, token expiry and idle clean-up are all decisions about
time, and each is unit-tested with a fake clock (`FakeClock`) instead of real sleeping.
A module that calls `time.sleep` or `time.monotonic` directly cannot be tested that way,
so none does (`tests/test_clock.py` greps for it).

`monotonic()` measures durations; `wall()` is the epoch time for things that leave the
process (JWT `exp`, log stamps, `Last-Modified`). `stamp()` formats a log line's time.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Clock:
    """A time source. Production code uses `SYSTEM`; tests pass a `FakeClock`."""

    now: Callable[[], float] = _time.monotonic
    sleep: Callable[[float], None] = _time.sleep
    wall: Callable[[], float] = _time.time

    def deadline(self, seconds: float) -> "Deadline":
        return Deadline(self, self.now() + seconds, seconds)


@dataclass
class Deadline:
    """A point in time a loop must not pass; `remaining()` is never negative."""

    clock: Clock
    at: float
    budget: float

    def remaining(self) -> float:
        return max(0.0, self.at - self.clock.now())

    def expired(self) -> bool:
        return self.clock.now() >= self.at

    def elapsed(self) -> float:
        return self.budget - (self.at - self.clock.now())


@dataclass
class FakeClock(Clock):
    """Time that moves only when something sleeps (or `advance` is called)."""

    t: float = 1000.0
    epoch: float = 1_700_000_000.0
    slept: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.now = lambda: self.t
        self.wall = lambda: self.epoch + self.t
        self.sleep = self._sleep

    def _sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds

    def advance(self, seconds: float) -> None:
        self.t += seconds


SYSTEM = Clock()


def monotonic() -> float:
    """Seconds on a clock that never goes back (durations, deadlines)."""
    return SYSTEM.now()


def wall() -> float:
    """Seconds since the epoch (tokens, dates that leave the process)."""
    return SYSTEM.wall()


def sleep(seconds: float) -> None:
    SYSTEM.sleep(seconds)


def stamp(fmt: str = "%H:%M:%S") -> str:
    """The local time of day for a log line."""
    return _time.strftime(fmt, _time.localtime(SYSTEM.wall()))


def utc_stamp(fmt: str = "%Y-%m-%d %H:%M UTC") -> str:
    """The date and time in UTC, for a line a file carries to other machines."""
    return _time.strftime(fmt, _time.gmtime(SYSTEM.wall()))


def deadline(seconds: float) -> Deadline:
    return SYSTEM.deadline(seconds)
