"""The state of one torrent the engine holds, shared by the engine (which makes it) and
the piece reader (which reads through it): a module of its own so neither imports the other
for it (the reader used to import these types from the engine, which imports the reader)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import libtorrent as lt

from infra.backends.reference.ondisk import MainOnDisk


@dataclass(frozen=True)
class MainFile:
    index: int
    path: str
    offset: int     # byte offset of the file inside the torrent
    size: int


@dataclass
class ActiveTorrent:
    info_hash: str
    handle: lt.torrent_handle
    added: float
    last_access: float
    streams: int = 0
    metadata: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    info: lt.torrent_info | None = None          # once the metadata is in
    have: set[int] = field(default_factory=set)  # pieces that passed their hash check
    priorities: dict[int, int] = field(default_factory=dict)   # what was asked of libtorrent, per piece
    index_wanted: bool = False                   # the container's head and tail pieces were asked for
    disk: MainOnDisk | None = None               # the main file in libtorrent's storage (ondisk.py)
    peers_checking: bool = False                 # Engine._check_peers in flight

    @property
    def name(self) -> str:
        return self.handle.status().name
