"""The servers the benchmark puts side by side, each reached through its target file
(`infra/suite/targets`), exactly as the suite reaches it.

"Cold" needs a torrent the server has never seen. This benchmark was written before the
seeder could seed a fresh copy of a video under a new info hash (`SwarmControl.fresh_variant`),
so a cold measurement restarts the server first: every server here starts with empty storage
(the reference backend empties its download folder on start, WebTorrent and peerflix
use a new temporary folder per process), so a restarted server has never seen the
torrent. Only one torrent server runs at a time: a server that holds the whole video
would otherwise seed it to the next one and lift the throttled swarm's rate limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from infra.measure import procstat
from infra.ecosystem.local import LocalProvider
from infra.suite.http import Client
from infra.suite.library import VideoRef
from infra.suite.targets import Target, make_target

#: Ecosystem services that are systems under test: restarted for cold measurements.
TORRENT_SERVERS = ("webtorrent", "peerflix", "backend")


@dataclass
class Contender:
    """One server: its label in the table, its target, the ecosystem service that runs it."""

    label: str
    target_name: str
    service: str
    limit: bool = False          # the file server: the physical limit, not a competitor
    _target: Target | None = field(default=None, repr=False)

    @property
    def is_torrent_server(self) -> bool:
        return self.service in TORRENT_SERVERS

    def fresh(self, provider: LocalProvider, urls: Mapping[str, str], credentials: Mapping[str, str],
              client: Client) -> Target:
        """The server with nothing in its storage, and a new target for it (logged in, so
        the login is not part of what is timed). The file server is only checked."""
        service = provider.service(self.service)
        if self.is_torrent_server:
            service.restart()
        else:
            service.heal()
        self._target = make_target(self.target_name, {**urls, self.service: service.url}, credentials)
        if self._target.spec.login is not None:
            self._target.session(client)
        return self._target

    def warm_target(self) -> Target:
        """The target of the last `fresh` (its stream flows remembered per video)."""
        if self._target is None:
            raise RuntimeError(f"{self.label}: measured warm before any fresh start")
        return self._target

    def stop(self, provider: LocalProvider) -> None:
        if self.is_torrent_server:
            provider.service(self.service).stop()

    def usage(self, provider: LocalProvider) -> procstat.Usage:
        return procstat.usage(provider.service(self.service).pid)


def stream(target: Target, client: Client, video: VideoRef) -> tuple[str, dict[str, str]]:
    """The stream URL (running the target's stream flow: a POST that waits for the
    metadata on WebTorrent and peerflix, a source on the reference backend) and the
    headers a viewer sends with it."""
    return target.stream_url(client, video), target.auth_headers(client)


def all_contenders(names: tuple[str, ...]) -> list[Contender]:
    """The file server first (the limit), then the servers asked for, the reference last."""
    known = {
        "file server": Contender("file server", "range-server", "range_server", limit=True),
        "webtorrent": Contender("webtorrent", "webtorrent", "webtorrent"),
        "peerflix": Contender("peerflix", "peerflix", "peerflix"),
        "reference": Contender("reference", "reference", "backend"),
    }
    unknown = set(names) - set(known)
    if unknown:
        raise ValueError(f"unknown servers {sorted(unknown)}; choose from {', '.join(known)}")
    return [known["file server"]] + [known[name] for name in known if name in names and name != "file server"]
