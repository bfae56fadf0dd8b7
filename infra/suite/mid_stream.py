"""Viewers in the middle of a body when something breaks, and budgets from physics.

`streams_through` lets viewers stream in threads of their own, waits until the swarm has
delivered a given amount, injects the fault, and hands back every answer with the time
of the fault: the steps then judge whether each viewer saw a bounded failure (a short
body, a closed connection) or exact bytes, never a hang.

`physics` is what the network alone costs: round trips times the added latency, plus
the bytes needed at the link's rate. Budgets in the features are stated factors of it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

from infra.ecosystem import clock
from infra.ecosystem.conditions import NetworkConditions
from infra.ecosystem.waits import NotReady, Wait
from infra.suite.http import Client, Exchange

JOIN_DEADLINE = 60.0          # no viewer thread outlives this after the fault (the client's own deadlines are shorter)


@dataclass(frozen=True)
class Interrupted:
    exchanges: list[Exchange]
    fault_at: float            # monotonic time the fault began (a restart returns once healthy again)


def streams_through(requests: list[tuple[str, dict[str, str]]], delivered: Callable[[], int], after_bytes: int,
                    fault: Callable[[], None], what: str, log_tail: Callable[[], str]) -> Interrupted:
    """Start every (url, headers) request at once; once `delivered()` reaches `after_bytes`,
    run `fault()`; wait for every answer to end."""
    results: list[Exchange | None] = [None] * len(requests)

    def watch(index: int, url: str, headers: dict[str, str]) -> None:
        own = Client()
        try:
            results[index] = own.request("GET", url, headers=headers, record=False)
        finally:
            own.close()

    threads = [threading.Thread(target=watch, args=(i, url, headers), daemon=True, name=f"viewer-{i}")
               for i, (url, headers) in enumerate(requests)]
    for thread in threads:
        thread.start()

    def enough() -> int:
        sent = delivered()
        if sent < after_bytes:
            raise NotReady(f"{sent} bytes delivered so far")
        return sent

    Wait(service="swarm", what=f"{after_bytes} bytes to be delivered before {what}", probe=enough, timeout=60,
         interval=0.02, bail_out=lambda: None if any(t.is_alive() for t in threads) else "every viewer's answer ended",
         log_tail=log_tail).run()
    fault_at = clock.monotonic()
    fault()
    deadline = clock.deadline(JOIN_DEADLINE)
    for thread in threads:
        thread.join(timeout=max(0.0, deadline.remaining()))
    hung = [t.name for t in threads if t.is_alive()]
    if hung:
        raise AssertionError(f"{', '.join(hung)} still streaming {JOIN_DEADLINE:g}s after {what}: a hang")
    return Interrupted([r for r in results if r is not None], fault_at)


def ended_after(exchange: Exchange, moment: float) -> float:
    """Seconds from `moment` (monotonic) to the end of the exchange."""
    return exchange.started + (exchange.elapsed or 0.0) - moment


def physics(conditions: NetworkConditions | None, round_trips: int, pieces: int, piece_length: int) -> float:
    """Seconds the network alone needs: round trips x added latency + bytes / rate."""
    if conditions is None:
        return 0.0
    transfer = pieces * piece_length / conditions.rate_bytes if conditions.rate_bytes else 0.0
    return round_trips * conditions.latency_ms / 1000 + transfer
