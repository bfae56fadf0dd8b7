"""What the suite may do to the swarm itself: the seeder's control API, the tracker's
scrape, and (when the suite owns the ecosystem) stopping and starting services."""

from __future__ import annotations

import json
import re

from infra import tracker
from infra.endpoints import Endpoints
from infra.suite.http import Client
from infra.waits import NotReady, Wait


class NoControl(RuntimeError):
    """The suite attached to an ecosystem it does not own, so it cannot restart services."""


class SwarmControl:
    def __init__(self, endpoints: Endpoints, provider=None) -> None:
        self.endpoints = endpoints
        self.provider = provider

    @property
    def owns_services(self) -> bool:
        return self.provider is not None

    def torrents(self, client: Client) -> list[dict]:
        exchange = client.request("GET", f"{self.endpoints.seeder}/torrents", record=False)
        if exchange.status != 200:
            raise RuntimeError(f"seeder: GET /torrents -> {exchange.status} {exchange.error or ''}")
        return json.loads(exchange.body)

    def magnets(self, client: Client) -> dict[str, str]:
        return {t["hash"]: t["magnetURI"] for t in self.torrents(client)}

    def set_seeding(self, client: Client, info_hash: str, seeding: bool) -> dict:
        action = "resume" if seeding else "pause"
        exchange = client.request("POST", f"{self.endpoints.seeder}/torrents/{info_hash}/{action}")
        if exchange.status != 200:
            raise RuntimeError(f"seeder: {action} {info_hash} -> {exchange.status} {exchange.body[:200]!r}")
        return json.loads(exchange.body)

    def seeders_known_to_tracker(self, client: Client, info_hash: str) -> int:
        """How many seeders the tracker reports for this torrent (its scrape)."""
        url = tracker.scrape_url(self.endpoints.tracker, info_hash)
        exchange = client.request("GET", url, record=False, deadline=5, read_timeout=3)
        if exchange.status != 200:
            raise NotReady(f"tracker scrape -> {exchange.status or exchange.error}")
        match = re.search(rb"8:completei(\d+)e", exchange.body)
        return int(match.group(1)) if match else 0

    def wait_until_tracker_knows(self, client: Client, info_hash: str, timeout: float = 15.0) -> None:
        def probe() -> int:
            count = self.seeders_known_to_tracker(client, info_hash)
            if count < 1:
                raise NotReady(f"the tracker's scrape lists {count} seeders for {info_hash}")
            return count

        Wait(service="seeder", what=f"the tracker to list a seeder of {info_hash} (scrape)", probe=probe,
             timeout=timeout, interval=0.2, log_tail=lambda: self.log_tail("seeder")).run()

    def require_seeding(self, client: Client, library) -> None:
        """The seeder is healthy and seeds every test video (one request)."""
        exchange = client.request("GET", f"{self.endpoints.seeder}/health", record=False, deadline=5, read_timeout=3)
        if exchange.status != 200:
            raise RuntimeError(f"seeder is not healthy at {self.endpoints.seeder}: {exchange.status or exchange.error} "
                               f"{exchange.body[:300]!r}\n{self.log_tail('seeder')}")
        known = set(json.loads(exchange.body)["knownHashes"])
        missing = [ref.name for ref in library.seeded() if ref.info_hash not in known]
        if missing:
            raise RuntimeError(f"the seeder does not seed {missing}")

    def stop_seeding(self, client: Client, info_hash: str) -> None:
        self.set_seeding(client, info_hash, False)

        def probe() -> dict:
            state = next(t for t in self.torrents(client) if t["hash"] == info_hash)
            if not state["paused"] or state["peers"]:
                raise NotReady(f"paused={state['paused']} peers={state['peers']}")
            return state

        Wait(service="seeder", what=f"{info_hash} to be paused with no peers", probe=probe, timeout=10,
             interval=0.1, log_tail=lambda: self.log_tail("seeder")).run()

    def resume_seeding(self, client: Client, info_hash: str) -> None:
        self.set_seeding(client, info_hash, True)
        self.wait_until_tracker_knows(client, info_hash)

    def stop_service(self, name: str) -> None:
        self.service(name).stop()

    def start_service(self, name: str) -> None:
        self.service(name).start()

    def restart(self, name: str) -> None:
        self.service(name).restart()

    def ensure_running(self, name: str) -> None:
        service = self.service(name)
        if not service.is_running():
            service.start()

    def service(self, name: str):
        if self.provider is None:
            raise NoControl(f"the suite attached to a running ecosystem; it cannot control the {name}")
        return self.provider.service(name)

    def log_tail(self, name: str, lines: int = 40) -> str:
        if self.provider is not None:
            try:
                return self.provider.service(name).log_tail(lines)
            except KeyError:
                return ""
        info = self.endpoints.services.get(name, {})
        from infra.providers.local import tail
        from pathlib import Path

        return tail(Path(info["log"]), lines) if info.get("log") else ""
