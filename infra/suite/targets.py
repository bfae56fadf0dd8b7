"""Target adapters: how a seeded video becomes a stream URL on the system under test,
and how to authenticate there. A feature needs capabilities (tags ``@needs.<name>``);
a target that lacks one makes the scenario skip with a printed reason.

* ``reference`` — the swarmspec reference backend API (also for any server that speaks
  it, via ``-D backend_url=URL``: someone else's backend or a proxy in front of ours).
* ``range-server`` — the plain HTTP range server: proves that playback, seeking and
  malformed-range features are backend-agnostic.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from infra.suite.http import Client, Exchange
from infra.suite.library import VideoRef

ALL_CAPABILITIES = frozenset({
    "playback", "seeking", "ranges", "sources", "auth", "torrents", "metadata", "lifecycle", "concurrency",
    "performance",
})


class TargetError(RuntimeError):
    """The target did not do what the suite needs to set up a scenario."""


class Target:
    name = "abstract"
    capabilities: frozenset[str] = frozenset()
    services: tuple[str, ...] = ()            # the ecosystem services that are the system under test
    default_contract = "strict"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def missing(self, needs: set[str]) -> set[str]:
        return needs - self.capabilities

    def stream_url(self, client: Client, video: VideoRef) -> str:
        raise NotImplementedError

    def auth_headers(self, client: Client) -> dict[str, str]:
        return {}


class RangeServerTarget(Target):
    name = "range-server"
    services = ("range_server",)
    capabilities = frozenset({"playback", "seeking", "ranges", "concurrency"})

    def stream_url(self, client: Client, video: VideoRef) -> str:
        return f"{self.base_url}/videos/{video.name}"


class ReferenceTarget(Target):
    """The reference backend's API: login, sources, stream tokens, metadata, torrents."""

    name = "reference"
    services = ("backend",)
    capabilities = ALL_CAPABILITIES

    def __init__(self, base_url: str, credentials: dict[str, str]) -> None:
        super().__init__(base_url)
        self.credentials = credentials
        self._token: tuple[str, float] | None = None
        self._sources: dict[str, str] = {}

    # -- auth -------------------------------------------------------------------------

    def login(self, client: Client, email: str | None = None, password: str | None = None) -> Exchange:
        body = {"email": email if email is not None else self.credentials["email"],
                "password": password if password is not None else self.credentials["password"]}
        return client.request("POST", f"{self.base_url}/api/auth/login", json_body=body)

    def token(self, client: Client) -> str:
        if self._token is None or self._token[1] < time.monotonic():
            exchange = self.login(client)
            if exchange.status != 200:
                raise TargetError(f"login at {self.base_url} failed: {exchange.status} {exchange.body[:200]!r}")
            data = json.loads(exchange.body)
            self._token = (data["token"], time.monotonic() + max(30, data.get("expiresIn", 300) - 30))
        return self._token[0]

    def auth_headers(self, client: Client) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(client)}"}

    # -- sources ------------------------------------------------------------------------

    def create_source(self, client: Client, magnet: str, **fields) -> Exchange:
        return client.request("POST", f"{self.base_url}/api/sources", headers=self.auth_headers(client),
                              json_body={"magnetUri": magnet, **fields})

    def get_source(self, client: Client, source_id: str) -> Exchange:
        return client.request("GET", f"{self.base_url}/api/sources/{source_id}", headers=self.auth_headers(client))

    def source_id(self, client: Client, video: VideoRef) -> str:
        """The run's source for this video, created once."""
        if video.name not in self._sources:
            exchange = self.create_source(client, video.magnet, quality="test", resolution=video.name)
            if exchange.status != 201:
                raise TargetError(f"creating a source for {video.label} failed: {exchange.status} {exchange.body[:200]!r}")
            self._sources[video.name] = json.loads(exchange.body)["id"]
        return self._sources[video.name]

    def stream_url(self, client: Client, video: VideoRef) -> str:
        return self.stream_url_for(self.source_id(client, video))

    def stream_url_for(self, key: str) -> str:
        return f"{self.base_url}/api/stream/{key}"

    def stream_token(self, client: Client, source_id: str, lifetime: float | None = None) -> str:
        body = {"expiresIn": lifetime} if lifetime is not None else None
        exchange = client.request("POST", f"{self.base_url}/api/sources/{source_id}/stream-token",
                                  headers=self.auth_headers(client), json_body=body)
        if exchange.status not in (200, 201):
            raise TargetError(f"no stream token for {source_id}: {exchange.status} {exchange.body[:200]!r}")
        return json.loads(exchange.body)["token"]

    # -- torrents -----------------------------------------------------------------------

    def metadata(self, client: Client, magnet: str) -> Exchange:
        return client.request("POST", f"{self.base_url}/api/torrents/metadata", headers=self.auth_headers(client),
                              json_body={"magnetUri": magnet}, deadline=60)

    def active_torrents(self, client: Client, record: bool = False) -> list[dict]:
        exchange = client.request("GET", f"{self.base_url}/api/torrents", headers=self.auth_headers(client),
                                  record=record)
        if exchange.status != 200:
            raise TargetError(f"listing torrents at {self.base_url} failed: {exchange.status or exchange.error}")
        return json.loads(exchange.body)


def load_credentials(path: str | Path, environ: dict[str, str]) -> dict[str, str]:
    email, password = environ.get("SWARMSPEC_ADMIN_EMAIL"), environ.get("SWARMSPEC_ADMIN_PASSWORD")
    if email and password:
        return {"email": email, "password": password}
    return json.loads(Path(path).read_text())


def make_target(name: str, backend_url: str, range_server_url: str, credentials: dict[str, str]) -> Target:
    if name == "reference":
        return ReferenceTarget(backend_url, credentials)
    if name == "range-server":
        return RangeServerTarget(range_server_url)
    raise ValueError(f"unknown target {name!r}: choose reference or range-server")
