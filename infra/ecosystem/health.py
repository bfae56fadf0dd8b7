"""Health probes: callables that return when a service is ready or raise NotReady with
what they saw. Used with `infra.ecosystem.waits.Wait`."""

from __future__ import annotations

from typing import Callable

import requests

from infra.ecosystem.waits import NotReady


def http_ok(url: str, timeout: float = 2.0, expect: Callable[[requests.Response], str | None] | None = None):
    """Probe: GET url answers 200 (and `expect(response)` returns no complaint)."""

    def probe() -> requests.Response:
        try:
            response = requests.get(url, timeout=timeout)
        except requests.RequestException as exc:
            raise NotReady(f"GET {url}: {exc.__class__.__name__}") from None
        if response.status_code != 200:
            raise NotReady(f"GET {url} -> {response.status_code} {response.text[:200]}")
        complaint = expect(response) if expect else None
        if complaint:
            raise NotReady(f"GET {url} -> {complaint}")
        return response

    return probe
