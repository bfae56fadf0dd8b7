"""One way to wait: a probe polled until it succeeds, with a deadline and a useful error.

Built on tenacity (retry policy, stop and sleep strategies) so the only code here is
what a failure must say: which service, what was awaited, the limit, what was last
observed, and the tail of the service's log. The time source is an
`infra.ecosystem.clock.Clock` (the system clock unless one is passed), so the waits are
unit-tested with `clock.FakeClock` instead of real time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Generic, TypeVar

import tenacity

from infra.ecosystem import clock as clocks
from infra.ecosystem.clock import Clock

T = TypeVar("T")


class NotReady(Exception):
    """Raised by a probe: not ready yet; the message is what it observed."""


class GiveUp(Exception):
    """Raised by a probe or bail-out: waiting longer cannot help (e.g. the process exited)."""


class WaitTimeout(TimeoutError):
    """A wait ran out of time or gave up. The message carries all the evidence."""


@dataclass
class Wait(Generic[T]):
    """Poll `probe` until it returns a value, or fail with a message a person can act on."""

    service: str
    what: str
    probe: Callable[[], T]
    timeout: float
    interval: float = 0.1
    bail_out: Callable[[], str | None] = lambda: None
    log_tail: Callable[[], str] = lambda: ""
    hint: str = ""
    clock: Clock = field(default_factory=lambda: clocks.SYSTEM)

    def run(self) -> T:
        start = self.clock.now()
        last: list[str] = ["nothing observed yet"]

        def attempt() -> T:
            reason = self.bail_out()
            if reason:
                raise GiveUp(reason)
            try:
                return self.probe()
            except NotReady as exc:
                last[0] = str(exc) or exc.__class__.__name__
                raise
            except OSError as exc:  # connection refused, reset, timeouts: not ready yet
                last[0] = f"{exc.__class__.__name__}: {exc}"
                raise NotReady(last[0]) from exc

        retrying = tenacity.Retrying(
            stop=lambda state: self.clock.now() - start >= self.timeout,
            wait=tenacity.wait_fixed(self.interval),
            retry=tenacity.retry_if_exception_type(NotReady),
            sleep=self.clock.sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except GiveUp as exc:
            raise WaitTimeout(self._message(f"gave up after {self.clock.now() - start:.1f}s: {exc}", last[0])) from None
        except NotReady:
            raise WaitTimeout(self._message(f"not ready after {self.timeout:g}s", last[0])) from None

    def _message(self, outcome: str, observed: str) -> str:
        lines = [f"{self.service}: waited for {self.what}; {outcome}", f"  last observed: {observed}"]
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        tail = self.log_tail().rstrip()
        if tail:
            lines.append(f"  log tail of {self.service}:")
            lines.extend("    | " + line for line in tail.splitlines())
        return "\n".join(lines)


def wait_for(service: str, what: str, probe: Callable[[], T], timeout: float, **kwargs) -> T:
    """Shorthand for `Wait(...).run()`."""
    return Wait(service=service, what=what, probe=probe, timeout=timeout, **kwargs).run()
