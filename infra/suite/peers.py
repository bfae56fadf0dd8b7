"""The swarm of one scenario: a fresh torrent of a test video and the peers the scenario
starts for it (`infra.ecosystem.peers`), described the way a feature says them.

A fresh torrent is a variant of the video's torrent (same bytes, another info hash), so
no other peer has it and no backend has seen it: the peers the scenario names are the
whole swarm, and nothing a backend cached in an earlier scenario helps it. The phrases
("a peer that holds its even pieces", "a peer limited to 256 KB/s", ...) map to peer
descriptions here, so the steps stay one line each.
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from pathlib import Path

from infra.ecosystem.conditions import NetworkConditions
from infra.ecosystem.contract import PeerService
from infra.ecosystem.peers import PeerSpec
from infra.suite.http import Client
from infra.suite.library import VideoRef
from infra.suite.swarm_control import SwarmControl
from infra.swarm import torrents
from videos import VIDEOS_DIR

ORDINALS = {"other": 2, "second": 2, "third": 3, "fourth": 4}
#: phrase -> (role, PeerSpec fields); the role is how later steps name the peer
PHRASES: list[tuple[re.Pattern, str, object]] = [
    (re.compile(r"(?:one|a single) peer"), "seeder", lambda m: {}),
    (re.compile(r"a fast peer"), "fast", lambda m: {}),
    (re.compile(r"a peer that holds its (even|odd) pieces"), r"\1", lambda m: {"holds": m[1]}),
    (re.compile(r"a peer that holds the (first|second) half"), r"\1-half", lambda m: {"holds": f"{m[1]}-half"}),
    (re.compile(r"(?:an?|one) (?:(honest|steady|slow) )?peer limited to (\d+) (KB|MB)/s"), r"\1",
     lambda m: {"upload_rate_limit": int(m[2]) * (1000 if m[3] == "KB" else 1_000_000)}),
    (re.compile(r"a peer that tampers with every (other|second|third|fourth) piece"), "liar",
     lambda m: {"tamper_every": ORDINALS[m[1]]}),
    (re.compile(r"a peer that hangs up in the middle of every piece"), "cutter",
     lambda m: {"behaviour": "cuts-mid-piece"}),
]


class UnknownPeerPhrase(ValueError):
    """A feature describes a peer in words the suite does not know."""


def parse_peers(text: str) -> list[tuple[str, dict]]:
    """"a fast peer and a peer limited to 256 KB/s" -> [("fast", {}), ("slow", {...})]."""
    out = []
    for phrase in re.split(r",\s*(?:and\s+)?|\s+and\s+", text.strip()):
        for pattern, role, fields in PHRASES:
            match = pattern.fullmatch(phrase.strip())
            if match:
                name = match.expand(role) if "\\" in role else role
                out.append((name or "seeder", fields(match)))
                break
        else:
            known = "; ".join(p.pattern for p, _, _ in PHRASES)
            raise UnknownPeerPhrase(f"no peer is described as {phrase!r}; known: {known}")
    names = [name for name, _ in out]
    if len(set(names)) != len(names):
        raise UnknownPeerPhrase(f"two peers would share a role in {text!r}: {names}")
    return out


class ScenarioSwarm:
    """The fresh torrents and the peers of one scenario; `close()` stops the peers."""

    def __init__(self, swarm: SwarmControl, run_dir: Path) -> None:
        self.swarm = swarm
        self.run_dir = run_dir
        self.tag = uuid.uuid4().hex[:10]
        self.peers: dict[str, PeerService] = {}
        self.videos: dict[str, VideoRef] = {}          # by the label of the test video they copy
        self._torrents: dict[str, Path] = {}

    @property
    def provider(self):
        if self.swarm.provider is None:
            raise RuntimeError("the suite attached to a running ecosystem: it cannot start peers")
        return self.swarm.provider

    def fresh(self, video: VideoRef) -> VideoRef:
        """A torrent of `video` nobody has seen, accepted by the tracker; its VideoRef."""
        source = VIDEOS_DIR / "torrents" / video.torrent_file
        info = torrents.variant_file(source, f"{self.tag}-{len(self.videos)}", self.run_dir / "variants")
        self.provider.admit([info.info_hash])
        magnet = torrents.magnet_uri(info.info_hash, video.name, [self.swarm.endpoints.tracker_announce])
        fresh = dataclasses.replace(video, info_hash=info.info_hash, torrent_file=info.path.name, magnet=magnet,
                                    label=f"{video.label} (a fresh torrent)")
        self.videos[video.label], self._torrents[video.label] = fresh, info.path
        return fresh

    def start(self, description: str, video: VideoRef) -> list[PeerService]:
        """Start the peers `description` names, for the fresh torrent of `video`; each has announced."""
        label = video.label.removesuffix(" (a fresh torrent)")
        if label not in self._torrents:
            raise RuntimeError(f"no fresh torrent of {label} yet: call fresh() first")
        started = []
        for role, fields in parse_peers(description):
            if role in self.peers:
                raise UnknownPeerPhrase(f"a peer with the role {role!r} runs already in this scenario")
            spec = PeerSpec(role, self._torrents[label], content_name=video.content_path.split("/")[0], **fields)
            self.peers[role] = self.provider.start_peer(spec)
            started.append(self.peers[role])
        return started

    def peer(self, role: str) -> PeerService:
        try:
            return self.peers[role]
        except KeyError:
            raise KeyError(f"no peer {role!r} in this scenario; it has {', '.join(self.peers) or 'none'}") from None

    def condition(self, role: str, conditions: NetworkConditions) -> str:
        return self.peer(role).condition(conditions)

    def status(self, role: str, client: Client, grace: float = 1.0) -> dict:
        exchange = client.request("GET", f"{self.peer(role).url}/status?grace={grace:g}", record=False, deadline=10,
                                  read_timeout=5)
        if exchange.status != 200:
            raise RuntimeError(f"peer {role}: GET /status -> {exchange.status or exchange.error}")
        return json.loads(exchange.body)

    def close(self) -> None:
        for role in list(self.peers):
            self.provider.stop_peer(role)
        self.peers.clear()
