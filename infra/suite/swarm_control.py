"""What the suite may do to the swarm itself: the seeder's control API, the tracker's
scrape, and (when the suite owns the ecosystem) stopping and starting services and
injecting the faults its provider declares (`infra.ecosystem.contract`)."""

from __future__ import annotations

import json
import re
import socket
from urllib.parse import quote_from_bytes

from infra.ecosystem.contract import Fault, FaultyService, Provider, Service, faulty_service
from infra.ecosystem.endpoints import Endpoints
from infra.ecosystem.logs import service_log_tail
from infra.ecosystem.waits import NotReady, Wait
from infra.suite.http import Client
from infra.swarm import tracker


class NoControl(RuntimeError):
    """The suite cannot do this to the swarm: it attached to an ecosystem it does not own
    (no restarts, no faults)."""


class SwarmControl:
    def __init__(self, endpoints: Endpoints, provider: Provider | None = None) -> None:
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

    def uploaded(self, client: Client, info_hash: str) -> int:
        """The seeder's upload counter for one torrent (payload bytes, libtorrent's all-time upload)."""
        for torrent in self.torrents(client):
            if torrent["hash"] == info_hash:
                return int(torrent["uploaded"])
        raise KeyError(f"the seeder does not seed {info_hash}")

    def magnets(self, client: Client) -> dict[str, str]:
        return {t["hash"]: t["magnetURI"] for t in self.torrents(client)}

    def set_seeding(self, client: Client, info_hash: str, seeding: bool) -> dict:
        action = "resume" if seeding else "pause"
        exchange = client.request("POST", f"{self.endpoints.seeder}/torrents/{info_hash}/{action}")
        if exchange.status != 200:
            raise RuntimeError(f"seeder: {action} {info_hash} -> {exchange.status} {exchange.body[:200]!r}")
        return json.loads(exchange.body)

    def set_upload_rate(self, client: Client, bytes_per_second: int) -> None:
        """The seeder's upload limit (0: none): a slow swarm, on loopback too."""
        exchange = client.request("PUT", f"{self.endpoints.seeder}/settings", json_body={"uploadRateLimit": bytes_per_second},
                                  record=False, deadline=5, read_timeout=3)
        if exchange.status != 200:
            raise RuntimeError(f"seeder: PUT /settings uploadRateLimit={bytes_per_second} -> "
                               f"{exchange.status or exchange.error} {exchange.body[:200]!r}\n{self.log_tail('seeder')}")

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

    def fresh_variant(self, client: Client, name: str) -> dict:
        """A torrent no backend has ever seen, ready to stream: the seeder seeds a variant
        of the catalog torrent `name` (the same bytes under a new info hash), the provider
        adds it to the tracker's whitelist, and this returns once the tracker lists the
        seeder for it. The seeder's description of it: {hash, magnetURI, variantOf, ...}."""
        if self.provider is None:
            raise NoControl("the suite attached to a running ecosystem; it cannot add a torrent to the tracker's "
                            "whitelist")
        exchange = client.request("POST", f"{self.endpoints.seeder}/torrents/{name}/variants")
        if exchange.status != 201:
            raise RuntimeError(f"seeder: POST /torrents/{name}/variants -> {exchange.status or exchange.error} "
                               f"{exchange.body[:200]!r}\n{self.log_tail('seeder')}")
        variant = json.loads(exchange.body)
        self.provider.admit([variant["hash"]])
        self.set_seeding(client, variant["hash"], True)     # announce now, not at the next re-announce
        self.wait_until_tracker_knows(client, variant["hash"])
        return variant

    def remove_variant(self, info_hash: str) -> None:
        """The seeder stops seeding a variant (the tracker keeps it whitelisted: harmless).
        Its own client: it runs as a clean-up, after the scenario's client is closed."""
        client = Client()
        try:
            exchange = client.request("DELETE", f"{self.endpoints.seeder}/torrents/{info_hash}", record=False)
        finally:
            client.close()
        if exchange.status not in (204, 404):
            raise RuntimeError(f"seeder: DELETE /torrents/{info_hash} -> {exchange.status or exchange.error} "
                               f"{exchange.body[:200]!r}")

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

    # -- fault injection (what the provider declares; FaultNotSupported otherwise) -------

    def supports(self, fault: Fault) -> bool:
        """The suite owns the ecosystem and its provider declares the fault."""
        return self.provider is not None and self.provider.supports(fault)

    def kill_service(self, name: str) -> None:
        """SIGKILL the service (FaultNotSupported when the provider cannot); the caller
        registers `restore_service` as its clean-up first."""
        if self.provider is None:
            raise NoControl(f"the suite attached to a running ecosystem; it cannot kill the {name}")
        self.provider.require(Fault.KILL)
        self.service(name).kill()

    def pause_service(self, name: str) -> None:
        """Freeze the service: every process stopped, its address and connections kept."""
        self._faulty(name, Fault.PAUSE).pause()

    def unpause_service(self, name: str) -> None:
        """Thaw a frozen service; returns once it is healthy again."""
        self._faulty(name, Fault.PAUSE).unpause()

    def disconnect_service(self, name: str) -> None:
        """Cut the service off the swarm's network."""
        self._faulty(name, Fault.DISCONNECT).disconnect()

    def reconnect_service(self, name: str) -> None:
        """Back on the network under its name and address; returns once it is healthy again."""
        self._faulty(name, Fault.DISCONNECT).reconnect()

    def restore_service(self, name: str, library=None) -> None:
        """Undo any fault (for clean-ups): running, thawed, connected and healthy; with the
        library, once the seeder or the tracker is healed, the tracker also lists the seeder
        at its current address for every seeded video, so the next scenario does not race
        the seeder's re-announce."""
        self.service(name).heal()
        if name in ("seeder", "tracker") and library is not None:   # either may have been restarted
            client = Client()
            try:
                for ref in library.seeded():
                    self.wait_until_tracker_lists_seeder(client, ref.info_hash)
            finally:
                client.close()

    def peers_known_to_tracker(self, client: Client, info_hash: str) -> set[tuple[str, int]]:
        """The addresses the tracker hands out for this torrent. opentracker tells them only
        in answer to an announce, so this announces as a leecher on port 0 (which no peer
        connects to) and withdraws at once (event=stopped)."""
        query = (f"{self.endpoints.tracker}/announce?info_hash={quote_from_bytes(bytes.fromhex(info_hash))}"
                 f"&peer_id=-SW0000-swarmcontrol&port=0&uploaded=0&downloaded=0&left=1&compact=1&numwant=200")
        exchange = client.request("GET", query, record=False, deadline=5, read_timeout=3)
        client.request("GET", query + "&event=stopped", record=False, deadline=5, read_timeout=3)
        match = re.search(rb"5:peers(\d+):", exchange.body) if exchange.status == 200 else None
        if match is None:
            raise NotReady(f"tracker announce -> {exchange.status or exchange.error} {exchange.body[:100]!r}")
        raw = exchange.body[match.end():match.end() + int(match[1])]
        return {(socket.inet_ntoa(raw[i:i + 4]), int.from_bytes(raw[i + 4:i + 6], "big")) for i in range(0, len(raw), 6)}

    def wait_until_tracker_lists_seeder(self, client: Client, info_hash: str, timeout: float = 15.0) -> None:
        """The tracker hands out the seeder's current address. After a cut-off the seeder's
        libtorrent listens on a new port while the tracker still lists the old one, so a
        seeder count from the scrape proves nothing; this compares addresses (the provider
        must tell where the seeder listens, which a provider that can disconnect does; with
        any other the seeder never moves and the scrape's count is proof enough)."""
        if not self.supports(Fault.DISCONNECT):
            self.wait_until_tracker_knows(client, info_hash, timeout)
            return
        seeder = self._faulty("seeder", Fault.DISCONNECT)

        def probe() -> set[tuple[str, int]]:
            listening, listed = seeder.peer_endpoints(), self.peers_known_to_tracker(client, info_hash)
            if not listening & listed:
                raise NotReady(f"the seeder listens at {sorted(listening)}; the tracker lists {sorted(listed)}")
            return listening & listed

        Wait(service="seeder", what=f"the tracker to list the seeder's current address for {info_hash}",
             probe=probe, timeout=timeout, interval=0.2, log_tail=lambda: self.log_tail("seeder")).run()

    def _faulty(self, name: str, fault: Fault) -> FaultyService:
        """The service to inject `fault` into; FaultNotSupported (naming the provider and
        what it declares) when the provider lacks the fault."""
        if self.provider is None:
            raise NoControl(f"the suite attached to a running ecosystem; it cannot {fault.value} the {name}")
        return faulty_service(self.provider, name, fault)

    def service(self, name: str) -> Service:
        if self.provider is None:
            raise NoControl(f"the suite attached to a running ecosystem; it cannot control the {name}")
        return self.provider.service(name)

    def log_tail(self, name: str, lines: int = 40) -> str:
        if self.provider is None:   # attached: the log file the endpoints file names
            return service_log_tail(self.endpoints, name, lines)
        try:
            return self.provider.service(name).log_tail(lines)
        except KeyError:
            return ""
