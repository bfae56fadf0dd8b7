"""Peers the engine no longer trusts.

libtorrent bans a peer whose pieces fail the hash check, but with
`allow_multiple_connections_per_ip` (every peer of the local swarm shares 127.0.0.1) a ban
holds for that address and port only: the banned peer connected again from a new port
and was trusted afresh. Measured in features/peer_diversity.feature under Docker, where
each peer has its own address: a peer that tampers with every other piece got 8
tampered pieces into a 5.7 s stream and served until 1 s before its end. Its address is
now blocked for the whole session, unless it is a loopback address, which every local
peer shares (there libtorrent's own ban is all there is).
"""

from __future__ import annotations

import ipaddress
import logging

import libtorrent as lt

log = logging.getLogger("backend.engine")


def distrust(session: lt.session, blocked: lt.ip_filter, alert: lt.peer_ban_alert) -> None:
    """Block the banned peer's address (not a loopback one) for every torrent of the session."""
    address = alert.endpoint[0]
    if ipaddress.ip_address(address).is_loopback:
        log.warning("%s (a loopback address, shared by every local peer: not blocked)", alert.message())
        return
    blocked.add_rule(address, address, 1)
    session.set_ip_filter(blocked)
    log.warning("%s: its address %s is blocked from now on", alert.message(), address)
