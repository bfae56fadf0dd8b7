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


def tracker_accepts(tracker_url: str, info_hash: str, timeout: float = 2.0):
    """Probe: the tracker answers an announce of `info_hash` without "not authorized" (it
    has read a whitelist that lists it). The probe announces port 0 and withdraws at once."""
    from infra.swarm.tracker import probe_announce_url

    url = probe_announce_url(tracker_url, info_hash)

    def probe() -> None:
        try:
            answer = requests.get(url, timeout=timeout)
            requests.get(url + "&event=stopped", timeout=timeout)
        except requests.RequestException as exc:
            raise NotReady(f"announce: {exc.__class__.__name__}") from None
        if answer.status_code != 200 or b"failure reason" in answer.content:
            raise NotReady(f"announce -> {answer.status_code} {answer.content[:120]!r}")

    return probe
