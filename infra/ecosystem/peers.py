"""Extra peers, started by the ecosystem on request beside the main seeder: a partial
peer, a slow one, one that sends tampered pieces, one that hangs up mid-piece
(`infra.swarm.peer`). One description (`PeerSpec`), one command line; each provider
runs it in its own way (the local provider as a process, in a namespace of its own when
it can; the docker provider as a container).

A peer seeds one torrent file: usually a *variant* of a test video (same files, another
info hash, `infra.swarm.torrents.variant`), so that no other peer has it and no backend
has seen it, and the swarm of the scenario is exactly the peers it started.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from infra.ecosystem import services as ecosystem
from infra.swarm.peer.shape import BEHAVIOURS, HOLDINGS
NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
CONTROL_PORT = 8080          # inside a peer's own namespace or container


class BadPeer(ValueError):
    """A peer description that cannot be run."""


@dataclass(frozen=True)
class PeerSpec:
    name: str                          # unique in the run: "fast", "half-a", "liar"
    torrent: Path                      # the .torrent it seeds, on the suite's host
    content_name: str = ""             # the top-level name of its content in the media folder (a variant's original)
    holds: str = "all"                 # all | even | odd | first-half | second-half
    tamper_every: int = 0              # sends every n-th piece it holds tampered (0: none)
    upload_rate_limit: int = 0         # bytes/s, libtorrent's own limit (0: unlimited)
    behaviour: str = "libtorrent"      # or cuts-mid-piece
    cut_after: int = 8                 # cuts-mid-piece: blocks sent on a connection before the cut

    def __post_init__(self) -> None:
        if not NAME.match(self.name):
            raise BadPeer(f"a peer's name is 1-20 lowercase letters, digits or dashes: {self.name!r}")
        if self.holds not in HOLDINGS or self.behaviour not in BEHAVIOURS:
            raise BadPeer(f"holds one of {HOLDINGS}, behaves as one of {BEHAVIOURS}: {self}")
        if min(self.tamper_every, self.upload_rate_limit, self.cut_after) < 0:
            raise BadPeer(f"counts and rates cannot be negative: {self}")
        if self.behaviour == "cuts-mid-piece" and (self.holds != "all" or self.tamper_every or self.upload_rate_limit):
            raise BadPeer("a peer that cuts mid-piece holds every piece, honestly, at full speed")

    @property
    def service_name(self) -> str:
        return f"peer-{self.name}"


def peer_command(spec: PeerSpec, layout: ecosystem.Layout, host: str, port: int, torrent: str,
                 work_dir: str, announce: str) -> list[str]:
    """The peer's command line; paths and the announce URL as the peer sees them."""
    return [layout.python, "-m", "infra.swarm.peer", "--host", host, "--port", str(port), "--run-id", layout.run_id,
            "--torrent", torrent, "--content-dir", layout.path("media"), "--content-name", spec.content_name,
            "--work-dir", work_dir,
            "--tracker", announce, "--behaviour", spec.behaviour, "--holds", spec.holds,
            "--tamper-every", str(spec.tamper_every), "--upload-rate-limit", str(spec.upload_rate_limit),
            "--cut-after", str(spec.cut_after)]


def peer_service_spec(spec: PeerSpec, command) -> ecosystem.ServiceSpec:
    """A ServiceSpec for the provider's service machinery (start, health, logs)."""
    return ecosystem.ServiceSpec(spec.service_name, "/health", ("tracker",), command, "seeder", optional=True)
